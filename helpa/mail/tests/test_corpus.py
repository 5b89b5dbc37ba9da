"""The corpus: awkward real-world-style messages, each stored and shown.

Every file under `corpus/` (and the generated giants below) goes through the whole pipeline
(`ingest.ingest_message`), must end in the state its entry names, keep its text readable where
the source has text, keep its files with the right names and bytes, and show on the agent's
ticket page without a single script of its own.

Personas from helpa/conftest.py: `alice` works the Support queue; `alice_client` is her browser.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from django.test import Client

from helpa.mail import ingest
from helpa.mail.models import FailingAddress, InboundMail, MailSettings, OutgoingMail
from helpa.tickets import actions
from helpa.tickets.models import Attachment, Queue, Ticket

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"
PDF = b"%PDF-1.4\n% fake pdf for tests\n%%EOF\n"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


@dataclass
class Expected:
    words: list[str] = field(default_factory=list)  # in the article's text and on the page
    subject: str | None = None  # the ticket title, when it is worth checking
    from_name: str | None = None
    # filename → exact bytes (None: present, bytes not checked)
    files: dict[str, bytes | None] = field(default_factory=dict)
    state: str = InboundMail.State.STORED
    automatic: bool = False
    absent: list[str] = field(default_factory=list)  # never on the page


EXPECTED: dict[str, Expected] = {
    # Charsets
    "latin1.eml": Expected(["Grüße från Malmö", "åäö ÅÄÖ"]),
    "windows1252.eml": Expected(["100 €", "“quoted”", "‘single’ …"]),
    "koi8r.eml": Expected(["Привет, мир!", "Спасибо"]),
    "wrong_charset_utf8_as_latin1.eml": Expected(["Viele Grüße aus Köln, Straße 5."]),
    "wrong_charset_latin1_as_utf8.eml": Expected(["Hälsningar från Göteborg."]),
    "missing_charset_8bit.eml": Expected(["Smörgåsbord, crème brûlée."]),
    "missing_content_type_latin1.eml": Expected(["Blåbärssylt på smörgås."]),
    "unknown_charset.eml": Expected(["Naïve café, Zürich."]),
    "eight_bit_headers.eml": Expected(
        ["Hej! Ärende."], subject="Fråga om räkning", from_name="Åsa Öberg"
    ),
    # RFC 2047 words: Q and B, three charsets, and a euro sign split across two words.
    "rfc2047_headers.eml": Expected(
        ["See subject."], subject="Grüße und åäö€uro", from_name="Иван Петров"
    ),
    # RFC 2231 continuations with a charset, an RFC 2047 name, an ISO-8859-1 RFC 2231 name.
    "rfc2231_filenames.eml": Expected(
        ["Två bilagor."],
        files={
            "Räkning för märz.pdf": PDF,
            "Översikt.txt": b"rader",
            "årsrapport.bin": bytes(range(256)),
        },
    ),
    # Structures
    "html_only.eml": Expected(["fetstil", "kursiv"], absent=["p{color:red}"]),
    "text_only.eml": Expected(["Hello", "quoted line from before", "Thanks."]),
    "alternative.eml": Expected(["Rich"]),
    "related_cid.eml": Expected(["Our logo:"], files={"logo.png": PNG}),
    "forwarded.eml": Expected(
        ["See the forwarded mail below.", "The original text with åäö."],
        files={"Original_problem.eml": None},
    ),
    "uuencode_cte.eml": Expected(
        ["Attached."], files={"notes.txt": b"uuencoded file content\n" * 3}
    ),
    "uuencode_inline.eml": Expected(
        ["Here is the file you asked for.", "Regards, Kim"],
        files={"report.dat": bytes(range(200))},
        absent=["begin 644"],
    ),
    "winmail_dat.eml": Expected(
        ["See attached."], files={"winmail.dat": b"\x78\x9f\x3e\x22" + bytes(range(64))}
    ),
    # Broken MIME: whatever can be read is kept.
    "broken_no_closing_boundary.eml": Expected(
        ["Text before the attachment, Grüße."], files={"a.pdf": PDF}
    ),
    "broken_undeclared_boundary.eml": Expected(["The lost text survives."]),
    "broken_bad_base64.eml": Expected(["Trasig base64 men läsbar"], files={"broken.pdf": None}),
    "broken_truncated.eml": Expected(["The start survives."], files={"cut.pdf": None}),
    "broken_header_without_colon.eml": Expected(["Body after the broken header."]),
    "broken_nul_bytes.eml": Expected(["NUL bytes"], subject="NUL bytes", from_name="Kim Kund"),
    "crlf_line_endings.eml": Expected(["Windows line endings, tack så mycket."]),
    # Machines: the bounce joins the ticket of our bounced reply (see the test below).
    "bounce.eml": Expected(
        ["could not be delivered", "gone@kund.test"],
        state=InboundMail.State.BOUNCE,
        automatic=True,
    ),
    "auto_auto_submitted.eml": Expected(["I am away until Monday."], automatic=True),
    "auto_precedence_bulk.eml": Expected(["I am away until Monday."], automatic=True),
    "auto_x_autoreply.eml": Expected(["I am away until Monday."], automatic=True),
    "auto_outlook_suppress.eml": Expected(["I am away until Monday."], automatic=True),
    # Edges
    "no_from.eml": Expected(["A message without a sender."]),
    "no_body.eml": Expected(["(empty message)"], subject="Empty"),
    "only_attachments.eml": Expected(files={"scan.pdf": PDF}),
    "xss.eml": Expected(
        ["Visible text.", "https://bank.example/login", "hover"],
        absent=[
            'alert("x1")',  # the script's content goes with it
            "javascript:",
            "vbscript:",
            "data:text",
            "data:image",
            "onerror",
            "onload",
            "onclick",
            "onmouseover",
            "evil.example",  # no iframe, no form posting elsewhere
            "<svg",
            "<object",
        ],
    ),
    "remote_images.eml": Expected(
        ["Look:"],
        absent=[' src="https://tracker.example', ' src="http://images.example'],
    ),
}

SCRIPT_TAG = re.compile(r"<script\b[^>]*>", re.IGNORECASE)
EVENT_HANDLER = re.compile(r"<[^>]*?\son[a-z]+\s*=[^>]*>", re.IGNORECASE)
# The page's own event handlers (the language menu); a mail's may never add one.
PAGE_HANDLERS = {'onchange="this.form.submit()"'}


def assert_no_foreign_script(page: str) -> None:
    """The page's own scripts load from /static/; nothing from a mail adds one, nor a handler."""
    for tag in SCRIPT_TAG.findall(page):
        assert 'src="/static/' in tag, tag
    for tag in EVENT_HANDLER.findall(page):
        assert any(h in tag for h in PAGE_HANDLERS), tag


