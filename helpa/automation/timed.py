"""Time rules: the worker looks at existing tickets every minute ("status New and 120 minutes
since created") and fires a rule once per ticket per episode of its condition.

An episode begins when the condition starts to hold and ends when it stops: the firing is
recorded (`RuleFiring`, unique per rule and ticket, so two workers fire once) and removed when
the condition no longer holds, so the rule fires again only after the condition broke and came
back. Rules keep their order here too: on one ticket, the first holding rule (by weight, then
name) stops the ones below it unless it says "continue".
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from helpa.tickets.models import Status, Ticket

from . import engine
from .matching import parse_minutes
from .models import Event, Field, RuleFiring

log = logging.getLogger(__name__)
BATCH = 500
_MINUTE_COLUMNS = {
    Field.MINUTES_SINCE_CREATED: "created_at",
    Field.MINUTES_SINCE_CHANGED: "updated_at",
}


def prefilter(rule: engine.CompiledRule, now: datetime) -> Q:
    """The part of a rule's condition the database can answer (status, priority, channel,
    queue scope, minutes since created/changed), so the scan reads only likely tickets; the
    engine then decides exactly. Closed tickets are left out unless a line asks for them."""
    q = Q(queue_id=rule.queue_id) if rule.queue_id else Q()
    asks_for_closed = False
    for line in rule.lines:
        part: Q | None = None
        name = line.fields[0]
        if len(line.fields) == 1 and name in (Field.STATUS, Field.PRIORITY, Field.CHANNEL):
            values: list[object] = list(line.values)
            if name == Field.PRIORITY:
                values = [engine.PRIORITY_BY_NAME[v] for v in line.values]
            part = Q(**{f"{name}__in": values})
            asks_for_closed |= name == Field.STATUS and Status.CLOSED in values and not line.negate
        elif all(f in _MINUTE_COLUMNS for f in line.fields):
            # One of the values in one of the fields: ServIT's "120 minutes since the ticket
            # was created or changed" is one line with both fields.
            conditions = [
                _minutes_q(_MINUTE_COLUMNS[Field(f)], v, now)
                for f in line.fields
                for v in line.values
            ]
            part = conditions[0]
            for condition in conditions[1:]:
                part |= condition
        if part is not None:
            q &= ~part if line.negate else part
    if not asks_for_closed:
        q &= ~Q(status=Status.CLOSED)
    return q


def _minutes_q(column: str, value: str, now: datetime) -> Q:
    op, n = parse_minutes(value)
    edge = now - timedelta(minutes=n)
    # "at least n minutes since" is "at or before now - n"
    lookup = {">=": "lte", ">": "lt", "<=": "gte", "<": "gt"}.get(op)
    if lookup is None:  # exactly n minutes: that whole minute
        return Q(**{f"{column}__lte": edge, f"{column}__gt": edge - timedelta(minutes=1)})
    return Q(**{f"{column}__{lookup}": edge})


def holding(rule: engine.CompiledRule, now: datetime) -> set[int]:
    """The tickets on which the rule's condition holds now."""
    found: set[int] = set()
    needs = engine.fields_used([rule])
    ids = list(
        Ticket.objects.filter(prefilter(rule, now)).order_by("pk").values_list("pk", flat=True)
    )
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        for pk, facts in engine.facts_for_tickets(batch, now=now, needs=needs).items():
            if all(line.evaluate(facts).holds for line in rule.lines):
                found.add(pk)
    return found


def run_time_rules(now: datetime | None = None) -> int:
    """One scan: fire the rules whose condition began to hold, end the episodes that stopped.
    Returns how many firings it made."""
    now = now or timezone.now()
    rules = engine.load_rules(Event.TIME)
    if not rules:
        RuleFiring.objects.all().delete()  # no time rule is on: every episode is over
        return 0
    held = {rule.id: holding(rule, now) for rule in rules}
    # Episodes that ended (and those of rules switched off or no longer on time).
    fired: dict[int, set[int]] = {}
    for rule_id, ticket_id in RuleFiring.objects.values_list("rule_id", "ticket_id"):
        fired.setdefault(rule_id, set()).add(ticket_id)
    for rule_id, tickets in fired.items():
        ended = tickets - held.get(rule_id, set())
        if ended:
            RuleFiring.objects.filter(rule_id=rule_id, ticket_id__in=ended).delete()
            tickets -= ended
    count = 0
    for ticket_id in sorted(set().union(*held.values())):
        to_fire = []
        for rule in rules:
            if ticket_id not in held[rule.id]:
                continue
            if ticket_id not in fired.get(rule.id, set()):
                to_fire.append(rule)
            if not rule.continue_matching:
                break
        if to_fire:
            count += _fire(to_fire, ticket_id, now)
    return count


def _fire(rules: list[engine.CompiledRule], ticket_id: int, now: datetime) -> int:
    """Claim the episodes and apply the rules, in one transaction per ticket."""
    try:
        with transaction.atomic():
            RuleFiring.objects.bulk_create(
                [RuleFiring(rule_id=r.id, ticket_id=ticket_id, fired_at=now) for r in rules]
            )
            ticket = Ticket.objects.select_related("queue").get(pk=ticket_id)
            evaluation = engine.Evaluation(
                [engine.RuleResult(r, [], True, True) for r in rules]  # condition checked above
            )
            engine.apply(evaluation, ticket, event=Event.TIME, now=now)
    except IntegrityError:
        return 0  # another worker fired this episode a moment ago
    except Exception:  # noqa: BLE001 — one ticket's failure must not stop the scan
        log.exception("time rules on ticket %s failed", ticket_id)
        return 0
    return len(rules)
