"""SLA: which policy a ticket falls under, when its targets are due, warnings and breaches.

The due times live on the ticket (`first_response_due_at`, `next_response_due_at`,
`resolution_due_at`; `sla_due_at` the nearest, `sla_warning_at` when its warning begins,
`sla_paused_at` since when the clock stands still), so the overview can show and sort by them
without knowing about automation. They are written here, on ticket events, inside the
transaction of the change, by a plain UPDATE of those columns: no history, no new version.

- First response: due the policy's minutes after creation; met by the first public reply from
  an agent.
- Next response: after a customer message (once the first response is met), due the policy's
  minutes after it; met by the next agent reply. Several unanswered messages: the first counts.
- Resolution: due the policy's minutes after creation; met when the ticket is resolved or
  closed (all targets end then; a reopened ticket gets a next-response target from its next
  customer message, not a new resolution target).
- Paused (Waiting on contact, On hold, as the policy says): the clock stops; when it runs again
  every pending due time moves forward by the business time the pause took.
- A change of priority, queue or company may choose another policy: the due times are worked
  out again from the thread (time paused before that is not counted back in).

The worker (`check`, every minute) sends each warning and records each breach once per ticket
and target (`SLAEvent` is unique): a warning to the owner and the team leads in the app and by
mail (the `automation.sla_warning` event: the mail app writes it to the outbox in the same
transaction), a breach as a history entry by "SLA". A next-response target starts afresh with
each customer message, so its warning and breach are cleared when an agent answers.

Outcomes (`SLAOutcome`, for the SLA report): when a first-response or resolution target ends —
met by the reply or the resolution, or breached when the worker records it — one row is written
in that transaction (one INSERT; an UPDATE first only when a target is met after its due time,
when the breach row may exist). A first-response target still pending when the ticket is closed
without a reply was neither met nor missed by anyone, and is not recorded (unless breached).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from helpa.accounts.models import Role, Team, User
from helpa.lib import events
from helpa.lib.recent import RecentlyRead
from helpa.tickets.models import (
    DONE_STATUSES,
    Article,
    ArticleKind,
    HistoryEntry,
    Notification,
    Queue,
    Status,
    Ticket,
    active_q,
)

from .calendars import Calendar, Exception_, minute_of
from .models import (
    BusinessCalendar,
    CalendarException,
    CalendarQueue,
    SLAEvent,
    SLAOutcome,
    SLAPolicy,
    SLATarget,
)

log = logging.getLogger(__name__)

COLUMNS = {
    SLATarget.FIRST_RESPONSE: "first_response_due_at",
    SLATarget.NEXT_RESPONSE: "next_response_due_at",
    SLATarget.RESOLUTION: "resolution_due_at",
}
FIELDS = [*COLUMNS.values(), "sla_due_at", "sla_warning_at", "sla_paused_at"]
ACTOR_NAME = "SLA"
# Changes that may choose another policy.
CONDITION_FIELDS = {"priority", "queue", "company"}


# --- Policies and calendars, as the events read them ------------------------------------------


@dataclass(frozen=True)
class Policy:
    id: int
    name: str
    priorities: frozenset[int]
    queue_ids: frozenset[int]
    company_ids: frozenset[int]
    brand_ids: frozenset[int]
    first_response: int | None
    next_response: int | None
    resolution: int | None
    calendar_id: int | None
    pause_statuses: frozenset[str]
    warning_minutes: int

    def matches(self, ticket: Any, brand_id: int | None) -> bool:
        """`brand_id`: the brand of the ticket's queue (a ticket's brand is its queue's)."""
        return (
            (not self.priorities or ticket.priority in self.priorities)
            and (not self.queue_ids or ticket.queue_id in self.queue_ids)
            and (not self.company_ids or ticket.company_id in self.company_ids)
            and (not self.brand_ids or brand_id in self.brand_ids)
        )

    def minutes(self, target: str) -> int | None:
        return {
            SLATarget.FIRST_RESPONSE: self.first_response,
            SLATarget.NEXT_RESPONSE: self.next_response,
            SLATarget.RESOLUTION: self.resolution,
        }[SLATarget(target)]


