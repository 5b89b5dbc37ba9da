"""The built-in SMTP receiver, for real: an aiosmtpd server on 127.0.0.1 and smtplib talking to
it. The server stores through its own database thread, so the tests use committed data
(`transactional_db`)."""

from __future__ import annotations

import smtplib
import socket
import threading
import time
from collections.abc import Iterator

import pytest

from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, MailSettings
from helpa.mail.smtp_receiver import HelpaController, HelpaHandler, _Delivery, make_controller
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db(transaction=True)
SENDER = "pia@kund.se"


def message(
    to: str = "support@helpa.test", message_id: str = "<smtp-1@kund.se>", body: str = "Hello!"
) -> bytes:
    """A small message; a large `body` is wrapped into SMTP-sized lines."""
    body = "\r\n".join(body[i : i + 76] for i in range(0, len(body), 76))
    return (
        f"From: Pia Persson <{SENDER}>\r\nTo: {to}\r\nSubject: Screen flickers\r\n"
        f"Message-ID: {message_id}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
    ).encode()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def addresses(support: Queue, billing: Queue) -> None:
    MailAddress.objects.create(queue=support, address="support@helpa.test", is_sender=True)
    MailAddress.objects.create(queue=billing, address="billing@helpa.test", is_sender=True)


@pytest.fixture
def server(addresses: None) -> Iterator[HelpaController]:
    controller = make_controller("127.0.0.1", free_port())
    controller.start()
    try:
        yield controller
    finally:
        controller.stop()
        controller.handler.close()


@pytest.fixture
def smtp(server: HelpaController) -> Iterator[smtplib.SMTP]:
    client = smtplib.SMTP(server.hostname, server.port, timeout=30)
    client.ehlo("client.kund.se")
    try:
        yield client
    finally:
        try:
            client.quit()
        except smtplib.SMTPServerDisconnected:
            pass


def test_mail_to_a_bound_address_becomes_a_ticket(smtp: smtplib.SMTP, support: Queue) -> None:
    refused = smtp.sendmail(SENDER, ["Support@Helpa.test"], message())

    assert refused == {}
    inbound = InboundMail.objects.get()
    assert inbound.source == InboundMail.Source.SMTP and inbound.state == "stored"
    assert inbound.ticket.queue == support and inbound.ticket.title == "Screen flickers"
    with inbound.raw.open("rb") as f:
        raw = f.read()
    # As a delivery agent does, the receiver records the envelope sender; the rest is as sent.
    assert raw == b"Return-Path: <pia@kund.se>\r\n" + message()


def test_an_unknown_recipient_is_refused_at_rcpt_with_550(smtp: smtplib.SMTP) -> None:
    smtp.mail(SENDER)
    code, _text = smtp.rcpt("nobody@helpa.test")
    assert code == 550
    smtp.rset()
    with pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        smtp.sendmail(SENDER, ["nobody@helpa.test"], message(to="nobody@helpa.test"))
    assert refused.value.recipients["nobody@helpa.test"][0] == 550
    assert not InboundMail.objects.exists()


def test_mixed_recipients_the_known_one_gets_the_mail(smtp: smtplib.SMTP, support: Queue) -> None:
    refused = smtp.sendmail(SENDER, ["nobody@helpa.test", "support@helpa.test"], message())

    assert refused["nobody@helpa.test"][0] == 550 and len(refused) == 1
    assert Ticket.objects.get().queue == support


def test_recipients_of_two_queues_make_a_ticket_in_each(
    smtp: smtplib.SMTP, support: Queue, billing: Queue
) -> None:
    smtp.sendmail(SENDER, ["support@helpa.test", "billing@helpa.test"], message())
    assert sorted(Ticket.objects.values_list("queue__slug", flat=True)) == ["billing", "support"]


