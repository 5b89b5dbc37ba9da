"""Statistics (issue 7 §1): the figures of a period, per day, week, month or year, and per group.

Every figure is an SQL aggregate over `TicketFact` (one narrow row per ticket), a fixed number
of queries whatever the data size. What the figures mean:

- **New**: tickets created in the bucket (local days in settings.TIME_ZONE).
- **Closed**: tickets whose latest finish (resolved or closed, since they were last reopened)
  falls in the bucket and that are still resolved or closed. A reopened ticket that is active
  again is not closed; closed again, it counts on the new date.
- **% closed before due date**: of the closed tickets that have a due date, those finished by it.
- **Average days open**: the mean time from creation to finish of the closed tickets, in days.
- **Backlog** at the end of a day: tickets created on or before it and not finished by then
  (finished later, or still active) — from the tickets' current finish, so a ticket reopened
  since counts as open from its creation. **Average open tickets** of a month: the mean of the
  month's daily backlog (worked out from one opening count and the daily new and closed
  counts, never a query per day).
- **First response** (the first public reply by an agent) and **resolution** times: median and
  90th percentile in business hours of the ticket's calendar, of the tickets closed in the
  bucket (first response: of those that got one).
- Merged duplicates and drafts count nowhere. Queue, agent, customer… are the ticket's current
  values: a ticket moved to another queue counts in its current queue.
- An agent's figures cover the queues they may see (access.py).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from django import forms
from django.db import connection, transaction
from django.db.models import Aggregate, Count, F, Field, Q, QuerySet, Sum, Window
from django.db.models.functions import RowNumber, TruncMonth, TruncWeek, TruncYear
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import Team, User
from helpa.crm.models import Brand, Company
from helpa.tickets.models import Category, Channel, Priority, Queue, TicketType

from . import access, periods
from .models import TicketFact
from .report import Cell, Chart, ParamsError, Report, Series, Table, Value, register

BUCKETS = {
    "day": gettext_lazy("Day"),
    "week": gettext_lazy("Week"),
    "month": gettext_lazy("Month"),
    "year": gettext_lazy("Year"),
}
# Group by: the fact column, and how the group is called.
GROUPS: dict[str, tuple[str, Any]] = {
    "none": ("", gettext_lazy("Nothing")),
    "customer": ("company_id", gettext_lazy("Customer")),
    "category": ("category_id", gettext_lazy("Category")),
    "queue": ("queue_id", gettext_lazy("Queue")),
    "brand": ("brand_id", gettext_lazy("Brand")),
    "agent": ("owner_id", gettext_lazy("Agent")),
    "channel": ("channel", gettext_lazy("Channel")),
}
# Filter field → fact column.
FILTERS = {
    "queue": "queue_id",
    "team": "team_id",
    "agent": "owner_id",
    "brand": "brand_id",
    "company": "company_id",
    "category": "category_id",
    "type": "type_id",
    "priority": "priority",
    "channel": "channel",
}
FIGURES = ("new", "closed", "before_due", "after_due", "backlog")
# Every preset: a subscription mails "yesterday" or "last week", the dashboard shows the last 7 days.
PERIOD_CHOICES = list(periods.PRESETS.items())
NONE_VALUE = "none"  # the group value of tickets without one (no category, no agent…)


# --- The filter form ----------------------------------------------------------------------------


class StatisticsForm(forms.Form):
    """The page's filters. Every choice is limited to what the user may see: another brand's
    queue in the URL is "not one of the available choices", never counted."""

    period = forms.ChoiceField(label=gettext_lazy("Period"), choices=PERIOD_CHOICES, required=False)
    queue = forms.ModelChoiceField(Queue.objects.none(), required=False)
    team = forms.ModelChoiceField(Team.objects.none(), required=False)
    agent = forms.ModelChoiceField(User.objects.none(), required=False)
    brand = forms.ModelChoiceField(Brand.objects.none(), required=False)
    company = forms.ModelChoiceField(Company.objects.none(), required=False)
    category = forms.ModelChoiceField(Category.objects.all(), required=False)
    type = forms.ModelChoiceField(TicketType.objects.all(), required=False)
    priority = forms.TypedChoiceField(
        choices=[("", "---------"), *Priority.choices], coerce=int, required=False
    )
    channel = forms.ChoiceField(choices=[("", "---------"), *Channel.choices], required=False)
    bucket = forms.ChoiceField(
        label=gettext_lazy("Per"), choices=list(BUCKETS.items()), required=False
    )
    group = forms.ChoiceField(
        label=gettext_lazy("Group by"),
        choices=[(k, v) for k, (_c, v) in GROUPS.items()],
        required=False,
    )

    def __init__(self, user: User, data: Mapping[str, Any]) -> None:
        # The defaults shown selected when the query string names none (the first visit).
        data = data.copy() if isinstance(data, QueryDict) else dict(data)
        if not data.get("period") and not (data.get("from") or data.get("to")):
            data["period"] = "last_12_months"
        data.setdefault("bucket", "month")
        data.setdefault("group", "none")
        super().__init__(data)
        self.user = user
        # "from" is a Python keyword: the two dates are added by name.
        self.fields["from"] = forms.DateField(label=gettext_lazy("From"), required=False)
        self.fields["to"] = forms.DateField(label=gettext_lazy("To"), required=False)
        labels = {
            "queue": gettext_lazy("Queue"),
            "team": gettext_lazy("Team"),
            "agent": gettext_lazy("Agent"),
            "brand": gettext_lazy("Brand"),
            "company": gettext_lazy("Customer"),
            "category": gettext_lazy("Category"),
            "type": gettext_lazy("Type"),
            "priority": gettext_lazy("Priority"),
            "channel": gettext_lazy("Channel"),
        }
        for name, label in labels.items():
            self.fields[name].label = label
        queue_ids = access.report_queue_ids(user)
        if queue_ids is None:
            self.fields["queue"].queryset = Queue.objects.all()
            self.fields["team"].queryset = Team.objects.all()
            self.fields["agent"].queryset = User.objects.agents()
            self.fields["brand"].queryset = Brand.objects.all()
        else:
            self.fields["queue"].queryset = Queue.objects.filter(pk__in=queue_ids)
            self.fields["team"].queryset = Team.objects.filter(queues__in=queue_ids).distinct()
            self.fields["agent"].queryset = (
                User.objects.agents().filter(teams__queues__in=queue_ids).distinct()
            )
            self.fields["brand"].queryset = Brand.objects.filter(
                pk__in=Queue.objects.filter(pk__in=queue_ids).values("brand_id")
            )
        self.fields["company"].queryset = Company.objects.all()

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        try:
            data["period_obj"] = periods.from_params(self.data)
        except periods.PeriodError as error:
            self.add_error(None, str(error))
        return data


@dataclass(frozen=True)
class Query:
    """What the user asked for, checked: the period, the bucket, the grouping, the filters."""

    period: periods.Period
    bucket: str = "month"
    group: str = "none"
    filters: dict[str, Any] = field(default_factory=dict)  # fact column → value
    params: dict[str, str] = field(default_factory=dict)  # the query string that names it
    labels: list[str] = field(default_factory=list)  # the filters in words

    @property
    def group_column(self) -> str:
        return GROUPS[self.group][0]


def parse(user: User, params: Mapping[str, Any]) -> tuple[StatisticsForm, Query | None]:
    form = StatisticsForm(user, params)
    if not form.is_valid():
        return form, None
    data = form.cleaned_data
    filters: dict[str, Any] = {}
    names: dict[str, str] = {}
    labels: list[str] = []
    for name, column in FILTERS.items():
        value = data.get(name)
        if value in (None, ""):
            continue
        filters[column] = getattr(value, "pk", value)
        names[name] = str(filters[column])
        # In words for the description: the queue's name, the priority's label.
        shown = (
            dict(form.fields[name].choices).get(value, value) if not hasattr(value, "pk") else value
        )
        labels.append(f"{form.fields[name].label}: {shown}")
    period = data["period_obj"]
    bucket = data.get("bucket") or "month"
    group = data.get("group") or "none"
    query_params = {**period.as_params(), **names, "bucket": bucket, "group": group}
    return form, Query(period, bucket, group, filters, query_params, labels)


# --- Buckets ------------------------------------------------------------------------------------


def bucket_start(day: date, bucket: str) -> date:
    if bucket == "week":  # ISO weeks begin on Monday
        return day - timedelta(days=day.weekday())
    if bucket == "month":
        return day.replace(day=1)
    if bucket == "year":
        return day.replace(month=1, day=1)
    return day


def bucket_end(start: date, bucket: str) -> date:
    if bucket == "week":
        return start + timedelta(days=6)
    if bucket == "month":
        following = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
        return following - timedelta(days=1)
    if bucket == "year":
        return start.replace(month=12, day=31)
    return start


def bucket_label(start: date, bucket: str) -> str:
    if bucket == "week":
        year, week, _day = start.isocalendar()
        return f"{year}-W{week:02d}"
    if bucket == "month":
        return start.strftime("%Y-%m")
    if bucket == "year":
        return str(start.year)
    return start.isoformat()


def buckets(period: periods.Period, bucket: str) -> list[date]:
    starts: list[date] = []
    day = bucket_start(period.start, bucket)
    while day <= period.end:
        starts.append(day)
        day = bucket_end(day, bucket) + timedelta(days=1)
    return starts


def _trunc(column: str, bucket: str) -> Any:
    kind = {"week": TruncWeek, "month": TruncMonth, "year": TruncYear}.get(bucket)
    return F(column) if kind is None else kind(column)


def _as_date(value: Any) -> date:
    # TruncMonth of a DATE column is a date on both databases; a datetime would be a bug.
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


# --- Percentiles --------------------------------------------------------------------------------


class PercentileCont(Aggregate):
    """PostgreSQL's `percentile_cont(ARRAY[p, …]) WITHIN GROUP (ORDER BY column)`: the median
    and 90th percentile per group in the same pass as the counts, from one sort per column."""

    function = "percentile_cont"
    template = "%(function)s(ARRAY[%(fractions)s]) WITHIN GROUP (ORDER BY %(expressions)s)"
    output_field = Field()  # a list of floats (float8[]), as psycopg reads it

    def __init__(self, expression: Any, fractions: Iterable[float], **extra: Any) -> None:
        text = ", ".join(f"{float(p)!r}::float8" for p in fractions)
        super().__init__(expression, fractions=text, **extra)


def _interpolate(values: dict[int, float], count: int, p: float) -> float:
    """percentile_cont from the rows at the two positions around p (1-based ranks)."""
    x = 1 + p * (count - 1)
    low, high = math.floor(x), math.ceil(x)
    return values[low] + (x - low) * (values[high] - values[low])


def _window_percentiles(
    qs: QuerySet[TicketFact], key: Any, column: str, fractions: Iterable[float]
) -> dict[Any, list[float]]:
    """SQLite has no percentile_cont: number the rows of each group in order (a window), and
    read back only the two rows around each percentile — one query for all groups, a few rows
    per group, never the tickets themselves."""
    fractions = list(fractions)
    inner = (
        qs.filter(**{f"{column}__isnull": False})
        .annotate(
            k=key,
            v=F(column),
            rn=Window(RowNumber(), partition_by=[key], order_by=F(column).asc()),
            cnt=Window(Count("queue_id"), partition_by=[key]),
        )
        .values_list("k", "v", "rn", "cnt")
    )
    sql, params = inner.query.sql_with_params()
    near = " OR ".join(
        f"(w.rn > 1 + {p!r} * (w.cnt - 1) - 1 AND w.rn < 1 + {p!r} * (w.cnt - 1) + 1)"
        for p in fractions
    )
    outer = f"SELECT w.k, w.v, w.rn, w.cnt FROM ({sql}) w WHERE {near}"
    rows: dict[Any, tuple[int, dict[int, float]]] = {}
    with connection.cursor() as cursor:
        cursor.execute(outer, params)
        for k, v, rn, cnt in cursor.fetchall():
            rows.setdefault(k, (cnt, {}))[1][rn] = float(v)
    return {k: [_interpolate(vals, cnt, p) for p in fractions] for k, (cnt, vals) in rows.items()}


# --- The figures --------------------------------------------------------------------------------


@dataclass
class Closed:
    closed: int = 0
    with_due: int = 0
    before_due: int = 0
    open_seconds: float = 0.0  # summed: buckets add up to the period
    first_response: list[float | None] = field(default_factory=lambda: [None, None])
    resolution: list[float | None] = field(default_factory=lambda: [None, None])

    @property
    def before_due_pct(self) -> float | None:
        return round(100 * self.before_due / self.with_due, 1) if self.with_due else None

    @property
    def avg_days_open(self) -> float | None:
        if not self.closed:
            return None
        return round(self.open_seconds / self.closed / 86400, 1)

    def add(self, other: Closed) -> None:
        self.closed += other.closed
        self.with_due += other.with_due
        self.before_due += other.before_due
        self.open_seconds += other.open_seconds


def base_facts(user: User, query: Query) -> QuerySet[TicketFact]:
    return TicketFact.objects.filter(
        access.queue_scope_q(user), is_merged=False, is_draft=False, **query.filters
    )


def closed_figures(facts: QuerySet[TicketFact], period: periods.Period, key: Any) -> dict:
    """Closed tickets' figures per key (a bucket, a group, or one value for the whole period):
    one query on PostgreSQL, three on SQLite (the percentiles, see _window_percentiles)."""
    closed = facts.filter(done_on__gte=period.start, done_on__lte=period.end).annotate(k=key)
    aggregates: dict[str, Any] = {
        "n": Count("queue_id"),
        "with_due": Count("queue_id", filter=Q(closed_before_due__isnull=False)),
        "before_due": Count("queue_id", filter=Q(closed_before_due=True)),
        "open_seconds": Sum("open_seconds"),
    }
    pg = connection.vendor == "postgresql"
    if pg:
        for column in ("first_response_minutes", "resolution_minutes"):
            aggregates[column] = PercentileCont(column, (0.5, 0.9))
    result: dict[Any, Closed] = {}
    for row in closed.values("k").annotate(**aggregates).order_by():
        figures = Closed(
            row["n"], row["with_due"], row["before_due"], float(row["open_seconds"] or 0)
        )
        if pg:
            figures.first_response = row["first_response_minutes"] or [None, None]
            figures.resolution = row["resolution_minutes"] or [None, None]
        result[row["k"]] = figures
    if not pg and result:
        base = facts.filter(done_on__gte=period.start, done_on__lte=period.end)
        for column, attr in (
            ("first_response_minutes", "first_response"),
            ("resolution_minutes", "resolution"),
        ):
            # The raw query returns keys as the database has them (a month as text on
            # SQLite): match them by their text.
            by_text = {str(k): figures for k, figures in result.items()}
            for k, values in _window_percentiles(base, key, column, (0.5, 0.9)).items():
                if str(k) in by_text:
                    setattr(by_text[str(k)], attr, values)
    return result


def _counts(rows: Iterable[tuple[Any, int]]) -> dict[Any, int]:
    return {k: n for k, n in rows}


def daily_backlog(
    facts: QuerySet[TicketFact], period: periods.Period, new: dict[date, int], done: dict[date, int]
) -> dict[date, int]:
    """Open tickets at the end of each day of the period, from the day's new ones in and
    finished ones out, after one count of those open when the period began.

    That count is worked back from today rather than counted directly (created before the
    period, finished after its start: most of the table): open now, less what was created
    since the period began, plus what was finished since. What happened after the period is
    the small part of the table, counted in one query with the open tickets."""
    after = facts.filter(
        Q(done_on__isnull=True) | Q(created_on__gt=period.end) | Q(done_on__gt=period.end)
    ).aggregate(
        open_now=Count("queue_id", filter=Q(done_on__isnull=True)),
        new_after=Count("queue_id", filter=Q(created_on__gt=period.end)),
        done_after=Count("queue_id", filter=Q(done_on__gt=period.end)),
    )
    opening = (
        after["open_now"]
        - (sum(new.values()) + after["new_after"])
        + (sum(done.values()) + after["done_after"])
    )
    backlog, day, open_now = {}, period.start, opening
    while day <= period.end:
        open_now += new.get(day, 0) - done.get(day, 0)
        backlog[day] = open_now
        day += timedelta(days=1)
    return backlog


def hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / 60, 1)


# --- Links to the tickets behind a figure ---------------------------------------------------------


def tickets_url(
    query: Query, figure: str, on: date | None = None, value: Any = "", *, grouped: bool = False
) -> str:
    params = dict(query.params)
    params["figure"] = figure
    if on is not None:
        params["on"] = on.isoformat()
    if grouped:
        params["value"] = NONE_VALUE if value is None else str(value)
    return reverse("reports_stats:tickets") + "?" + urlencode(params)


def drill_facts(
    user: User, query: Query, params: Mapping[str, str]
) -> tuple[QuerySet[TicketFact], str]:
    """The facts behind one figure of the page (`figure`, `on` a bucket or a day, `value` of
    the grouping). Raises ValueError for parameters the page never links to."""
    figure = params.get("figure", "")
    if figure not in FIGURES:
        raise ValueError(_("Unknown figure."))
    facts = base_facts(user, query)
    start, end = query.period.start, query.period.end
    raw_on = params.get("on") or ""
    if raw_on:
        try:
            on = date.fromisoformat(raw_on)
        except ValueError:
            raise ValueError(_("Give the day as YYYY-MM-DD.")) from None
        if figure == "backlog":
            start = end = on
        else:
            start = max(start, bucket_start(on, query.bucket))
            end = min(end, bucket_end(bucket_start(on, query.bucket), query.bucket))
    if "value" in params and query.group_column:
        value = params["value"]
        if value == NONE_VALUE:
            facts = facts.filter(**{f"{query.group_column}__isnull": True})
        else:
            facts = facts.filter(**{query.group_column: value})
    if figure == "new":
        facts = facts.filter(created_on__gte=start, created_on__lte=end)
    elif figure == "backlog":
        facts = facts.filter(created_on__lte=end).filter(
            Q(done_on__isnull=True) | Q(done_on__gt=end)
        )
    else:
        facts = facts.filter(done_on__gte=start, done_on__lte=end)
        if figure == "before_due":
            facts = facts.filter(closed_before_due=True)
        elif figure == "after_due":
            facts = facts.filter(closed_before_due=False)
    labels = {
        "new": _("New tickets"),
        "closed": _("Closed tickets"),
        "before_due": _("Closed before their due date"),
        "after_due": _("Closed after their due date"),
        "backlog": _("Open at the end of %(day)s") % {"day": end.isoformat()},
    }
    title = labels[figure]
    if figure != "backlog":
        title = f"{title} · {start.isoformat()} – {end.isoformat()}"
    return facts, title


# --- Group names --------------------------------------------------------------------------------


def group_names(group: str, keys: Iterable[Any]) -> dict[Any, str]:
    ids = [k for k in keys if k is not None]
    if group == "channel":
        return {k: str(Channel(k).label) if k in Channel.values else k for k in ids}
    model = {
        "customer": Company,
        "category": Category,
        "queue": Queue,
        "brand": Brand,
        "agent": User,
    }.get(group)
    if model is None or not ids:
        return {}
    return {obj.pk: str(obj) for obj in model.objects.filter(pk__in=ids)}


# --- The report ---------------------------------------------------------------------------------


@contextmanager
def _room_to_sort() -> Iterator[None]:
    """The percentiles sort a year of closed tickets (300,000 values at a million tickets);
    PostgreSQL's default 4 MB of sort memory spills that to disk. Reports are few and rare:
    give their sorts more memory, for this transaction only."""
    if connection.vendor != "postgresql":
        yield
        return
    with transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL work_mem = '64MB'")
        yield


def build(user: User, query: Query) -> Report:
    """The statistics of `query` for `user`: tiles, charts, tables, each figure linked."""
    with _room_to_sort():
        return _build(user, query)


def _build(user: User, query: Query) -> Report:
    period = query.period
    facts = base_facts(user, query)
    starts = buckets(period, query.bucket)
    today = timezone.localdate()

    # Per day: new and finished (the backlog needs days; buckets are their sums).
    new_daily = _counts(
        facts.filter(created_on__gte=period.start, created_on__lte=period.end)
        .values("created_on")
        # Counting a column of the index (never NULL) lets PostgreSQL read the index alone;
        # the primary key is not in it.
        .annotate(n=Count("queue_id"))
        .values_list("created_on", "n")
        .order_by()
    )
    done_daily = _counts(
        facts.filter(done_on__gte=period.start, done_on__lte=period.end)
        .values("done_on")
        .annotate(n=Count("queue_id"))
        .values_list("done_on", "n")
        .order_by()
    )
    backlog = daily_backlog(facts, period, new_daily, done_daily)
    per_bucket = {
        _as_date(k): v
        for k, v in closed_figures(facts, period, _trunc("done_on", query.bucket)).items()
    }

    def bucket_sum(daily: dict[date, int], start: date) -> int:
        return sum(n for d, n in daily.items() if bucket_start(d, query.bucket) == start)

    labels = [bucket_label(s, query.bucket) for s in starts]
    new = [bucket_sum(new_daily, s) for s in starts]
    closed = [per_bucket.get(s, Closed()) for s in starts]
    # The backlog at the end of each bucket (or of today, for the bucket still running).
    ends = [min(bucket_end(s, query.bucket), period.end, max(today, period.start)) for s in starts]
    backlog_at = [backlog.get(e) for e in ends]

    def url(figure: str, on: date | None = None) -> str:
        return tickets_url(query, figure, on)

    charts = [
        Chart(
            _("New and closed tickets"),
            labels,
            [
                Series(_("New"), list(map(float, new)), [url("new", s) for s in starts]),
                Series(
                    _("Closed"),
                    [float(c.closed) for c in closed],
                    [url("closed", s) for s in starts],
                ),
            ],
        ),
        Chart(
            _("Backlog: open tickets at the end of each period"),
            labels,
            [Series(_("Open"), backlog_at, [url("backlog", e) for e in ends])],
            kind="line",
        ),
        Chart(
            _("Closed before their due date"),
            labels,
            [
                Series(
                    # xgettext:no-python-format
                    _("% closed before due date"),
                    [c.before_due_pct for c in closed],
                    [url("before_due", s) for s in starts],
                )
            ],
            kind="line",
            unit="%",
        ),
        Chart(
            _("Average days open"),
            labels,
            [
                Series(
                    _("Days"), [c.avg_days_open for c in closed], [url("closed", s) for s in starts]
                )
            ],
            kind="line",
        ),
        Chart(
            _("First response time (business hours)"),
            labels,
            [
                Series(name, [hours(c.first_response[i]) for c in closed], [])
                for i, name in enumerate([_("Median"), _("90th percentile")])
            ],
            kind="line",
            unit="h",
        ),
        Chart(
            _("Resolution time (business hours)"),
            labels,
            [
                Series(name, [hours(c.resolution[i]) for c in closed], [])
                for i, name in enumerate([_("Median"), _("90th percentile")])
            ],
            kind="line",
            unit="h",
        ),
    ]
    for chart in charts[4:]:
        for series in chart.series:
            series.urls = [url("closed", s) for s in starts]

    months = _monthly_open(period, backlog, today)
    charts.append(
        Chart(
            _("Average open tickets per month"),
            [m.strftime("%Y-%m") for m, _avg in months],
            [Series(_("Open tickets"), [avg for _m, avg in months], [])],
        )
    )

    bucket_rows: list[list[Value | Cell]] = []
    for s, label, n, c, open_at, end in zip(
        starts, labels, new, closed, backlog_at, ends, strict=True
    ):
        bucket_rows.append(
            [
                label,
                Cell(n, url("new", s)),
                Cell(c.closed, url("closed", s)),
                Cell(c.before_due_pct, url("before_due", s)),
                Cell(c.avg_days_open, url("closed", s)),
                Cell(open_at, url("backlog", end)),
                hours(c.first_response[0]),
                hours(c.first_response[1]),
                hours(c.resolution[0]),
                hours(c.resolution[1]),
            ]
        )
    columns = [
        str(BUCKETS[query.bucket]),
        _("New"),
        _("Closed"),
        # xgettext:no-python-format
        _("% closed before due date"),
        _("Average days open"),
        _("Open at the end"),
        _("First response, median (h)"),
        _("First response, 90th percentile (h)"),
        _("Resolution, median (h)"),
        _("Resolution, 90th percentile (h)"),
    ]
    tables = [
        Table(
            _("Per %(bucket)s") % {"bucket": str(BUCKETS[query.bucket]).lower()},
            columns,
            bucket_rows,
            sheet=_("Figures"),
        )
    ]
    tables.append(
        Table(
            _("Average open tickets per month"),
            [_("Month"), _("Average open tickets")],
            [[m.strftime("%Y-%m"), avg] for m, avg in months],
            sheet=_("Open per month"),
        )
    )
    if query.group_column:
        group_chart, group_table = _grouped(facts, query)
        charts.append(group_chart)
        tables.insert(0, group_table)

    average_open = (
        round(sum(avg for _m, avg in months if avg is not None) / len(months), 1)
        if months
        else None
    )
    # The period's counts are the buckets' sums; its medians are not, so they are shown only
    # when the period is one bucket (a weekly subscription of last week, say) — another query
    # sorting the whole period's times would cost as much as the buckets' together.
    totals = Closed()
    for figures in closed:
        totals.add(figures)
    tiles: list[tuple[str, Value, str]] = [
        (_("New"), sum(new), url("new")),
        (_("Closed"), totals.closed, url("closed")),
        # xgettext:no-python-format
        (_("% closed before due date"), totals.before_due_pct, url("before_due")),
        (_("Average days open"), totals.avg_days_open, url("closed")),
        (_("Average open tickets"), average_open, ""),
    ]
    if len(closed) == 1:
        tiles += [
            (_("First response, median (h)"), hours(closed[0].first_response[0]), url("closed")),
            (_("Resolution, median (h)"), hours(closed[0].resolution[0]), url("closed")),
        ]
    return Report(
        _("Statistics"),
        description=describe(query),
        charts=charts,
        tables=tables,
        tiles=tiles,
    )


def _monthly_open(
    period: periods.Period, backlog: dict[date, int], today: date
) -> list[tuple[date, float | None]]:
    """The mean daily backlog of each month of the period, over its days up to today."""
    sums: dict[date, list[int]] = {}
    for day, n in backlog.items():
        if day <= today:
            sums.setdefault(day.replace(day=1), []).append(n)
    return [
        (month, round(sum(ns) / len(ns), 1) if ns else None)
        for month in buckets(period, "month")
        for ns in [sums.get(month, [])]
    ]


def _grouped(facts: QuerySet[TicketFact], query: Query) -> tuple[Chart, Table]:
    period, column = query.period, query.group_column
    new = _counts(
        facts.filter(created_on__gte=period.start, created_on__lte=period.end)
        .values(column)
        .annotate(n=Count("queue_id"))
        .values_list(column, "n")
        .order_by()
    )
    closed = closed_figures(facts, period, F(column))
    keys = sorted(set(new) | set(closed), key=lambda k: (k is None, str(k)))
    names = group_names(query.group, keys)
    label_of = {k: names.get(k, str(k)) if k is not None else _("(none)") for k in keys}
    keys.sort(key=lambda k: (k is None, label_of[k].lower()))

    def url(figure: str, key: Any) -> str:
        return tickets_url(query, figure, None, key, grouped=True)

    rows: list[list[Value | Cell]] = []
    for k in keys:
        c = closed.get(k, Closed())
        rows.append(
            [
                label_of[k],
                Cell(new.get(k, 0), url("new", k)),
                Cell(c.closed, url("closed", k)),
                Cell(c.before_due_pct, url("before_due", k)),
                Cell(c.avg_days_open, url("closed", k)),
                hours(c.first_response[0]),
                hours(c.first_response[1]),
                hours(c.resolution[0]),
                hours(c.resolution[1]),
            ]
        )
    group_label = str(GROUPS[query.group][1])
    table = Table(
        _("Per %(group)s") % {"group": group_label.lower()},
        [
            group_label,
            _("New"),
            _("Closed"),
            # xgettext:no-python-format
            _("% closed before due date"),
            _("Average days open"),
            _("First response, median (h)"),
            _("First response, 90th percentile (h)"),
            _("Resolution, median (h)"),
            _("Resolution, 90th percentile (h)"),
        ],
        rows,
        sheet=group_label,
    )
    chart = Chart(
        _("New and closed tickets per %(group)s") % {"group": group_label.lower()},
        [label_of[k] for k in keys],
        [
            Series(_("New"), [float(new.get(k, 0)) for k in keys], [url("new", k) for k in keys]),
            Series(
                _("Closed"),
                [float(closed.get(k, Closed()).closed) for k in keys],
                [url("closed", k) for k in keys],
            ),
        ],
    )
    return chart, table


def describe(query: Query) -> str:
    return " · ".join([query.period.label(), *query.labels])


@register("statistics", gettext_lazy("Statistics"), "reports_stats:index")
def statistics(user: User, params: QueryDict) -> Report:
    """The report a subscription mails: the same parameters as the page's query string."""
    form, query = parse(user, params)
    if query is None:
        raise ParamsError({k: [str(m) for m in v] for k, v in form.errors.items()})
    return build(user, query)
