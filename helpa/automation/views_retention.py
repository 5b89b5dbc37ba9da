"""Settings → Reminders and retention: each queue's settings, the preview of the next run, the
run log (admins only); and the legal hold on a ticket (admins only, from the ticket page)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

from . import retention
from .models import QueuePolicy, RetentionAction, RetentionRun

# Below this many days, a retention removes tickets closed only weeks ago: asked twice.
SHORT_RETENTION_DAYS = 30
RUNS_SHOWN = 50

_DAYS_ERRORS = {
    "invalid": gettext_lazy("Enter a whole number of days."),
    "min_value": gettext_lazy(
        "The number of days must be 1 or more. Leave the field empty to switch this off."
    ),
    "max_value": gettext_lazy("At most %(limit_value)s days (100 years)."),
}


def _days_field(label: str, help_text: str) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        help_text=help_text,
        required=False,
        min_value=1,
        max_value=36500,
        error_messages=_DAYS_ERRORS,
    )


class PolicyForm(forms.Form):
    remind_after_days = _days_field(
        gettext_lazy("Remind after (days)"),
        gettext_lazy(
            "Mail the contact a reminder when a ticket has waited on them this many days. "
            "Empty: no reminders."
        ),
    )
    resolve_after_days = _days_field(
        gettext_lazy("Then resolve after (more days)"),
        gettext_lazy(
            "Resolve the ticket, with a note, when the contact has not answered this many days "
            "after the reminder. Empty: never automatically."
        ),
    )
    reminder_text = forms.CharField(
        label=gettext_lazy("Reminder text"),
        help_text=gettext_lazy(
            "Placeholders: {number}, {title}, {link}. Empty: the standard text. The ticket "
            "link is added when the text has no {link}."
        ),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6}),
    )
    retention_days = _days_field(
        gettext_lazy("Remove tickets closed more than (days) ago"),
        gettext_lazy("Empty: keep closed tickets for ever."),
    )
    retention_action = forms.ChoiceField(
        label=gettext_lazy("Then"), choices=RetentionAction.choices
    )
    confirm_short_retention = forms.BooleanField(
        label=gettext_lazy("Yes, remove tickets closed less than 30 days ago."),
        required=False,
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("resolve_after_days") and not data.get("remind_after_days"):
            self.add_error(
                "resolve_after_days",
                _("Resolving counts from the reminder: set “Remind after” too."),
            )
        days = data.get("retention_days")
        if days and days < SHORT_RETENTION_DAYS and not data.get("confirm_short_retention"):
            self.add_error(
                "confirm_short_retention",
                _(
                    "A retention of fewer than %(short)s days removes recently closed tickets: "
                    "tick the box to confirm."
                )
                % {"short": SHORT_RETENTION_DAYS},
            )
        return data


def _render(request: HttpRequest, template: str, context: dict[str, Any]) -> HttpResponse:
    return render(
        request,
        f"automation/{template}",
        {"sections": SECTIONS, "section": "retention", **context},
    )


@admin_required
def retention_settings(request: HttpRequest) -> HttpResponse:
    policies = {p.queue_id: p for p in QueuePolicy.objects.all()}
    rows = [(queue, policies.get(queue.pk)) for queue in Queue.objects.order_by("name")]
    runs = RetentionRun.objects.all()[:RUNS_SHOWN]
    return _render(request, "retention.html", {"rows": rows, "runs": runs})


@admin_required
def policy_edit(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    policy = QueuePolicy.objects.filter(queue=queue).first() or QueuePolicy(queue=queue)
    if request.method == "POST":
        form = PolicyForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            policy.remind_after_days = data["remind_after_days"]
            policy.resolve_after_days = data["resolve_after_days"]
            policy.reminder_text = data["reminder_text"]
            policy.retention_days = data["retention_days"]
            policy.retention_action = data["retention_action"]
            policy.updated_at = timezone.now()
            policy.save()
            messages.success(
                request, _("The settings of “%(queue)s” are saved.") % {"queue": queue}
            )
            return redirect("retention:settings")
    else:
        form = PolicyForm(
            initial={
                "remind_after_days": policy.remind_after_days,
                "resolve_after_days": policy.resolve_after_days,
                "reminder_text": policy.reminder_text,
                "retention_days": policy.retention_days,
                "retention_action": policy.retention_action,
                "confirm_short_retention": bool(
                    policy.retention_days and policy.retention_days < SHORT_RETENTION_DAYS
                ),
            }
        )
    return _render(request, "retention_edit.html", {"queue": queue, "form": form})


@admin_required
def policy_preview(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    policy = QueuePolicy.objects.filter(queue=queue).first()
    result = retention.preview(policy) if policy and policy.retention_on else None
    return _render(
        request,
        "retention_preview.html",
        {"queue": queue, "policy": policy, "preview": result, "rows": retention.PREVIEW_ROWS},
    )


@admin_required
@require_POST
def legal_hold(request: HttpRequest, number: int) -> HttpResponse:
    """Set (hold=1) or release (hold=0) a ticket's legal hold. HTMX swaps the snippet; a plain
    form goes back to the ticket."""
    ticket = get_object_or_404(Ticket.objects.select_related("company"), number=number)
    ticket = actions.set_legal_hold(request.user, ticket, request.POST.get("hold") == "1")
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "automation/_legal_hold.html", {"ticket": ticket})
    if ticket.legal_hold:
        messages.success(request, _("The ticket is on legal hold: retention keeps it."))
    else:
        messages.success(request, _("The legal hold is released."))
    return redirect("tickets:detail", ticket.number)
