"""A user's report subscriptions: list, add (from a report page's "Subscribe" link, which
brings the report and its filters), edit, delete. Each user sees and changes only their own."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import agent_required

from . import periods
from .models import ReportSubscription
from .models.subscriptions import Frequency
from .report import REPORTS, kinds

# Periods that end when a mail is sent, so each mail covers the period just ended.
MAIL_PERIODS = [
    "yesterday",
    "last_week",
    "last_7_days",
    "last_30_days",
    "last_month",
    "last_12_months",
    "last_year",
]
DEFAULT_PERIOD = {
    Frequency.DAILY: "yesterday",
    Frequency.WEEKLY: "last_week",
    Frequency.MONTHLY: "last_month",
}
# Parameters of a report page that are no filter: the file to download, the page of a list, and
# the period (the form asks for a relative one).
NOT_FILTERS = {"export", "page", "period", "from", "to"}


def filters_of(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for key in NOT_FILTERS:
        params.pop(key, None)
    return params.urlencode()


class SubscriptionForm(forms.Form):
    report = forms.ChoiceField(label=gettext_lazy("Report"))
    period = forms.ChoiceField(label=gettext_lazy("Each mail covers"))
    frequency = forms.ChoiceField(label=gettext_lazy("How often"), choices=Frequency.choices)
    hour = forms.TypedChoiceField(
        label=gettext_lazy("At"),
        coerce=int,
        choices=[(h, f"{h:02d}:00") for h in range(24)],
        initial=7,
    )
    filters = forms.CharField(required=False, max_length=1800, widget=forms.HiddenInput)
    active = forms.BooleanField(label=gettext_lazy("Active"), required=False, initial=True)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["report"].choices = [(k.key, k.title) for k in kinds()]
        self.fields["period"].choices = [(p, periods.PRESETS[p]) for p in MAIL_PERIODS]

    def parameters(self) -> str:
        params = QueryDict(filters_of(self.cleaned_data["filters"]), mutable=True)
        params["period"] = self.cleaned_data["period"]
        return params.urlencode()


def _initial_from(subscription: ReportSubscription) -> dict[str, Any]:
    params = QueryDict(subscription.parameters)
    return {
        "report": subscription.report,
        "period": params.get("period") or DEFAULT_PERIOD[subscription.frequency],
        "frequency": subscription.frequency,
        "hour": subscription.hour,
        "filters": filters_of(subscription.parameters),
        "active": subscription.active,
    }


def _save(form: SubscriptionForm, subscription: ReportSubscription) -> ReportSubscription:
    data = form.cleaned_data
    subscription.report = data["report"]
    subscription.parameters = form.parameters()
    subscription.frequency = data["frequency"]
    subscription.hour = data["hour"]
    subscription.active = data["active"]
    subscription.schedule()
    subscription.save()
    return subscription


def _report_link(key: str, parameters: str) -> str:
    kind = REPORTS.get(key)
    if kind is None:
        return ""
    try:
        return reverse(kind.url_name) + (f"?{parameters}" if parameters else "")
    except NoReverseMatch:
        return ""


def _filters_text(parameters: str) -> str:
    """The filters of a subscription in words a person can check ("queue 3, agent 7")."""
    params = QueryDict(filters_of(parameters))
    return ", ".join(f"{key} {', '.join(params.getlist(key))}" for key in params)


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    subscriptions = ReportSubscription.objects.filter(user=request.user).order_by("pk")
    rows = []
    for subscription in subscriptions:
        kind = REPORTS.get(subscription.report)
        period = QueryDict(subscription.parameters).get("period", "")
        rows.append(
            {
                "subscription": subscription,
                "title": kind.title if kind else subscription.report,
                "period": periods.PRESETS.get(period, period),
                "filters": _filters_text(subscription.parameters),
                "link": _report_link(subscription.report, subscription.parameters),
            }
        )
    return render(
        request,
        "reports/subscriptions/index.html",
        {"rows": rows, "report_section": "subscriptions"},
    )


@agent_required
def new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            _save(form, ReportSubscription(user=request.user))
            messages.success(request, _("Subscription saved."))
            return redirect("reports_subscriptions:index")
    else:
        frequency = Frequency.WEEKLY
        report = request.GET.get("report", "")
        form = SubscriptionForm(
            initial={
                "report": report if report in REPORTS else None,
                "frequency": frequency,
                "period": DEFAULT_PERIOD[frequency],
                "filters": filters_of(request.GET.get("params", "")),
                "active": True,
            }
        )
    return render(
        request,
        "reports/subscriptions/form.html",
        {"form": form, "report_section": "subscriptions", "has_reports": bool(REPORTS)},
    )


def _own(request: HttpRequest, pk: int) -> ReportSubscription:
    """One of the user's own subscriptions; someone else's is 404 (it does not exist for them)."""
    return get_object_or_404(ReportSubscription, pk=pk, user=request.user)


@agent_required
def edit(request: HttpRequest, pk: int) -> HttpResponse:
    subscription = _own(request, pk)
    if request.method == "POST":
        form = SubscriptionForm(request.POST)
        if form.is_valid():
            _save(form, subscription)
            messages.success(request, _("Subscription saved."))
            return redirect("reports_subscriptions:index")
    else:
        form = SubscriptionForm(initial=_initial_from(subscription))
    return render(
        request,
        "reports/subscriptions/form.html",
        {
            "form": form,
            "subscription": subscription,
            "report_section": "subscriptions",
            "has_reports": True,
        },
    )


@agent_required
@require_POST
def delete(request: HttpRequest, pk: int) -> HttpResponse:
    _own(request, pk).delete()
    messages.success(request, _("Subscription deleted."))
    return redirect("reports_subscriptions:index")
