"""GDPR (issue 6, section 4): after anonymisation nothing of the person is findable in any
table or stored file; an export holds nothing of another contact; admins only; confirm first;
the log holds no personal data."""

from __future__ import annotations

import base64
import io
import json
import zipfile
from email import policy
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import models
from django.test import Client
from django.urls import reverse

from helpa.accounts.models import Role, User
from helpa.crm.models import Contact, ContactEmail, ContactPhone
from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, OutgoingMail
from helpa.portal import actions as portal_actions
from helpa.portal.links import issue_login_link, issue_ticket_link
from helpa.privacy import gdpr
from helpa.privacy.models import GdprRequest
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket
from helpa.tickets.search import apply_search

pytestmark = pytest.mark.django_db

ASA = "Åsa Lindqvist"
ASA_MAIL = "asa.lindqvist@example.se"
ASA_PRIVATE = "asa@private.example"
ASA_PHONE = "+46701234567"
ASA_STRINGS = [
    ASA,
    ASA_MAIL,
    ASA_PRIVATE,
    ASA_PHONE,
    "070-123 45 67",
    "0701234567",
    "+46 70 123 45 67",
]
OLOF = "Olof Berg"
OLOF_MAIL = "olof.berg@example.no"
OLOF_PHONE = "+4791234567"


def _asas_mail(number: int | None = None) -> bytes:
    """A real-world mail: the name RFC 2047-encoded, the body base64, a text attachment."""
    body = base64.b64encode(
        f"Hej! Skrivaren är trasig. Ring mig på 070-123 45 67.\n/{ASA}\n".encode()
    ).decode()
    attachment = base64.b64encode(f"Kontakt: {ASA}, {ASA_MAIL}\n".encode()).decode()
    subject = f"Skrivaren [#{number}]" if number else "Skrivaren"
    return (
        "From: =?utf-8?q?=C3=85sa_Lindqvist?= <Asa.Lindqvist@example.se>\n"
        "To: support@helpa.test\n"
        f"Cc: {OLOF} <{OLOF_MAIL}>\n"
        f"Subject: {subject}\n"
        f"Message-ID: <m{number or 0}@example.se>\n"
        "MIME-Version: 1.0\n"
        'Content-Type: multipart/mixed; boundary="b"\n\n'
        "--b\n"
        'Content-Type: text/plain; charset="utf-8"\n'
        "Content-Transfer-Encoding: base64\n\n"
        f"{body}\n"
        "--b\n"
        'Content-Type: text/plain; charset="utf-8"; name="kontakt.txt"\n'
        'Content-Disposition: attachment; filename="kontakt.txt"\n'
        "Content-Transfer-Encoding: base64\n\n"
        f"{attachment}\n"
        "--b--\n"
    ).encode()


@pytest.fixture
def desk(support: Queue, alice: User, django_capture_on_commit_callbacks: Any) -> dict[str, Any]:
    """Åsa (a contact with two addresses, a phone and a portal login) and Olof (another
    contact) share a mail ticket; Åsa has a second ticket; an unrelated ticket quotes her."""
    MailAddress.objects.create(queue=support, address="support@helpa.test")
    user = User.objects.create_user(ASA_MAIL, "pw", full_name=ASA, role=Role.CUSTOMER)
    asa = Contact.objects.create(name=ASA, email=ASA_MAIL, user=user)
    ContactEmail.objects.create(contact=asa, address=ASA_PRIVATE)
    ContactPhone.objects.create(contact=asa, number=ASA_PHONE)
    olof = Contact.objects.create(name=OLOF, email=OLOF_MAIL)
    ContactPhone.objects.create(contact=olof, number=OLOF_PHONE)

    with django_capture_on_commit_callbacks(execute=True):
        ingest.ingest_message(_asas_mail(), source=InboundMail.Source.PIPE, queue=support)
    shared = Ticket.objects.get()
    assert shared.contact == asa
    with django_capture_on_commit_callbacks(execute=True):
        portal_actions.add_message(
            olof,
            shared,
            f"<p>Jag har samma fel. {ASA} skrev: ring 070-123 45 67. "
            f"Mig når ni på {OLOF_MAIL}, {OLOF_PHONE}.</p>",
        )
        actions.add_reply(alice, shared, f"<p>Hej {ASA}! Vi ringer dig på +46 70 123 45 67.</p>")
        second = actions.open_ticket(alice, queue=support, title="Faktura")
        actions.update_ticket(alice, second, {"contact": asa})
        actions.add_note(alice, second, f"<p>Kunden {ASA.upper()} mejlade från {ASA_PRIVATE}</p>")
        other = actions.open_ticket(alice, queue=support, title=f"Samtal om {ASA}")
        actions.add_note(alice, other, "<p>Återkom till 0701234567 imorgon.</p>")
        issue_ticket_link(shared, asa)
        issue_login_link(user, "login")
    return {
        "asa": asa,
        "olof": olof,
        "user": user,
        "shared": shared,
        "second": second,
        "other": other,
    }


