"""Helpa's own settings pages: queues, teams, agents, ticket types, categories, ticket fields.

Every section is the same list-and-edit pair, described once in SECTIONS.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Model
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_POST

from helpa.accounts.models import Role, User
from helpa.accounts.permissions import admin_required
from helpa.crm.models import Brand
from helpa.tickets.models import HelpdeskSettings

from .forms import (
    AgentForm,
    BrandForm,
    CategoryForm,
    HelpdeskSettingsForm,
    QueueForm,
    TeamForm,
    TicketTypeForm,
)


@dataclass(frozen=True)
class Section:
    title: Any
    form: type[forms.ModelForm]
    columns: tuple[str, ...]

    def queryset(self) -> Any:
        model: type[Model] = self.form._meta.model  # type: ignore[assignment]
        if model is User:
            return User.objects.filter(role__in=[Role.AGENT, Role.ADMIN])
        return model._default_manager.all()


SECTIONS: dict[str, Section] = {
    "queues": Section(_("Queues"), QueueForm, ("name", "slug", "is_active")),
    "teams": Section(_("Teams"), TeamForm, ("name",)),
    "agents": Section(_("Agents"), AgentForm, ("full_name", "email", "role", "is_active")),
    "types": Section(_("Ticket types"), TicketTypeForm, ("name", "is_active")),
    "categories": Section(_("Categories"), CategoryForm, ("name", "is_active")),
    "brands": Section(_("Brands"), BrandForm, ("code", "name", "sender_address")),
}


def _section(key: str) -> Section:
    if key not in SECTIONS:
        raise Http404
    return SECTIONS[key]


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    return redirect("administration:list", section="queues")


@admin_required
def section_list(request: HttpRequest, section: str) -> HttpResponse:
    current = _section(section)
    rows = [(obj, [getattr(obj, c) for c in current.columns]) for obj in current.queryset()]
    model = current.form._meta.model
    headers = [model._meta.get_field(c).verbose_name for c in current.columns]
    return render(
        request,
        "administration/list.html",
        {
            "sections": SECTIONS,
            "section": section,
            "current": current,
            "rows": rows,
            "headers": headers,
        },
    )


@admin_required
def section_edit(request: HttpRequest, section: str, pk: int | None = None) -> HttpResponse:
    current = _section(section)
    model = current.form._meta.model
    instance = get_object_or_404(model, pk=pk) if pk else None
    if model is User and instance is not None and instance.role == Role.CUSTOMER:
        raise Http404  # customers are not edited here
    form = current.form(request.POST or None, request.FILES or None, instance=instance)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("administration:list", section=section)
    return render(
        request,
        "administration/edit.html",
        {
            "sections": SECTIONS,
            "section": section,
            "current": current,
            "form": form,
            "instance": instance,
        },
        status=400 if request.method == "POST" else 200,
    )


@admin_required
def helpdesk_settings(request: HttpRequest) -> HttpResponse:
    settings = HelpdeskSettings.load()
    form = HelpdeskSettingsForm(request.POST or None, instance=settings)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("administration:settings")
    return render(
        request,
        "administration/settings.html",
        {"sections": SECTIONS, "section": "settings", "form": form},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def brand_delete(request: HttpRequest, pk: int) -> HttpResponse:
    """Delete a brand; refused while queues (or companies) still belong to it."""
    brand = get_object_or_404(Brand, pk=pk)
    queues = list(brand.queues.values_list("name", flat=True))
    if queues:
        messages.error(
            request,
            _("The brand %(brand)s is used by the queues %(queues)s: move them first.")
            % {"brand": brand.code, "queues": ", ".join(queues)},
        )
        return redirect("administration:edit", section="brands", pk=pk)
    if brand.companies.exists():
        messages.error(
            request,
            _("The brand %(brand)s still has companies: move them first.") % {"brand": brand.code},
        )
        return redirect("administration:edit", section="brands", pk=pk)
    # Rules, templates and canned responses scoped to it become the brand's no longer: they
    # would otherwise keep it alive (PROTECT) or apply nowhere.
    from helpa.automation.models import CannedResponse, Rule, TicketTemplate  # noqa: PLC0415

    for model in (Rule, TicketTemplate, CannedResponse):
        if model.objects.filter(brand=brand).exists():
            messages.error(
                request,
                _(
                    "The brand %(brand)s still scopes rules, templates or canned responses: "
                    "change them first."
                )
                % {"brand": brand.code},
            )
            return redirect("administration:edit", section="brands", pk=pk)
    brand.logo.delete(save=False)
    brand.delete()
    messages.success(request, _("Brand deleted."))
    return redirect("administration:list", section="brands")
