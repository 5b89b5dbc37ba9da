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
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Subquery, TextField, Value
from django.db.models.functions import MD5, Coalesce
from django.db.models.lookups import (
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone

from helpa.crm.models import Company
from helpa.tickets.models import Category, Queue, Status, Ticket, TicketType

from . import engine
from .matching import PatternError, parse_minutes
from .models import MINUTE_FIELDS, Event, Field, RuleFiring

log = logging.getLogger(__name__)
BATCH = 500
_MINUTE_COLUMNS = {
    Field.MINUTES_SINCE_CREATED: "created_at",
    Field.MINUTES_SINCE_CHANGED: "updated_at",
}
# Lines on these fields are answered with the ids of the rows whose name matches (the engine
# decides which, on each row's name); up to this many ids, larger tables are left to the engine.
_NAME_TABLES: dict[str, tuple[Any, str]] = {
    Field.QUEUE: (Queue, "queue_id"),
    Field.TYPE: (TicketType, "type_id"),
    Field.CATEGORY: (Category, "category_id"),
    Field.COMPANY: (Company, "company_id"),
}
MAX_NAME_ROWS = 5000


def prefilter(rule: engine.CompiledRule, now: datetime) -> Q:
    """The part of a rule's condition the database can answer (status, priority, channel,
    queue scope, minutes, names of queue, type, category and company), so the scan reads only
    the tickets it must; the engine then decides the rest. Closed tickets are left out unless
    a line asks for them."""
    return _split(rule, now)[0]


def _split(rule: engine.CompiledRule, now: datetime) -> tuple[Q, list[engine.CompiledLine]]:
    """The database's condition, and the lines it does not answer exactly (words, and what
    the database cannot say as the engine would): the engine checks those on the tickets the
    condition selects. Each line the database answers exactly holds on a ticket exactly when
    the engine would say it holds, so those need no second look."""
    q = Q(queue_id=rule.queue_id) if rule.queue_id else Q()
    if rule.brand_id:
        q &= Q(queue__brand_id=rule.brand_id)
    asks_for_closed = False
    left: list[engine.CompiledLine] = []
    for line in rule.lines:
        part, exact = _line_condition(line, now)
        if part is not None:
            q &= ~part if line.negate else part
        if not exact:
            left.append(line)
        if line.fields == [Field.STATUS] and not line.negate:
            asks_for_closed |= Status.CLOSED in line.values
    if not asks_for_closed:
        q &= ~Q(status=Status.CLOSED)
    return q, left


def _line_condition(line: engine.CompiledLine, now: datetime) -> tuple[Q | None, bool]:
    """(the line, not negated, as a database condition or None; whether it is exact)."""
    name = line.fields[0]
    if len(line.fields) == 1 and name in (Field.STATUS, Field.PRIORITY, Field.CHANNEL):
        values: list[object] = list(line.values)
        if name == Field.PRIORITY:
            values = [engine.PRIORITY_BY_NAME[v] for v in line.values]
        return Q(**{f"{name}__in": values}), True
    if all(f in MINUTE_FIELDS for f in line.fields):
        # One of the values in one of the fields: ServIT's "120 minutes since the ticket was
        # created or changed" is one line with both fields.
        try:
            parsed = [parse_minutes(v) for v in line.values]
        except PatternError:
            return None, False  # matches nothing; the engine says so
        exact = ("=", 0) not in parsed
        if not exact and not all(f in _MINUTE_COLUMNS for f in line.fields):
            return None, False
        # "=0" also holds up to a minute before a (future) time, which "that whole minute"
        # leaves out: the engine decides among the tickets of that minute, as it always did.
        return _any(
            [_minutes_q(Field(f), op, n, now) for f in line.fields for op, n in parsed]
        ), exact
    if len(line.fields) == 1 and name in _NAME_TABLES:
        ids = _matching_ids(line, name)
        return (None, False) if ids is None else (Q(**{f"{_NAME_TABLES[name][1]}__in": ids}), True)
    return None, False


def _any(conditions: list[Q]) -> Q:
    part = conditions[0]
    for condition in conditions[1:]:
        part |= condition
    return part


def _customer_at() -> Subquery:
    return Subquery(engine.LATEST_CUSTOMER.values("created_at")[:1])


def _minutes_q(field: Field, op: str, n: int, now: datetime) -> Q:
    edge = now - timedelta(minutes=n)
    if field == Field.MINUTES_SINCE_CUSTOMER:
        # The newest customer message's time; none: the line does not hold (and, negated,
        # does), so the comparison is false rather than unknown.
        at = _customer_at()
        before = Q(GreaterThan(at, edge - timedelta(minutes=1))) & Q(LessThanOrEqual(at, edge))
        compare = {
            ">=": Q(LessThanOrEqual(at, edge)),
            ">": Q(LessThan(at, edge)),
            "<=": Q(GreaterThanOrEqual(at, edge)),
            "<": Q(GreaterThan(at, edge)),
        }.get(op, before)
        return compare & Q(IsNull(at, False))
    column = _MINUTE_COLUMNS[field]
    # "at least n minutes since" is "at or before now - n"
    lookup = {">=": "lte", ">": "lt", "<=": "gte", "<": "gt"}.get(op)
    if lookup is None:  # exactly n minutes: that whole minute
        return Q(**{f"{column}__lte": edge, f"{column}__gt": edge - timedelta(minutes=1)})
    return Q(**{f"{column}__{lookup}": edge})


def _matching_ids(line: engine.CompiledLine, name: str) -> list[int] | None:
    """The rows of a queue, type, category or company line's table whose name the line's
    values match, as the engine matches a ticket's (None: a table too large to list)."""
    model, _column = _NAME_TABLES[name]
    if model.objects.count() > MAX_NAME_ROWS:
        return None
    positive = engine.CompiledLine(line.fields, line.values)
    ids = []
    for row in model.objects.all():
        if name == Field.QUEUE:
            facts = engine.Facts(queue=[row.slug, row.name])
        else:
            facts = engine.Facts(**{name: row.name})
        if positive.evaluate(facts).holds:
            ids.append(row.pk)
    return ids


# What the engine said of each ticket's word lines, per time rule: (the rule's lines, {ticket:
# (the fingerprint of the ticket's texts, whether the lines held)}). A ticket whose subject,
# body and sender are as they were a minute ago is not read again (a 1,000,000-ticket desk
# has thousands of new tickets, most of them unchanged since the last scan).
_seen: dict[int, tuple[tuple[Any, ...], dict[int, tuple[str, bool]]]] = {}
_FINGERPRINTED = {str(f.value) for f in (Field.SUBJECT, Field.BODY, Field.FROM)}


def _fingerprint() -> dict[str, MD5]:
    """Hashes of what the facts' subject, body and sender are made of."""
    texts = [
        F("title"),
        F("description_text"),
        Subquery(engine.LATEST_CUSTOMER.values("body_text")[:1]),
        F("contact__email"),
        F("contact__name"),
    ]
    return {
        f"_fingerprint{n}": MD5(Coalesce(text, Value(""), output_field=TextField()))
        for n, text in enumerate(texts)
    }


def holding(rule: engine.CompiledRule, now: datetime) -> set[int]:
    """The tickets on which the rule's condition holds now: those the database selects, and
    of them, when some line is for the engine (words), those on which it holds."""
    condition, left = _split(rule, now)
    tickets = Ticket.objects.filter(condition).order_by()
    if not left:
        return set(tickets.values_list("pk", flat=True))
    needs = {f for line in left for f in line.fields}
    signature = tuple((tuple(x.fields), tuple(x.values), x.negate) for x in left)
    said: dict[int, bool] = {}
    fingerprints: dict[int, str] | None = None
    if needs <= _FINGERPRINTED:
        hashes = _fingerprint()
        rows = tickets.annotate(**hashes).values_list("pk", *hashes)
        fingerprints = {pk: "".join(parts) for pk, *parts in rows}
        lines, seen = _seen.get(rule.id, ((), {}))
        if lines == signature:
            said = {
                pk: seen[pk][1]
                for pk, fingerprint in fingerprints.items()
                if pk in seen and seen[pk][0] == fingerprint
            }
        ids = sorted(fingerprints.keys() - said.keys())
    else:
        ids = sorted(tickets.values_list("pk", flat=True))
    for start in range(0, len(ids), BATCH):
        batch = ids[start : start + BATCH]
        for pk, facts in engine.facts_for_tickets(batch, now=now, needs=needs).items():
            said[pk] = all(line.evaluate(facts).holds for line in left)
    if fingerprints is not None:
        _seen[rule.id] = (
            signature,
            {pk: (fingerprints[pk], holds) for pk, holds in said.items()},
        )
    return {pk for pk, holds in said.items() if holds}


def run_time_rules(now: datetime | None = None) -> int:
    """One scan: fire the rules whose condition began to hold, end the episodes that stopped.
    Returns how many firings it made."""
    now = now or timezone.now()
    rules = engine.load_rules(Event.TIME)
    if not rules:
        RuleFiring.objects.all().delete()  # no time rule is on: every episode is over
        _seen.clear()
        return 0
    held = {rule.id: holding(rule, now) for rule in rules}
    for rule_id in _seen.keys() - held.keys():
        del _seen[rule_id]
    # Episodes that ended (and those of rules switched off or no longer on time).
    fired: dict[int, set[int]] = {}
    for rule_id, ticket_id in RuleFiring.objects.values_list("rule_id", "ticket_id"):
        fired.setdefault(rule_id, set()).add(ticket_id)
    for rule_id, tickets in fired.items():
        ended = tickets - held.get(rule_id, set())
        if ended:
            RuleFiring.objects.filter(rule_id=rule_id, ticket_id__in=ended).delete()
            tickets -= ended
    # Each ticket's holding rules, in the rules' order.
    holding_rules: dict[int, list[engine.CompiledRule]] = {}
    for rule in rules:
        for ticket_id in held[rule.id]:
            holding_rules.setdefault(ticket_id, []).append(rule)
    count = 0
    for ticket_id in sorted(holding_rules):
        to_fire = []
        for rule in holding_rules[ticket_id]:
            if ticket_id not in fired.get(rule.id, ()):
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
