"""The satisfaction report: CSAT and NPS over time, per agent, team and brand, the response
rate, and the customers' comments. Every figure is one SQL aggregate over the answers.

- CSAT: the share of CSAT answers that are 4 or 5 (satisfied), in %, and the average score.
- NPS: promoters (9–10) minus detractors (0–6), in % of the NPS answers (−100 … 100).
- Response rate: of the invitations sent in the period, the share answered so far.

An answer counts in the period it was given, under the agent, team, queue and brand the ticket
had then. An agent sees the answers of their queues only (access.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django import forms
from django.db.models import Avg, Count, F, Q, QuerySet
from django.db.models.functions import TruncMonth, TruncWeek
from django.http import QueryDict
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import Role, User
from helpa.crm.models import Brand
from helpa.tickets.models import Queue

from . import periods
from .access import queue_scope_q, report_queue_ids
from .models.surveys import SurveyAnswer, SurveyInvitation
from .report import Cell, Chart, ParamsError, Report, Series, Table, register

DEFAULT_PERIOD = "last_12_months"
EXPORT_COMMENTS = 1000  # the newest comments an export or a subscription carries


def _aggregates() -> dict[str, Any]:
    return {
        "answers": Count("pk"),
        "csat_n": Count("pk", filter=Q(csat__isnull=False)),
        "satisfied": Count("pk", filter=Q(csat__gte=4)),
        "csat_avg": Avg("csat"),
        "nps_n": Count("pk", filter=Q(nps__isnull=False)),
        "promoters": Count("pk", filter=Q(nps__gte=9)),
        "detractors": Count("pk", filter=Q(nps__lte=6)),
    }


@dataclass(frozen=True)
class Figures:
    answers: int = 0
    csat_n: int = 0
    satisfied: int = 0
    csat_avg: float | None = None
    nps_n: int = 0
    promoters: int = 0
    detractors: int = 0

    @property
    def csat_share(self) -> float | None:
        """Satisfied (4–5) in % of the CSAT answers; None without any."""
        return round(100 * self.satisfied / self.csat_n, 1) if self.csat_n else None

    @property
    def average(self) -> float | None:
        return round(float(self.csat_avg), 2) if self.csat_avg is not None else None

    @property
    def nps(self) -> float | None:
        if not self.nps_n:
            return None
        return round(100 * (self.promoters - self.detractors) / self.nps_n, 1)


def _figures(row: dict[str, Any]) -> Figures:
    return Figures(**{k: row[k] for k in Figures.__dataclass_fields__ if k in row})


# --- The filter form ------------------------------------------------------------------------


class SurveyFilterForm(forms.Form):
    period = forms.ChoiceField(
        label=gettext_lazy("Period"), choices=list(periods.PRESETS.items()), required=False
    )
    queue = forms.ModelChoiceField(
        label=gettext_lazy("Queue"), queryset=Queue.objects.none(), required=False
    )
    agent = forms.ModelChoiceField(
        label=gettext_lazy("Agent"), queryset=User.objects.none(), required=False
    )
    brand = forms.ModelChoiceField(
        label=gettext_lazy("Brand"), queryset=Brand.objects.none(), required=False
    )
    by = forms.ChoiceField(
        label=gettext_lazy("Over time by"),
        choices=[("month", gettext_lazy("Month")), ("week", gettext_lazy("Week"))],
        required=False,
    )

    def __init__(self, user: User, params: QueryDict) -> None:
        data = params.copy()
        if not data.get("period"):
            # The period the report covers is the one the menu shows (periods.from_params'
            # default), not the menu's first entry.
            data["period"] = "custom" if data.get("from") or data.get("to") else DEFAULT_PERIOD
        super().__init__(data)
        # The period's own parameter names (periods.py), which are Python keywords: CharFields
        # that periods.from_params reads and says what is wrong with.
        date = forms.TextInput(attrs={"type": "date"})
        self.fields["from"] = forms.CharField(label=_("From"), required=False, widget=date)
        self.fields["to"] = forms.CharField(label=_("To"), required=False, widget=date)
        self.order_fields(["period", "from", "to"])
        self.user = user
        # Read once: the form's choices and the scope's conditions both need it.
        self.queue_ids = queue_ids = report_queue_ids(user)
        queues = Queue.objects.all()
        if queue_ids is not None:
            queues = queues.filter(pk__in=queue_ids)
        self.fields["queue"].queryset = queues  # type: ignore[attr-defined]
        self.fields["agent"].queryset = User.objects.filter(  # type: ignore[attr-defined]
            role__in=[Role.AGENT, Role.ADMIN]
        ).order_by("full_name")
        brands = Brand.objects.all()
        if queue_ids is not None:
            brands = brands.filter(queues__in=queue_ids).distinct()
        self.fields["brand"].queryset = brands  # type: ignore[attr-defined]
        self.period: periods.Period | None = None

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        try:
            self.period = periods.from_params(
                {
                    "period": cleaned.get("period") or "",
                    "from": cleaned.get("from") or "",
                    "to": cleaned.get("to") or "",
                }
            )
        except periods.PeriodError as exc:
            self.add_error("period", str(exc))
        return cleaned


def _in_queues(queue_ids: list[int] | None, field: str) -> Q:
    """access.queue_scope_q for queues read already (None: all)."""
    return Q() if queue_ids is None else Q(**{f"{field}__in": queue_ids})


@dataclass
class Scope:
    """What the report covers: the period and the answers of the user's queues it filters."""

    period: periods.Period
    answers: QuerySet[SurveyAnswer]
    invitations: QuerySet[SurveyInvitation]
    by: str
    words: str  # the description line


