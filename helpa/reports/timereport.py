"""The time report: hours logged per customer, contact, category, agent or queue, by month or
year, for invoicing (issue 7 §2).

Sums come from one aggregate query over `TimeEntry`, which carries its ticket's queue, company
and category (timeentries.py keeps them current), so a year of a million entries is summed
without touching the tickets; only grouping by contact joins them. Entries count in the local
month of the day the work was done (`worked_on`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db import connection, transaction
from django.db.models import Count, DateField, F, Func, Q, QuerySet, Sum
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import User
from helpa.crm.models import Company, Contact
from helpa.tickets.models import Category, Queue, TimeEntry

from . import periods
from .access import queue_scope_q, report_queue_ids
from .report import Cell, Chart, Report, Series, Table, Value, checked, register

TOP_GROUPS = 8  # the chart stacks this many groups and "Other"
GROUPS = {
    "company": gettext_lazy("Company"),
    "contact": gettext_lazy("Contact"),
    "category": gettext_lazy("Category"),
    "agent": gettext_lazy("Agent"),
    "queue": gettext_lazy("Queue"),
}
# The column each group sums by (contact: through the ticket; the others are on the entry).
GROUP_COLUMNS = {
    "company": "company_id",
    "contact": "ticket__contact_id",
    "category": "category_id",
    "agent": "user_id",
    "queue": "queue_id",
}
NONE_KEY = "none"  # the group of entries without a company, contact, category or agent


def _hours(minutes: int | None) -> Decimal:
    return (Decimal(minutes or 0) / 60).quantize(Decimal("0.01"))


class TimeReportForm(forms.Form):
    """The report's parameters besides the period. Choices a user may not report on (another
    team's queue) are not offered, and a forged one is a form error."""

    by = forms.ChoiceField(
        label=gettext_lazy("By"),
        choices=[("month", gettext_lazy("Month")), ("year", gettext_lazy("Year"))],
        required=False,
    )
    group = forms.ChoiceField(
        label=gettext_lazy("Grouped by"), choices=list(GROUPS.items()), required=False
    )
    billable = forms.ChoiceField(
        label=gettext_lazy("Time"),
        choices=[("all", gettext_lazy("All time")), ("billable", gettext_lazy("Billable only"))],
        required=False,
    )
    queue = forms.ModelChoiceField(
        label=gettext_lazy("Queue"), queryset=Queue.objects.none(), required=False
    )
    agent = forms.ModelChoiceField(
        label=gettext_lazy("Agent"), queryset=User.objects.none(), required=False
    )
    company = forms.ModelChoiceField(
        label=gettext_lazy("Company"), queryset=Company.objects.none(), required=False
    )

    def __init__(self, data: Mapping[str, Any], *, user: User) -> None:
        super().__init__(data)
        queue_ids = report_queue_ids(user)
        queues = Queue.objects.order_by("name")
        self.fields["queue"].queryset = (
            queues if queue_ids is None else queues.filter(pk__in=queue_ids)
        )
        self.fields["agent"].queryset = User.objects.agents().order_by("full_name", "email")
        self.fields["company"].queryset = Company.objects.order_by("name")


@dataclass(frozen=True)
class Params:
    period: periods.Period
    by: str
    group: str
    billable_only: bool
    queue: Queue | None
    agent: User | None
    company: Company | None

    def query(self, *, with_period: bool = True, **extra: str) -> str:
        """These parameters as a query string (for links), with `extra` on top."""
        values: dict[str, str] = {
            **(self.period.as_params() if with_period else {}),
            "by": self.by,
            "group": self.group,
            "billable": "billable" if self.billable_only else "all",
        }
        for name in ("queue", "agent", "company"):
            chosen = getattr(self, name)
            if chosen is not None:
                values[name] = str(chosen.pk)
        values.update(extra)
        return urlencode(values)


def parse(user: User, params: Mapping[str, str]) -> tuple[Params, TimeReportForm]:
    """The report's parameters, or ParamsError with a message per field (for the form)."""
    form = TimeReportForm(params, user=user)
    period, data = checked(form, params, default_period="this_year")
    return (
        Params(
            period=period,
            by=data["by"] or "month",
            group=data["group"] or "company",
            billable_only=data["billable"] == "billable",
            queue=data["queue"],
            agent=data["agent"],
            company=data["company"],
        ),
        form,
    )


def entries(user: User, p: Params) -> QuerySet[TimeEntry]:
    """The entries the report sums: the period, the user's queues, the filters."""
    qs = TimeEntry.objects.filter(
        queue_scope_q(user),
        worked_on__gte=p.period.start,
        worked_on__lte=p.period.end,
    )
    if p.billable_only:
        qs = qs.filter(billable=True)
    if p.queue is not None:
        qs = qs.filter(queue_id=p.queue.pk)
    if p.agent is not None:
        qs = qs.filter(user_id=p.agent.pk)
    if p.company is not None:
        qs = qs.filter(company_id=p.company.pk)
    return qs


