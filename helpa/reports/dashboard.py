"""The team lead's landing page: today's tiles and the week's charts.

The tiles that describe the desk now (open, unassigned, overdue, SLA at risk or breached) are
counted live over the active tickets — a few percent of the desk, answered from the partial
indexes the overview uses. What happened (new and closed per day, the backlog) is the
statistics page's own figures for the last seven days, from its narrow facts table; CSAT from
the survey answers of this week (Monday on).
"""

from __future__ import annotations

from django.db.models import Count, Q
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.tickets.models import Queue, Ticket, active_q

from . import facts, statistics, survey_report
from .periods import preset
from .report import Chart, Report, Series


def overview_url(view: str, **filters: str | int) -> str:
    return reverse("tickets:overview") + "?" + urlencode({"view": view, **filters})


def live_counts(user: User) -> dict[str, int]:
    """One aggregate query over the active tickets the user may list."""
    now = timezone.now()
    base = Ticket.objects.listed_for(user, now).filter(active_q())
    return base.aggregate(
        open=Count("queue"),
        unassigned=Count("queue", filter=Q(owner__isnull=True)),
        overdue=Count("queue", filter=Q(due_at__lt=now)),
        sla_at_risk=Count("queue", filter=Q(sla_warning_at__lte=now, sla_due_at__gt=now)),
        sla_breached=Count("queue", filter=Q(sla_due_at__lte=now)),
    )


def open_by_queue(user: User) -> Chart:
    """Active tickets per queue, unassigned ones apart: where the work waits now."""
    rows = (
        Ticket.objects.listed_for(user)
        .filter(active_q())
        .values("queue_id")
        .annotate(total=Count("queue"), unassigned=Count("queue", filter=Q(owner__isnull=True)))
        .order_by("-total")[:12]
    )
    rows = list(rows)
    names = dict(
        Queue.objects.filter(pk__in=[r["queue_id"] for r in rows]).values_list("id", "name")
    )
    labels = [names.get(r["queue_id"], "?") for r in rows]
    assigned = [r["total"] - r["unassigned"] for r in rows]
    unassigned = [r["unassigned"] for r in rows]
    return Chart(
        _("Open tickets per queue"),
        labels,
        [
            Series(
                _("Assigned"),
                assigned,
                [overview_url("active", queue=r["queue_id"]) for r in rows],
            ),
            Series(
                _("Unassigned"),
                unassigned,
                [overview_url("unassigned", queue=r["queue_id"]) for r in rows],
            ),
        ],
        kind="stacked",
    )


def the_week(user: User) -> Report:
    """The statistics of the last seven days, per day, as the statistics page draws them."""
    params = QueryDict(mutable=True)
    params.update({"period": "last_7_days", "bucket": "day", "group": "none"})
    _form, query = statistics.parse(user, params)
    assert query is not None  # fixed, valid parameters
    return statistics.build(user, query)


def csat_this_week(user: User) -> tuple[int, float | None]:
    week = preset("this_week")
    return survey_report.csat_between(user, week.start_at(), week.end_before())


def build(user: User) -> Report:
    facts.refresh_if_stale()  # "new today" at most a minute behind, even without a worker
    counts = live_counts(user)
    week = the_week(user)
    new_and_closed, backlog = week.charts[0], week.charts[1]
    new_series = new_and_closed.series[0]
    answers, satisfied = csat_this_week(user)
    report = Report(_("Dashboard"), description=_("Today, and the last seven days"))
    report.tiles = [
        (_("New today"), int(new_series.values[-1] or 0), new_series.urls[-1]),
        (_("Open"), counts["open"], overview_url("active")),
        (_("Unassigned"), counts["unassigned"], overview_url("unassigned")),
        (_("Overdue"), counts["overdue"], overview_url("overdue")),
        (_("SLA at risk"), counts["sla_at_risk"], overview_url("sla_at_risk")),
        (_("SLA breached"), counts["sla_breached"], overview_url("sla_breached")),
        (
            _("CSAT this week"),
            f"{satisfied:.0f} %" if satisfied is not None else "–",
            reverse("reports_surveys:index") + "?period=this_week" if answers else "",
        ),
    ]
    report.charts = [new_and_closed, backlog, open_by_queue(user)]
    return report