def round_the_clock(tz: ZoneInfo) -> Calendar:
    return Calendar([[(0, 24 * 60)]] * 7, tz)


@dataclass
class Setup:
    policies: list[Policy]
    calendars: dict[int, Calendar]
    default_calendar_id: int | None
    queue_calendars: dict[int, int]
    tz: ZoneInfo
    queue_brands: dict[int, int] = field(default_factory=dict)  # only when a policy asks

    def policy_for(self, ticket: Any) -> Policy | None:
        brand_id = self.queue_brands.get(ticket.queue_id)
        return next((p for p in self.policies if p.matches(ticket, brand_id)), None)

    def calendar_for(self, policy: Policy, ticket: Any) -> Calendar:
        """The policy's calendar; else the queue's; else the default; else always open."""
        for calendar_id in (
            policy.calendar_id,
            self.queue_calendars.get(ticket.queue_id),
            self.default_calendar_id,
        ):
            if calendar_id in self.calendars:
                return self.calendars[calendar_id]
        return round_the_clock(self.tz)


def compile_calendar(
    calendar: BusinessCalendar, exceptions: Iterable[CalendarException], tz: ZoneInfo
) -> Calendar:
    return Calendar(
        hours=[[(int(s), int(e)) for s, e in day] for day in calendar.hours],
        tz=tz,
        country=calendar.holiday_country,
        exceptions=[
            Exception_(
                is_open=e.is_open,
                on_date=e.on_date,
                weekday=e.weekday,
                start=minute_of(e.start_time),
                end=minute_of(e.end_time, end=True),
            )
            for e in exceptions
        ],
    )


def _load() -> Setup:
    tz = ZoneInfo(settings.TIME_ZONE)
    rows = list(SLAPolicy.objects.filter(is_active=True).order_by("position", "name"))
    if not rows:  # the usual case on a desk without SLA: one query every few seconds
        return Setup([], {}, None, {}, tz)
    ids = [p.pk for p in rows]
    queues: dict[int, set[int]] = {}
    for policy_id, queue_id in SLAPolicy.queues.through.objects.filter(
        slapolicy_id__in=ids
    ).values_list("slapolicy_id", "queue_id"):
        queues.setdefault(policy_id, set()).add(queue_id)
    companies: dict[int, set[int]] = {}
    for policy_id, company_id in SLAPolicy.companies.through.objects.filter(
        slapolicy_id__in=ids
    ).values_list("slapolicy_id", "company_id"):
        companies.setdefault(policy_id, set()).add(company_id)
    brands: dict[int, set[int]] = {}
    for policy_id, brand_id in SLAPolicy.brands.through.objects.filter(
        slapolicy_id__in=ids
    ).values_list("slapolicy_id", "brand_id"):
        brands.setdefault(policy_id, set()).add(brand_id)
    # Which queue is which brand's: asked only when a policy names a brand.
    queue_brands = (
        dict(Queue.objects.filter(brand__isnull=False).values_list("pk", "brand_id"))
        if brands
        else {}
    )
    policies = [
        Policy(
            id=p.pk,
            name=p.name,
            priorities=frozenset(int(v) for v in p.priorities),
            queue_ids=frozenset(queues.get(p.pk, ())),
            company_ids=frozenset(companies.get(p.pk, ())),
            brand_ids=frozenset(brands.get(p.pk, ())),
            first_response=p.first_response_minutes,
            next_response=p.next_response_minutes,
            resolution=p.resolution_minutes,
            calendar_id=p.calendar_id,
            pause_statuses=frozenset(
                s
                for s, on in (
                    (Status.WAITING, p.pause_on_waiting),
                    (Status.ON_HOLD, p.pause_on_hold),
                )
                if on
            ),
            warning_minutes=p.warning_minutes,
        )
        for p in rows
    ]
    exceptions: dict[int, list[CalendarException]] = {}
    for exc in CalendarException.objects.order_by("position", "id"):
        exceptions.setdefault(exc.calendar_id, []).append(exc)
    calendars: dict[int, Calendar] = {}
    default_id = None
    for cal in BusinessCalendar.objects.all():
        calendars[cal.pk] = compile_calendar(cal, exceptions.get(cal.pk, []), tz)
        if cal.is_default:
            default_id = cal.pk
    queue_calendars = dict(CalendarQueue.objects.values_list("queue_id", "calendar_id"))
    return Setup(policies, calendars, default_id, queue_calendars, tz, queue_brands)


