"""Settings → Rules: the list, the editor, the tester and the dry run (admins only)."""

from __future__ import annotations

import json

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.models import Team, User
from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS
from helpa.tickets.models import Category, Queue, Status, Ticket, TicketType

from . import tester, transfer
from .forms import (
    ActionFormSet,
    DryRunForm,
    LineFormSet,
    RuleForm,
    TesterForm,
    initial_for,
    rule_dict,
)
from .models import Rule, TicketTemplate


def _render(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    return render(
        request,
        f"automation/{template}",
        {"sections": SECTIONS, "section": "rules", **context},
    )


@admin_required
def rule_list(request: HttpRequest) -> HttpResponse:
    rules = Rule.objects.select_related("queue").order_by("weight", "name")
    return _render(request, "rule_list.html", {"rules": rules})


def _value_suggestions() -> list[str]:
    """What the value of an action may name, offered while typing (a datalist)."""
    return [
        *["low", "medium", "high"],
        *Status.values,
        *Queue.objects.values_list("slug", flat=True),
        *Team.objects.values_list("name", flat=True),
        *TicketType.objects.filter(is_active=True).values_list("name", flat=True),
        *Category.objects.filter(is_active=True).values_list("name", flat=True),
        *User.objects.agents().values_list("email", flat=True),
        *TicketTemplate.objects.filter(is_active=True).values_list("name", flat=True),
    ]


@admin_required
def rule_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk) if pk else None
    errors: list[str] = []
    if request.method == "POST":
        form = RuleForm(request.POST)
        lines = LineFormSet(request.POST, prefix="lines")
        actions = ActionFormSet(request.POST, prefix="actions")
        if form.is_valid() and lines.is_valid() and actions.is_valid():
            data = rule_dict(form, lines, actions)
            other = Rule.objects.filter(name=data["name"]).exclude(pk=rule.pk if rule else None)
            if other.exists():
                errors.append(_("Another rule has this name."))
            else:
                try:
                    clean = transfer.check_rule(data)
                except transfer.RuleErrors as exc:
                    errors = exc.messages
                else:
                    saved = transfer.save_rule(clean, rule or Rule())
                    messages.success(request, _("The rule is saved."))
                    return redirect("automation:edit", saved.pk)
    else:
        if rule:
            main, line_rows, action_rows = initial_for(rule)
        else:
            main, line_rows, action_rows = {"weight": 10, "events": ["new"]}, [], []
        form = RuleForm(initial=main)
        lines = LineFormSet(initial=line_rows, prefix="lines")
        actions = ActionFormSet(initial=action_rows, prefix="actions")
    return _render(
        request,
        "rule_edit.html",
        {
            "rule": rule,
            "form": form,
            "lines": lines,
            "actions": actions,
            "errors": errors,
            "suggestions": _value_suggestions(),
        },
    )


@admin_required
@require_POST
def rule_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    rule.is_active = not rule.is_active
    rule.updated_at = timezone.now()
    rule.save(update_fields=["is_active", "updated_at"])
    if rule.is_active:
        messages.success(request, _("“%(name)s” is on.") % {"name": rule.name})
    else:
        messages.success(request, _("“%(name)s” is off.") % {"name": rule.name})
    if request.POST.get("back") == "edit":
        return redirect("automation:edit", rule.pk)
    return redirect("automation:list")


@admin_required
@require_POST
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    rule.delete()
    messages.success(request, _("“%(name)s” is deleted.") % {"name": rule.name})
    return redirect("automation:list")


@admin_required
def rule_tester(request: HttpRequest) -> HttpResponse:
    report = None
    error = ""
    form = TesterForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            if d.get("ticket_number"):
                ticket = Ticket.objects.filter(number=d["ticket_number"]).first()
                if ticket is None:
                    raise tester.TesterError(_("There is no ticket with that number."))
                report = tester.try_ticket(
                    ticket, event=d.get("event", ""), include_inactive=d["include_inactive"]
                )
            else:
                raw = d["raw_mail"].replace("\r\n", "\n").replace("\n", "\r\n").encode()
                report = tester.try_mail(
                    raw,
                    queue=d.get("queue"),
                    event=d.get("event", ""),
                    include_inactive=d["include_inactive"],
                )
        except tester.TesterError as exc:
            error = str(exc)
    return _render(
        request,
        "tester.html",
        {
            "form": form,
            "report": report,
            "error": error,
            "result_json": json.dumps(report.as_json(), ensure_ascii=False, indent=2)
            if report
            else "",
        },
    )


@admin_required
def rule_dry_run(request: HttpRequest, pk: int) -> HttpResponse:
    rule = get_object_or_404(Rule, pk=pk)
    form = DryRunForm(request.GET or None)
    result = None
    if form.is_valid():
        result = tester.dry_run(rule, form.cleaned_data["days"])
    return _render(request, "dry_run.html", {"rule": rule, "form": form, "result": result})


@admin_required
def rules_export(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(
        json.dumps(transfer.export_rules(), ensure_ascii=False, indent=2),
        content_type="application/json; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="rules.json"'
    return response