def _database_hits(strings: list[str]) -> list[str]:
    """Every text value of every concrete model that holds one of the strings (any case)."""
    hits = []
    lowered = [s.lower() for s in strings]
    for model in apps.get_models():
        fields = [
            f
            for f in model._meta.concrete_fields
            if isinstance(f, models.CharField | models.TextField | models.JSONField)
        ]
        if not fields:
            continue
        for row in model._default_manager.values_list("pk", *[f.attname for f in fields]):
            for f, value in zip(fields, row[1:], strict=True):
                if value is None:
                    continue
                text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
                for s in lowered:
                    if s in text.lower():
                        hits.append(f"{model._meta.label}.{f.name}#{row[0]}: {s}")
    return hits


def _file_texts(data: bytes) -> list[str]:
    texts = [data.decode("utf-8", errors="replace"), data.decode("latin-1")]
    try:
        message = BytesParser(policy=policy.default).parsebytes(data)
        for part in message.walk():
            texts.extend(str(v) for v in part.values())
            if not part.is_multipart():
                content = part.get_content()
                texts.append(content if isinstance(content, str) else content.decode("latin-1"))
    except Exception:  # noqa: BLE001 — not a mail
        pass
    return texts


def _file_hits(strings: list[str]) -> list[str]:
    hits = []
    for path in Path(settings.MEDIA_ROOT).rglob("*"):
        if not path.is_file():
            continue
        texts = [t.lower() for t in _file_texts(path.read_bytes())]
        for s in strings:
            if any(s.lower() in t for t in texts):
                hits.append(f"{path}: {s}")
    return hits