_recent = RecentlyRead()


def setup() -> Setup:
    """The active policies and the calendars: read at most every few seconds per process (a
    ticket event must not pay for them); a change saved in this process is seen at once."""
    return _recent.get("sla", _load)


def forget(*, known_empty: bool = False) -> None:
    """Read the policies again on next use. `known_empty`: the caller knows there are none (a
    test's fresh database), so the next use need not ask."""
    _recent.forget()
    if known_empty:
        _recent.get("sla", lambda: Setup([], {}, None, {}, ZoneInfo(settings.TIME_ZONE)))


# --- Working out due times --------------------------------------------------------------------


def _summary(state: dict[str, Any], policy: Policy | None, calendar: Calendar | None) -> None:
    """Fill in the nearest due time and when its warning begins."""
    dues = [state[c] for c in COLUMNS.values() if state[c] is not None]
    state["sla_due_at"] = min(dues) if dues else None
    warn = None
    if state["sla_due_at"] is not None and policy is not None and calendar is not None:
        warn = state["sla_due_at"]
        if policy.warning_minutes:
            warn = calendar.subtract_business_minutes(warn, policy.warning_minutes) or warn
    state["sla_warning_at"] = warn


def _empty() -> dict[str, Any]:
    return dict.fromkeys(FIELDS)


def _due(calendar: Calendar, start: datetime, minutes: int | None) -> datetime | None:
    if minutes is None:
        return None
    return calendar.add_business_minutes(start, minutes)


def _write(ticket: Ticket, state: dict[str, Any]) -> None:
    """Store what changed (one UPDATE, nothing when nothing did) and keep the instance current."""
    changed = {f: v for f, v in state.items() if getattr(ticket, f) != v}
    if not changed:
        return
    Ticket.objects.filter(pk=ticket.pk).update(**changed)
    for name, value in changed.items():
        setattr(ticket, name, value)


def _current(ticket: Ticket) -> dict[str, Any]:
    return {f: getattr(ticket, f) for f in FIELDS}


def _fresh(ticket: Ticket) -> None:
    """Read the SLA columns and what chooses the policy again: the instance an article event
    carries may be one the caller loaded before an earlier change in this transaction (the mail
    pipeline's, before the rules changed the ticket)."""
    row = (
        Ticket.objects.filter(pk=ticket.pk)
        .values("status", "priority", "queue_id", "company_id", *FIELDS)
        .first()
    )
    if row is not None:
        for name, value in row.items():
            setattr(ticket, name, value)


