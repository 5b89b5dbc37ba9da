"""Keeping `TicketFact` current: an idempotent upsert of the tickets changed since the last run.

The worker refreshes every minute (tasks.py) and a statistics page refreshes a few batches
before it renders when the last refresh is older than a minute, so figures are at most a
minute or so behind the tickets. Each batch of ~2,000 tickets costs a fixed handful of queries
whatever the batch holds: the tickets' columns, the first agent reply of each (one aggregate),
the reopenings of each (one aggregate), one multi-row upsert.

A ticket change must move `updated_at` for its facts to be read again. Every ticket action
does; the SLA due times are written without it, but no fact depends on them (business times
depend only on the thread, the status and the calendar, whose choice follows priority, queue
and company — changed through update_ticket). Merging contacts moves `updated_at` too
(contact_actions). A queue moved to another brand is caught by `FactsState.queue_brands`.
The contact is not kept here: no figure needs it, and anonymising a ticket drops it without
moving `updated_at`, so a copy would outlive the person's removal.
Deleted tickets take their facts with them (CASCADE).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Min, Q
from django.utils import timezone

from helpa.automation import sla
from helpa.automation.calendars import Calendar
from helpa.automation.models import BusinessCalendar, CalendarException, CalendarQueue
from helpa.tickets.models import (
    ACTIVE_STATUSES,
    DONE_STATUSES,
    Article,
    ArticleKind,
    HistoryEntry,
    Queue,
    Ticket,
)

from .models import FactsState, TicketFact

log = logging.getLogger(__name__)

BATCH = 2000
# Tickets changed up to this long before the watermark are read again: a transaction that
# began earlier may commit after a later one, with an older updated_at.
OVERLAP = timedelta(minutes=5)
# A page refreshes itself when the facts are older than this …
STALE_AFTER = timedelta(minutes=1)
# … by at most this many batches (bounded work in a request; the worker does the rest).
PAGE_BATCHES = 5

TICKET_COLUMNS = (
    "id",
    "created_at",
    "updated_at",
    "status",
    "queue_id",
    "team_id",
    "owner_id",
    "company_id",
    "category_id",
    "type_id",
    "priority",
    "channel",
    "merged_into_id",
    "is_draft",
    "due_at",
    "resolved_at",
    "closed_at",
)
ATTNAMES = [f.attname for f in TicketFact._meta.concrete_fields]
UPDATED_FIELDS = [
    f.name for f in TicketFact._meta.concrete_fields if not f.primary_key and f.name != "ticket"
]


# --- Calendars ----------------------------------------------------------------------------------


@dataclass
class Calendars:
    """Which calendar counts a ticket's business time: its SLA policy's (as the SLA clock), else
    its queue's, else the default, else round the clock."""

    setup: sla.Setup
    calendars: dict[int, Calendar]
    queue_calendars: dict[int, int]
    default_id: int | None
    always: Calendar

    def calendar_for(self, ticket: Any) -> Calendar:
        policy = self.setup.policy_for(ticket) if self.setup.policies else None
        if policy is not None:
            return self.setup.calendar_for(policy, ticket)
        for calendar_id in (self.queue_calendars.get(ticket.queue_id), self.default_id):
            if calendar_id in self.calendars:
                return self.calendars[calendar_id]
        return self.always


def load_calendars() -> Calendars:
    """The SLA setup loads calendars only when a policy exists; statistics need them anyway."""
    setup = sla.setup()
    tz = ZoneInfo(settings.TIME_ZONE)
    if setup.calendars:
        calendars, default_id = setup.calendars, setup.default_calendar_id
        queue_calendars = setup.queue_calendars
    else:
        exceptions: dict[int, list[CalendarException]] = {}
        for exc in CalendarException.objects.order_by("position", "id"):
            exceptions.setdefault(exc.calendar_id, []).append(exc)
        calendars, default_id = {}, None
        for cal in BusinessCalendar.objects.all():
            calendars[cal.pk] = sla.compile_calendar(cal, exceptions.get(cal.pk, []), tz)
            if cal.is_default:
                default_id = cal.pk
        queue_calendars = dict(CalendarQueue.objects.values_list("queue_id", "calendar_id"))
    return Calendars(setup, calendars, queue_calendars, default_id, sla.round_the_clock(tz))