def test_the_same_message_twice_is_accepted_and_stored_once(smtp: smtplib.SMTP) -> None:
    assert smtp.sendmail(SENDER, ["support@helpa.test"], message()) == {}
    assert smtp.sendmail(SENDER, ["support@helpa.test"], message()) == {}
    assert InboundMail.objects.count() == 1 and Ticket.objects.count() == 1


def test_a_bounce_keeps_its_empty_envelope_sender(smtp: smtplib.SMTP) -> None:
    smtp.sendmail("<>", ["support@helpa.test"], message(message_id="<dsn@mx.kund.se>"))
    inbound = InboundMail.objects.get()
    assert inbound.is_automatic  # Return-Path: <> marks it as a machine's mail
    with inbound.raw.open("rb") as f:
        assert f.read().startswith(b"Return-Path: <>\r\n")


def test_a_temporary_failure_is_answered_451_and_nothing_is_stored(
    smtp: smtplib.SMTP, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: object, **kwargs: object) -> ingest.IngestResult:
        raise ingest.TemporaryFailure("database is locked")

    monkeypatch.setattr(ingest, "ingest_message", database_down)
    with pytest.raises(smtplib.SMTPDataError) as error:
        smtp.sendmail(SENDER, ["support@helpa.test"], message())
    assert error.value.smtp_code == 451
    assert not InboundMail.objects.exists()

    monkeypatch.undo()  # the database is back: the sending server's retry is stored
    assert smtp.sendmail(SENDER, ["support@helpa.test"], message()) == {}
    assert InboundMail.objects.count() == 1


@pytest.fixture
def one_mb_limit(addresses: None) -> None:
    settings = MailSettings.load()
    settings.max_message_mb = 1
    settings.save()


def test_the_size_limit_is_advertised_and_a_declared_larger_message_is_552(
    one_mb_limit: None, smtp: smtplib.SMTP
) -> None:
    assert smtp.esmtp_features["size"] == str(1024 * 1024)
    big = message(body="x" * (1024 * 1024 + 100))
    with pytest.raises(smtplib.SMTPSenderRefused) as refused:  # smtplib sends SIZE=…
        smtp.sendmail(SENDER, ["support@helpa.test"], big)
    assert refused.value.smtp_code == 552
    assert not InboundMail.objects.exists()


def test_a_larger_message_sent_without_declaring_its_size_is_552(
    one_mb_limit: None, smtp: smtplib.SMTP
) -> None:
    smtp.mail(SENDER)  # no SIZE parameter
    assert smtp.rcpt("support@helpa.test")[0] == 250
    code, _text = smtp.data(message(body="x" * (1024 * 1024 + 100)))
    assert code == 552
    assert not InboundMail.objects.exists()
    # The connection is still good for the next, smaller message.
    assert smtp.sendmail(SENDER, ["support@helpa.test"], message()) == {}
    assert InboundMail.objects.count() == 1


def test_messages_arriving_together_share_one_commit_and_each_is_answered_after_it(
    server: HelpaController,
) -> None:
    """A burst from several connections: while the database thread is busy the messages wait,
    then go in together (one transaction); every sender gets 250 and every message is stored
    once, in the queue its recipient is bound to."""
    handler = server.handler
    groups: list[int] = []
    together = handler._ingest_together

    slow = threading.Event()

    def recording(messages: list[tuple[bytes, list[str]]]) -> list:
        groups.append(len(messages))
        slow.wait(20)  # the first store takes a while: the others arrive meanwhile
        return together(messages)

    handler._ingest_together = recording  # type: ignore[method-assign]
    answers: dict[int, object] = {}

    def send(n: int) -> None:
        to = "billing@helpa.test" if n % 2 else "support@helpa.test"
        with smtplib.SMTP(server.hostname, server.port, timeout=30) as client:
            try:
                answers[n] = client.sendmail(SENDER, [to], message(to, f"<burst-{n}@kund.se>"))
            except smtplib.SMTPException as exc:
                answers[n] = exc

    senders = [threading.Thread(target=send, args=(n,)) for n in range(6)]
    senders[0].start()
    deadline = time.monotonic() + 20
    while not groups and time.monotonic() < deadline:
        time.sleep(0.01)  # the first is being stored …
    for thread in senders[1:]:
        thread.start()
    while len(handler._waiting) < 5 and time.monotonic() < deadline:
        time.sleep(0.01)  # … while the other five arrive and wait
    assert len(handler._waiting) == 5
    assert not answers  # nobody is answered before their message is committed
    slow.set()
    for thread in senders:
        thread.join(30)

    assert answers == {n: {} for n in range(6)}
    assert groups == [1, 5]
    stored = InboundMail.objects.filter(state=InboundMail.State.STORED)
    assert stored.count() == 6
    assert {m.queue.slug for m in stored if "burst-1@" in m.message_id} == {"billing"}
    assert Ticket.objects.filter(queue__slug="billing").count() == 3