def work_out(ticket: Ticket, now: datetime | None = None) -> dict[str, Any]:
    """The ticket's SLA columns worked out from its thread: for a ticket created before the
    policies, or whose policy may have changed. One query (the public thread)."""
    now = now or timezone.now()
    conf = setup()
    policy = conf.policy_for(ticket)
    state = _empty()
    if policy is None or ticket.status in DONE_STATUSES:
        return state
    calendar = conf.calendar_for(policy, ticket)
    replied = False
    waiting_since: datetime | None = None
    thread = Article.objects.filter(
        ticket=ticket, kind__in=[ArticleKind.CUSTOMER, ArticleKind.REPLY]
    ).values_list("kind", "author_id", "created_at")
    for kind, author_id, created_at in thread.order_by("created_at", "id"):
        if kind == ArticleKind.REPLY and author_id is not None:
            replied, waiting_since = True, None
        elif kind == ArticleKind.CUSTOMER and replied and waiting_since is None:
            waiting_since = created_at
    if not replied:
        state["first_response_due_at"] = _due(calendar, ticket.created_at, policy.first_response)
    if waiting_since is not None:
        state["next_response_due_at"] = _due(calendar, waiting_since, policy.next_response)
    state["resolution_due_at"] = _due(calendar, ticket.created_at, policy.resolution)
    if ticket.status in policy.pause_statuses:
        state["sla_paused_at"] = ticket.sla_paused_at or now
    _summary(state, policy, calendar)
    return state


def _resume(state: dict[str, Any], calendar: Calendar, now: datetime) -> None:
    """The clock runs again: each pending due time keeps the business time it had left when the
    pause began. A target already breached then stays where it was."""
    paused_at = state["sla_paused_at"]
    for column in COLUMNS.values():
        due = state[column]
        if due is None or due <= paused_at:
            continue
        left = calendar.business_seconds(paused_at, due) / 60
        state[column] = calendar.add_business_minutes(now, left) or due
    state["sla_paused_at"] = None


def _record_met(ticket_id: int, target: str, due: datetime, at: datetime) -> None:
    """A target ended by being met at `at` (on time or not)."""
    if due < at and SLAOutcome.objects.filter(
        ticket_id=ticket_id, target=target, met_at__isnull=True
    ).update(met_at=at):
        return  # the worker had recorded the breach: now it is met, late
    # ignore_conflicts: a target ends once; a second end (reopened, worked out again) is not news.
    SLAOutcome.objects.bulk_create(
        [SLAOutcome(ticket_id=ticket_id, target=target, due_at=due, met_at=at, breached=due < at)],
        ignore_conflicts=True,
    )


# --- Ticket events (subscribed in subscribers.py, inside the change's transaction) -------------


def on_created(ticket: Ticket) -> None:
    conf = setup()
    if not conf.policies or ticket.status in DONE_STATUSES:
        return
    policy = conf.policy_for(ticket)
    if policy is None:
        return
    calendar = conf.calendar_for(policy, ticket)
    state = _empty()
    state["first_response_due_at"] = _due(calendar, ticket.created_at, policy.first_response)
    state["resolution_due_at"] = _due(calendar, ticket.created_at, policy.resolution)
    if ticket.status in policy.pause_statuses:
        state["sla_paused_at"] = ticket.created_at
    _summary(state, policy, calendar)
    _write(ticket, state)


def on_changed(ticket: Ticket, fields: Iterable[str], now: datetime | None = None) -> None:
    conf = setup()
    if not conf.policies:
        return
    fields = set(fields)
    now = now or timezone.now()
    if "status" in fields and ticket.status in DONE_STATUSES and ticket.resolution_due_at:
        _record_met(ticket.pk, SLATarget.RESOLUTION, ticket.resolution_due_at, now)
    if fields & CONDITION_FIELDS:
        _write(ticket, work_out(ticket, now))
        return
    if "status" not in fields:
        return
    if ticket.status in DONE_STATUSES:
        _write(ticket, _empty())  # resolution met; nothing else is owed on a finished ticket
        return
    policy = conf.policy_for(ticket)
    if policy is None:
        return
    calendar = conf.calendar_for(policy, ticket)
    state = _current(ticket)
    pause = ticket.status in policy.pause_statuses
    if pause and state["sla_paused_at"] is None:
        state["sla_paused_at"] = now
    elif not pause and state["sla_paused_at"] is not None:
        _resume(state, calendar, now)
    _summary(state, policy, calendar)
    _write(ticket, state)


