"""Settings → Calendars and SLA: business calendars and SLA policies (admins only)."""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.db.models import ProtectedError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS
from helpa.tickets.models import Priority

from . import sla, tasks
from .calendars import format_ranges
from .forms_sla import (
    CalendarForm,
    ExceptionFormSet,
    PolicyForm,
    exception_rows,
    exceptions_from,
)
from .models import BusinessCalendar, CalendarException, CalendarQueue, SLAPolicy


def _rework_after_commit() -> None:
    """The active tickets' due times follow the new policies and calendars (in the worker)."""
    transaction.on_commit(tasks.rework_sla_of_active_tickets)


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(
        request, f"automation/{template}", {"sections": SECTIONS, "section": "sla", **context}
    )


@admin_required
def sla_overview(request: HttpRequest) -> HttpResponse:
    calendars = list(BusinessCalendar.objects.prefetch_related("exceptions"))
    queue_names: dict[int, list[str]] = {}
    for link in CalendarQueue.objects.select_related("queue").order_by("queue__name"):
        queue_names.setdefault(link.calendar_id, []).append(link.queue.name)
    rows = [
        {
            "calendar": c,
            "week": [format_ranges(day) for day in c.hours],
            "queues": queue_names.get(c.pk, []),
            "exceptions": len(c.exceptions.all()),
        }
        for c in calendars
    ]
    policies = list(
        SLAPolicy.objects.select_related("calendar").prefetch_related(
            "queues", "companies", "brands"
        )
    )
    for policy in policies:
        policy.priority_labels = [  # type: ignore[attr-defined]
            str(Priority(p).label) for p in policy.priorities if p in Priority.values
        ]
    return _render(request, "sla_overview.html", {"calendars": rows, "policies": policies})


@admin_required
def calendar_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk) if pk else None
    if request.method == "POST":
        form = CalendarForm(request.POST, instance=calendar or BusinessCalendar())
        exceptions = ExceptionFormSet(request.POST, prefix="exceptions")
        if form.is_valid() and exceptions.is_valid():
            saved = _save_calendar(form, exceptions)
            _rework_after_commit()
            messages.success(request, _("The calendar is saved."))
            return redirect("sla:calendar_edit", saved.pk)
    else:
        form = CalendarForm(instance=calendar or BusinessCalendar())
        exceptions = ExceptionFormSet(initial=exception_rows(calendar), prefix="exceptions")
    return _render(
        request,
        "calendar_edit.html",
        {"calendar": calendar, "form": form, "exceptions": exceptions},
    )


@transaction.atomic
def _save_calendar(form: CalendarForm, exceptions: ExceptionFormSet) -> BusinessCalendar:
    calendar: BusinessCalendar = form.save(commit=False)
    calendar.hours = form.cleaned_data["hours"]
    calendar.is_default = form.cleaned_data["is_default"]
    calendar.updated_at = timezone.now()
    others = BusinessCalendar.objects.exclude(pk=calendar.pk)
    if calendar.is_default:
        others.filter(is_default=True).update(is_default=False)
    elif not others.filter(is_default=True).exists():
        calendar.is_default = True  # some calendar is always the default
    calendar.save()
    CalendarQueue.objects.filter(calendar=calendar).delete()
    CalendarQueue.objects.bulk_create(
        CalendarQueue(calendar=calendar, queue=q) for q in form.cleaned_data["queues"]
    )
    CalendarException.objects.filter(calendar=calendar).delete()
    rows = exceptions_from(exceptions)
    for row in rows:
        row.calendar = calendar
    CalendarException.objects.bulk_create(rows)
    # bulk_create sends no post_save: this process reads the calendars again once it commits.
    transaction.on_commit(sla.forget)
    return calendar


@admin_required
@require_POST
def calendar_delete(request: HttpRequest, pk: int) -> HttpResponse:
    calendar = get_object_or_404(BusinessCalendar, pk=pk)
    try:
        calendar.delete()
    except ProtectedError:
        messages.error(
            request,
            _("“%(name)s” is used by an SLA policy; change the policy first.")
            % {"name": calendar.name},
        )
        return redirect("sla:calendar_edit", calendar.pk)
    _rework_after_commit()
    messages.success(request, _("“%(name)s” is deleted.") % {"name": calendar.name})
    return redirect("sla:overview")


@admin_required
def policy_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    policy = get_object_or_404(SLAPolicy, pk=pk) if pk else None
    if request.method == "POST":
        form = PolicyForm(request.POST, instance=policy or SLAPolicy())
        if form.is_valid():
            with transaction.atomic():
                saved = form.save(commit=False)
                saved.updated_at = timezone.now()
                saved.save()
                form.save_m2m()
            _rework_after_commit()
            messages.success(request, _("The SLA policy is saved."))
            return redirect("sla:policy_edit", saved.pk)
    else:
        initial = {} if policy else {"position": _next_position()}
        form = PolicyForm(instance=policy or SLAPolicy(), initial=initial)
    return _render(request, "policy_edit.html", {"policy": policy, "form": form})


def _next_position() -> int:
    last = SLAPolicy.objects.order_by("-position").values_list("position", flat=True).first()
    return (last or 0) + 10


@admin_required
@require_POST
def policy_delete(request: HttpRequest, pk: int) -> HttpResponse:
    policy = get_object_or_404(SLAPolicy, pk=pk)
    policy.delete()
    _rework_after_commit()
    messages.success(request, _("“%(name)s” is deleted.") % {"name": policy.name})
    return redirect("sla:overview")