def test_one_message_of_a_group_that_cannot_be_stored_is_answered_451_alone(
    server: HelpaController, monkeypatch: pytest.MonkeyPatch
) -> None:
    handler = server.handler
    real_store_one = ingest.Batch._store_one

    def refusing(batch: ingest.Batch, raw: bytes, *args: object) -> ingest.IngestResult:
        if b"<burst-broken@" in raw:
            return ingest.IngestResult(inbound=None, error=RuntimeError("disk full"))
        return real_store_one(batch, raw, *args)

    monkeypatch.setattr(ingest.Batch, "_store_one", refusing)
    slow = threading.Event()
    together = handler._ingest_together

    stores: list[int] = []

    def slowly(messages: list[tuple[bytes, list[str]]]) -> list:
        stores.append(len(messages))
        slow.wait(20)
        return together(messages)

    handler._ingest_together = slowly  # type: ignore[method-assign]
    answers: dict[str, object] = {}

    def send(name: str) -> None:
        with smtplib.SMTP(server.hostname, server.port, timeout=30) as client:
            try:
                answers[name] = client.sendmail(
                    SENDER, ["support@helpa.test"], message(message_id=f"<burst-{name}@kund.se>")
                )
            except smtplib.SMTPDataError as exc:
                answers[name] = exc.smtp_code

    names = ["first", "ok", "broken", "also-ok"]
    first = threading.Thread(target=send, args=("first",))
    first.start()
    deadline = time.monotonic() + 20
    while not stores and time.monotonic() < deadline:
        time.sleep(0.01)  # the first is being stored
    senders = [threading.Thread(target=send, args=(name,)) for name in names[1:]]
    for thread in senders:
        thread.start()
    while len(handler._waiting) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(handler._waiting) == 3
    slow.set()
    for thread in [first, *senders]:
        thread.join(30)

    assert answers == {"first": {}, "ok": {}, "broken": 451, "also-ok": {}}
    assert stores == [1, 3]
    stored = set(InboundMail.objects.values_list("message_id", flat=True))
    assert stored == {"<burst-first@kund.se>", "<burst-ok@kund.se>", "<burst-also-ok@kund.se>"}


def test_a_group_holds_what_a_batch_holds(monkeypatch: pytest.MonkeyPatch) -> None:
    """At most BATCH_MESSAGES messages and BATCH_BYTES bytes go into one transaction (a message
    larger than that goes alone); the rest wait for the next."""
    monkeypatch.setattr(ingest, "BATCH_MESSAGES", 3)
    monkeypatch.setattr(ingest, "BATCH_BYTES", 100)
    handler = HelpaHandler()
    try:
        sizes = [10, 10, 10, 10, 60, 60, 500, 10]
        handler._waiting = [_Delivery(b"x" * size, [], None) for size in sizes]  # type: ignore[arg-type]
        groups = []
        while handler._waiting:
            groups.append([len(d.raw) for d in handler._next_group()])
    finally:
        handler.close()
    assert groups == [[10, 10, 10], [10, 60], [60], [500], [10]]