def on_article_added(ticket: Ticket, article: Article) -> None:
    if article.kind not in (ArticleKind.REPLY, ArticleKind.CUSTOMER):
        return
    if article.kind == ArticleKind.REPLY and article.author_id is None:
        return  # a rule's or the system's text is no agent's answer
    conf = setup()
    if not conf.policies:
        return
    _fresh(ticket)
    policy = conf.policy_for(ticket)
    if policy is None:
        return
    calendar = conf.calendar_for(policy, ticket)
    state = _current(ticket)
    if article.kind == ArticleKind.REPLY:
        if state["first_response_due_at"] is not None:
            due = state["first_response_due_at"]
            _record_met(ticket.pk, SLATarget.FIRST_RESPONSE, due, article.created_at)
        state["first_response_due_at"] = None
        answered = state["next_response_due_at"] is not None
        state["next_response_due_at"] = None
        if answered:  # this cycle is over: the next customer message may warn and breach anew
            SLAEvent.objects.filter(ticket=ticket, target=SLATarget.NEXT_RESPONSE).delete()
    elif (
        state["first_response_due_at"] is None
        and state["next_response_due_at"] is None
        and ticket.status != Status.CLOSED
    ):
        # While paused the clock counts from the pause, so that resuming gives the full time.
        start = state["sla_paused_at"] or article.created_at
        state["next_response_due_at"] = _due(calendar, start, policy.next_response)
    _summary(state, policy, calendar)
    _write(ticket, state)


# --- The worker: warnings and breaches --------------------------------------------------------


def team_leads(ticket: Ticket) -> list[User]:
    """Helpa has no "team lead" yet: the admins among the ticket's team (or, without one, among
    the teams of its queue) stand in for them."""
    if ticket.team_id:
        teams = Q(teams=ticket.team_id)
    else:
        teams = Q(teams__in=Team.objects.filter(queues=ticket.queue_id))
    return list(
        User.objects.filter(teams, is_active=True)
        .filter(Q(role=Role.ADMIN) | Q(is_superuser=True))
        .distinct()
    )


def _recipients(ticket: Ticket) -> list[User]:
    people = {u.pk: u for u in team_leads(ticket)}
    if ticket.owner_id and ticket.owner.is_active:
        people[ticket.owner_id] = ticket.owner
    return sorted(people.values(), key=lambda u: u.pk)


TARGET_TEXTS = {
    SLATarget.FIRST_RESPONSE: gettext_noop("First response"),
    SLATarget.NEXT_RESPONSE: gettext_noop("Next response"),
    SLATarget.RESOLUTION: gettext_noop("Resolution"),
}


def _claim(ticket_id: int, target: str, kind: str, due: datetime, now: datetime) -> bool:
    """Take the one row that says this warning or breach is done; False: it already is."""
    try:
        with transaction.atomic():
            SLAEvent.objects.create(
                ticket_id=ticket_id, target=target, kind=kind, due_at=due, created_at=now
            )
    except IntegrityError:
        return False
    return True


def _notice(user: User, target: str, due: datetime, kind: str) -> str:
    """The in-app notice's text, in the colleague's language."""
    with translation.override(user.language or settings.LANGUAGE_CODE):
        values = {
            "target": _(TARGET_TEXTS[SLATarget(target)]),
            "due": timezone.localtime(due).strftime("%Y-%m-%d %H:%M"),
        }
        if kind == SLAEvent.Kind.WARNING:
            return _("SLA warning: %(target)s is due at %(due)s.") % values
        return _("SLA breached: %(target)s was due at %(due)s.") % values


def _notify(ticket: Ticket, recipients: list[User], target: str, due: datetime, kind: str) -> None:
    if recipients:
        Notification.objects.bulk_create(
            Notification(
                user=user,
                ticket=ticket,
                kind=Notification.Kind.SLA,
                text=_notice(user, target, due, kind)[:300],
            )
            for user in recipients
        )