def scope_of(form: SurveyFilterForm) -> Scope:
    """The answers of a valid form's filters (form.is_valid() was called and was true)."""
    assert form.period is not None
    period = form.period
    data = form.cleaned_data
    answers = SurveyAnswer.objects.filter(
        _in_queues(form.queue_ids, "queue_id"),
        answered_at__gte=period.start_at(),
        answered_at__lt=period.end_before(),
    )
    invitations = SurveyInvitation.objects.filter(
        _in_queues(form.queue_ids, "queue_id"),
        skipped="",
        created_at__gte=period.start_at(),
        created_at__lt=period.end_before(),
    )
    words = [period.label()]
    if data.get("queue"):
        answers = answers.filter(queue=data["queue"])
        invitations = invitations.filter(queue=data["queue"])
        words.append(_("queue %(name)s") % {"name": data["queue"].name})
    if data.get("agent"):
        answers = answers.filter(agent=data["agent"])
        invitations = invitations.filter(ticket__owner=data["agent"])
        words.append(_("agent %(name)s") % {"name": str(data["agent"])})
    if data.get("brand"):
        answers = answers.filter(brand=data["brand"])
        invitations = invitations.filter(queue__brand=data["brand"])
        words.append(_("brand %(name)s") % {"name": data["brand"].name})
    return Scope(period, answers, invitations, data.get("by") or "month", " · ".join(words))


# --- Figures --------------------------------------------------------------------------------


def totals(answers: QuerySet[SurveyAnswer]) -> Figures:
    return _figures(answers.aggregate(**_aggregates()))


def response_rate(invitations: QuerySet[SurveyInvitation]) -> tuple[int, int]:
    """(invitations sent, of them answered)."""
    row = invitations.aggregate(
        sent=Count("pk"), answered=Count("pk", filter=Q(answered_at__isnull=False))
    )
    return row["sent"], row["answered"]


def over_time(scope: Scope) -> list[tuple[str, Figures]]:
    """Per month or ISO week of the local calendar, in order; empty buckets left out."""
    trunc = TruncWeek if scope.by == "week" else TruncMonth
    rows = (
        scope.answers.annotate(bucket=trunc("answered_at", tzinfo=timezone.get_current_timezone()))
        .values("bucket")
        .annotate(**_aggregates())
        .order_by("bucket")
    )
    out = []
    for row in rows:
        bucket = row["bucket"]
        day = bucket.date() if isinstance(bucket, datetime) else bucket
        if scope.by == "week":
            year, week, _day = day.isocalendar()
            label = f"{year}-W{week:02d}"
        else:
            label = day.strftime("%Y-%m")
        out.append((label, _figures(row)))
    return out


def grouped(answers: QuerySet[SurveyAnswer], key: str, name: str) -> list[tuple[str, Figures]]:
    """Figures per agent / team / brand (`key` the id column, `name` the label column)."""
    rows = (
        answers.values(key, name)
        .annotate(**_aggregates())
        .order_by(F(name).asc(nulls_last=True), key)  # "no team" last on every database
    )
    return [(row[name] or "–", _figures(row)) for row in rows]


