"""`ingest.Batch`: several messages to a transaction (import-mail), each in its own savepoint —
so one that fails still fails alone, a database that refuses stores nothing of the batch, and a
killed import, run again, stores every message exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import OperationalError, connection

from helpa.crm.models import Contact
from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, OutgoingMail
from helpa.tickets.models import Article, Queue, Ticket

pytestmark = pytest.mark.django_db


def message(n: int, *, subject: str = "", references: str = "") -> bytes:
    lines = [
        f"From: Kund {n} <kund{n}@kund.se>",
        "To: support@helpa.test",
        f"Subject: {subject or f'Question {n}'}",
        f"Date: Mon, 03 Mar 2025 10:{n // 60:02d}:{n % 60:02d} +0100",
        f"Message-ID: <q{n}@kund.se>",
    ]
    if references:
        lines += [f"In-Reply-To: {references}", f"References: {references}"]
    return ("\n".join(lines) + f"\nContent-Type: text/plain\n\nThis is question {n}.\n").encode()


def stored_files(root: Path) -> set[Path]:
    return {p for p in root.rglob("*.eml")}


class Report:
    def __init__(self) -> None:
        self.results: list[tuple[object, ingest.IngestResult]] = []

    def __call__(self, tag: object, result: ingest.IngestResult) -> None:
        self.results.append((tag, result))


def test_a_batch_stores_every_message_like_one_at_a_time(support: Queue) -> None:
    MailAddress.objects.create(queue=support, address="support@helpa.test", is_sender=True)
    report = Report()
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, done=report)
    batch.add(message(1), tag="one")
    batch.add(message(2), tag="two")
    batch.add(message(3, subject="Re: Question 1", references="<q1@kund.se>"), tag="reply")
    batch.add(message(1), tag="again")  # the same message twice in one batch
    assert report.results == []  # nothing is reported before the commit
    batch.flush()

    assert [tag for tag, _result in report.results] == ["one", "two", "reply", "again"]
    one, two, reply, again = (result for _tag, result in report.results)
    assert one.inbound.state == InboundMail.State.STORED and one.inbound.pk
    assert reply.ticket is None or reply.inbound.state == InboundMail.State.STORED
    assert again.duplicate and again.inbound is None
    assert Ticket.objects.count() == 3  # kund3 takes no part in the first: a new ticket
    assert InboundMail.objects.count() == 3 and Article.objects.count() == 4  # + "refers to"
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AUTO_REPLY).count() == 3
    assert batch.pending == []


def test_a_reply_in_the_same_batch_joins_the_ticket_of_its_first_message(support: Queue) -> None:
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support)
    batch.add(message(1))
    raw = message(1, subject="Re: Question 1", references="<q1@kund.se>")
    batch.add(raw.replace(b"<q1@kund.se>\nIn-Reply", b"<q1b@kund.se>\nIn-Reply"))
    batch.flush()
    assert Ticket.objects.count() == 1 and Article.objects.count() == 2


def test_one_message_that_fails_in_a_batch_is_stored_as_failed_and_the_rest_import(
    support: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    real_open_ticket = ingest._open_ticket

    def open_ticket(queue, parsed, inbound, related):  # type: ignore[no-untyped-def]
        ticket, article = real_open_ticket(queue, parsed, inbound, related)
        if parsed.subject == "Poison":  # after it wrote its ticket, contact and auto-reply
            raise RuntimeError("the pipeline tripped")
        return ticket, article

    monkeypatch.setattr(ingest, "_open_ticket", open_ticket)
    report = Report()
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, done=report)
    for raw in [message(1), message(2, subject="Poison"), message(3)]:
        batch.add(raw)
    batch.flush()

    states = [result.inbound.state for _tag, result in report.results]
    assert states == ["stored", "failed", "stored"]
    failed = InboundMail.objects.get(state=InboundMail.State.FAILED)
    assert "the pipeline tripped" in failed.error and failed.ticket is None
    with failed.raw.open("rb") as f:
        assert b"This is question 2." in f.read()
    # What the failed message wrote is undone with its savepoint; the others' is kept.
    assert sorted(Ticket.objects.values_list("title", flat=True)) == ["Question 1", "Question 3"]
    assert not Contact.objects.filter(email="kund2@kund.se").exists()
    assert OutgoingMail.objects.count() == 2

    monkeypatch.undo()
    assert ingest.reprocess(failed).state == InboundMail.State.STORED


def test_a_message_that_cannot_be_stored_at_all_is_reported_and_the_rest_commit(
    support: Queue, monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    real_insert = ingest.rows.insert

    def insert(instance):  # type: ignore[no-untyped-def]
        if isinstance(instance, InboundMail) and instance.subject == "Unstorable":
            raise ValueError("a column refuses it")
        return real_insert(instance)

    monkeypatch.setattr(ingest.rows, "insert", insert)
    report = Report()
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, done=report)
    for raw in [message(1), message(2, subject="Unstorable"), message(3)]:
        batch.add(raw, tag=raw)
    batch.flush()

    first, second, third = (result for _tag, result in report.results)
    assert isinstance(second.error, ValueError) and second.inbound is None
    assert first.inbound.pk and third.inbound.pk and first.error is third.error is None
    assert InboundMail.objects.count() == 2 and Ticket.objects.count() == 2
    # Nothing of it is kept, not even its raw file: its source copy stays where it is.
    raws = [p.read_bytes() for p in stored_files(Path(settings.MEDIA_ROOT))]
    assert sum(raw.startswith(b"From: Kund") for raw in raws) == 2


def test_a_database_that_refuses_stores_nothing_of_the_batch_and_a_retry_stores_it_once(
    support: Queue, monkeypatch: pytest.MonkeyPatch, settings
) -> None:
    real_already_stored = ingest._already_stored
    calls = 0

    def locked_on_the_third(key: str) -> bool:
        nonlocal calls
        calls += 1
        if calls == 3:
            raise OperationalError("database is locked")
        return real_already_stored(key)

    monkeypatch.setattr(ingest, "_already_stored", locked_on_the_third)
    report = Report()
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, done=report)
    for n in (1, 2, 3, 4):
        batch.add(message(n))
    with pytest.raises(ingest.TemporaryFailure, match="database is locked"):
        batch.flush()
    assert report.results == [] and len(batch.pending) == 4
    assert not InboundMail.objects.exists() and not Ticket.objects.exists()
    # The raw messages written before the refusal are gone with the batch.
    raws = [p.read_bytes() for p in stored_files(Path(settings.MEDIA_ROOT))]
    assert not any(raw.startswith(b"From: Kund") for raw in raws)

    batch.flush()  # the database is back
    assert len(report.results) == 4 and batch.pending == []
    assert InboundMail.objects.count() == 4 and Article.objects.count() == 4


def test_a_batch_is_full_at_its_message_or_byte_limit(support: Queue) -> None:
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, max_messages=2)
    batch.add(message(1))
    assert not batch.full
    batch.add(message(2))
    assert batch.full
    big = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support, max_bytes=300)
    big.add(message(1) + b"x" * 300)
    assert big.full


CHILD = """
import os, sys, time
import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
django.setup()
from django.core.management import call_command
from helpa.mail import ingest

