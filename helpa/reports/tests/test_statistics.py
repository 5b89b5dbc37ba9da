"""Statistics against a hand-computed helpdesk (times in Stockholm, period March–April 2026).

    T1 Support  created Mar 2 10:00, reply 12:00, closed Mar 4 10:00, due Mar 5   (before due)
    T2 Support  created Mar 10 09:00, reply 10:00, resolved Mar 12, reopened Mar 13,
                closed Apr 2 09:00, due Mar 20                                      (after due)
    T3 Support  created Mar 29 00:30 (Mar 28 23:30 UTC, the night of the DST change), open
    T4 Support  created Mar 15, merged into T3 and closed Mar 16                    (counts nowhere)
    T5 Billing  created Apr 5 10:00, closed Apr 6 10:00                            (alice: not hers)
    T6 Billing→Support  created Apr 10, moved Apr 11, open                          (in Support)
    T7 Support  created Feb 20 10:00, reply 10:36, closed Mar 3 10:00            (opening backlog)

Admin, per month: New Mar 3 (T1 T2 T3), Apr 2 (T5 T6). Closed Mar 2 (T1 T7), Apr 2 (T2 T5).
Closed before due: Mar 1 of 1 = 100 %, Apr 0 of 1 = 0 %. Average days open: Mar (2 + 11) / 2 =
6.5; Apr (22 d 23 h + 1 d) / 2 = 12.0. Backlog: Mar 31: 2 (T2 T3), Apr 30: 2 (T3 T6).
Daily backlog: March 1+2+1 + 6×0 + 19×1 + 3×2 = 29 / 31 = 0.9; April 2 + 3×1 + 2 + 4×1 +
21×2 = 53 / 30 = 1.8. First response, March closed (T7 36 min, T1 120 min): median 78 min =
1.3 h, p90 36 + 0.9 × 84 = 111.6 min = 1.9 h. Resolution, March (T1 2 days, T7 11 days, round
the clock): median 6.5 d = 156.0 h, p90 2 + 0.9 × 9 = 10.1 d = 242.4 h.
"""

from __future__ import annotations

import csv
import io
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.urls import reverse

from helpa.accounts.models import User
from helpa.automation.models import BusinessCalendar, CalendarQueue, HolidayCountry
from helpa.reports import facts, statistics
from helpa.reports.models import FactsState, TicketFact
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PERIOD = {"period": "custom", "from": "2026-03-01", "to": "2026-04-30", "bucket": "month"}
NOW = datetime(2026, 5, 5, 12, 0, tzinfo=STOCKHOLM)


def at(m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(2026, m, d, hour, minute, tzinfo=STOCKHOLM)


def _open(who: User, queue: Queue, when: datetime, title: str, **fields) -> Ticket:
    with time_machine.travel(when, tick=False):
        return actions.open_ticket(who, queue=queue, title=title, owner=who, **fields)


def _status(who: User, ticket: Ticket, status: str, when: datetime) -> Ticket:
    with time_machine.travel(when, tick=False):
        return actions.set_status(who, ticket, status)


def _reply(who: User, ticket: Ticket, when: datetime) -> None:
    with time_machine.travel(when, tick=False):
        actions.add_reply(who, ticket, "<p>Hej!</p>")


@pytest.fixture
def desk(alice: User, admin: User, queue_support: Queue, queue_billing: Queue) -> dict:
    t1 = _open(alice, queue_support, at(3, 2, 10), "T1", due_at=at(3, 5))
    _reply(alice, t1, at(3, 2, 12))
    _status(alice, t1, "closed", at(3, 4, 10))
    t2 = _open(alice, queue_support, at(3, 10, 9), "T2", due_at=at(3, 20))
    _reply(alice, t2, at(3, 10, 10))
    t2 = _status(alice, t2, "resolved", at(3, 12, 9))
    t2 = _status(alice, t2, "open", at(3, 13, 9))
    _status(alice, t2, "closed", at(4, 2, 9))
    t3 = _open(alice, queue_support, at(3, 29, 0, 30), "T3")
    t4 = _open(alice, queue_support, at(3, 15, 9), "T4")
    _status(alice, t4, "closed", at(3, 16, 9))
    Ticket.objects.filter(pk=t4.pk).update(merged_into=t3, updated_at=at(3, 16, 9))
    t5 = _open(admin, queue_billing, at(4, 5, 10), "T5")
    _status(admin, t5, "closed", at(4, 6, 10))
    t6 = _open(admin, queue_billing, at(4, 10, 10), "T6")
    with time_machine.travel(at(4, 11, 10), tick=False):
        actions.update_ticket(admin, t6, {"queue": queue_support})
    t7 = _open(alice, queue_support, at(2, 20, 10), "T7")
    _reply(alice, t7, at(2, 20, 10, 36))
    _status(alice, t7, "closed", at(3, 3, 10))
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4, "t5": t5, "t6": t6, "t7": t7}


def _report(user: User, **params: str):
    with time_machine.travel(NOW, tick=False):
        facts.refresh()
        form, query = statistics.parse(user, {**PERIOD, **params})
        assert query is not None, form.errors
        return statistics.build(user, query)


def _chart(report, title: str):
    return next(c for c in report.charts if c.title == title)


def _series(report, title: str) -> dict[str, list]:
    return {s.name: s.values for s in _chart(report, title).series}


def _tiles(report) -> dict[str, object]:
    return {label: value for label, value, _url in report.tiles}


def test_facts_of_a_reopened_merged_and_time_zone_ticket(desk: dict) -> None:
    with time_machine.travel(NOW, tick=False):
        assert facts.refresh() == 7
    t2 = TicketFact.objects.get(ticket=desk["t2"])
    assert (t2.done_on, t2.reopen_count, t2.closed_before_due) == (date(2026, 4, 2), 1, False)
    assert t2.first_response_minutes == 60
    t3 = TicketFact.objects.get(ticket=desk["t3"])
    assert t3.created_at.astimezone(ZoneInfo("UTC")).date() == date(2026, 3, 28)
    assert (t3.created_on, t3.done_on, t3.done_at) == (date(2026, 3, 29), None, None)
    assert TicketFact.objects.get(ticket=desk["t4"]).is_merged is True
    assert TicketFact.objects.get(ticket=desk["t6"]).queue_id == desk["t3"].queue_id


def test_figures_per_month_against_the_hand_computed_desk(admin: User, desk: dict) -> None:
    report = _report(admin)
    assert _chart(report, "New and closed tickets").labels == ["2026-03", "2026-04"]
    assert _series(report, "New and closed tickets") == {"New": [3, 2], "Closed": [2, 2]}
    assert _series(report, "Closed before their due date") == {
        "% closed before due date": [100.0, 0.0]
    }
    assert _series(report, "Average days open") == {"Days": [6.5, 12.0]}
    assert _series(report, "Backlog: open tickets at the end of each period") == {"Open": [2, 2]}
    assert _series(report, "Average open tickets per month") == {"Open tickets": [0.9, 1.8]}
    first = _series(report, "First response time (business hours)")
    assert (first["Median"][0], first["90th percentile"][0]) == (1.3, 1.9)
    resolution = _series(report, "Resolution time (business hours)")
    assert (resolution["Median"][0], resolution["90th percentile"][0]) == (156.0, 242.4)
    tiles = _tiles(report)
    assert (tiles["New"], tiles["Closed"], tiles["% closed before due date"]) == (5, 4, 50.0)


def test_a_ticket_created_after_midnight_local_time_counts_on_the_local_day(
    admin: User, desk: dict
) -> None:
    report = _report(admin, **{"from": "2026-03-28", "to": "2026-03-29", "bucket": "day"})
    assert _series(report, "New and closed tickets")["New"] == [0, 1]


def test_an_agent_sees_the_figures_of_their_queues_only(alice: User, desk: dict) -> None:
    report = _report(alice)
    # T5 is in Billing; T6 was moved to Support and counts there.
    assert _series(report, "New and closed tickets") == {"New": [3, 1], "Closed": [2, 1]}


def test_a_filter_value_the_agent_may_not_see_is_a_form_error(
    client, alice: User, desk: dict, queue_billing: Queue
) -> None:
    client.force_login(alice)
    with time_machine.travel(NOW, tick=False):
        response = client.get(reverse("reports_stats:index"), {**PERIOD, "queue": queue_billing.pk})
        assert response.status_code == 400
        assert "Select a valid choice" in response.content.decode()
        response = client.get(
            reverse("reports_stats:tickets"),
            {**PERIOD, "queue": queue_billing.pk, "figure": "new"},
        )
        assert response.status_code == 400
        page = response.content.decode()
        # The title as a table cell: a bare "T5" may turn up inside the page's random CSRF token.
        assert "<td>T5</td>" not in page
        assert reverse("tickets:detail", args=[desk["t5"].number]) not in page