def test_after_anonymisation_nothing_of_the_person_is_found(
    desk: dict[str, Any], admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    # The scan finds her before: it would notice what anonymisation misses.
    assert _database_hits(ASA_STRINGS)
    assert _file_hits([ASA, ASA_MAIL])
    assert apply_search(Ticket.objects.all(), "Lindqvist").count() == 3
    assert OutgoingMail.objects.exists()

    subject = gdpr.find_subject("070-123 45 67")  # found by her number: all her data follows
    assert subject.ticket_ids == {desk["shared"].pk, desk["second"].pk}
    with django_capture_on_commit_callbacks(execute=True):
        gdpr.anonymise(subject, admin)

    assert _database_hits(ASA_STRINGS) == []
    assert _file_hits(ASA_STRINGS) == []
    assert apply_search(Ticket.objects.all(), "Lindqvist").count() == 0
    assert apply_search(Ticket.objects.all(), "Åsa").count() == 0
    # The tickets stay, for statistics; Olof keeps his words and his address.
    assert Ticket.objects.count() == 3
    shared = Ticket.objects.get(pk=desk["shared"].pk)
    assert shared.articles.count() == 3
    assert OLOF_MAIL in shared.articles.get(author_contact=desk["olof"]).body_text
    assert apply_search(Ticket.objects.all(), "samma fel").count() == 1
    # Her login is gone, her links revoked.
    user = User.objects.get(pk=desk["user"].pk)
    assert not user.is_active and not user.has_usable_password()
    from helpa.portal.models import LoginLink, TicketLink

    assert not TicketLink.objects.filter(contact=desk["asa"]).exists()
    assert not LoginLink.objects.filter(user=user).exists()
    with pytest.raises(gdpr.NotFound):
        gdpr.find_subject(ASA_MAIL)


def test_the_log_row_holds_no_personal_data(
    desk: dict[str, Any], admin: User, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        gdpr.export(gdpr.find_subject(ASA_MAIL), io.BytesIO(), admin)
        gdpr.anonymise(gdpr.find_subject(ASA_PRIVATE), admin)
    rows = list(GdprRequest.objects.values())
    assert [r["kind"] for r in rows] == ["anonymise", "export"]
    text = json.dumps(rows, default=str, ensure_ascii=False).lower()
    for s in ASA_STRINGS:
        assert s.lower() not in text
    assert rows[0]["counts"]["tickets"] == 2
    assert rows[0]["actor_id"] == admin.pk


def _export(identifier: str) -> tuple[dict[str, Any], dict[str, bytes]]:
    out = io.BytesIO()
    gdpr.export(gdpr.find_subject(identifier), out, None)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        files = {name: archive.read(name) for name in archive.namelist()}
    return json.loads(files.pop("data.json")), files


def test_the_export_holds_her_data_and_nothing_of_another_contact(desk: dict[str, Any]) -> None:
    data, files = _export(ASA_PHONE)

    assert data["contacts"][0]["name"] == ASA
    assert sorted(data["contacts"][0]["addresses"]) == [ASA_PRIVATE]
    assert data["contacts"][0]["phones"] == [ASA_PHONE]
    assert data["portal_accounts"][0]["email"] == ASA_MAIL
    assert "password" not in json.dumps(data["portal_accounts"])
    numbers = [t["number"] for t in data["tickets"]]
    assert numbers == sorted([desk["shared"].number, desk["second"].number])
    shared = next(t for t in data["tickets"] if t["number"] == desk["shared"].number)
    mine = [m for m in shared["messages"] if m.get("by") == "you"]
    assert len(mine) == 1 and "070-123 45 67" in mine[0]["body_text"]
    assert [m["by"] for m in shared["messages"]] == ["you", "another person", "agent"]
    assert any(name.endswith("kontakt.txt") for name in files)
    assert any(name.endswith(".eml") for name in files)
    assert data["received_mails"][0]["from_name"] == ASA

    everything = json.dumps(data, ensure_ascii=False).lower()
    everything += "".join(t.lower() for content in files.values() for t in _file_texts(content))
    for s in [OLOF, OLOF_MAIL, OLOF_PHONE, "samma fel"]:
        assert s.lower() not in everything, s


def test_a_person_who_is_only_a_participant_is_found(desk: dict[str, Any]) -> None:
    Contact.objects.filter(pk=desk["olof"].pk).delete()
    subject = gdpr.find_subject(OLOF_MAIL.upper())
    assert subject.ticket_ids == {desk["shared"].pk}
    assert gdpr.summary(subject)["contacts"] == 0


# --- The pages ----------------------------------------------------------------------------------


def test_agents_may_not(desk: dict[str, Any], alice_client: Client) -> None:
    for name in ("privacy:index", "privacy:export", "privacy:anonymise"):
        assert alice_client.get(reverse(name), {"q": ASA_MAIL}).status_code == 403
        assert alice_client.post(reverse(name), {"q": ASA_MAIL}).status_code == 403
    assert Contact.objects.get(pk=desk["asa"].pk).name == ASA
    assert not GdprRequest.objects.exists()


def test_the_confirm_page_shows_counts_and_changes_nothing(
    desk: dict[str, Any], ada_client: Client
) -> None:
    page = ada_client.get(reverse("privacy:index"), {"q": ASA_MAIL})
    assert page.status_code == 200
    assert b"Tickets" in page.content

    confirm = ada_client.get(reverse("privacy:anonymise"), {"q": ASA_MAIL})
    assert confirm.status_code == 200
    assert confirm.context["counts"]["tickets"] == 2
    assert Contact.objects.get(pk=desk["asa"].pk).name == ASA
    assert not GdprRequest.objects.exists()
    assert ada_client.get(reverse("privacy:export"), {"q": ASA_MAIL}).status_code == 200
    assert not GdprRequest.objects.exists()


def test_export_and_anonymise_through_the_pages(
    desk: dict[str, Any], ada_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    download = ada_client.post(reverse("privacy:export"), {"q": ASA_MAIL, "confirm": "1"})
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    content = b"".join(download.streaming_content) if download.streaming else download.content
    assert "data.json" in zipfile.ZipFile(io.BytesIO(content)).namelist()

    with django_capture_on_commit_callbacks(execute=True):
        done = ada_client.post(reverse("privacy:anonymise"), {"q": ASA_MAIL, "confirm": "1"})
    assert done.status_code == 302
    assert Contact.objects.get(pk=desk["asa"].pk).name == "[removed]"
    log = ada_client.get(reverse("privacy:index"))
    assert log.context["log"].count() == 2


def test_the_command_line(
    desk: dict[str, Any], tmp_path: Path, django_capture_on_commit_callbacks: Any
) -> None:
    out = tmp_path / "asa.zip"
    call_command("gdpr", "export", ASA_MAIL, "--out", str(out))
    assert "data.json" in zipfile.ZipFile(out).namelist()
    call_command("gdpr", "anonymise", ASA_MAIL)  # no --yes: nothing happens
    assert Contact.objects.get(pk=desk["asa"].pk).name == ASA
    with django_capture_on_commit_callbacks(execute=True):
        call_command("gdpr", "anonymise", ASA_MAIL, "--yes")
    assert Contact.objects.get(pk=desk["asa"].pk).name == "[removed]"
    assert GdprRequest.objects.filter(actor=None).count() == 2


@pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.sqlite3",
    reason="the SQLite database file itself; PostgreSQL's old row versions go with vacuum",
)
@pytest.mark.django_db(transaction=True)
def test_the_sqlite_file_keeps_nothing_of_her(support: Queue, alice: User, admin: User) -> None:
    """Committed for real (no test transaction): the database file and its write-ahead log,
    read as bytes, no longer hold her name or address once she is anonymised."""
    MailAddress.objects.create(queue=support, address="support@helpa.test")
    Contact.objects.create(name=ASA, email=ASA_MAIL)
    ingest.ingest_message(_asas_mail(), source=InboundMail.Source.PIPE, queue=support)
    from django.db import connection

    database = Path(connection.settings_dict["NAME"])

    def on_disk(text: str) -> bool:
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        found = False
        for path in (database, Path(f"{database}-wal")):
            if path.exists():
                found |= text.encode() in path.read_bytes()
        return found

    assert on_disk(ASA_MAIL)  # the check can see her
    gdpr.anonymise(gdpr.find_subject(ASA_MAIL), admin)
    for text in (ASA_MAIL, "Lindqvist", "lindqvist"):
        assert not on_disk(text), text
