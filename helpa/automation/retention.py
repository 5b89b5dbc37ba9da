"""Retention, per queue (QueuePolicy): tickets closed more than N days ago are deleted, or
anonymised (kept for statistics without personal data). Off unless a queue sets a number of
days. A legal hold on the ticket, its company, or its contact's company keeps a ticket.

The preview and the run ask the same question (`due_for_retention`) with the same moment, so
what the preview lists is what the run then does. A run works in batches of BATCH tickets, one
transaction each, re-asking the question under the row locks (a hold set meanwhile counts);
stored files (attachments, raw mail) are deleted once their batch commits. Each queue's run
is logged (RetentionRun): dates and counts, never the content.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from helpa.lib.files import delete_files_on_commit
from helpa.mail.models import InboundMail, OutgoingMail, Participant
from helpa.portal.models import TicketLink
from helpa.tickets import actions
from helpa.tickets.models import Status, Ticket

from .models import QueuePolicy, RetentionAction, RetentionRun

log = logging.getLogger(__name__)
RETENTION_ACTOR = actions.Actor(name="Retention")
BATCH = 500
PREVIEW_ROWS = 100


def _held() -> Q:
    return Q(legal_hold=True) | Q(company__legal_hold=True) | Q(contact__company__legal_hold=True)


def cutoff_for(policy: QueuePolicy, now: datetime) -> datetime:
    assert policy.retention_days
    return now - timedelta(days=policy.retention_days)


def _closed_before(policy: QueuePolicy, now: datetime) -> QuerySet[Ticket]:
    qs = Ticket.objects.filter(
        queue_id=policy.queue_id, status=Status.CLOSED, closed_at__lt=cutoff_for(policy, now)
    )
    if policy.retention_action == RetentionAction.ANONYMISE:
        qs = qs.filter(anonymised_at__isnull=True)  # done before: nothing left to remove
    return qs


def due_for_retention(policy: QueuePolicy, now: datetime) -> QuerySet[Ticket]:
    """The tickets a run at `now` removes, oldest closing first."""
    return _closed_before(policy, now).exclude(_held()).order_by("closed_at", "pk")


def held_count(policy: QueuePolicy, now: datetime) -> int:
    """Tickets the run would remove but for a legal hold."""
    return _closed_before(policy, now).filter(_held()).count()


@dataclass
class Preview:
    policy: QueuePolicy
    closed_before: datetime
    count: int
    held: int
    first: list[Ticket] = field(default_factory=list)


def preview(policy: QueuePolicy, now: datetime | None = None) -> Preview:
    now = now or timezone.now()
    due = due_for_retention(policy, now)
    return Preview(
        policy=policy,
        closed_before=cutoff_for(policy, now),
        count=due.count(),
        held=held_count(policy, now),
        first=list(due.only("number", "title", "closed_at")[:PREVIEW_ROWS]),
    )


@dataclass
class QueueResult:
    queue: str
    action: str
    closed_before: datetime
    count: int
    held: int
    dry_run: bool = False


def policies_on() -> QuerySet[QueuePolicy]:
    return (
        QueuePolicy.objects.filter(retention_days__gt=0)
        .select_related("queue")
        .order_by("queue__name")
    )


def run_retention(now: datetime | None = None, *, dry_run: bool = False) -> list[QueueResult]:
    """Apply every queue's retention (queues with it off are not touched). `dry_run`: count
    what would go, change and log nothing."""
    now = now or timezone.now()
    results = []
    for policy in policies_on():
        if dry_run:
            p = preview(policy, now)
            results.append(
                QueueResult(
                    policy.queue.name,
                    policy.retention_action,
                    p.closed_before,
                    p.count,
                    p.held,
                    dry_run=True,
                )
            )
        else:
            results.append(run_queue(policy, now))
    return results


def run_queue(policy: QueuePolicy, now: datetime) -> QueueResult:
    run = RetentionRun.objects.create(
        queue=policy.queue,
        queue_name=policy.queue.name,
        action=policy.retention_action,
        closed_before=cutoff_for(policy, now),
        started_at=timezone.now(),
        held=held_count(policy, now),
    )
    count = 0
    while True:
        ids = list(due_for_retention(policy, now).values_list("pk", flat=True)[:BATCH])
        if not ids:
            break
        try:
            done = _apply_batch(policy, ids, now)
        except Exception:  # noqa: BLE001 — logged; the next daily run tries again
            log.exception("retention of queue %s stopped", policy.queue.slug)
            break
        count += done
        RetentionRun.objects.filter(pk=run.pk).update(count=count)  # progress, while it runs
        if done == 0:
            break  # nothing of the batch was still due (another run took it)
    run.count = count
    run.finished_at = timezone.now()
    run.save(update_fields=["count", "finished_at"])
    return QueueResult(run.queue_name, run.action, run.closed_before, count, run.held)


@transaction.atomic
def _apply_batch(policy: QueuePolicy, ids: list[int], now: datetime) -> int:
    # Under the row locks, the question again: a hold set since the batch was read counts.
    locked = list(
        due_for_retention(policy, now)
        .filter(pk__in=ids)
        .select_for_update(of=("self",))
        .values_list("pk", flat=True)
    )
    if not locked:
        return 0
    forget_mail(locked)
    if policy.retention_action == RetentionAction.DELETE:
        return actions.delete_tickets(locked)
    for ticket in Ticket.objects.filter(pk__in=locked):
        actions.anonymise_ticket(RETENTION_ACTOR, ticket)
    return len(locked)


def forget_mail(ticket_ids: list[int]) -> None:
    """What the mail channel and the portal keep of these tickets: received and sent messages
    (rows and raw files), CC'd participants, customer links."""
    inbound = InboundMail.objects.filter(ticket_id__in=ticket_ids)
    outgoing = OutgoingMail.objects.filter(ticket_id__in=ticket_ids)
    delete_files_on_commit(
        InboundMail._meta.get_field("raw").storage,
        list(inbound.values_list("raw", flat=True)),
    )
    delete_files_on_commit(
        OutgoingMail._meta.get_field("raw").storage,
        list(outgoing.values_list("raw", flat=True)),
    )
    inbound.delete()
    outgoing.delete()
    Participant.objects.filter(ticket_id__in=ticket_ids).delete()
    TicketLink.objects.filter(ticket_id__in=ticket_ids).delete()