def test_grouped_by_queue_with_links_to_the_tickets(
    client, admin: User, desk: dict, queue_billing: Queue
) -> None:
    report = _report(admin, group="queue")
    table = report.tables[0]
    rows = {
        row[0]: [statistics.Cell.__str__(c) if hasattr(c, "url") else c for c in row[1:3]]
        for row in table.rows
    }
    assert rows == {"Billing": ["1", "1"], "Support": ["4", "3"]}
    billing_new = next(row for row in table.rows if row[0] == "Billing")[1]
    client.force_login(admin)
    with time_machine.travel(NOW, tick=False):
        page = client.get(billing_new.url).content.decode()
    # Billing's one new ticket is T5 (T6 was created there but counts in Support now).
    assert ">T5<" in page and ">T6<" not in page
    assert reverse("tickets:detail", args=[desk["t5"].number]) in page


def test_drill_down_lists_the_tickets_behind_a_figure(client, alice: User, desk: dict) -> None:
    report = _report(alice)
    closed_march = next(
        s for s in _chart(report, "New and closed tickets").series if s.name == "Closed"
    ).urls[0]
    backlog_april = (
        _chart(report, "Backlog: open tickets at the end of each period").series[0].urls[1]
    )
    client.force_login(alice)
    with time_machine.travel(NOW, tick=False):
        closed = client.get(closed_march).content.decode()
        backlog = client.get(backlog_april).content.decode()
    assert ">T1<" in closed and ">T7<" in closed and ">T2<" not in closed
    assert "2 tickets" in closed
    assert ">T3<" in backlog and ">T6<" in backlog and ">T4<" not in backlog


