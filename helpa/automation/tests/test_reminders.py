"""Reminders to contacts who keep a ticket waiting, and resolving when they never answer."""

from __future__ import annotations

import email
from datetime import UTC, datetime, timedelta
from email import policy as email_policy

import pytest
import time_machine

from helpa.accounts.models import User
from helpa.automation.models import QueuePolicy, Reminder
from helpa.automation.reminders import REMINDER_ACTOR, remind, run_reminders, waiting_tickets
from helpa.crm.models import Contact
from helpa.mail.ingest import ingest_message
from helpa.mail.models import MailAddress, OutgoingMail
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, HistoryEntry, Queue, Status, Ticket

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def at(days: float = 0, minutes: float = 0) -> time_machine.travel:
    return time_machine.travel(T0 + timedelta(days=days, minutes=minutes), tick=False)


@pytest.fixture
def reminders_on(queue_support: Queue) -> QueuePolicy:
    """Support reminds after 3 days of waiting and resolves 4 days after the reminder."""
    MailAddress.objects.create(queue=queue_support, address="support@example.com")
    return QueuePolicy.objects.create(
        queue=queue_support, remind_after_days=3, resolve_after_days=4
    )


@pytest.fixture
def waiting(alice: User, queue_support: Queue, contact: Contact) -> Ticket:
    """Carl's ticket, which Alice set to Waiting at T0."""
    with at(-1):
        ticket = actions.open_ticket(
            alice, queue=queue_support, title="VPN drops every hour", contact=contact, owner=alice
        )
    with at(0):
        return actions.set_status(alice, ticket, Status.WAITING)


def reminder_mails(ticket: Ticket) -> list[OutgoingMail]:
    return list(OutgoingMail.objects.filter(ticket=ticket, kind=OutgoingMail.Kind.REMINDER))


def text_of(outgoing: OutgoingMail) -> str:
    with outgoing.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=email_policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def customer_answers(ticket: Ticket, n: int = 1) -> None:
    """Carl answers by mail, through the real pipeline (which moves the ticket to Open)."""
    raw = (
        "From: Carl Customer <carl@example.com>\r\nTo: support@example.com\r\n"
        f"Subject: Re: VPN drops every hour [#{ticket.number}]\r\n"
        f"Message-ID: <answer-{ticket.number}-{n}@example.com>\r\n"
        "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        "Here are the logs you asked for.\r\n"
    ).encode()
    result = ingest_message(raw, source="pipe")
    assert result.inbound is not None and result.inbound.ticket == ticket


def test_a_reminder_after_n_days_exactly_once(reminders_on, waiting) -> None:
    with at(3, -1):
        assert run_reminders().reminded == 0
    assert reminder_mails(waiting) == []
    with at(3, 1):
        assert run_reminders().reminded == 1
        assert run_reminders().reminded == 0  # the job runs again (or in a second worker)
    with at(3, 6):
        run_reminders()
    [mail] = reminder_mails(waiting)
    assert mail.recipients == ["carl@example.com"]
    assert mail.subject == f"Reminder: VPN drops every hour [#{waiting.number}]"
    text = text_of(mail)
    assert f"your request #{waiting.number} (VPN drops every hour)" in text
    assert "/portal/l/" in text  # the ticket link, as every mail to a contact carries
    assert "within 4 days" in text
    entry = HistoryEntry.objects.get(ticket=waiting, field="reminder_sent")
    assert entry.actor_name == REMINDER_ACTOR.name and entry.actor is None
    assert Ticket.objects.get(pk=waiting.pk).status == Status.WAITING


def test_two_workers_claiming_the_same_wait_remind_once(reminders_on, waiting) -> None:
    with at(4):
        started = waiting_tickets(waiting.queue_id).get(pk=waiting.pk).wait_started
        assert remind(reminders_on, waiting.pk, started, T0 + timedelta(days=4)) == 1
        # The second worker read the same due wait before the first committed.
        assert remind(reminders_on, waiting.pk, started, T0 + timedelta(days=4)) == 0
    assert len(reminder_mails(waiting)) == 1
    assert Reminder.objects.filter(ticket=waiting).count() == 1


def test_no_reminder_when_the_customer_answered(reminders_on, waiting) -> None:
    with at(1):
        customer_answers(waiting)
    assert Ticket.objects.get(pk=waiting.pk).status == Status.OPEN
    with at(10):
        assert run_reminders().reminded == 0
    assert reminder_mails(waiting) == []


def test_the_answer_after_the_reminder_stops_the_countdown(reminders_on, waiting) -> None:
    with at(3, 1):
        run_reminders()
    with at(5):
        customer_answers(waiting)
    with at(30):
        assert run_reminders().resolved == 0
    assert Ticket.objects.get(pk=waiting.pk).status == Status.OPEN


def test_a_new_wait_reminds_again(reminders_on, waiting, alice) -> None:
    with at(3, 1):
        run_reminders()
    with at(4):
        customer_answers(waiting)
    with at(5):
        actions.set_status(alice, Ticket.objects.get(pk=waiting.pk), Status.WAITING)
    with at(7, 30):
        # The first countdown (4 days after the first reminder) belonged to the first wait.
        result = run_reminders()
        assert (result.reminded, result.resolved) == (0, 0)
    assert Ticket.objects.get(pk=waiting.pk).status == Status.WAITING
    with at(8, 1):
        assert run_reminders().reminded == 1
    assert len(reminder_mails(waiting)) == 2
    assert Reminder.objects.filter(ticket=waiting).count() == 2


def test_resolved_m_days_after_the_reminder_with_a_note(reminders_on, waiting) -> None:
    with at(3, 1):
        run_reminders()
    with at(7):
        assert run_reminders().resolved == 0  # a minute short of 4 days after the reminder
    with at(7, 2):
        assert run_reminders().resolved == 1
        assert run_reminders().resolved == 0
    ticket = Ticket.objects.get(pk=waiting.pk)
    assert ticket.status == Status.RESOLVED
    note = Article.objects.get(ticket=ticket, kind=ArticleKind.NOTE)
    assert note.body_text == "Resolved automatically: no answer in 4 days after the reminder."
    assert note.author_name == "Reminders"
    change = HistoryEntry.objects.get(ticket=ticket, field="status", new_value=Status.RESOLVED)
    assert change.actor is None and change.display_actor == "Reminders"


def test_queues_with_reminders_off_are_left_alone(queue_billing, bob, contact) -> None:
    QueuePolicy.objects.create(queue=queue_billing, retention_days=365)  # reminders empty
    with at(0):
        ticket = actions.open_ticket(
            bob, queue=queue_billing, title="Invoice", contact=contact, owner=bob
        )
        actions.set_status(bob, ticket, Status.WAITING)
    with at(60):
        result = run_reminders()
    assert (result.reminded, result.resolved) == (0, 0)
    assert reminder_mails(ticket) == []


def test_without_an_address_no_mail_and_no_resolving(reminders_on, alice, queue_support) -> None:
    nobody = Contact.objects.create(name="Phone only")
    with at(0):
        ticket = actions.open_ticket(
            alice, queue=queue_support, title="Call me", contact=nobody, owner=alice
        )
        actions.set_status(alice, ticket, Status.WAITING)
    with at(30):
        assert run_reminders().reminded == 0
        assert run_reminders().resolved == 0
    assert reminder_mails(ticket) == []
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING
