"""The agent lists as files: the ticket overview, contacts and companies, filtered as on screen.

Each list is read with the page's own query (tickets.overview.build_overview, the contact and
company searches), so a file holds exactly the rows the page would page through — only those
the user may see — up to LIST_CAP rows. Rows are read as plain column values in chunks
(`.iterator()`), never as model instances, and become a `Table` for exports.py.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice

from django.db.models import Count, QuerySet
from django.http import QueryDict
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.crm.models import Company, Contact, ContactPhone
from helpa.tickets import overview
from helpa.tickets.models import Priority, Status
from helpa.tickets.views_contacts import search_companies, search_contacts

from .report import Report, Table, Value

# A spreadsheet of more rows than this is no longer read by a person; the API is for more.
LIST_CAP = 50_000
CHUNK = 2_000

TICKET_FIELDS = [
    "number",
    "title",
    "status",
    "priority",
    "queue__name",
    "owner__full_name",
    "owner__email",
    "contact__name",
    "company__name",
    "created_at",
    "updated_at",
    "due_at",
]


def _chunks(rows: Iterable[tuple], size: int = CHUNK) -> Iterator[list[tuple]]:
    iterator = iter(rows)
    while chunk := list(islice(iterator, size)):
        yield chunk


def ticket_rows(queryset: QuerySet, cap: int = LIST_CAP) -> Iterator[list[Value]]:
    statuses = dict(Status.choices)
    priorities = dict(Priority.choices)
    rows = queryset[:cap].values_list(*TICKET_FIELDS).iterator(chunk_size=CHUNK)
    for (
        number,
        title,
        status,
        priority,
        queue,
        owner_name,
        owner_email,
        contact,
        company,
        created,
        updated,
        due,
    ) in rows:
        yield [
            number,
            title,
            str(statuses.get(status, status)),
            str(priorities.get(priority, priority)),
            queue,
            owner_name or owner_email,
            contact,
            company,
            created,
            updated,
            due,
        ]


def tickets_report(user: User, params: QueryDict) -> Report:
    """The overview's current list (its view, filters, search and sort), every page of it."""
    result = overview.build_overview(user, params)
    columns = [
        _("Number"),
        _("Title"),
        _("Status"),
        _("Priority"),
        _("Queue"),
        _("Owner"),
        _("Contact"),
        _("Company"),
        _("Created"),
        _("Updated"),
        _("Due"),
    ]
    title = str(overview.VIEWS[result.view])
    rows = list(ticket_rows(result.queryset))
    return Report(_("Tickets"), tables=[Table(title, columns, rows, sheet=_("Tickets"))])


def contact_rows(contacts: QuerySet[Contact], cap: int = LIST_CAP) -> Iterator[list[Value]]:
    rows = contacts[:cap].values_list("pk", "name", "email", "company__name", "language")
    for chunk in _chunks(rows.iterator(chunk_size=CHUNK)):
        # The phone numbers of a whole chunk in one query: one more query per CHUNK contacts.
        phones: dict[int, list[str]] = {}
        for contact_id, number in (
            ContactPhone.objects.filter(contact_id__in=[row[0] for row in chunk])
            .order_by("pk")
            .values_list("contact_id", "number")
        ):
            phones.setdefault(contact_id, []).append(number)
        for pk, name, email, company, language in chunk:
            yield [name, email, ", ".join(phones.get(pk, [])), company, language]


def contacts_report(user: User, params: QueryDict) -> Report:
    contacts = search_contacts(params.get("q", ""), Contact.objects.visible_to(user))
    company = params.get("company", "")
    if company.isdigit():
        contacts = contacts.filter(company__in=Company.objects.visible_to(user).filter(pk=company))
    columns = [_("Name"), _("E-mail address"), _("Phone"), _("Company"), _("Language")]
    rows = list(contact_rows(contacts.order_by("name", "pk")))
    return Report(_("Contacts"), tables=[Table(_("Contacts"), columns, rows)])


def companies_report(user: User, params: QueryDict) -> Report:
    companies = (
        search_companies(params.get("q", ""), Company.objects.visible_to(user))
        .annotate(contact_count=Count("contacts"))
        .order_by("name", "pk")
    )
    columns = [
        _("Name"),
        _("Organisation number"),
        _("Customer number"),
        _("Brand"),
        _("Contacts"),
    ]
    rows: list[list[Value]] = [
        list(row)
        for row in companies[:LIST_CAP]
        .values_list(
            "name", "organisation_number", "customer_number", "brand__name", "contact_count"
        )
        .iterator(chunk_size=CHUNK)
    ]
    return Report(_("Companies"), tables=[Table(_("Companies"), columns, rows)])