_always_open: dict[int, bool] = {}


def _is_always_open(calendar: Calendar) -> bool:
    key = id(calendar)
    if key not in _always_open:
        if len(_always_open) > 100:
            _always_open.clear()
        _always_open[key] = (
            not calendar.country
            and not calendar.exceptions
            and all([tuple(r) for r in day] == [(0, 24 * 60)] for day in calendar.hours)
        )
    return _always_open[key]


def business_minutes(calendar: Calendar, start: datetime, end: datetime | None) -> int | None:
    if end is None:
        return None
    if _is_always_open(calendar):  # most desks: plain arithmetic, no walk over the days
        return max(int((end - start).total_seconds() // 60), 0)
    return calendar.business_minutes(start, end)


# --- Facts of a batch -----------------------------------------------------------------------------


class _Row:
    """A ticket's columns as attributes (what SLA policies and calendars read)."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)


def _first_replies(ids: Sequence[int]) -> dict[int, datetime]:
    """The first public reply by an agent, per ticket: one aggregate query."""
    rows = (
        Article.objects.filter(
            ticket_id__in=ids, kind=ArticleKind.REPLY, author__isnull=False, deleted_at=None
        )
        .values("ticket_id")
        .annotate(first=Min("created_at"))
        .values_list("ticket_id", "first")
    )
    return dict(rows)


def _reopen_counts(ids: Sequence[int]) -> dict[int, int]:
    """How often each ticket went from resolved/closed back to an active status."""
    rows = (
        HistoryEntry.objects.filter(
            ticket_id__in=ids,
            field="status",
            old_value__in=[str(s) for s in DONE_STATUSES],
            new_value__in=[str(s) for s in ACTIVE_STATUSES],
        )
        .values("ticket_id")
        .annotate(n=Count("id"))
        .values_list("ticket_id", "n")
    )
    return dict(rows)


def _done_at(row: dict[str, Any]) -> datetime | None:
    """The ticket's status times are cleared when it is reopened, so the earlier of the two is
    when it was finished since then (resolved, then closed by the worker: when resolved)."""
    if row["status"] not in DONE_STATUSES:
        return None
    stamps = [t for t in (row["resolved_at"], row["closed_at"]) if t is not None]
    # A done ticket without either (data from an import): its last change.
    return min(stamps) if stamps else row["updated_at"]


def build_facts(
    rows: Sequence[dict[str, Any]],
    calendars: Calendars,
    queue_brands: dict[int, int | None],
) -> list[TicketFact]:
    ids = [r["id"] for r in rows]
    first_replies = _first_replies(ids)
    reopens = _reopen_counts(ids)
    tz = ZoneInfo(settings.TIME_ZONE)
    facts = []
    for row in rows:
        done_at = _done_at(row)
        first_at = first_replies.get(row["id"])
        calendar = calendars.calendar_for(_Row(row))
        created_at, due_at = row["created_at"], row["due_at"]
        values = {
            "ticket_id": row["id"],
            "created_at": created_at,
            "created_on": created_at.astimezone(tz).date(),
            "done_at": done_at,
            "done_on": done_at.astimezone(tz).date() if done_at else None,
            "status": row["status"],
            "queue_id": row["queue_id"],
            "team_id": row["team_id"],
            "owner_id": row["owner_id"],
            "brand_id": queue_brands.get(row["queue_id"]),
            "company_id": row["company_id"],
            "category_id": row["category_id"],
            "type_id": row["type_id"],
            "priority": row["priority"],
            "channel": row["channel"],
            "is_merged": row["merged_into_id"] is not None,
            "is_draft": row["is_draft"],
            "due_at": due_at,
            "closed_before_due": (done_at <= due_at) if done_at and due_at else None,
            "open_seconds": int((done_at - created_at).total_seconds()) if done_at else None,
            "first_response_at": first_at,
            "first_response_minutes": business_minutes(calendar, created_at, first_at),
            "resolution_minutes": business_minutes(calendar, created_at, done_at),
            "reopen_count": reopens.get(row["id"], 0),
        }
        # Positional: Django's quick path for building instances (a million at a rebuild).
        facts.append(TicketFact(*[values[name] for name in ATTNAMES]))
    return facts


def _upsert(facts: list[TicketFact]) -> None:
    TicketFact.objects.bulk_create(
        facts, update_conflicts=True, unique_fields=["ticket"], update_fields=UPDATED_FIELDS
    )


def refresh_ids(ids: Iterable[int]) -> int:
    """Write the facts of these tickets now (tests, and callers that cannot wait a minute)."""
    rows = list(Ticket.objects.filter(pk__in=list(ids)).values(*TICKET_COLUMNS))
    brands = _queue_brands()
    _upsert(build_facts(rows, load_calendars(), brands))
    return len(rows)


def _queue_brands() -> dict[int, int | None]:
    return dict(Queue.objects.values_list("pk", "brand_id"))


def _fix_moved_queues(state: FactsState, brands: dict[int, int | None]) -> None:
    known = {int(k): v for k, v in state.queue_brands.items()}
    for queue_id, brand_id in brands.items():
        if queue_id in known and known[queue_id] != brand_id:
            TicketFact.objects.filter(queue_id=queue_id).update(brand_id=brand_id)


# --- Refreshing -----------------------------------------------------------------------------------


def refresh(
    *, full: bool = False, max_batches: int | None = None, now: datetime | None = None
) -> int:
    """Upsert the facts of the tickets changed since the watermark (all tickets with `full`).
    `max_batches`: stop after that many (a page's bounded share); the watermark then stands at
    the last ticket written, and the next refresh goes on from there. Returns tickets written."""
    now = now or timezone.now()
    state = FactsState.load()
    brands = _queue_brands()
    calendars = load_calendars()
    if not full:
        _fix_moved_queues(state, brands)
    written = batches = 0
    complete = True
    if full:
        written, complete = _refresh_all(calendars, brands, max_batches)
        mark = Ticket.objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    else:
        since = state.watermark - OVERLAP if state.watermark else None
        mark = state.watermark
        cursor: tuple[datetime, int] | None = None
        while True:
            tickets = Ticket.objects.all()
            if cursor is not None:
                tickets = tickets.filter(
                    Q(updated_at__gt=cursor[0]) | Q(updated_at=cursor[0], id__gt=cursor[1])
                )
            elif since is not None:
                tickets = tickets.filter(updated_at__gte=since)
            rows = list(tickets.order_by("updated_at", "id").values(*TICKET_COLUMNS)[:BATCH])
            if not rows:
                break
            with transaction.atomic():
                _upsert(build_facts(rows, calendars, brands))
            written += len(rows)
            batches += 1
            cursor = (rows[-1]["updated_at"], rows[-1]["id"])
            mark = max(mark, cursor[0]) if mark else cursor[0]
            if len(rows) < BATCH:
                break
            if max_batches is not None and batches >= max_batches:
                complete = False
                break
    FactsState.objects.filter(pk=state.pk).update(
        watermark=mark,
        refreshed_at=now if complete else state.refreshed_at,
        queue_brands={str(k): v for k, v in brands.items()},
    )
    log.info("statistics facts: %d tickets written (complete: %s)", written, complete)
    return written


def _refresh_all(
    calendars: Calendars, brands: dict[int, int | None], max_batches: int | None
) -> tuple[int, bool]:
    """Every ticket in id order (the primary key serves the batches; updated_at order would
    sort the whole table for each one)."""
    written = batches = 0
    last_id = 0
    while True:
        rows = list(
            Ticket.objects.filter(id__gt=last_id).order_by("id").values(*TICKET_COLUMNS)[:BATCH]
        )
        if not rows:
            return written, True
        with transaction.atomic():
            _upsert(build_facts(rows, calendars, brands))
        written += len(rows)
        batches += 1
        last_id = rows[-1]["id"]
        if max_batches is not None and batches >= max_batches:
            return written, len(rows) < BATCH


def refresh_if_stale(now: datetime | None = None) -> None:
    """Before a statistics page: catch up when the worker has not run for a minute (a desk
    without a worker, or a test), a few batches at most."""
    now = now or timezone.now()
    refreshed_at = FactsState.objects.filter(pk=1).values_list("refreshed_at", flat=True).first()
    if refreshed_at is None or now - refreshed_at > STALE_AFTER:
        refresh(max_batches=PAGE_BATCHES, now=now)