def ingest_raw(raw: bytes, queue: Queue) -> InboundMail:
    result = ingest.ingest_message(raw, source=InboundMail.Source.IMPORT, queue=queue)
    assert result.inbound is not None
    result.inbound.refresh_from_db()
    return result.inbound


def ticket_page(client: Client, ticket: Ticket) -> str:
    response = client.get(f"/t/{ticket.number}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert_no_foreign_script(page)
    return page


def unescaped(page: str) -> str:
    return page.replace("&amp;", "&").replace("&lt;", "<").replace("&gt;", ">")


def files_of(inbound: InboundMail) -> dict[str, bytes]:
    result = {}
    for attachment in Attachment.objects.filter(article=inbound.article):
        with attachment.file.open("rb") as f:
            result[attachment.filename] = f.read()
    return result


@pytest.fixture
def bounced_reply(support: Queue) -> OutgoingMail:
    """Our reply that bounce.eml reports as undeliverable."""
    ticket = actions.open_ticket(None, queue=support, title="Help")
    return OutgoingMail.objects.create(
        kind=OutgoingMail.Kind.REPLY,
        ticket=ticket,
        queue=support,
        message_id="<our-reply-1@helpa.test>",
        sender="support@helpa.test",
        recipients=["gone@kund.test"],
    )


def test_every_corpus_file_has_expectations() -> None:
    assert sorted(p.name for p in CORPUS.glob("*.eml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_corpus_message_is_stored_and_shown(
    name: str, support: Queue, alice_client: Client, bounced_reply: OutgoingMail
) -> None:
    expected = EXPECTED[name]
    raw = (CORPUS / name).read_bytes()
    inbound = ingest_raw(raw, support)

    assert inbound.state == expected.state, inbound.error or inbound.thread_reason
    assert inbound.is_automatic == expected.automatic
    with inbound.raw.open("rb") as f:
        assert f.read() == raw  # the message as received, byte for byte
    assert inbound.ticket is not None and inbound.article is not None
    if expected.subject is not None:
        assert inbound.ticket.title == expected.subject
        assert inbound.subject == expected.subject
    if expected.from_name is not None:
        assert inbound.from_name == expected.from_name
    text = inbound.article.body_text
    for word in expected.words:
        assert word in text, (word, text)

    stored = files_of(inbound)
    for filename, payload in expected.files.items():
        assert filename in stored, (filename, list(stored))
        if payload is not None:
            assert stored[filename] == payload, filename

    page = unescaped(ticket_page(alice_client, inbound.ticket))
    for word in expected.words:
        assert word in page, word
    for filename in expected.files:
        assert filename in page, filename
    for word in expected.absent:
        assert word not in page, word


def test_the_inline_image_points_at_the_stored_file(support: Queue, alice_client: Client) -> None:
    inbound = ingest_raw((CORPUS / "related_cid.eml").read_bytes(), support)
    logo = Attachment.objects.get(article=inbound.article, filename="logo.png")
    assert logo.is_inline
    src = f'src="/t/{inbound.ticket.number}/attachments/{logo.pk}/"'
    assert src in inbound.article.body_html
    assert src in ticket_page(alice_client, inbound.ticket)


def test_remote_images_wait_for_the_agent(support: Queue) -> None:
    inbound = ingest_raw((CORPUS / "remote_images.eml").read_bytes(), support)
    body = inbound.article.body_html
    assert 'data-remote-src="https://tracker.example/pixel.gif?u=1"' in body
    assert 'data-remote-src="http://images.example/photo.jpg"' in body
    assert " src=" not in body


def test_machines_get_no_auto_reply(support: Queue) -> None:
    for name in EXPECTED:
        if name.startswith("auto_"):
            ingest_raw((CORPUS / name).read_bytes(), support)
    assert Ticket.objects.count() == 4
    assert not OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AUTO_REPLY).exists()


def test_a_bounce_marks_the_address_and_joins_the_ticket(
    support: Queue, bounced_reply: OutgoingMail
) -> None:
    inbound = ingest_raw((CORPUS / "bounce.eml").read_bytes(), support)
    assert inbound.ticket == bounced_reply.ticket
    assert FailingAddress.objects.filter(address="gone@kund.test").exists()
    assert Ticket.objects.count() == 1  # no new ticket for a machine's report


def test_a_bounce_of_unknown_mail_is_kept_for_the_admin(support: Queue) -> None:
    inbound = ingest_raw((CORPUS / "bounce.eml").read_bytes(), support)
    assert inbound.state == InboundMail.State.BOUNCE and inbound.ticket is None
    assert not Ticket.objects.exists()


# --- Generated giants -------------------------------------------------------------------------


def _head(subject: str, extra: str = "") -> bytes:
    return (
        "From: Kim Kund <kim@kund.test>\nTo: support@helpa.test\n"
        f"Subject: {subject}\nMessage-ID: <{abs(hash(subject))}@kund.test>\nMIME-Version: 1.0\n"
        f"{extra}"
    ).encode()


def test_a_thousand_received_lines(support: Queue, alice_client: Client) -> None:
    received = "".join(
        f"Received: from relay{i}.example (relay{i}.example [192.0.2.{i % 250}])\n"
        f"\tby mx.helpa.test with ESMTPS id {i:08x}; Mon, 3 Mar 2025 10:00:00 +0100\n"
        for i in range(1000)
    )
    raw = received.encode() + _head("Many hops") + b"\nArrived after 1000 hops.\n"
    inbound = ingest_raw(raw, support)
    assert inbound.state == InboundMail.State.STORED
    assert "Arrived after 1000 hops." in ticket_page(alice_client, inbound.ticket)


def test_a_100_kb_subject(support: Queue, alice_client: Client) -> None:
    subject = "Långt ämne " + "x" * 100_000
    encoded = " ".join(
        f"=?utf-8?b?{base64.b64encode(subject[i : i + 45].encode()).decode()}?="
        for i in range(0, len(subject), 45)
    )
    raw = _head("placeholder").replace(b"placeholder", encoded.encode()) + b"\nLong subject.\n"
    inbound = ingest_raw(raw, support)
    assert inbound.state == InboundMail.State.STORED
    assert inbound.subject.startswith("Långt ämne xxx") and len(inbound.subject) == 500
    assert inbound.ticket.title.startswith("Långt ämne") and len(inbound.ticket.title) <= 200
    assert "Long subject." in ticket_page(alice_client, inbound.ticket)


def test_a_one_megabyte_header(support: Queue) -> None:
    raw = _head("Big header", "X-Junk: " + "y" * 1_000_000 + "\n") + b"\nStill here.\n"
    inbound = ingest_raw(raw, support)
    assert inbound.state == InboundMail.State.STORED
    assert "Still here." in inbound.article.body_text


def test_five_thousand_parts(support: Queue, alice_client: Client) -> None:
    parts = [b"--p\nContent-Type: text/plain; charset=utf-8\n\nThe first part.\n"]
    parts += [
        f'--p\nContent-Type: application/octet-stream\nContent-Disposition: attachment; filename="f{i}.bin"\n'
        f"Content-Transfer-Encoding: base64\n\n{base64.b64encode(f'file {i}'.encode()).decode()}\n".encode()
        for i in range(4999)
    ]
    raw = (
        _head("Five thousand parts", 'Content-Type: multipart/mixed; boundary="p"\n')
        + b"\n"
        + b"".join(parts)
        + b"--p--\n"
    )
    inbound = ingest_raw(raw, support)
    assert inbound.state == InboundMail.State.STORED
    stored = Attachment.objects.filter(article=inbound.article)
    assert stored.count() == 4999
    last = stored.get(filename="f4998.bin")
    with last.file.open("rb") as f:
        assert f.read() == b"file 4998"
    page = ticket_page(alice_client, inbound.ticket)
    assert "The first part." in page and "f4998.bin" in page


def test_an_oversize_message_is_rejected_once_and_kept(support: Queue) -> None:
    settings = MailSettings.load()
    settings.max_message_mb = 1
    settings.save()
    body = binascii.b2a_base64(b"z" * 1_100_000)
    raw = _head("Too big", "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\n")
    inbound = ingest_raw(raw + b"\n" + body, support)
    assert inbound.state == InboundMail.State.REJECTED and inbound.ticket is None
    assert "limit is 1 MB" in inbound.thread_reason
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.REJECTION).count() == 1