def test_the_page_renders_and_exports(client, admin: User, desk: dict) -> None:
    client.force_login(admin)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("reports_stats:index"), {**PERIOD, "group": "agent"})
        exported = client.get(reverse("reports_stats:index"), {**PERIOD, "export": "csv"})
        workbook = client.get(reverse("reports_stats:index"), {**PERIOD, "export": "xlsx"})
    assert page.status_code == 200
    assert "<svg" in page.content.decode() and "Alice Agent" in page.content.decode()
    rows = list(csv.reader(io.StringIO(exported.content.decode("utf-8-sig")), delimiter=";"))
    assert rows[0] == ["Per month"]
    assert rows[2][:3] == ["2026-03", "3", "2"]
    assert workbook["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_bad_date_is_a_form_error_not_a_crash(client, admin: User) -> None:
    client.force_login(admin)
    response = client.get(
        reverse("reports_stats:index"), {"period": "custom", "from": "2026-13-01", "to": "x"}
    )
    assert response.status_code == 400
    assert "Give both dates as YYYY-MM-DD." in response.content.decode()


def test_resolution_time_skips_a_swedish_holiday(admin: User, queue_support: Queue) -> None:
    """Easter 2026: Good Friday 3 April and Easter Monday 6 April are closed. Thursday 16:00 to
    Tuesday 09:00 is one hour on Thursday and one on Tuesday."""
    office = BusinessCalendar.objects.create(name="Kontor", holiday_country=HolidayCountry.SE)
    CalendarQueue.objects.create(calendar=office, queue=queue_support)
    ticket = _open(admin, queue_support, at(4, 2, 16), "Påsk")
    _status(admin, ticket, "resolved", at(4, 7, 9))
    with time_machine.travel(NOW, tick=False):
        facts.refresh()
    assert TicketFact.objects.get(ticket=ticket).resolution_minutes == 120
    report = _report(admin, **{"from": "2026-04-01", "to": "2026-04-30"})
    assert _series(report, "Resolution time (business hours)")["Median"] == [2.0]


def test_refresh_is_incremental_and_idempotent(admin: User, queue_support: Queue) -> None:
    ticket = _open(admin, queue_support, at(3, 2, 10), "One")
    with time_machine.travel(at(3, 2, 11), tick=False):
        assert facts.refresh() == 1
        assert facts.refresh() == 1  # within the overlap: read again, same row
    assert FactsState.objects.get().watermark == at(3, 2, 10)
    with time_machine.travel(at(3, 3, 12), tick=False):
        # Nothing changed since: only the overlap before the watermark is read again.
        assert facts.refresh() == 1
    assert FactsState.objects.get().watermark == at(3, 2, 10)
    _status(admin, ticket, "closed", at(3, 3, 13))
    with time_machine.travel(at(3, 3, 14), tick=False):
        assert facts.refresh() == 1
    assert TicketFact.objects.get().done_on == date(2026, 3, 3)
    ticket.delete()
    assert not TicketFact.objects.exists()


def test_merging_contacts_moves_the_tickets_updated_at(admin: User, queue_support: Queue) -> None:
    """The facts of a changed ticket are read again only when its updated_at moves."""
    from helpa.crm.models import Contact
    from helpa.tickets.contact_actions import merge_contacts

    keep = Contact.objects.create(name="Keep", email="keep@example.com")
    drop = Contact.objects.create(name="Drop", email="drop@example.com")
    ticket = _open(admin, queue_support, at(3, 2, 10), "One", contact=drop)
    with time_machine.travel(at(3, 5, 10), tick=False):
        merge_contacts(admin, keep, drop)
    ticket.refresh_from_db()
    assert (ticket.contact_id, ticket.updated_at) == (keep.pk, at(3, 5, 10))


@pytest.mark.parametrize("count", [2, 30])
def test_the_page_needs_the_same_queries_whatever_the_data(
    client, admin: User, queue_support: Queue, django_assert_max_num_queries, count: int
) -> None:
    for n in range(count):
        ticket = _open(admin, queue_support, at(1 + n % 4, 1 + n % 27, 10), f"T{n}")
        if n % 2:
            _reply(admin, ticket, at(1 + n % 4, 1 + n % 27, 11))
            _status(admin, ticket, "closed", at(1 + n % 4, 2 + n % 27, 10))
    client.force_login(admin)
    with time_machine.travel(NOW, tick=False):
        facts.refresh()
        for group in ("none", "queue"):
            with django_assert_max_num_queries(26):
                response = client.get(
                    reverse("reports_stats:index"),
                    {"period": "last_12_months", "group": group, "bucket": "week"},
                )
            assert response.status_code == 200


def test_customers_may_not_see_statistics(client, customer: User) -> None:
    client.force_login(customer)
    assert client.get(reverse("reports_stats:index")).status_code == 403
    assert client.get(reverse("reports_stats:tickets"), {"figure": "new"}).status_code == 403


def test_an_agent_without_queues_counts_nothing_and_lists_nothing(
    client, bob_agent: User, desk: dict
) -> None:
    report = _report(bob_agent)
    assert _series(report, "New and closed tickets") == {"New": [0, 0], "Closed": [0, 0]}
    client.force_login(bob_agent)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("reports_stats:tickets"), {**PERIOD, "figure": "new"})
    assert page.status_code == 200 and "0 tickets" in page.content.decode()


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"figure": "everything"}, "Unknown figure."),
        ({"figure": "new", "on": "2026-02-30"}, "Give the day as YYYY-MM-DD."),
    ],
)
def test_a_drill_down_the_page_never_links_to_is_a_clear_error(
    client, admin: User, params: dict, message: str
) -> None:
    client.force_login(admin)
    response = client.get(reverse("reports_stats:tickets"), {**PERIOD, **params})
    assert response.status_code == 400
    assert message in response.content.decode()


def test_subscriptions_build_the_report_from_the_same_parameters(admin: User, desk: dict) -> None:
    from django.http import QueryDict

    from helpa.reports.report import REPORTS

    kind = REPORTS["statistics"]
    assert kind.url_name == "reports_stats:index"
    with time_machine.travel(NOW, tick=False):
        facts.refresh()
        report = kind.build(admin, QueryDict("period=last_month&bucket=week"))
    # Last month from 5 May is April: T5 and T6 created, T2 and T5 closed.
    tiles = _tiles(report)
    assert (tiles["New"], tiles["Closed"]) == (2, 2)
    assert report.description.startswith("Last month (2026-04-01 – 2026-04-30)")


def test_the_first_visit_shows_the_last_12_months_per_month(client, admin: User) -> None:
    client.force_login(admin)
    with time_machine.travel(NOW, tick=False):
        page = client.get(reverse("reports_stats:index")).content.decode()
    assert '<option value="last_12_months" selected>' in page
    assert '<option value="month" selected>' in page
    assert "Last 12 months (2025-06-01 – 2026-05-05)" in page


def test_the_description_names_the_filters_in_words(admin: User, queue_support: Queue) -> None:
    form, query = statistics.parse(
        admin, {**PERIOD, "queue": str(queue_support.pk), "priority": "3", "channel": "email"}
    )
    assert query is not None, form.errors
    assert statistics.describe(query) == (
        "2026-03-01 – 2026-04-30 · Queue: Support · Priority: High · Channel: E-mail"
    )
