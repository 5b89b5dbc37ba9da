"""Templates and canned responses: the admins' settings pages, and what agents do with them
(a ticket from a template, a template applied to a ticket or made from one, a canned response
filled in for the reply)."""

from __future__ import annotations

from datetime import time, timedelta
from itertools import islice
from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, ProtectedError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.models import User
from helpa.accounts.permissions import admin_required, agent_required
from helpa.administration.views import SECTIONS
from helpa.tickets.actions import TicketError
from helpa.tickets.forms import NewTicketForm
from helpa.tickets.models import HelpdeskSettings, Ticket, visible_queue_ids

from . import actions, recurring
from .forms_templates import (
    CannedResponseForm,
    RecurringTicketForm,
    RepeatTicketForm,
    SubTicketFormSet,
    TicketTemplateForm,
)
from .models import CannedResponse, Frequency, RecurringTicket, TicketTemplate


def _render(request: HttpRequest, template: str, context: dict[str, Any], **kwargs: Any) -> Any:
    return render(request, f"automation/{template}", {"sections": SECTIONS, **context}, **kwargs)


def _ticket_for(request: HttpRequest, number: int) -> Ticket:
    """A ticket the user may open, else 404 (the same answer as for one that does not exist)."""
    qs = Ticket.objects.visible_to(request.user).select_related("queue", "contact", "company")
    return get_object_or_404(qs, number=number)


def _may_use_queue(user: User, queue_id: int | None) -> bool:
    return queue_id is not None and (user.is_admin or queue_id in visible_queue_ids(user))


# --- Settings → Templates -----------------------------------------------------------------------


@admin_required
def template_list(request: HttpRequest) -> HttpResponse:
    templates = TicketTemplate.objects.select_related("queue", "ticket_type").annotate(
        sub_tickets=Count("sub_ticket_links", distinct=True), used=Count("uses", distinct=True)
    )
    return _render(request, "template_list.html", {"section": "templates", "templates": templates})