def group_filter(group: str, key: str) -> Q:
    """Entries of one group (`key` an id, or NONE_KEY for those without one)."""
    column = GROUP_COLUMNS[group]
    if key == NONE_KEY:
        return Q(**{f"{column}__isnull": True})
    return Q(**{column: int(key)})


def _names(group: str, ids: Iterable[int]) -> dict[int, str]:
    ids = [i for i in set(ids) if i is not None]
    if not ids:
        return {}
    if group == "agent":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    model = {"company": Company, "contact": Contact, "category": Category, "queue": Queue}[group]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _none_label(group: str) -> str:
    return {
        "company": _("(no company)"),
        "contact": _("(no contact)"),
        "category": _("(no category)"),
        "agent": _("(deleted user)"),
        "queue": _("(no queue)"),
    }[group]


def _bucket_end(start: date, by: str) -> date:
    if by == "year":
        return date(start.year, 12, 31)
    following = date(start.year + start.month // 12, start.month % 12 + 1, 1)
    return following - timedelta(days=1)


def _buckets(period: periods.Period, by: str) -> list[date]:
    """Every month (or year) the period touches, so that an empty month shows as a gap."""
    first = period.start.replace(day=1) if by == "month" else date(period.start.year, 1, 1)
    out = []
    while first <= period.end:
        out.append(first)
        first = _bucket_end(first, by) + timedelta(days=1)
    return out


def _bucket_label(start: date, by: str) -> str:
    return str(start.year) if by == "year" else start.strftime("%Y-%m")


@dataclass
class Row:
    key: str
    name: str
    minutes: int = 0
    billable_minutes: int = 0
    count: int = 0


class PeriodStart(Func):
    """The first day of a date's month or year, as a date.

    Not Django's TruncMonth: on PostgreSQL it truncates a date by way of a timestamp *with*
    time zone, and EXTRACT returns numeric; either doubled the report's query over a year of
    entries (bench/timereport.py). A date has no time zone to convert."""

    output_field = DateField()

    def __init__(self, expression: Any, unit: str) -> None:
        assert unit in ("month", "year")
        self.unit = unit
        super().__init__(expression)

    def as_postgresql(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"DATE_TRUNC('{self.unit}', %(expressions)s::timestamp)::date"
        return self.as_sql(compiler, connection, template=template, **extra)

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        template = f"DATE(%(expressions)s, 'start of {self.unit}')"
        return self.as_sql(compiler, connection, template=template, **extra)


def _sums(user: User, p: Params) -> list[dict[str, Any]]:
    """Minutes, billable minutes and entries per (month or year, group): one aggregate query.

    A year is ~2,400 groups of ~500,000 entries: PostgreSQL hashes them when it may use a
    little more memory than its default, instead of sorting half a million rows on disk."""
    query = (
        entries(user, p)
        .values(bucket=PeriodStart("worked_on", p.by), key=F(GROUP_COLUMNS[p.group]))
        .annotate(
            total=Sum("minutes"),
            billable_total=Sum("minutes", filter=Q(billable=True)),
            count=Count("*"),
        )
        .order_by()
    )
    if connection.vendor != "postgresql":
        return list(query)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL work_mem = '32MB'")
        return list(query)


def build(user: User, p: Params, *, per_period: bool = True, with_entries: bool = False) -> Report:
    """The report for these parameters. `per_period`: add the table of every month (or year)
    and group; `with_entries`: the sheet of every entry (exports, for invoicing)."""
    sums = _sums(user, p)
    names = _names(p.group, (s["key"] for s in sums))
    buckets = _buckets(p.period, p.by)
    totals: dict[str, Row] = {}
    cells: dict[tuple[date, str], Row] = {}
    for s in sums:
        key = NONE_KEY if s["key"] is None else str(s["key"])
        bucket = s["bucket"]
        name = _none_label(p.group) if key == NONE_KEY else names.get(s["key"], f"#{key}")
        row = totals.setdefault(key, Row(key, name))
        cell = cells.setdefault((bucket, key), Row(key, name))
        for target in (row, cell):
            target.minutes += s["total"] or 0
            target.billable_minutes += s["billable_total"] or 0
            target.count += s["count"]
    ranked = sorted(totals.values(), key=lambda r: (-r.minutes, r.name))

    # Thousands of cells link to their entries: the common part of the URL is made once.
    entries_url = reverse("reports_time:entries") + "?" + p.query(with_period=False) + "&"

    def link(start: date, end: date, key: str | None) -> str:
        start, end = max(start, p.period.start), min(end, p.period.end)
        extra = {"period": "custom", "from": start.isoformat(), "to": end.isoformat()}
        if key is not None:
            extra["key"] = key
        return entries_url + urlencode(extra)

    group_title = str(GROUPS[p.group])
    top, rest = ranked[:TOP_GROUPS], ranked[TOP_GROUPS:]
    series = [
        Series(
            name=r.name,
            values=[
                float(_hours(cells[(b, r.key)].minutes)) if (b, r.key) in cells else None
                for b in buckets
            ],
            urls=[
                link(b, _bucket_end(b, p.by), r.key) if (b, r.key) in cells else "" for b in buckets
            ],
        )
        for r in top
    ]
    if rest:
        other = [
            sum(cells[(b, r.key)].minutes for r in rest if (b, r.key) in cells) for b in buckets
        ]
        series.append(
            Series(
                _("Other"), [float(_hours(m)) if m else None for m in other], [""] * len(buckets)
            )
        )
    chart = Chart(
        title=_("Hours per %(period)s by %(group)s")
        % {"period": _("month") if p.by == "month" else _("year"), "group": group_title.lower()},
        labels=[_bucket_label(b, p.by) for b in buckets],
        series=series,
        kind="stacked",
        unit=_("h"),
    )
    columns = [group_title, _("Hours"), _("Billable hours"), _("Entries")]
    whole = (p.period.start, p.period.end)
    per_group = Table(
        title=_("Time per %(group)s") % {"group": group_title.lower()},
        columns=columns,
        rows=[
            [
                Cell(r.name, link(*whole, r.key)),
                Cell(_hours(r.minutes), link(*whole, r.key)),
                _hours(r.billable_minutes),
                r.count,
            ]
            for r in ranked
        ],
        sheet=_("Summary"),
    )
    tables = [per_group]
    if per_period:
        tables.append(_per_bucket_table(p, buckets, ranked, cells, columns, link))
    all_minutes = sum(r.minutes for r in ranked)
    report = Report(
        title=_("Time report"),
        description=describe(p),
        charts=[chart],
        tables=tables,
        tiles=[
            (_("Hours"), _hours(all_minutes), link(*whole, None)),
            (_("Billable hours"), _hours(sum(r.billable_minutes for r in ranked)), ""),
            (_("Entries"), sum(r.count for r in ranked), link(*whole, None)),
        ],
    )
    if with_entries:
        report.tables.append(entries_table(user, p))
    return report


def _per_bucket_table(
    p: Params,
    buckets: list[date],
    ranked: list[Row],
    cells: dict[tuple[date, str], Row],
    columns: list[str],
    link: Callable[[date, date, str | None], str],
) -> Table:
    """Every month (or year) and group with time: what a monthly invoice is made from."""
    return Table(
        title=_("Time per %(period)s and %(group)s")
        % {"period": _("month") if p.by == "month" else _("year"), "group": columns[0].lower()},
        columns=[_("Month") if p.by == "month" else _("Year"), *columns],
        rows=[
            [
                _bucket_label(b, p.by),
                r.name,
                Cell(_hours(cells[(b, r.key)].minutes), link(b, _bucket_end(b, p.by), r.key)),
                _hours(cells[(b, r.key)].billable_minutes),
                cells[(b, r.key)].count,
            ]
            for b in buckets
            for r in ranked
            if (b, r.key) in cells
        ],
        sheet=_("Per period"),
    )


def describe(p: Params) -> str:
    parts = [p.period.label(), str(GROUPS[p.group])]
    if p.billable_only:
        parts.append(_("billable only"))
    for label, chosen in ((_("queue"), p.queue), (_("agent"), p.agent), (_("company"), p.company)):
        if chosen is not None:
            parts.append(f"{label} {chosen}")
    return " · ".join(parts)


def entry_rows(user: User, p: Params, key: str | None = None) -> QuerySet[TimeEntry]:
    """The entries behind a figure, that the user may open (the report's queues already are
    the user's; a draft of someone else is not listed)."""
    from helpa.tickets.models import Ticket

    qs = entries(user, p)
    if key is not None:
        qs = qs.filter(group_filter(p.group, key))
    if not user.is_admin:
        qs = qs.filter(ticket__in=Ticket.objects.visible_to(user, queue_index=False))
    return qs.order_by("worked_on", "id")


def entries_table(user: User, p: Params) -> Table:
    """Every entry of the report, one row each: what an invoice is checked against."""
    rows: list[list[Value | Cell]] = []
    fields = (
        "worked_on",
        "ticket__number",
        "ticket__title",
        "company__name",
        "ticket__contact__name",
        "category__name",
        "queue__name",
        "user__full_name",
        "user__email",
        "minutes",
        "billable",
        "note",
    )
    for (
        day,
        number,
        title,
        company,
        contact,
        category,
        queue,
        full_name,
        email,
        minutes,
        billable,
        note,
    ) in entry_rows(user, p).values_list(*fields).iterator(chunk_size=5000):
        rows.append(
            [
                day,
                number,
                title,
                company or "",
                contact or "",
                category or "",
                queue,
                full_name or email or "",
                minutes,
                _hours(minutes),
                _("yes") if billable else _("no"),
                note,
            ]
        )
    return Table(
        title=_("Entries"),
        columns=[
            _("Date"),
            _("Ticket"),
            _("Title"),
            _("Company"),
            _("Contact"),
            _("Category"),
            _("Queue"),
            _("Agent"),
            _("Minutes"),
            _("Hours"),
            _("Billable"),
            _("Note"),
        ],
        rows=rows,
        sheet=_("Entries"),
    )


@register("time", gettext_lazy("Time report"), "reports_time:index")
def time_report(user: User, params: QueryDict) -> Report:
    p, _form = parse(user, params)
    return build(user, p)
