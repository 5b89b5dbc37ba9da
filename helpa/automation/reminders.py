"""Reminders and auto-resolve, per queue (QueuePolicy): a ticket that has waited on its contact
(status Waiting) for N days gets one reminder mail to the contact; M more days without an
answer and it is resolved, with a note, by the actor "Reminders".

A *wait* begins when the ticket enters Waiting (its newest history entry to that status, or
its creation when it was created waiting) and ends when it leaves: a customer's answer moves it
back to Open (mail, portal), which stops the countdown. `Reminder` rows are unique per ticket
and wait, so two workers remind once and a new wait may remind again. The job runs every few
minutes (tasks.py); everything here asks the database what is due now.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import DateTimeField, Exists, F, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from helpa.mail import outbound, texts
from helpa.mail.ingest import may_send_automatic_mail
from helpa.mail.models import OutgoingMail
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, HistoryEntry, Status, Ticket

from .models import QueuePolicy, Reminder

log = logging.getLogger(__name__)
REMINDER_ACTOR = actions.Actor(name="Reminders")
BATCH = 500


@dataclass
class Outcome:
    reminded: int = 0
    resolved: int = 0


def wait_started() -> Coalesce:
    """When the ticket's current wait began: its newest change to Waiting, else its creation."""
    entered = (
        HistoryEntry.objects.filter(ticket=OuterRef("pk"), field="status", new_value=Status.WAITING)
        .order_by("-created_at", "-id")
        .values("created_at")[:1]
    )
    return Coalesce(Subquery(entered), F("created_at"), output_field=DateTimeField())


def waiting_tickets(queue_id: int) -> QuerySet[Ticket]:
    return Ticket.objects.filter(queue_id=queue_id, status=Status.WAITING, is_draft=False).annotate(
        wait_started=wait_started()
    )


def due_for_reminder(policy: QueuePolicy, now: datetime) -> QuerySet[Ticket]:
    """The queue's tickets whose current wait is N days old and not yet reminded."""
    assert policy.remind_after_days
    edge = now - timedelta(days=policy.remind_after_days)
    reminded = Reminder.objects.filter(
        ticket=OuterRef("pk"), wait_started_at=OuterRef("wait_started")
    )
    return (
        waiting_tickets(policy.queue_id)
        .filter(wait_started__lte=edge)
        .exclude(Exists(reminded))
        .order_by("pk")
    )


def due_for_resolving(policy: QueuePolicy, now: datetime) -> QuerySet[Reminder]:
    """Mailed reminders of the queue's waiting tickets, M days old, whose countdown runs."""
    assert policy.resolve_after_days
    edge = now - timedelta(days=policy.resolve_after_days)
    return Reminder.objects.filter(
        done_at__isnull=True,
        mail__isnull=False,
        reminded_at__lte=edge,
        ticket__queue_id=policy.queue_id,
        ticket__status=Status.WAITING,
    ).order_by("pk")


def run_reminders(now: datetime | None = None) -> Outcome:
    """One pass over every queue with reminders on: remind what is due, resolve what waited
    long enough after its reminder. Safe to run in several workers at once. `reminded` counts
    the reminder mails written."""
    now = now or timezone.now()
    outcome = Outcome()
    policies = QueuePolicy.objects.filter(remind_after_days__gt=0).select_related("queue")
    for policy in policies:
        for pk, started in due_for_reminder(policy, now).values_list("pk", "wait_started")[:BATCH]:
            outcome.reminded += remind(policy, pk, started, now)
        if policy.resolve_after_days:
            for reminder in due_for_resolving(policy, now)[:BATCH]:
                outcome.resolved += resolve(policy, reminder, now)
    return outcome


def _current_wait(ticket_id: int, queue_id: int) -> datetime | None:
    """When the ticket's wait began, if it is waiting (in this queue) now."""
    return (
        waiting_tickets(queue_id)
        .filter(pk=ticket_id)
        .values_list("wait_started", flat=True)
        .first()
    )


def _answered_since(ticket_id: int, since: datetime) -> bool:
    """A customer message after the wait began (normally it also ended the wait)."""
    return Article.objects.filter(
        ticket_id=ticket_id, kind=ArticleKind.CUSTOMER, created_at__gt=since
    ).exists()