def _warn(ticket: Ticket, target: str, due: datetime, now: datetime) -> None:
    recipients = _recipients(ticket)
    _notify(ticket, recipients, target, due, SLAEvent.Kind.WARNING)
    # The mail app writes the mail to the outbox in this transaction (mail/subscribers.py).
    events.publish(
        "automation.sla_warning",
        ticket=ticket,
        target=target,
        target_text=TARGET_TEXTS[SLATarget(target)],
        due_at=due,
        recipients=recipients,
    )


def _breach(ticket: Ticket, target: str, due: datetime, now: datetime) -> None:
    if target != SLATarget.NEXT_RESPONSE:
        SLAOutcome.objects.bulk_create(
            [SLAOutcome(ticket_id=ticket.pk, target=target, due_at=due, breached=True)],
            ignore_conflicts=True,
        )
    HistoryEntry.objects.create(
        ticket=ticket,
        actor_name=ACTOR_NAME,
        field="sla_breached",
        new_value=target,
        version=ticket.version,
        created_at=now,
    )
    _notify(ticket, _recipients(ticket), target, due, SLAEvent.Kind.BREACH)


def check(now: datetime | None = None) -> int:
    """One run of the worker's SLA job: what is due now? Returns how many warnings and
    breaches it recorded. Safe to run twice at once: each is claimed by a unique row."""
    now = now or timezone.now()
    conf = setup()
    # Every ticket whose nearest warning time has come, breached ones included (their later
    # targets may still come due): the columns the decision needs, the rest read on action.
    tickets = list(
        Ticket.objects.filter(active_q(), sla_paused_at__isnull=True, sla_warning_at__lte=now)
        .only(
            "pk",
            "status",
            "priority",
            "queue_id",
            "company_id",
            "team_id",
            "owner_id",
            "version",
            *COLUMNS.values(),
        )
        .order_by("-sla_due_at", "pk")
    )
    if not tickets:
        return 0
    done = set(
        SLAEvent.objects.filter(ticket__in=tickets).values_list("ticket_id", "target", "kind")
    )
    count = 0
    for ticket in tickets:
        policy = conf.policy_for(ticket)
        calendar = conf.calendar_for(policy, ticket) if policy else None
        for target, column in COLUMNS.items():
            due = getattr(ticket, column)
            if due is None:
                continue
            if due <= now:
                kind, act = SLAEvent.Kind.BREACH, _breach
            else:
                if policy is None or calendar is None or not policy.warning_minutes:
                    continue
                warn_at = calendar.subtract_business_minutes(due, policy.warning_minutes)
                if warn_at is None or warn_at > now:
                    continue
                kind, act = SLAEvent.Kind.WARNING, _warn
            if (ticket.pk, target, kind) in done:
                continue
            try:
                with transaction.atomic():
                    if not _claim(ticket.pk, target, kind, due, now):
                        continue
                    act(ticket, target, due, now)
            except Exception:  # noqa: BLE001 — one ticket's failure must not stop the run
                log.exception("SLA %s of %s on ticket %s failed", kind, target, ticket.pk)
                continue
            count += 1
    return count


def time_left(ticket: Ticket, now: datetime | None = None) -> timedelta | None:
    if ticket.sla_due_at is None:
        return None
    return ticket.sla_due_at - (now or timezone.now())


def rework_active_tickets(batch: int = 500) -> int:
    """Work out every active ticket's SLA columns again, after an admin changed the policies or
    calendars (views_sla queues this for the worker). Returns how many tickets changed. Time
    already spent paused is not counted back in; new pauses count from now on."""
    forget()
    changed = 0
    last_id = 0
    while True:
        tickets = list(Ticket.objects.filter(active_q(), pk__gt=last_id).order_by("pk")[:batch])
        if not tickets:
            return changed
        with transaction.atomic():
            for ticket in tickets:
                before = _current(ticket)
                _write(ticket, work_out(ticket))
                changed += _current(ticket) != before
        last_id = tickets[-1].pk
