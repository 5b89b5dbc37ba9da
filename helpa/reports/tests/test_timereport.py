"""The time report against a hand-computed fixture.

Stockholm time. Acme AB and Beta AB; queues Support (Alice's team) and Billing (Bob's):

- T1 Support, Acme: Alice 30 min on 31 Jan 23:30 (January), 45 min on 1 Feb 00:15 (February
  locally, still 31 Jan in UTC), 20 min not billable on 10 Feb.
- T2 Support, Acme, then moved to Beta AB: Alice 60 min on 15 Jan — counted for Beta.
- T3 Billing, Beta: Bob 90 min on 3 Feb.

January–February by company (all time): Acme 95 min = 1.58 h (billable 75 = 1.25 h, 3 entries),
Beta 150 min = 2.50 h (2 entries). Per month: January Acme 0.50 h, Beta 1.00 h; February Acme
65 min = 1.08 h, Beta 1.50 h. Alice sees Support only: Acme 1.58 h, Beta 1.00 h.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.test import Client
from openpyxl import load_workbook

from helpa.accounts.models import User
from helpa.crm.models import Company
from helpa.reports import timereport
from helpa.reports.report import Cell, plain
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket, TimeEntry

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PERIOD = "period=custom&from=2026-01-01&to=2026-02-28"


def at(m: int, d: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, m, d, hour, minute, tzinfo=STOCKHOLM)


def log(who: User, ticket: Ticket, when: datetime, minutes: int, billable: bool = True) -> None:
    with time_machine.travel(when, tick=False):
        actions.add_note(
            who, ticket, "<p>worked</p>", time_spent_minutes=minutes, billable=billable
        )


@pytest.fixture
def beta(db: None) -> Company:
    return Company.objects.create(name="Beta AB")


@pytest.fixture
def tickets(
    alice: User, bob: User, support: Queue, billing: Queue, acme: Company, beta: Company
) -> dict[str, Ticket]:
    with time_machine.travel(at(1, 10, 9), tick=False):
        t1 = actions.open_ticket(alice, queue=support, title="Printer", company=acme)
        t2 = actions.open_ticket(alice, queue=support, title="VPN", company=acme)
        t3 = actions.open_ticket(bob, queue=billing, title="Invoice", company=beta)
    log(alice, t1, at(1, 31, 23, 30), 30)
    log(alice, t1, at(2, 1, 0, 15), 45)
    log(alice, t1, at(2, 10, 12), 20, billable=False)
    log(alice, t2, at(1, 15, 10), 60)
    with time_machine.travel(at(2, 20, 9), tick=False):
        actions.update_ticket(alice, t2, {"company": beta})
    log(bob, t3, at(2, 3, 14), 90)
    return {"t1": t1, "t2": t2, "t3": t3}


def _report(user: User, query: str) -> timereport.Report:
    from django.http import QueryDict

    return timereport.time_report(user, QueryDict(query))


def _plain_rows(table: timereport.Table) -> list[list]:
    return [[plain(v) for v in row] for row in table.rows]


def test_entries_are_dated_in_local_time(tickets: dict[str, Ticket]) -> None:
    days = sorted(
        TimeEntry.objects.filter(ticket=tickets["t1"]).values_list("worked_on", "minutes")
    )
    assert days == [(date(2026, 1, 31), 30), (date(2026, 2, 1), 45), (date(2026, 2, 10), 20)]


def test_time_per_company_and_month(admin: User, tickets: dict[str, Ticket]) -> None:
    report = _report(admin, PERIOD + "&group=company&by=month")
    per_company, per_month = report.tables[:2]
    assert _plain_rows(per_company) == [
        ["Beta AB", Decimal("2.50"), Decimal("2.50"), 2],
        ["Acme AB", Decimal("1.58"), Decimal("1.25"), 3],
    ]
    assert _plain_rows(per_month) == [
        ["2026-01", "Beta AB", Decimal("1.00"), Decimal("1.00"), 1],
        ["2026-01", "Acme AB", Decimal("0.50"), Decimal("0.50"), 1],
        ["2026-02", "Beta AB", Decimal("1.50"), Decimal("1.50"), 1],
        ["2026-02", "Acme AB", Decimal("1.08"), Decimal("0.75"), 2],
    ]
    chart = report.charts[0]
    assert chart.labels == ["2026-01", "2026-02"]
    assert [(s.name, s.values) for s in chart.series] == [
        ("Beta AB", [1.0, 1.5]),
        ("Acme AB", [0.5, 1.08]),
    ]
    assert [(label, value) for label, value, _url in report.tiles] == [
        ("Hours", Decimal("4.08")),
        ("Billable hours", Decimal("3.75")),
        ("Entries", 5),
    ]


def test_by_year_billable_only(admin: User, tickets: dict[str, Ticket]) -> None:
    report = _report(admin, PERIOD + "&group=company&by=year&billable=billable")
    assert _plain_rows(report.tables[0]) == [
        ["Beta AB", Decimal("2.50"), Decimal("2.50"), 2],
        ["Acme AB", Decimal("1.25"), Decimal("1.25"), 2],
    ]
    assert report.charts[0].labels == ["2026"]


def test_grouped_by_agent_queue_and_contact(admin: User, tickets: dict[str, Ticket]) -> None:
    by_agent = _report(admin, PERIOD + "&group=agent")
    assert _plain_rows(by_agent.tables[0]) == [
        ["Alice Agent", Decimal("2.58"), Decimal("2.25"), 4],
        [str(tickets["t3"].created_by), Decimal("1.50"), Decimal("1.50"), 1],
    ]
    by_queue = _report(admin, PERIOD + "&group=queue")
    assert [r[:2] for r in _plain_rows(by_queue.tables[0])] == [
        ["Support", Decimal("2.58")],
        ["Billing", Decimal("1.50")],
    ]
    by_contact = _report(admin, PERIOD + "&group=contact")
    assert _plain_rows(by_contact.tables[0]) == [
        ["(no contact)", Decimal("4.08"), Decimal("3.75"), 5]
    ]


def test_filters(admin: User, tickets: dict[str, Ticket], billing: Queue, beta: Company) -> None:
    only_billing = _report(admin, PERIOD + f"&queue={billing.pk}")
    assert _plain_rows(only_billing.tables[0]) == [["Beta AB", Decimal("1.50"), Decimal("1.50"), 1]]
    only_beta = _report(admin, PERIOD + f"&company={beta.pk}&group=queue")
    assert [r[:2] for r in _plain_rows(only_beta.tables[0])] == [
        ["Billing", Decimal("1.50")],
        ["Support", Decimal("1.00")],
    ]


def test_an_agent_sees_their_queues_time_only(
    alice_client: Client, tickets: dict[str, Ticket]
) -> None:
    page = alice_client.get("/reports/time/?" + PERIOD)
    assert page.status_code == 200
    table = page.content.decode()
    assert "1.58" in table and "1.00" in table
    assert "2.50" not in table and "Invoice" not in table  # Bob's Billing time


def test_a_queue_the_agent_does_not_work_is_refused(
    alice_client: Client, tickets: dict[str, Ticket], billing: Queue
) -> None:
    page = alice_client.get(f"/reports/time/?{PERIOD}&queue={billing.pk}")
    assert page.status_code == 400
    assert "Select a valid choice" in page.content.decode()


def test_a_bad_date_is_a_form_error(admin: User, tickets: dict[str, Ticket]) -> None:
    client = Client()
    client.force_login(admin)
    page = client.get("/reports/time/?period=custom&from=2026-13-01&to=2026-02-28")
    assert page.status_code == 400
    assert "Give both dates as YYYY-MM-DD." in page.content.decode()
    assert client.get("/reports/time/entries/?" + PERIOD + "&key=x").status_code == 400


def test_customers_and_strangers_are_kept_out(carl_client: Client, db: None) -> None:
    assert carl_client.get("/reports/time/").status_code == 403
    assert Client().get("/reports/time/").status_code == 302


def test_the_entries_behind_a_figure(
    admin: User, alice_client: Client, tickets: dict[str, Ticket], beta: Company
) -> None:
    report = _report(admin, PERIOD + "&group=company&by=month")
    beta_january = report.tables[1].rows[0][2]
    assert isinstance(beta_january, Cell)
    client = Client()
    client.force_login(admin)
    page = client.get(beta_january.url).content.decode()
    assert f"/t/{tickets['t2'].number}/" in page
    assert f"/t/{tickets['t3'].number}/" not in page  # February
    # Alice follows Beta's whole-period link: only the Support ticket, never Bob's.
    listed = alice_client.get(
        f"/reports/time/entries/?{PERIOD}&group=company&key={beta.pk}"
    ).content.decode()
    assert f"/t/{tickets['t2'].number}/" in listed
    assert f"/t/{tickets['t3'].number}/" not in listed


def test_exports_carry_the_entries_sheet(admin: User, tickets: dict[str, Ticket]) -> None:
    client = Client()
    client.force_login(admin)
    book = load_workbook(io.BytesIO(client.get(f"/reports/time/?{PERIOD}&export=xlsx").content))
    assert book.sheetnames == ["Summary", "Per period", "Entries"]
    entries = list(book["Entries"].iter_rows(min_row=2, values_only=True))
    assert [(row[0].date(), row[3], row[8], row[10]) for row in entries] == [
        (date(2026, 1, 15), "Beta AB", 60, "yes"),
        (date(2026, 1, 31), "Acme AB", 30, "yes"),
        (date(2026, 2, 1), "Acme AB", 45, "yes"),
        (date(2026, 2, 3), "Beta AB", 90, "yes"),
        (date(2026, 2, 10), "Acme AB", 20, "no"),
    ]
    text = client.get(f"/reports/time/?{PERIOD}&export=csv").content.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(text), delimiter=";"))
    assert ["Beta AB", "2.50", "2.50", "2"] in rows


def test_query_count_does_not_grow_with_the_data(
    admin: User,
    tickets: dict[str, Ticket],
    alice: User,
    support: Queue,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    client = Client()
    client.force_login(admin)
    with django_assert_max_num_queries(12) as few:
        assert client.get(f"/reports/time/?{PERIOD}").status_code == 200
    for n in range(12):
        company = Company.objects.create(name=f"Kund {n}")
        ticket = actions.open_ticket(alice, queue=support, title=f"T{n}", company=company)
        log(alice, ticket, at(2, 1 + n, 10), 10 + n)
    with django_assert_max_num_queries(12) as many:
        assert client.get(f"/reports/time/?{PERIOD}").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)


def test_the_page_without_parameters_shows_this_year(ada_client: Client) -> None:
    with time_machine.travel(at(3, 1, 12), tick=False):
        page = ada_client.get("/reports/time/")
    assert page.status_code == 200
    body = page.content.decode()
    assert "This year (2026-01-01 – 2026-03-01)" in body
    assert "Nothing in this period." in body
