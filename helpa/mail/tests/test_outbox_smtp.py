"""The outbox against a real SMTP server (aiosmtpd on 127.0.0.1): an outage delays mail but
never loses it or sends it twice; refusals are told apart (5xx fails, 4xx retries); two
workers never send one message twice; STARTTLS with a login works with a queue's own server."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail import outbox
from helpa.mail.models import MailAddress, OutgoingMail, Participant, QueueMail
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket


@pytest.fixture
def support_mail(support: Queue) -> QueueMail:
    MailAddress.objects.create(queue=support, address="support@helpa.test", is_sender=True)
    return QueueMail.objects.create(queue=support, auto_reply=False)


@pytest.fixture
def pia_ticket(alice: User, support: Queue, support_mail: QueueMail) -> Ticket:
    pia = Contact.objects.create(name="Pia Persson", email="pia@kund.se")
    return actions.open_ticket(alice, queue=support, title="Printer", contact=pia)


def reply(alice: User, ticket: Ticket, capture) -> OutgoingMail:
    """An agent's reply, committed: the outbox is drained at once (Huey runs immediately)."""
    with capture(execute=True):
        article = actions.add_reply(alice, ticket, "<p>Fixed.</p>")
    return OutgoingMail.objects.get(article=article)


def later(minutes: int) -> timezone.datetime:
    return timezone.now() + timedelta(minutes=minutes)


@pytest.mark.django_db
def test_an_outage_delays_the_mail_and_it_is_sent_once_when_the_server_is_back(
    alice, pia_ticket, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED and mail.attempts == 1
    assert "ConnectionRefusedError" in mail.last_error
    assert mail.next_attempt_at > timezone.now()

    smtp_server.start()
    assert outbox.send_due() == 0  # not due yet: the back-off is kept
    assert smtp_server.received == []

    assert outbox.send_due(now=later(2)) == 1
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT and mail.attempts == 2
    assert mail.last_error == "" and mail.sent_at is not None
    assert outbox.send_due(now=later(60)) == 0
    assert len(smtp_server.received) == 1
    assert smtp_server.received[0].message["Message-ID"] == mail.message_id


@pytest.mark.django_db
def test_a_permanent_refusal_fails_with_the_reason(
    alice, pia_ticket, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.recorder.refuse["pia@kund.se"] = "550 5.1.1 <pia@kund.se>: no such user"
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.FAILED and mail.attempts == 1
    assert "550" in mail.last_error and "no such user" in mail.last_error
    assert outbox.send_due(now=later(600)) == 0 and smtp_server.received == []


@pytest.mark.django_db
def test_a_temporary_refusal_is_retried(
    alice, pia_ticket, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.recorder.refuse_once["pia@kund.se"] = "451 4.7.1 Greylisted, try again later"
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED and mail.attempts == 1
    assert "451" in mail.last_error
    assert outbox.send_due(now=later(2)) == 1
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT and len(smtp_server.received) == 1


@pytest.mark.django_db
def test_a_refused_cc_is_shown_on_the_sent_mail(
    alice, pia_ticket, smtp_server, django_capture_on_commit_callbacks
):
    Participant.objects.create(ticket=pia_ticket, address="gone@kund.se")
    smtp_server.recorder.refuse["gone@kund.se"] = "550 5.1.1 gone"
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT
    assert smtp_server.received[0].rcpt_tos == ["pia@kund.se"]
    assert "gone@kund.se: 550" in mail.last_error


@pytest.mark.django_db
def test_too_many_failures_give_up(
    alice, pia_ticket, smtp_server, django_capture_on_commit_callbacks
):
    smtp_server.stop()
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    minutes = 0
    for wait in outbox.BACKOFF_MINUTES:
        minutes += wait
        outbox.send_due(now=later(minutes + 1))
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.FAILED
    assert mail.attempts == len(outbox.BACKOFF_MINUTES)


@pytest.mark.django_db(transaction=True)
def test_two_workers_send_a_message_once(alice, pia_ticket, smtp_server, settings, monkeypatch):
    # Queue the mail while no server is configured, so it waits in the outbox.
    settings.HELPA_SMTP_URL = ""
    article = actions.add_reply(alice, pia_ticket, "<p>Fixed.</p>")
    mail = OutgoingMail.objects.get(article=article)
    assert mail.state == OutgoingMail.State.QUEUED and mail.attempts == 0
    settings.HELPA_SMTP_URL = smtp_server.url

    # Both workers have read the due message before either claims it.
    both_read = threading.Barrier(2, timeout=10)
    real_claim = outbox._claim

    def claim_together(mail, now):
        both_read.wait()
        return real_claim(mail, now)

    monkeypatch.setattr(outbox, "_claim", claim_together)
    results: list[int] = []
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            results.append(outbox.send_due(now=later(10)))
        except BaseException as exc:  # noqa: BLE001 — reported by the test below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    assert sorted(results) == [0, 1]
    assert len(smtp_server.received) == 1
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT and mail.attempts == 1


@pytest.mark.django_db
def test_a_queue_server_with_starttls_and_login(
    alice, pia_ticket, support_mail, starttls_server, settings, django_capture_on_commit_callbacks
):
    settings.HELPA_SMTP_URL = "smtp://127.0.0.1:9?plain"  # the queue's own server wins
    support_mail.smtp_host = "127.0.0.1"
    support_mail.smtp_port = starttls_server.port
    support_mail.smtp_security = QueueMail.Security.STARTTLS
    support_mail.smtp_username = "helpa"
    support_mail.smtp_password = "s3cret"
    support_mail.save()
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT, mail.last_error
    assert len(starttls_server.received) == 1
    assert starttls_server.recorder.logins and starttls_server.recorder.logins[0][1] == "helpa"


@pytest.mark.django_db
def test_a_wrong_password_keeps_the_mail_queued_with_the_reason(
    alice, pia_ticket, support_mail, starttls_server, django_capture_on_commit_callbacks
):
    support_mail.smtp_host = "127.0.0.1"
    support_mail.smtp_port = starttls_server.port
    support_mail.smtp_username = "helpa"
    support_mail.smtp_password = "wrong"
    support_mail.save()
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED and mail.attempts == 1
    assert "SMTPAuthenticationError" in mail.last_error
    assert starttls_server.received == []


@pytest.mark.django_db
def test_an_untrusted_certificate_is_refused(
    alice,
    pia_ticket,
    support_mail,
    starttls_server,
    monkeypatch,
    django_capture_on_commit_callbacks,
):
    monkeypatch.delenv("SSL_CERT_FILE")  # the self-signed certificate is trusted no more
    support_mail.smtp_host = "127.0.0.1"
    support_mail.smtp_port = starttls_server.port
    support_mail.smtp_username = "helpa"
    support_mail.smtp_password = "s3cret"
    support_mail.save()
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED
    assert "CERTIFICATE_VERIFY_FAILED" in mail.last_error
    assert starttls_server.received == []


@pytest.mark.django_db
def test_without_a_server_the_mail_waits_and_says_why(
    alice, pia_ticket, settings, django_capture_on_commit_callbacks
):
    settings.HELPA_SMTP_URL = ""
    mail = reply(alice, pia_ticket, django_capture_on_commit_callbacks)
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED and mail.attempts == 0
    assert "No outgoing mail server" in mail.last_error
