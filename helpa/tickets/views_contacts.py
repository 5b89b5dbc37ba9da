"""The agents' contact and company pages (C1, C4).

They live in the tickets app, not in crm: each page lists tickets, and crm sits below tickets
(DESIGN.md). The records themselves, their forms and validation are crm's. Every agent sees every
contact and company; of their tickets only those of the queues the agent works
(`Ticket.objects.visible_to`), and sums such as time spent count only those.
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch, Q, QuerySet, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import User
from helpa.accounts.permissions import agent_required
from helpa.crm.forms import CompanyForm, ContactForm
from helpa.crm.identifiers import normalise_org_number, normalise_phone
from helpa.crm.models import Company, CompanyPhone, Contact, ContactEmail, ContactPhone

from .contact_actions import MergeRefused, merge_contacts
from .forms import LookupSelect
from .models import DONE_STATUSES, Article, HistoryEntry, Ticket

PAGE_SIZE = 50
TICKETS_PER_PAGE = 25


def _page(request: HttpRequest, queryset: QuerySet, per_page: int, param: str = "page"):  # type: ignore[no-untyped-def]
    return Paginator(queryset, per_page).get_page(request.GET.get(param))


def _query_without(request: HttpRequest, param: str) -> str:
    params = request.GET.copy()
    params.pop(param, None)
    return params.urlencode()


def _phone_or_none(text: str) -> str | None:
    if not re.fullmatch(r"[\d\s+()./-]{5,}", text):
        return None
    try:
        return normalise_phone(text)
    except ValidationError:
        return None


def _company_widget() -> LookupSelect:
    return LookupSelect("tickets:company_options")


def _contact_form(request: HttpRequest, *args: Any, **kwargs: Any) -> ContactForm:
    """The contact form, offering only the companies the agent may see (brand limits)."""
    form = ContactForm(*args, company_widget=_company_widget(), **kwargs)
    form.fields["company"].queryset = Company.objects.visible_to(request.user)
    return form


class MergeForm(forms.Form):
    # Named "contact" so that the lookup keeps the current choice while one searches.
    contact = forms.ModelChoiceField(
        Contact.objects.all(),
        label=gettext_lazy("Contact to merge into this one"),
        widget=LookupSelect("tickets:contact_options"),
    )


# --- Contacts ----------------------------------------------------------------------------------


def search_contacts(query: str, queryset: QuerySet[Contact]) -> QuerySet[Contact]:
    """Contacts of `queryset` whose name, any address, any phone number or company matches
    every word."""
    contacts = queryset
    query = query.strip()
    phone = _phone_or_none(query)
    if phone:
        return contacts.filter(pk__in=ContactPhone.objects.filter(number=phone).values("contact"))
    for word in query.split()[:5]:
        contacts = contacts.filter(
            Q(name__icontains=word)
            | Q(email__icontains=word)
            | Q(pk__in=ContactEmail.objects.filter(address__icontains=word).values("contact"))
            | Q(company__name__icontains=word)
        )
    return contacts


@agent_required
def contact_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    # An agent limited to brands sees the contacts and companies of those brands only.
    contacts = search_contacts(query, Contact.objects.visible_to(request.user))
    company = None
    if request.GET.get("company", "").isdigit():
        company = (
            Company.objects.visible_to(request.user).filter(pk=int(request.GET["company"])).first()
        )
        contacts = contacts.filter(company=company)
    contacts = contacts.select_related("company").prefetch_related("phones").order_by("name", "pk")
    page = _page(request, contacts, PAGE_SIZE)
    return render(
        request,
        "tickets/contacts/contact_list.html",
        {
            "page": page,
            "q": query,
            "company": company,
            "query_without_page": _query_without(request, "page"),
        },
    )


def contact_tickets(user: User, contact: Contact) -> QuerySet[Ticket]:
    """A contact's whole history across channels: the tickets they are the contact of or wrote
    in, those the user may open, newest first."""
    wrote_in = Article.objects.filter(author_contact=contact).values("ticket_id")
    return (
        Ticket.objects.visible_to(user)
        .filter(Q(contact=contact) | Q(pk__in=wrote_in))
        .select_related("queue", "owner")
        .order_by("-created_at", "-pk")
    )


def _contact_page(request: HttpRequest, contact: Contact, form: ContactForm) -> HttpResponse:
    page = _page(request, contact_tickets(request.user, contact), TICKETS_PER_PAGE)
    return render(
        request,
        "tickets/contacts/contact_detail.html",
        {
            "contact": contact,
            "form": form,
            "page": page,
            "merge_form": MergeForm(),
        },
    )


@agent_required
def contact_detail(request: HttpRequest, pk: int) -> HttpResponse:
    contact = get_object_or_404(
        Contact.objects.visible_to(request.user).select_related("company", "user"), pk=pk
    )
    if request.method == "POST":
        form = _contact_form(request, request.POST, instance=contact)
        if form.is_valid():
            form.save()
            messages.success(request, _("The contact is saved."))
            return redirect("tickets:contact", pk=contact.pk)
    else:
        form = _contact_form(request, instance=contact)
    return _contact_page(request, contact, form)


@agent_required
def contact_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = _contact_form(request, request.POST)
        if form.is_valid():
            contact = form.save()
            messages.success(request, _("The contact is saved."))
            return redirect("tickets:contact", pk=contact.pk)
    else:
        initial = {"company": request.GET.get("company")} if request.GET.get("company") else {}
        form = _contact_form(request, initial=initial)
    return render(request, "tickets/contacts/contact_new.html", {"form": form})


@agent_required
def contact_merge(request: HttpRequest, pk: int) -> HttpResponse:
    """Merge another contact into this one: a confirmation page (GET ?other=…), then POST."""
    visible = Contact.objects.visible_to(request.user).select_related("company", "user")
    keep = get_object_or_404(visible, pk=pk)
    other = request.POST.get("other") or request.GET.get("contact") or ""
    if not other.isdigit() or int(other) == keep.pk:
        messages.error(request, _("Choose the other contact to merge into this one."))
        return redirect("tickets:contact", pk=keep.pk)
    drop = get_object_or_404(visible, pk=int(other))
    if request.method == "POST":
        try:
            merge_contacts(request.user, keep, drop)
        except MergeRefused as refusal:
            messages.error(request, str(refusal))
            return redirect("tickets:contact", pk=keep.pk)
        messages.success(
            request, _("%(drop)s is merged into %(keep)s.") % {"drop": drop, "keep": keep}
        )
        return redirect("tickets:contact", pk=keep.pk)
    moving = {
        "tickets": Ticket.objects.filter(contact=drop).count(),
        "articles": Article.objects.filter(author_contact=drop).count(),
        "emails": [drop.email, *drop.emails.values_list("address", flat=True)],
        "phones": list(drop.phones.all()),
    }
    return render(
        request,
        "tickets/contacts/contact_merge.html",
        {
            "keep": keep,
            "drop": drop,
            "moving": moving,
            "both_have_logins": bool(keep.user_id and drop.user_id),
        },
    )


# --- Companies ---------------------------------------------------------------------------------


def search_companies(query: str, companies: QuerySet[Company]) -> QuerySet[Company]:
    query = query.strip()
    if not query:
        return companies
    try:
        org_number = normalise_org_number(query)
    except ValidationError:
        org_number = ""
    if org_number:
        return companies.filter(organisation_number=org_number)
    phone = _phone_or_none(query)
    if phone:
        return companies.filter(pk__in=CompanyPhone.objects.filter(number=phone).values("company"))
    for word in query.split()[:5]:
        companies = companies.filter(
            Q(name__icontains=word)
            | Q(organisation_number__icontains=word)
            | Q(customer_number__iexact=word)
        )
    return companies


@agent_required
def company_list(request: HttpRequest) -> HttpResponse:
    query = request.GET.get("q", "")
    companies = (
        search_companies(query, Company.objects.visible_to(request.user))
        .annotate(contact_count=Count("contacts"))
        .order_by("name", "pk")
    )
    page = _page(request, companies, PAGE_SIZE)
    return render(
        request,
        "tickets/contacts/company_list.html",
        {"page": page, "q": query, "query_without_page": _query_without(request, "page")},
    )


def company_figures(user: User, company: Company) -> dict[str, object]:
    """Time spent on the company's tickets and its SLA results, over the tickets the user may
    open. SLA: of its resolved and closed tickets, how many never had a target breached (the
    SLA job records each breach as a history entry)."""
    tickets = Ticket.objects.visible_to(user).filter(company=company)
    minutes = (
        Article.objects.filter(ticket__in=tickets.values("pk")).aggregate(
            total=Sum("time_spent_minutes")
        )["total"]
        or 0
    )
    done = tickets.filter(status__in=DONE_STATUSES)
    breached = HistoryEntry.objects.filter(field="sla_breached").values("ticket_id")
    counts = done.aggregate(done=Count("pk"), breached=Count("pk", filter=Q(pk__in=breached)))
    met = counts["done"] - counts["breached"]
    return {
        "minutes": minutes,
        "done": counts["done"],
        "breached": counts["breached"],
        "met": met,
        "met_percent": round(100 * met / counts["done"]) if counts["done"] else None,
    }


def _company_page(request: HttpRequest, company: Company, form: CompanyForm) -> HttpResponse:
    visible = Ticket.objects.visible_to(request.user)
    tickets = visible.filter(company=company).select_related("queue", "owner", "contact")
    contacts = company.contacts.prefetch_related(
        Prefetch("phones", queryset=ContactPhone.objects.order_by("pk"))
    ).order_by("name", "pk")
    return render(
        request,
        "tickets/contacts/company_detail.html",
        {
            "company": company,
            "form": form,
            "contacts": contacts[:200],
            "contact_count": company.contacts.count(),
            "open_page": _page(
                request, tickets.active().order_by("-updated_at", "-pk"), TICKETS_PER_PAGE, "open"
            ),
            "closed_page": _page(
                request,
                tickets.exclude(pk__in=tickets.active().values("pk")).order_by(
                    "-updated_at", "-pk"
                ),
                TICKETS_PER_PAGE,
                "closed",
            ),
            "query_without_open": _query_without(request, "open"),
            "query_without_closed": _query_without(request, "closed"),
            "figures": company_figures(request.user, company),
        },
    )


@agent_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company.objects.visible_to(request.user), pk=pk)
    if request.method == "POST":
        form = CompanyForm(request.POST, instance=company, may_hold=request.user.is_admin)
        if form.is_valid():
            form.save()
            messages.success(request, _("The company is saved."))
            return redirect("tickets:company", pk=company.pk)
    else:
        form = CompanyForm(instance=company, may_hold=request.user.is_admin)
    return _company_page(request, company, form)


@agent_required
def company_new(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        form = CompanyForm(request.POST, may_hold=request.user.is_admin)
        if form.is_valid():
            company = form.save()
            messages.success(request, _("The company is saved."))
            return redirect("tickets:company", pk=company.pk)
    else:
        form = CompanyForm(may_hold=request.user.is_admin)
    return render(request, "tickets/contacts/company_new.html", {"form": form})