@admin_required
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(TicketTemplate, pk=pk) if pk else TicketTemplate()
    form = TicketTemplateForm(request.POST or None, instance=template)
    subs = SubTicketFormSet(request.POST or None, instance=template, prefix="subs")
    if request.method == "POST" and form.is_valid() and subs.is_valid():
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.updated_at = timezone.now()
            saved.save()
            subs.instance = saved
            subs.save()
        messages.success(request, _("The template is saved."))
        return redirect("templates:template_edit", saved.pk)
    return _render(
        request,
        "template_edit.html",
        {"section": "templates", "form": form, "subs": subs, "template": template},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(TicketTemplate, pk=pk)
    try:
        template.delete()
    except ProtectedError:
        messages.error(
            request,
            _(
                "“%(name)s” is a sub-ticket of another template, or a rule or a recurring "
                "schedule uses it: remove it there first, or switch it off."
            )
            % {"name": template.name},
        )
        return redirect("templates:template_edit", pk)
    messages.success(request, _("The template is deleted."))
    return redirect("templates:template_list")


# --- Settings → Canned responses ----------------------------------------------------------------


@admin_required
def canned_list(request: HttpRequest) -> HttpResponse:
    responses = CannedResponse.objects.select_related("queue")
    return _render(request, "canned_list.html", {"section": "canned", "responses": responses})


@admin_required
def canned_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    response = get_object_or_404(CannedResponse, pk=pk) if pk else CannedResponse()
    form = CannedResponseForm(request.POST or None, instance=response)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.updated_at = timezone.now()
        saved.save()
        messages.success(request, _("The canned response is saved."))
        return redirect("templates:canned_list")
    return _render(
        request,
        "canned_edit.html",
        {
            "section": "canned",
            "form": form,
            "response": response,
            "placeholders": actions.PLACEHOLDERS,
        },
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def canned_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(CannedResponse, pk=pk).delete()
    messages.success(request, _("The canned response is deleted."))
    return redirect("templates:canned_list")


# --- Agents: tickets from templates -------------------------------------------------------------


def _initial_from(template: TicketTemplate) -> dict[str, Any]:
    return {
        "title": template.title,
        "description": template.description,
        "queue": template.queue_id,
        "status": template.status,
        "priority": template.priority,
        "type": template.ticket_type_id,
        "category": template.category_id,
        "team": template.team_id,
        "owner": template.owner_id,
    }


@agent_required
def ticket_from_template(request: HttpRequest, pk: int) -> HttpResponse:
    """The new-ticket form filled from a template; saving it opens the ticket and the
    template's sub-tickets."""
    template = get_object_or_404(TicketTemplate, pk=pk, is_active=True)
    settings = HelpdeskSettings.load()
    if request.method == "POST":
        form = NewTicketForm(request.POST, request.FILES, user=request.user, settings=settings)
        if form.is_valid():
            try:
                ticket = actions.open_from_template(
                    request.user, template, **form.ticket_arguments()
                )
            except (TicketError, actions.TemplateError) as exc:
                form.add_error(None, str(exc))
            else:
                return _opened(request, ticket)
    else:
        initial = _initial_from(template)
        if not _may_use_queue(request.user, template.queue_id):
            initial.pop("queue")  # the form offers the agent's own queues
        form = NewTicketForm(initial=initial, user=request.user, settings=settings)
    return render(
        request,
        "tickets/new.html",
        {"form": form, "settings": settings, "template": template},
        status=400 if request.method == "POST" else 200,
    )


@agent_required
@require_POST
def ticket_from_template_now(request: HttpRequest, pk: int) -> HttpResponse:
    """One click: the ticket as the template has it, in the template's queue."""
    template = get_object_or_404(TicketTemplate, pk=pk, is_active=True)
    if not _may_use_queue(request.user, template.queue_id):
        raise PermissionDenied
    try:
        ticket = actions.open_from_template(request.user, template)
    except (TicketError, actions.TemplateError) as exc:
        messages.error(request, str(exc))
        return redirect("templates:ticket_from_template", pk)
    return _opened(request, ticket)


def _opened(request: HttpRequest, ticket: Ticket) -> HttpResponse:
    messages.success(request, _("Ticket %(number)s created.") % {"number": ticket.display_number})
    return redirect("tickets:detail", number=ticket.number)


@agent_required
@require_POST
def ticket_apply_template(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    raw = request.POST.get("template", "")
    template = (
        TicketTemplate.objects.filter(pk=int(raw), is_active=True).first()
        if raw.isdigit()
        else None
    )
    if template is None:
        messages.error(request, _("Choose a template."))
    elif template.queue_id and not _may_use_queue(request.user, template.queue_id):
        messages.error(request, _("The template moves the ticket to a queue you do not work."))
    else:
        try:
            actions.apply_template(request.user, ticket, template)
        except (TicketError, actions.TemplateError) as exc:
            messages.error(request, str(exc))
        else:
            messages.success(
                request, _("The template “%(name)s” is applied.") % {"name": template.name}
            )
    return redirect("tickets:detail", number=number)


@admin_required
@require_POST
def ticket_save_as_template(request: HttpRequest, number: int) -> HttpResponse:
    ticket = _ticket_for(request, number)
    template = actions.template_from_ticket(ticket, request.POST.get("name", ""))
    messages.success(
        request,
        _("Template “%(name)s” made from %(ticket)s: check it and save.")
        % {"name": template.name, "ticket": ticket.display_number},
    )
    return redirect("templates:template_edit", template.pk)


# --- Agents: canned responses -------------------------------------------------------------------


@agent_required
def ticket_canned_responses(request: HttpRequest, number: int) -> JsonResponse:
    """The canned responses offered on this ticket, filled in for it: the composer's picker
    and its `::` shortcut filter them as the agent types."""
    ticket = _ticket_for(request, number)
    return JsonResponse(
        {
            "responses": [
                actions.filled_response(r, ticket, request.user)
                for r in actions.responses_for(ticket)
            ]
        }
    )


# --- Recurring tickets --------------------------------------------------------------------------

PREVIEWED_OCCURRENCES = 5


@admin_required
def recurring_list(request: HttpRequest) -> HttpResponse:
    schedules = RecurringTicket.objects.select_related("template", "ticket")
    return _render(request, "recurring_list.html", {"section": "recurring", "schedules": schedules})


@admin_required
def recurring_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    schedule = get_object_or_404(RecurringTicket, pk=pk) if pk else RecurringTicket()
    if schedule.ticket_id:  # a repeating ticket is set up on its own page
        return redirect("tickets:detail", number=schedule.ticket.number)
    form = RecurringTicketForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        recurring.schedule_next(saved)
        saved.save()
        messages.success(request, _("The schedule is saved."))
        return redirect("templates:recurring_edit", saved.pk)
    upcoming = []
    if schedule.pk and schedule.is_active:
        upcoming = list(
            islice(recurring.occurrences(schedule, timezone.now()), PREVIEWED_OCCURRENCES)
        )
    return _render(
        request,
        "recurring_edit.html",
        {"section": "recurring", "form": form, "schedule": schedule, "upcoming": upcoming},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def recurring_delete(request: HttpRequest, pk: int) -> HttpResponse:
    schedule = get_object_or_404(RecurringTicket, pk=pk)
    schedule.delete()
    messages.success(request, _("The schedule is deleted."))
    return redirect("templates:recurring_list")


@agent_required
def ticket_repeat(request: HttpRequest, number: int) -> HttpResponse:
    """Repeat this ticket: set it back to New or Open every N days (one schedule per ticket)."""
    ticket = _ticket_for(request, number)
    schedule = RecurringTicket.objects.filter(ticket=ticket).first() or RecurringTicket(
        ticket=ticket,
        frequency=Frequency.DAILY,
        interval=7,
        time_of_day=time(8, 0),
        starts_on=timezone.localdate() + timedelta(days=1),
    )
    if request.method == "POST" and "stop" in request.POST:
        if schedule.pk:
            schedule.delete()
            messages.success(request, _("The ticket no longer repeats."))
        return redirect("tickets:detail", number=number)
    form = RepeatTicketForm(request.POST or None, instance=schedule)
    if request.method == "POST" and form.is_valid():
        saved = form.save(commit=False)
        saved.name = _("Repeat %(ticket)s") % {"ticket": ticket.display_number}
        saved.frequency = Frequency.DAILY
        recurring.schedule_next(saved)
        saved.save()
        messages.success(
            request,
            _("The ticket comes back on %(when)s.")
            % {"when": timezone.localtime(saved.next_run_at).strftime("%Y-%m-%d %H:%M")},
        )
        return redirect("tickets:detail", number=number)
    return render(
        request,
        "automation/ticket_repeat.html",
        {"ticket": ticket, "form": form, "schedule": schedule},
        status=400 if request.method == "POST" else 200,
    )
