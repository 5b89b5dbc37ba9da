"""The SLA report against a hand-computed fixture.

One policy, round the clock (no calendar): first response within 60 minutes, resolution within
8 hours. Four tickets opened Monday 2 March 2026 at 09:00 Stockholm time (first response due
10:00, resolution due 17:00):

- T1 Support: replied 09:30, closed 12:00 — both met.
- T2 Support: never answered; the worker records both breaches — still open.
- T3 Support: first response breached (worker at 10:05), replied 10:30 — met late; closed 11:00:
  resolution met.
- T4 Billing: Bob replies 09:45 — met; resolution breached (worker at 17:05), still open.

By queue: Support first response 1 of 3 (33.3 %), resolution 2 of 3 (66.7 %); Billing first
response 1 of 1 (100 %), resolution 0 of 1 (0 %). In all: 2 of 4 each, 4 breaches.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.http import QueryDict
from django.test import Client

from helpa.accounts.models import User
from helpa.automation import sla
from helpa.automation.models import SLAOutcome, SLAPolicy, SLATarget
from helpa.reports import slareport
from helpa.reports.report import Report, plain
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

STOCKHOLM = ZoneInfo("Europe/Stockholm")
PERIOD = "period=custom&from=2026-03-02&to=2026-03-02"


def at(hour: int, minute: int = 0, day: int = 2) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=STOCKHOLM)


@pytest.fixture
def tickets(alice: User, bob: User, support: Queue, billing: Queue) -> dict[str, Ticket]:
    SLAPolicy.objects.create(
        name="Standard", position=1, first_response_minutes=60, resolution_minutes=8 * 60
    )
    sla.forget()
    with time_machine.travel(at(9), tick=False):
        t1, t2, t3 = (
            actions.open_ticket(alice, queue=support, title=f"T{n}", owner=alice) for n in (1, 2, 3)
        )
        t4 = actions.open_ticket(bob, queue=billing, title="T4", owner=bob)
    with time_machine.travel(at(9, 30), tick=False):
        actions.add_reply(alice, t1, "<p>On it.</p>")
    with time_machine.travel(at(9, 45), tick=False):
        actions.add_reply(bob, t4, "<p>On it.</p>")
    with time_machine.travel(at(10, 5), tick=False):
        sla.check()
    with time_machine.travel(at(10, 30), tick=False):
        actions.add_reply(alice, t3, "<p>Sorry for the wait.</p>")
    with time_machine.travel(at(11), tick=False):
        actions.close_ticket(alice, Ticket.objects.get(pk=t3.pk))
    with time_machine.travel(at(12), tick=False):
        actions.close_ticket(alice, Ticket.objects.get(pk=t1.pk))
    with time_machine.travel(at(17, 5), tick=False):
        sla.check()
    return {"t1": t1, "t2": t2, "t3": t3, "t4": t4}


def _report(user: User, query: str) -> Report:
    return slareport.sla_report(user, QueryDict(query))


def test_outcomes_are_recorded_where_targets_end(tickets: dict[str, Ticket]) -> None:
    rows = {
        (o.ticket.title, o.target): (o.met_at, o.breached, o.is_met)
        for o in SLAOutcome.objects.select_related("ticket")
    }
    fr, res = SLATarget.FIRST_RESPONSE, SLATarget.RESOLUTION
    assert rows == {
        ("T1", fr): (at(9, 30), False, True),
        ("T1", res): (at(12), False, True),
        ("T2", fr): (None, True, False),
        ("T2", res): (None, True, False),
        ("T3", fr): (at(10, 30), True, False),
        ("T3", res): (at(11), False, True),
        ("T4", fr): (at(9, 45), False, True),
        ("T4", res): (None, True, False),
    }


def test_share_met_per_queue(admin: User, tickets: dict[str, Ticket]) -> None:
    report = _report(admin, PERIOD + "&group=queue")
    summary, breaches = report.tables
    assert [[plain(v) for v in row] for row in summary.rows] == [
        ["Support", 3, 1, 33.3, 3, 2, 66.7],
        ["Billing", 1, 1, 100.0, 1, 0, 0.0],
    ]
    assert [(label, value) for label, value, _url in report.tiles] == [
        ("First responses met (%)", 50.0),
        ("Resolutions met (%)", 50.0),
        ("Breaches", 4),
    ]
    # Newest due first: the resolutions (17:00), then the first responses (10:00).
    listed = [(plain(r[0]), r[3], r[5]) for r in breaches.rows]
    t2, t3, t4 = (f"#{tickets[k].number}" for k in ("t2", "t3", "t4"))
    assert sorted(listed[:2]) == sorted(
        [(t2, "Resolution", "still open"), (t4, "Resolution", "still open")]
    )
    assert sorted(listed[2:], key=str) == sorted(
        [(t2, "First response", "still open"), (t3, "First response", at(10, 30))], key=str
    )


def test_per_agent_and_team_and_brand(admin: User, tickets: dict[str, Ticket]) -> None:
    by_agent = _report(admin, PERIOD + "&group=agent")
    assert [[plain(v) for v in row][:4] for row in by_agent.tables[0].rows] == [
        ["Alice Agent", 3, 1, 33.3],
        [str(tickets["t4"].owner), 1, 1, 100.0],
    ]
    by_brand = _report(admin, PERIOD + "&group=brand")
    assert [plain(v) for v in by_brand.tables[0].rows[0]] == ["(no brand)", 4, 2, 50.0, 4, 2, 50.0]


def test_a_period_before_the_due_times_counts_nothing(
    admin: User, tickets: dict[str, Ticket]
) -> None:
    report = _report(admin, "period=custom&from=2026-03-01&to=2026-03-01")
    assert report.tables[0].rows == [] and report.tables[1].rows == []


def test_an_agent_sees_their_queues_only(
    alice_client: Client, tickets: dict[str, Ticket], billing: Queue
) -> None:
    page = alice_client.get("/reports/sla/?" + PERIOD)
    assert page.status_code == 200
    body = page.content.decode()
    assert "33.3" in body and "66.7" in body
    assert "<td>Support</td>" in body
    assert f"#{tickets['t4'].number}" not in body and "<td>Billing</td>" not in body
    assert alice_client.get(f"/reports/sla/?{PERIOD}&queue={billing.pk}").status_code == 400


def test_bad_input_and_strangers(
    ada_client: Client, carl_client: Client, tickets: dict[str, Ticket]
) -> None:
    page = ada_client.get("/reports/sla/?period=custom&from=2026-03-05&to=2026-03-01")
    assert page.status_code == 400
    assert "The period ends before it begins." in page.content.decode()
    assert carl_client.get("/reports/sla/").status_code == 403


def test_export_and_query_count(
    ada_client: Client,
    tickets: dict[str, Ticket],
    alice: User,
    support: Queue,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    text = ada_client.get(f"/reports/sla/?{PERIOD}&export=csv").content.decode("utf-8-sig")
    assert "Support;3;1;33.3;3;2;66.7" in text
    with django_assert_max_num_queries(10) as few:
        assert ada_client.get(f"/reports/sla/?{PERIOD}").status_code == 200
    with time_machine.travel(at(9), tick=False):
        for n in range(10):
            actions.open_ticket(alice, queue=support, title=f"More {n}", owner=alice)
    with time_machine.travel(at(17, 10), tick=False):
        sla.check()
    with django_assert_max_num_queries(10) as many:
        assert ada_client.get(f"/reports/sla/?{PERIOD}").status_code == 200
    assert len(many.captured_queries) == len(few.captured_queries)
