"""The SLA report: the share of first-response and resolution targets met, per queue, team,
agent or brand, and the breaches (issue 7 §3).

It counts the outcomes sla.py records (`SLAOutcome`) whose due time falls in the period: a
target due in March counts in March, whenever it was met. A target counts once it has ended or
is overdue (breached, met late, or still open past its due time); a pending target not yet due
is not counted. Met means met at or before the due time. Groups are the ticket's current queue,
team, owner and brand.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.db.models import Count, F, Q, QuerySet
from django.http import QueryDict
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import Team, User
from helpa.automation.models import SLAOutcome, SLATarget
from helpa.crm.models import Brand
from helpa.tickets.models import ACTIVE_STATUSES, Queue

from . import periods
from .access import queue_scope_q, report_queue_ids
from .report import Cell, Chart, Report, Series, Table, Value, checked, register

GROUPS = {
    "queue": gettext_lazy("Queue"),
    "team": gettext_lazy("Team"),
    "agent": gettext_lazy("Agent"),
    "brand": gettext_lazy("Brand"),
}
GROUP_COLUMNS = {
    "queue": "ticket__queue_id",
    "team": "ticket__team_id",
    "agent": "ticket__owner_id",
    "brand": "ticket__queue__brand_id",
}
# The page lists at most this many breaches (the export too): the newest due first.
MAX_BREACHES = 1000
MET = Q(met_at__isnull=False, met_at__lte=F("due_at"))


class SLAReportForm(forms.Form):
    group = forms.ChoiceField(
        label=gettext_lazy("Grouped by"), choices=list(GROUPS.items()), required=False
    )
    queue = forms.ModelChoiceField(
        label=gettext_lazy("Queue"), queryset=Queue.objects.none(), required=False
    )
    team = forms.ModelChoiceField(
        label=gettext_lazy("Team"), queryset=Team.objects.all(), required=False
    )
    agent = forms.ModelChoiceField(
        label=gettext_lazy("Agent"), queryset=User.objects.none(), required=False
    )
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Brand"), queryset=Brand.objects.order_by("name"), required=False
    )

    def __init__(self, data: Mapping[str, Any], *, user: User) -> None:
        super().__init__(data)
        queue_ids = report_queue_ids(user)
        queues = Queue.objects.order_by("name")
        self.fields["queue"].queryset = (
            queues if queue_ids is None else queues.filter(pk__in=queue_ids)
        )
        self.fields["agent"].queryset = User.objects.agents().order_by("full_name", "email")


@dataclass(frozen=True)
class Params:
    period: periods.Period
    group: str
    queue: Queue | None
    team: Team | None
    agent: User | None
    brand: Brand | None

    def query(self, **extra: str) -> str:
        values: dict[str, str] = {**self.period.as_params(), "group": self.group}
        for name in ("queue", "team", "agent", "brand"):
            chosen = getattr(self, name)
            if chosen is not None:
                values[name] = str(chosen.pk)
        values.update(extra)
        return urlencode(values)


def parse(user: User, params: Mapping[str, str]) -> tuple[Params, SLAReportForm]:
    form = SLAReportForm(params, user=user)
    period, data = checked(form, params, default_period="last_30_days")
    return (
        Params(
            period=period,
            group=data["group"] or "queue",
            queue=data["queue"],
            team=data["team"],
            agent=data["agent"],
            brand=data["brand"],
        ),
        form,
    )


def outcomes(user: User, p: Params) -> QuerySet[SLAOutcome]:
    """The outcomes the report counts: due in the period, on tickets of the user's queues."""
    qs = SLAOutcome.objects.filter(
        queue_scope_q(user, "ticket__queue_id"),
        due_at__gte=p.period.start_at(),
        due_at__lt=p.period.end_before(),
        ticket__merged_into__isnull=True,  # a duplicate's targets are its original's
    )
    for name, column in (
        ("queue", "ticket__queue_id"),
        ("team", "ticket__team_id"),
        ("agent", "ticket__owner_id"),
        ("brand", "ticket__queue__brand_id"),
    ):
        chosen = getattr(p, name)
        if chosen is not None:
            qs = qs.filter(**{column: chosen.pk})
    return qs


def _names(group: str, ids: list[int]) -> dict[int, str]:
    if not ids:
        return {}
    if group == "agent":
        return {u.pk: str(u) for u in User.objects.filter(pk__in=ids)}
    model = {"queue": Queue, "team": Team, "brand": Brand}[group]
    return dict(model.objects.filter(pk__in=ids).values_list("pk", "name"))