def remind(policy: QueuePolicy, ticket_id: int, started: datetime, now: datetime) -> int:
    """Claim the wait (the unique row) and mail the reminder, in one transaction: 1 when this
    call reminded, 0 when the wait was over or another worker claimed it first."""
    try:
        with transaction.atomic():
            ticket = (
                Ticket.objects.select_for_update(of=("self",))
                .select_related("queue", "contact")
                .get(pk=ticket_id)
            )
            if _current_wait(ticket_id, policy.queue_id) != started or _answered_since(
                ticket_id, started
            ):
                return 0
            reminder = Reminder.objects.create(
                ticket=ticket, wait_started_at=started, reminded_at=now
            )
            mail = mail_reminder(policy, ticket)
            if mail is None:
                log.info("no reminder mail for ticket %s: no usable address", ticket.number)
                return 0
            reminder.mail = mail
            reminder.save(update_fields=["mail"])
            actions.record_event(REMINDER_ACTOR, ticket, "reminder_sent")
            return 1
    except IntegrityError:
        return 0  # another worker reminded this wait a moment ago
    except Ticket.DoesNotExist:
        return 0


def reminder_mail(policy: QueuePolicy, ticket: Ticket) -> tuple[str, str]:
    """The reminder's subject and text: the queue's text or the standard one (placeholders
    {number}, {title}, {link}); the ticket link is added when the text has none."""
    link = texts.contact_link(ticket)
    values = {"number": ticket.display_number, "title": ticket.title, "link": link}
    with override(settings.LANGUAGE_CODE):
        subject = _("Reminder: %(title)s") % {"title": ticket.title}
        body = policy.reminder_text.strip()
        if not body:
            body = _(
                "Hello,\n\n"
                "We are waiting for your answer to go on with your request {number} "
                "({title}). Please answer this mail, or add the information here: {link}"
            )
            if policy.resolve_after_days:
                body += "\n\n" + _(
                    "If we do not hear from you within %(days)s days, we will consider the "
                    "request resolved."
                ) % {"days": policy.resolve_after_days}
        elif "{link}" not in body:
            # Every mail to a contact carries the way back to the ticket.
            words = _("Follow your request %(number)s and add information here:") % {
                "number": ticket.display_number
            }
            body += f"\n\n{words} {{link}}"
    return outbound.subject_with_tag(ticket, subject), texts.fill(body, values) + "\n"


def mail_reminder(policy: QueuePolicy, ticket: Ticket) -> OutgoingMail | None:
    """Write the reminder to the outbox (this transaction), threaded like our other mail on
    the ticket. None without a usable contact address, or when the loop protection's caps
    (per address and ticket, per day, a bounced address) say no more automatic mail."""
    contact = ticket.contact
    address = outbound.clean_address(contact.email) if contact else ""
    if not address or not may_send_automatic_mail(address, ticket):
        return None
    subject, text = reminder_mail(policy, ticket)
    text += outbound.brand_footer(ticket.queue)
    thread = outbound.thread_of(ticket)
    return outbound.queue_mail(
        kind=OutgoingMail.Kind.REMINDER,
        queue=ticket.queue,
        to=[(contact.name if contact else "", address)],
        subject=subject,
        text=text,
        ticket=ticket,
        in_reply_to=thread.in_reply_to,
        references=thread.references,
    )


def resolve(policy: QueuePolicy, reminder: Reminder, now: datetime) -> int:
    """End a countdown: claim it (a conditional UPDATE: one worker wins), and when the ticket
    still waits in the same wait with no answer, add the note and resolve it. 1 when this call
    resolved the ticket."""
    with transaction.atomic():
        claimed = Reminder.objects.filter(pk=reminder.pk, done_at__isnull=True).update(done_at=now)
        if not claimed:
            return 0
        ticket = (
            Ticket.objects.select_for_update(of=("self",)).filter(pk=reminder.ticket_id).first()
        )
        if (
            ticket is None
            or _current_wait(ticket.pk, policy.queue_id) != reminder.wait_started_at
            or _answered_since(ticket.pk, reminder.wait_started_at)
        ):
            return 0  # the wait is over; the countdown ends with it
        days = policy.resolve_after_days
        with override(settings.LANGUAGE_CODE):
            note = _("Resolved automatically: no answer in %(days)s days after the reminder.") % {
                "days": days
            }
        try:
            with transaction.atomic():
                actions.add_note(REMINDER_ACTOR, ticket, f"<p>{escape(note)}</p>")
                actions.set_status(REMINDER_ACTOR, ticket, Status.RESOLVED)
        except actions.TicketError as exc:
            # E.g. its owner was removed: an agent resolves it; the countdown is over.
            log.warning("could not resolve ticket %s automatically: %s", ticket.number, exc)
            return 0
        return 1