def comments(answers: QuerySet[SurveyAnswer]) -> QuerySet[SurveyAnswer]:
    """Answers with a comment, newest first, with what a row shows."""
    return (
        answers.exclude(comment="")
        .select_related("ticket", "agent")
        .only(
            "answered_at",
            "csat",
            "nps",
            "comment",
            "ticket__number",
            "ticket__title",
            "agent__full_name",
            "agent__email",
        )
        .order_by("-answered_at", "-pk")
    )


def ticket_url(number: int) -> str:
    return reverse("tickets:detail", args=[number])


# --- The Report -----------------------------------------------------------------------------


def _group_table(title: str, label: str, rows: list[tuple[str, Figures]]) -> Table:
    return Table(
        title,
        [
            label,
            _("Answers"),
            # xgettext:no-python-format
            _("CSAT (% satisfied)"),
            _("Average (1–5)"),
            _("NPS"),
        ],
        [[name, f.answers, f.csat_share, f.average, f.nps] for name, f in rows],
    )


def build(scope: Scope, comment_rows: list[SurveyAnswer]) -> Report:
    total = totals(scope.answers)
    sent, answered = response_rate(scope.invitations)
    rate = round(100 * answered / sent, 1) if sent else None
    timeline = over_time(scope)
    labels = [label for label, _f in timeline]
    report = Report(
        _("Customer satisfaction"),
        description=scope.words,
        tiles=[
            (_("Answers"), total.answers, ""),
            # xgettext:no-python-format
            (_("CSAT, % satisfied (4–5)"), total.csat_share, ""),
            (_("Average CSAT (1–5)"), total.average, ""),
            (_("NPS"), total.nps, ""),
            (_("Response rate, %"), rate, ""),
        ],
        charts=[
            Chart(
                # xgettext:no-python-format
                _("CSAT over time (% satisfied)"),
                labels,
                [Series(_("CSAT"), [f.csat_share for _l, f in timeline])],
                kind="line",
                unit="%",
            ),
            Chart(
                _("NPS over time"),
                labels,
                [Series(_("NPS"), [f.nps for _l, f in timeline])],
                kind="line",
            ),
            Chart(
                _("Answers over time"),
                labels,
                [Series(_("Answers"), [f.answers for _l, f in timeline])],
            ),
        ],
    )
    report.tables = [
        _group_table(_("Over time"), _("Period"), timeline),
        _group_table(
            _("Per agent"), _("Agent"), grouped(scope.answers, "agent_id", "agent__full_name")
        ),
        _group_table(_("Per team"), _("Team"), grouped(scope.answers, "team_id", "team__name")),
        _group_table(_("Per brand"), _("Brand"), grouped(scope.answers, "brand_id", "brand__name")),
        Table(
            _("Response rate"),
            [_("Invitations sent"), _("Answered"), _("Response rate, %")],
            [[sent, answered, rate]],
        ),
    ]
    if comment_rows:
        report.tables.append(comments_table(comment_rows))
    return report


def comments_table(rows: list[SurveyAnswer]) -> Table:
    return Table(
        _("Comments"),
        [_("Answered"), _("Ticket"), _("Agent"), _("CSAT"), _("NPS"), _("Comment")],
        [
            [
                timezone.localtime(a.answered_at).strftime("%Y-%m-%d %H:%M"),
                Cell(a.ticket.number, ticket_url(a.ticket.number)),
                str(a.agent) if a.agent else "",
                a.csat,
                a.nps,
                a.comment,
            ]
            for a in rows
        ],
    )


@register("surveys", gettext_lazy("Customer satisfaction"), "reports_surveys:index")
def survey_report(user: User, params: QueryDict) -> Report:
    """The report for exports and subscriptions, with the newest comments as a table. Bad
    parameters raise ParamsError (a ValueError) with the form's messages."""
    form = SurveyFilterForm(user, params)
    if not form.is_valid():
        raise ParamsError({k: [str(m) for m in v] for k, v in form.errors.items()})
    scope = scope_of(form)
    return build(scope, list(comments(scope.answers)[:EXPORT_COMMENTS]))


def csat_between(user: User, start: datetime, end: datetime) -> tuple[int, float | None]:
    """For the dashboard tile: (CSAT answers from `start` to before `end` in the user's queues,
    the % satisfied (4–5) of them, None without answers)."""
    figures = totals(
        SurveyAnswer.objects.filter(
            queue_scope_q(user), answered_at__gte=start, answered_at__lt=end
        )
    )
    return figures.csat_n, figures.csat_share