def _none_label(group: str) -> str:
    return {
        "queue": _("(no queue)"),
        "team": _("(no team)"),
        "agent": _("(no owner)"),
        "brand": _("(no brand)"),
    }[group]


def _share(met: int, total: int) -> float | None:
    return round(100 * met / total, 1) if total else None


def describe(p: Params) -> str:
    parts = [p.period.label(), str(GROUPS[p.group])]
    for name in ("queue", "team", "agent", "brand"):
        chosen = getattr(p, name)
        if chosen is not None:
            parts.append(f"{SLAReportForm.base_fields[name].label} {chosen}")
    return " · ".join(parts)


def build(user: User, p: Params) -> Report:
    fr, res = SLATarget.FIRST_RESPONSE, SLATarget.RESOLUTION
    sums = list(
        outcomes(user, p)
        .values(key=F(GROUP_COLUMNS[p.group]))
        .annotate(
            fr_total=Count("id", filter=Q(target=fr)),
            fr_met=Count("id", filter=Q(target=fr) & MET),
            res_total=Count("id", filter=Q(target=res)),
            res_met=Count("id", filter=Q(target=res) & MET),
        )
        .order_by()
    )
    names = _names(p.group, [s["key"] for s in sums if s["key"] is not None])
    for s in sums:
        s["name"] = (
            _none_label(p.group) if s["key"] is None else names.get(s["key"], f"#{s['key']}")
        )
    sums.sort(key=lambda s: (-(s["fr_total"] + s["res_total"]), s["name"]))
    group_title = str(GROUPS[p.group])
    chart = Chart(
        title=_("Targets met per %(group)s") % {"group": group_title.lower()},
        labels=[s["name"] for s in sums],
        series=[
            Series(_("First response"), [_share(s["fr_met"], s["fr_total"]) for s in sums]),
            Series(_("Resolution"), [_share(s["res_met"], s["res_total"]) for s in sums]),
        ],
        kind="bar",
        unit="%",
    )
    summary = Table(
        title=_("Targets met per %(group)s") % {"group": group_title.lower()},
        columns=[
            group_title,
            _("First responses due"),
            _("First responses met"),
            _("First responses met (%)"),
            _("Resolutions due"),
            _("Resolutions met"),
            _("Resolutions met (%)"),
        ],
        rows=[
            [
                s["name"],
                s["fr_total"],
                s["fr_met"],
                _share(s["fr_met"], s["fr_total"]),
                s["res_total"],
                s["res_met"],
                _share(s["res_met"], s["res_total"]),
            ]
            for s in sums
        ],
        sheet=_("Summary"),
    )
    fr_total = sum(s["fr_total"] for s in sums)
    res_total = sum(s["res_total"] for s in sums)
    breaches = breaches_table(user, p)
    breach_count = fr_total + res_total - sum(s["fr_met"] + s["res_met"] for s in sums)
    return Report(
        title=_("SLA report"),
        description=describe(p),
        charts=[chart],
        tables=[summary, breaches],
        tiles=[
            (
                _("First responses met (%)"),
                _share(sum(s["fr_met"] for s in sums), fr_total),
                "",
            ),
            (
                _("Resolutions met (%)"),
                _share(sum(s["res_met"] for s in sums), res_total),
                "",
            ),
            (_("Breaches"), breach_count, ""),
        ],
    )


def breaches_table(user: User, p: Params) -> Table:
    """The targets not met: breached and still open, or met after their due time."""
    rows: list[list[Value | Cell]] = []
    target_names = dict(SLATarget.choices)
    for number, title, target, due_at, met_at, queue, status in (
        outcomes(user, p)
        .exclude(MET)
        .order_by("-due_at", "-id")
        .values_list(
            "ticket__number",
            "ticket__title",
            "target",
            "due_at",
            "met_at",
            "ticket__queue__name",
            "ticket__status",
        )[:MAX_BREACHES]
    ):
        rows.append(
            [
                Cell(f"#{number}", reverse("tickets:detail", args=[number])),
                title,
                queue,
                str(target_names.get(target, target)),
                due_at,
                met_at
                if met_at is not None
                else (_("still open") if status in ACTIVE_STATUSES else _("not met")),
            ]
        )
    return Table(
        title=_("Breaches"),
        columns=[_("Ticket"), _("Title"), _("Queue"), _("Target"), _("Due"), _("Met")],
        rows=rows,
        sheet=_("Breaches"),
    )


@register("sla", gettext_lazy("SLA report"), "reports_sla:index")
def sla_report(user: User, params: QueryDict) -> Report:
    p, _form = parse(user, params)
    return build(user, p)
