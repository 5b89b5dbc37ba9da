"""Recurring tickets: each due time of a schedule opens a ticket from its template, or sets its
ticket back to New or Open.

Due times are wall-clock times in the installation's time zone (08:00 stays 08:00 across a
change to summer time). The worker looks every minute; a due time is done at most once — a
`RecurringRun` row per schedule and due time is unique, so two workers racing for it act once —
and a worker that was down for a while catches up once, for the latest missed due time, not once
per missed occurrence.
"""

from __future__ import annotations

import calendar
import logging
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.tickets import actions as ticket_actions
from helpa.tickets.models import Status, Ticket

from .actions import open_from_template
from .models import Frequency, RecurringRun, RecurringTicket

log = logging.getLogger(__name__)
ACTOR_NAME = "Recurring"
# How far ahead the next occurrence is looked for (a schedule that never occurs ends there).
HORIZON_DAYS = 5 * 366


def _zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def _months_between(start: date, day: date) -> int:
    return (day.year - start.year) * 12 + day.month - start.month


def _monthly_day(day: date, wanted: int) -> int:
    """The day of `day`'s month a monthly schedule falls on: the wanted day, or the month's last
    day when it is shorter (the 31st in February is the 28th or 29th)."""
    return min(wanted, calendar.monthrange(day.year, day.month)[1])


def occurs_on(schedule: RecurringTicket, day: date) -> bool:
    """Whether the schedule has a due time on this calendar day."""
    if day < schedule.starts_on or (schedule.ends_on and day > schedule.ends_on):
        return False
    every = max(schedule.interval, 1)
    if schedule.frequency == Frequency.DAILY:
        return (day - schedule.starts_on).days % every == 0
    if schedule.frequency == Frequency.WEEKLY:
        weekdays = schedule.weekdays or [schedule.starts_on.weekday()]
        start_week = schedule.starts_on - timedelta(days=schedule.starts_on.weekday())
        week = (day - start_week).days // 7
        return week % every == 0 and day.weekday() in weekdays
    wanted = schedule.day_of_month or schedule.starts_on.day
    months = _months_between(schedule.starts_on, day)
    return months % every == 0 and day.day == _monthly_day(day, wanted)


def _at(day: date, at: time) -> datetime:
    """The wall-clock time on that day in the installation's zone. A time that does not exist
    (the hour skipped in spring) is read as the same clock time before the change, i.e. an hour
    later in real time — the way a wall clock shows it."""
    local = datetime.combine(day, at, tzinfo=_zone())
    return local.astimezone(ZoneInfo("UTC")).astimezone(_zone())


def occurrences(schedule: RecurringTicket, after: datetime) -> Iterator[datetime]:
    """The schedule's due times strictly after `after`, in order."""
    day = timezone.localtime(after, _zone()).date()
    last = day + timedelta(days=HORIZON_DAYS)
    if schedule.ends_on:
        last = min(last, schedule.ends_on)
    day = max(day, schedule.starts_on)
    while day <= last:
        if occurs_on(schedule, day):
            due = _at(day, schedule.time_of_day)
            if due > after:
                yield due
        day += timedelta(days=1)


def next_due(schedule: RecurringTicket, after: datetime) -> datetime | None:
    return next(occurrences(schedule, after), None)


def schedule_next(schedule: RecurringTicket, now: datetime | None = None) -> None:
    """Set when the schedule is next due (after `now`; for a new schedule, from its start)."""
    now = now or timezone.now()
    schedule.next_run_at = next_due(schedule, now) if schedule.is_active else None


# --- The worker's job ----------------------------------------------------------------------------


def run_due(now: datetime | None = None) -> int:
    """Act on every schedule whose due time has come; returns how many acted. A schedule
    missed for longer acts once, then moves to its next due time after now."""
    now = now or timezone.now()
    done = 0
    due = RecurringTicket.objects.filter(is_active=True, next_run_at__lte=now).select_related(
        "template", "ticket"
    )
    for schedule in due:
        if _run_once(schedule, now):
            done += 1
    return done


def _run_once(schedule: RecurringTicket, now: datetime) -> bool:
    due_at = schedule.next_run_at
    assert due_at is not None
    try:
        with transaction.atomic():
            run = RecurringRun.objects.create(schedule=schedule, due_at=due_at)
            run.ticket = _act(schedule)
            run.save(update_fields=["ticket"])
            schedule.last_run_at = now
            schedule_next(schedule, now)
            schedule.save(update_fields=["last_run_at", "next_run_at"])
    except IntegrityError:
        # Another worker did this due time a moment ago: nothing to do but move on.
        schedule.refresh_from_db()
        return False
    except ticket_actions.TicketError as exc:
        # Nothing was done for this due time (the transaction is undone); say so and move on,
        # or the schedule would try again every minute.
        log.warning("recurring ticket %s could not run: %s", schedule.pk, exc)
        RecurringTicket.objects.filter(pk=schedule.pk).update(next_run_at=next_due(schedule, now))
        return False
    return True


def _act(schedule: RecurringTicket) -> Ticket | None:
    actor = ticket_actions.Actor(name=f"{ACTOR_NAME}: {schedule.name}"[:200])
    if schedule.template_id:
        return open_from_template(actor, schedule.template)
    ticket = schedule.ticket
    if ticket is None:
        return None
    status = schedule.reopen_status
    if status == Status.OPEN and ticket.owner_id is None:
        status = Status.NEW  # Open needs an owner; New waits for one
    if ticket.status != status:
        ticket = ticket_actions.update_ticket(actor, ticket, {"status": status})
    text = _("Set back to %(status)s by the schedule “%(name)s”.") % {
        "status": Status(status).label,
        "name": schedule.name,
    }
    ticket_actions.add_note(actor, ticket, f"<p>{escape(text)}</p>")
    return ticket
