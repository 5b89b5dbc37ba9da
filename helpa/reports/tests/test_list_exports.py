"""The ticket overview, contacts and companies as CSV and Excel files.

Personas from helpa/conftest.py: `alice` works Support; `bob` works Billing only.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from helpa.accounts.models import User
from helpa.crm.models import Brand, Company, Contact, ContactPhone
from helpa.tickets import actions
from helpa.tickets.models import Priority, Queue, Status, Ticket

pytestmark = pytest.mark.django_db


def _csv(response) -> list[list[str]]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))


@pytest.fixture
def tickets(alice: User, bob: User, support: Queue, billing: Queue, acme: Company) -> list[Ticket]:
    evil = Contact.objects.create(name='=HYPERLINK("http://evil")', email="e@x.test", company=acme)
    with time_machine.travel(datetime.fromisoformat("2026-03-02T09:30:00+01:00"), tick=False):
        first = actions.open_ticket(
            alice,
            queue=support,
            title="=cmd|' /C calc'!A0",
            contact=evil,
            owner=alice,
            status=Status.OPEN,
            priority=Priority.HIGH,
        )
    with time_machine.travel(datetime.fromisoformat("2026-03-03T10:00:00+01:00"), tick=False):
        second = actions.open_ticket(alice, queue=support, title="Printer")
    billing_ticket = actions.open_ticket(bob, queue=billing, title="Invoice of Billing")
    return [first, second, billing_ticket]


def test_ticket_csv_holds_the_filtered_list_with_formulas_escaped(
    alice_client: Client, tickets: list[Ticket], django_assert_max_num_queries
) -> None:
    first = tickets[0]
    with django_assert_max_num_queries(6):
        response = alice_client.get("/reports/exports/tickets/?view=all&sort=-number&export=csv")
    rows = _csv(response)
    assert rows[0] == [
        "Number",
        "Title",
        "Status",
        "Priority",
        "Queue",
        "Owner",
        "Contact",
        "Company",
        "Created",
        "Updated",
        "Due",
    ]
    # Billing's ticket is not Alice's to see: only the two Support tickets, oldest first.
    assert [r[0] for r in rows[1:]] == [str(first.number), str(tickets[1].number)]
    assert rows[1] == [
        str(first.number),
        "'=cmd|' /C calc'!A0",
        "Open",
        "High",
        "Support",
        "Alice Agent",
        '\'=HYPERLINK("http://evil")',
        "Acme AB",
        "2026-03-02 09:30",
        "2026-03-02 09:30",
        "",
    ]
    filtered = _csv(alice_client.get("/reports/exports/tickets/?view=all&status=new&export=csv"))
    assert [r[1] for r in filtered[1:]] == ["Printer"]


def test_ticket_excel_never_holds_a_formula(alice_client: Client, tickets: list[Ticket]) -> None:
    response = alice_client.get("/reports/exports/tickets/?view=all&sort=-number&export=xlsx")
    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    assert sheet.cell(row=2, column=2).value == "=cmd|' /C calc'!A0"
    assert sheet.cell(row=2, column=2).data_type == "s"
    assert sheet.cell(row=2, column=1).value == tickets[0].number
    assert sheet.max_row == 3


def test_ticket_export_query_count_does_not_grow_with_rows(
    alice: User, alice_client: Client, support: Queue, django_assert_max_num_queries
) -> None:
    for n in range(30):
        actions.open_ticket(alice, queue=support, title=f"Ticket {n}")
    with django_assert_max_num_queries(6):
        rows = _csv(alice_client.get("/reports/exports/tickets/?view=all&export=csv"))
    assert len(rows) == 31


def test_ticket_export_cap(alice: User, support: Queue, monkeypatch: pytest.MonkeyPatch) -> None:
    from django.http import QueryDict

    from helpa.reports import lists

    for n in range(3):
        actions.open_ticket(alice, queue=support, title=f"Ticket {n}")
    monkeypatch.setattr(lists, "LIST_CAP", 2)
    monkeypatch.setattr(lists.ticket_rows, "__defaults__", (2,))
    report = lists.tickets_report(alice, QueryDict("view=all"))
    assert len(report.tables[0].rows) == 2


def test_exports_are_for_agents_only(
    carl_client: Client, client: Client, bob_agent: User, tickets: list[Ticket]
) -> None:
    for url in ("tickets", "contacts", "companies"):
        assert carl_client.get(f"/reports/exports/{url}/?export=csv").status_code == 403
        assert client.get(f"/reports/exports/{url}/?export=csv").status_code == 302
    # An agent of no team sees no ticket, so the file has the header only.
    nobody = Client()
    nobody.force_login(bob_agent)
    assert len(_csv(nobody.get("/reports/exports/tickets/?view=all&export=csv"))) == 1
    assert nobody.get("/reports/exports/tickets/?export=pdf").status_code == 404


def test_contacts_and_companies_export_what_the_agent_may_see(
    alice: User, alice_client: Client, acme: Company, django_assert_max_num_queries
) -> None:
    brand = Brand.objects.create(name="Other brand", code="other")
    brand.limited_agents.add(alice)
    hidden = Company.objects.create(
        name="=Hidden AB", brand=Brand.objects.create(name="B2", code="b2")
    )
    Contact.objects.create(name="Hidden Person", email="h@x.test", company=hidden)
    dora = Contact.objects.create(name="-Dora", email="dora@x.test")
    ContactPhone.objects.create(contact=dora, number="+46701234567")
    ContactPhone.objects.create(contact=dora, number="+46707654321")
    with django_assert_max_num_queries(6):
        rows = _csv(alice_client.get("/reports/exports/contacts/?export=csv"))
    assert rows[0] == ["Name", "E-mail address", "Phone", "Company", "Language"]
    # Alice is limited to "Other brand": Acme (no brand) and Dora (no company) are hers.
    assert [r[0] for r in rows[1:]] == ["'-Dora"]
    assert rows[1][2] == "'+46701234567, +46707654321"
    acme_contact = Contact.objects.create(name="Eve", email="eve@acme.test", company=acme)
    searched = _csv(alice_client.get("/reports/exports/contacts/?q=eve&export=csv"))
    assert [r[0] for r in searched[1:]] == [acme_contact.name]
    companies = _csv(alice_client.get("/reports/exports/companies/?export=csv"))
    assert companies[0] == ["Name", "Organisation number", "Customer number", "Brand", "Contacts"]
    assert companies[1:] == [["Acme AB", "556677-8899", "", "", "1"]]


def test_list_pages_link_their_exports_with_the_current_filters(
    alice_client: Client, tickets: list[Ticket]
) -> None:
    html = alice_client.get("/tickets/?view=all&status=new&page=1").content.decode()
    assert 'href="/reports/exports/tickets/?view=all&amp;status=new&amp;export=csv"' in html
    html = alice_client.get("/contacts/?q=x").content.decode()
    assert 'href="/reports/exports/contacts/?q=x&amp;export=xlsx"' in html
    html = alice_client.get("/companies/").content.decode()
    assert 'href="/reports/exports/companies/?export=csv"' in html