process = ingest.process

def slowly(*args, **kwargs):
    time.sleep(0.03)
    return process(*args, **kwargs)

ingest.process = slowly
call_command("import-mail", "--queue", "support", sys.argv[1])
"""
N = 130  # three batches of up to 50


@pytest.mark.django_db(transaction=True)
def test_killing_the_import_midway_then_running_it_again_stores_every_message_once(
    support: Queue, tmp_path: Path
) -> None:
    source = tmp_path / "old-mail"
    source.mkdir()
    for n in range(1, N + 1):
        (source / f"{n:03d}.eml").write_bytes(message(n))
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(source)],
        env={
            **os.environ,
            "HELPA_TESTING": "1",
            "HELPA_DATA_DIR": str(tmp_path / "child"),
            "HELPA_DATABASE_NAME": str(connection.settings_dict["NAME"]),
        },
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 60
    while InboundMail.objects.count() < ingest.BATCH_MESSAGES:  # the first batch committed
        if child.poll() is not None or time.monotonic() > deadline:
            output = child.stdout.read().decode() if child.stdout else ""
            pytest.fail(f"the import ended before it could be killed:\n{output}")
        time.sleep(0.02)
    child.send_signal(signal.SIGKILL)  # in the middle of the second batch
    child.wait()
    assert child.returncode == -signal.SIGKILL
    killed_at = InboundMail.objects.count()
    assert killed_at % ingest.BATCH_MESSAGES == 0 and 0 < killed_at < N  # whole batches only

    from django.core.management import call_command  # noqa: PLC0415

    call_command("import-mail", "--queue", "support", str(source), stdout=open(os.devnull, "w"))

    assert InboundMail.objects.count() == N and Article.objects.count() == N
    assert Ticket.objects.count() == N
    assert sorted(Ticket.objects.values_list("title", flat=True)) == sorted(
        f"Question {n}" for n in range(1, N + 1)
    )


def test_a_new_sender_is_announced_to_the_webhooks_like_any_new_contact(support: Queue) -> None:
    from helpa.api import webhooks  # noqa: PLC0415
    from helpa.api.models import Webhook  # noqa: PLC0415

    hook = Webhook.objects.create(
        url="http://127.0.0.1:9/", events=["contact.created"], allow_private=True
    )
    webhooks.forget()
    batch = ingest.Batch(source=InboundMail.Source.IMPORT, queue=support)
    batch.add(message(1))
    batch.add(
        message(1, subject="Re: Question 1", references="<q1@kund.se>").replace(
            b"<q1@kund.se>\nIn-Reply", b"<q1b@kund.se>\nIn-Reply"
        )
    )
    batch.flush()
    (delivery,) = hook.deliveries.all()
    assert delivery.payload["data"]["contact"]["email"] == "kund1@kund.se"
