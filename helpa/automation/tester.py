"""Trying rules without changing anything: the tester (a pasted mail or a ticket), the dry run
over recent tickets, and `helpa rules simulate`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.mail.ingest import find_thread, queue_for_recipients
from helpa.mail.parsing import parse_message
from helpa.tickets.models import Queue, Ticket

from . import engine
from .models import Event, Rule

DRY_RUN_LIMIT = 5000


class TesterError(Exception):
    """Input the tester cannot use; the message is for the admin."""


@dataclass
class Report:
    event: str
    facts: engine.Facts
    evaluation: engine.Evaluation
    outcome: engine.Outcome
    ticket: Ticket | None = None
    queue: Queue | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "matched": self.evaluation.names,
            "ticket": engine.describe(self.outcome, self.facts),
        }


def rules_for(event: str, queue_id: int | None, *, include_inactive: bool = False) -> list:
    qs = Rule.objects.filter(**{f"on_{event}": True})
    if not include_inactive:
        qs = qs.filter(is_active=True)
    if queue_id is not None:
        brand_id = Queue.objects.filter(pk=queue_id).values_list("brand_id", flat=True).first()
        qs = qs.filter(Q(queue__isnull=True) | Q(queue_id=queue_id)).filter(
            Q(brand__isnull=True) | Q(brand_id=brand_id)
        )
    return [engine.compile_rule(r) for r in engine.with_parts(qs.order_by("weight", "name"))]


def try_mail(
    raw: bytes,
    *,
    queue: Queue | None = None,
    event: str = "",
    include_inactive: bool = False,
) -> Report:
    """What the rules would do with this mail arriving now."""
    try:
        parsed = parse_message(raw)
    except Exception as exc:  # noqa: BLE001 — shown to the admin
        raise TesterError(_("The mail could not be read: %(error)s") % {"error": exc}) from exc
    queue = queue or queue_for_recipients([a for _n, a in [*parsed.to, *parsed.cc]])
    if queue is None:
        raise TesterError(_("No queue is bound to the mail's recipients: choose a queue."))
    ticket, _reason, _related = find_thread(parsed, queue)
    if event == Event.NEW:
        ticket = None
    event = Event.REPLY if ticket is not None else Event.NEW
    rules = rules_for(
        event, ticket.queue_id if ticket else queue.pk, include_inactive=include_inactive
    )
    facts = engine.facts_for_mail(parsed, queue, ticket)
    evaluation = engine.evaluate(rules, facts, explain=True)
    return Report(event, facts, evaluation, engine.outcome_of(evaluation), ticket, queue)


def try_ticket(ticket: Ticket, *, event: str = "", include_inactive: bool = False) -> Report:
    """What the rules of an event would do with this ticket as it is now."""
    event = event or Event.NEW
    rules = rules_for(event, ticket.queue_id, include_inactive=include_inactive)
    facts = engine.facts_for_tickets([ticket.pk])[ticket.pk]
    evaluation = engine.evaluate(rules, facts, explain=True)
    return Report(event, facts, evaluation, engine.outcome_of(evaluation), ticket, ticket.queue)


@dataclass
class DryRun:
    days: int
    looked_at: int
    matched: list[Ticket]
    limited: bool


def dry_run(rule: Rule, days: int) -> DryRun:
    """Which tickets created in the last `days` the rule's lines hold for (as they are now),
    whether the rule is on or not and whatever the other rules say. The newest
    DRY_RUN_LIMIT tickets at most."""
    compiled = engine.compile_rule(engine.with_parts(Rule.objects.filter(pk=rule.pk)).get())
    since = timezone.now() - timedelta(days=days)
    qs = Ticket.objects.filter(created_at__gte=since)
    if rule.queue_id:
        qs = qs.filter(queue_id=rule.queue_id)
    ids = list(qs.order_by("-created_at").values_list("pk", flat=True)[: DRY_RUN_LIMIT + 1])
    limited = len(ids) > DRY_RUN_LIMIT
    ids = ids[:DRY_RUN_LIMIT]
    needs = engine.fields_used([compiled])
    hits: list[int] = []
    now = timezone.now()
    for start in range(0, len(ids), 500):
        batch = ids[start : start + 500]
        facts = engine.facts_for_tickets(batch, now=now, needs=needs)
        hits += [
            pk for pk in batch if pk in facts and all(x.holds for x in compiled.evaluate(facts[pk]))
        ]
    matched = list(Ticket.objects.filter(pk__in=hits).order_by("-created_at"))
    return DryRun(days=days, looked_at=len(ids), matched=matched, limited=limited)
