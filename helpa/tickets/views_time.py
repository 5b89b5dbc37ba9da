"""A ticket's time entries: the author of an entry or an admin marks it billable or not, or
deletes it (a wrong entry). The ticket page lists them (`entries_for_page`)."""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Sum, When, Window
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.models import User
from helpa.accounts.permissions import agent_required

from . import actions
from .models import Ticket, TimeEntry
from .views import _ticket_for

# The ticket page lists this many entries, newest first (the total counts them all).
SHOWN = 100


def entries_for_page(ticket: Ticket, user: User) -> dict[str, object]:
    """The time box of the ticket page, in one query: the newest entries, each row carrying the
    totals of all of them (window sums)."""
    everything = Window(Sum("minutes"))
    billable = Window(Sum(Case(When(billable=True, then="minutes"), default=0)))
    entries = list(
        TimeEntry.objects.filter(ticket=ticket)
        .select_related("user")
        .annotate(all_minutes=everything, billable_minutes=billable)
        .order_by("-worked_on", "-id")[:SHOWN]
    )
    for entry in entries:
        entry.may_change = actions.may_change_time_entry(user, entry)  # type: ignore[attr-defined]
    first = entries[0] if entries else None
    return {
        "time_total": getattr(first, "all_minutes", 0) or 0,
        "time_billable": getattr(first, "billable_minutes", 0) or 0,
        "time_entries": entries,
    }


def _entry_for(request: HttpRequest, number: int, pk: int) -> TimeEntry:
    """The entry, on a ticket the user may open (else 404), that they may change (else 403)."""
    ticket = _ticket_for(request, number)
    entry = get_object_or_404(TimeEntry, pk=pk, ticket=ticket)
    if not actions.may_change_time_entry(request.user, entry):
        raise PermissionDenied
    return entry


@agent_required
@require_POST
def time_entry_billable(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    entry = _entry_for(request, number, pk)
    billable = request.POST.get("billable") == "1"
    actions.set_time_entry_billable(request.user, entry, billable)
    messages.success(request, _("Marked billable.") if billable else _("Marked not billable."))
    return redirect(reverse("tickets:detail", args=[number]) + "#time")


@agent_required
@require_POST
def time_entry_delete(request: HttpRequest, number: int, pk: int) -> HttpResponse:
    entry = _entry_for(request, number, pk)
    actions.delete_time_entry(request.user, entry)
    messages.success(request, _("Time entry deleted."))
    return redirect(reverse("tickets:detail", args=[number]) + "#time")
