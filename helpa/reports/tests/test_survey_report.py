"""The satisfaction report against a hand-computed fixture, its scope per agent, its filters,
exports and query count.

The fixture (answers in March and April 2026, Stockholm time):

    queue    month  CSAT  NPS   comment
    Support  March  5     10    "Great"
    Support  March  4     9
    Support  March  2     6     "Slow"
    Support  March  3     8
    Support  April  5     0     "=cmd|' /C calc'!A0"   (a formula: exported as text)
    Billing  March  1     0     "Billing was rude"

plus two unanswered invitations in Support in March.

Admin (all queues), March–April: CSAT 5,4,2,3,5,1 → 3 of 6 satisfied = 50 %, average 20/6 =
3.33; NPS 10,9,6,8,0,0 → 2 promoters, 3 detractors: (2 − 3)/6 = −16.7; 8 invitations, 6
answered = 75 %.
Alice (Support only): CSAT 5,4,2,3,5 → 3/5 = 60 %, average 19/5 = 3.8; NPS 10,9,6,8,0 → 2 − 2
= 0; 7 invitations, 5 answered = 71.4 %. March alone: CSAT 2/4 = 50 %, NPS (2 − 1)/4 = 25.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from itertools import count

import pytest
from django.http import QueryDict
from django.test import Client
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Brand
from helpa.reports.models.surveys import SurveyAnswer, SurveyInvitation
from helpa.reports.report import plain
from helpa.reports.survey_report import csat_between, survey_report
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

PERIOD = "period=custom&from=2026-03-01&to=2026-04-30"
_numbers = count(1)


def at(month: int, day: int, hour: int = 12) -> datetime:
    return timezone.make_aware(datetime(2026, month, day, hour))


def answered(
    ticket: Ticket,
    when: datetime,
    csat: int | None,
    nps: int | None,
    comment: str = "",
    **where: object,
) -> SurveyAnswer:
    invitation = SurveyInvitation.objects.create(
        ticket=ticket,
        queue_id=ticket.queue_id,
        address="x@example.com",
        token_hash=f"{next(_numbers):064d}",
        created_at=when,
        answered_at=when,
    )
    fields = {"agent_id": ticket.owner_id, "queue_id": ticket.queue_id, **where}
    return SurveyAnswer.objects.create(
        invitation=invitation,
        ticket=ticket,
        csat=csat,
        nps=nps,
        comment=comment,
        answered_at=when,
        **fields,
    )


def new_ticket(agent: User, queue: Queue) -> Ticket:
    return actions.open_ticket(agent, queue=queue, title="Survey fixture", owner=agent)


@pytest.fixture
def fixture(alice: User, admin: User, support: Queue, billing: Queue, team_support) -> Brand:
    brand = Brand.objects.create(code="ACME", name="Acme")
    rows = [
        (3, 2, 5, 10, "Great"),
        (3, 3, 4, 9, ""),
        (3, 4, 2, 6, "Slow"),
        (3, 5, 3, 8, ""),
        (4, 2, 5, 0, "=cmd|' /C calc'!A0"),
    ]
    for month, day, csat, nps, comment in rows:
        answered(
            new_ticket(alice, support),
            at(month, day),
            csat,
            nps,
            comment,
            team_id=team_support.pk,
            brand_id=brand.pk,
        )
    answered(new_ticket(admin, billing), at(3, 6), 1, 0, "Billing was rude")
    for day in (7, 8):
        SurveyInvitation.objects.create(
            ticket=new_ticket(alice, support),
            queue=support,
            address="y@example.com",
            token_hash=f"{next(_numbers):064d}",
            created_at=at(3, day),
        )
    # Outside the period: counts nowhere.
    answered(new_ticket(alice, support), at(5, 1), 1, 0, "May")
    return brand


def figures(user: User, query: str = PERIOD) -> dict[str, object]:
    report = survey_report(user, QueryDict(query))
    return {label: value for label, value, _url in report.tiles}


def table(user: User, title: str, query: str = PERIOD) -> list[list[object]]:
    report = survey_report(user, QueryDict(query))
    [found] = [t for t in report.tables if t.title == title]
    return [[plain(v) for v in row] for row in found.rows]


def test_admin_figures_by_hand(fixture, admin) -> None:
    assert figures(admin) == {
        "Answers": 6,
        "CSAT, % satisfied (4–5)": 50.0,
        "Average CSAT (1–5)": 3.33,
        "NPS": -16.7,
        "Response rate, %": 75.0,
    }


def test_an_agent_sees_the_answers_of_their_queues_only(fixture, alice) -> None:
    assert figures(alice) == {
        "Answers": 5,
        "CSAT, % satisfied (4–5)": 60.0,
        "Average CSAT (1–5)": 3.8,
        "NPS": 0.0,
        "Response rate, %": 71.4,
    }
    comments = [row[-1] for row in table(alice, "Comments")]
    assert comments == ["=cmd|' /C calc'!A0", "Slow", "Great"]  # newest first
    assert "Billing was rude" not in str(table(alice, "Per agent"))


def test_an_agent_in_no_team_sees_nothing(fixture, bob_agent) -> None:
    assert figures(bob_agent)["Answers"] == 0


def test_over_time_by_month_and_per_agent_team_brand(fixture, admin, alice) -> None:
    assert table(alice, "Over time") == [
        ["2026-03", 4, 50.0, 3.5, 25.0],
        ["2026-04", 1, 100.0, 5.0, -100.0],
    ]
    assert table(admin, "Per agent") == [
        ["Ada Admin", 1, 0.0, 1.0, -100.0],
        ["Alice Agent", 5, 60.0, 3.8, 0.0],
    ]
    assert table(admin, "Per team") == [
        ["Support team", 5, 60.0, 3.8, 0.0],
        ["–", 1, 0.0, 1.0, -100.0],
    ]
    assert table(admin, "Per brand") == [["Acme", 5, 60.0, 3.8, 0.0], ["–", 1, 0.0, 1.0, -100.0]]


def test_by_week(fixture, alice) -> None:
    # 2 March 2026 is a Monday: 2–5 March are week 10, 2 April week 14.
    rows = table(alice, "Over time", PERIOD + "&by=week")
    assert [row[:2] for row in rows] == [["2026-W10", 4], ["2026-W14", 1]]


def test_filters_queue_agent_brand(fixture, admin, support, billing, alice) -> None:
    assert figures(admin, f"{PERIOD}&queue={billing.pk}")["Answers"] == 1
    assert figures(admin, f"{PERIOD}&agent={alice.pk}")["Answers"] == 5
    assert figures(admin, f"{PERIOD}&brand={fixture.pk}")["Answers"] == 5
    march = figures(admin, "period=custom&from=2026-03-01&to=2026-03-31")
    assert march["CSAT, % satisfied (4–5)"] == 40.0 and march["NPS"] == 0.0


def test_csat_between_for_the_dashboard(fixture, admin, alice) -> None:
    assert csat_between(alice, at(3, 1, 0), at(4, 1, 0)) == (4, 50.0)
    assert csat_between(admin, at(3, 1, 0), at(4, 1, 0)) == (5, 40.0)
    assert csat_between(alice, at(1, 1, 0), at(2, 1, 0)) == (0, None)


# --- The page -------------------------------------------------------------------------------


def test_the_page_shows_the_figures_and_comments(fixture, agent_client) -> None:
    page = agent_client.get(f"/reports/surveys/?{PERIOD}")
    assert page.status_code == 200
    text = page.content.decode()
    assert "Customer satisfaction" in text and "<svg" in text
    assert "Slow" in text and "Great" in text and "Billing was rude" not in text
    assert "71.4" in text


def test_comments_are_paginated_newest_first(alice, support, agent_client) -> None:
    for day in range(1, 31):
        answered(new_ticket(alice, support), at(3, day), 5, None, f"Comment of day {day:02d}")
    first = agent_client.get(f"/reports/surveys/?{PERIOD}").content.decode()
    assert "Comment of day 30" in first and "Comment of day 06" in first
    assert "Comment of day 05" not in first
    second = agent_client.get(f"/reports/surveys/?{PERIOD}&page=2").content.decode()
    assert "Comment of day 05" in second and "Comment of day 06" not in second


def test_bad_filters_are_form_errors(fixture, agent_client, billing) -> None:
    bad_date = agent_client.get("/reports/surveys/?period=custom&from=2026-13-01&to=2026-03-01")
    assert bad_date.status_code == 400
    assert b"YYYY-MM-DD" in bad_date.content
    # A queue outside the agent's teams cannot be chosen (and shows nothing of it).
    other = agent_client.get(f"/reports/surveys/?{PERIOD}&queue={billing.pk}")
    assert other.status_code == 400 and b"Select a valid choice" in other.content
    assert b"Billing was rude" not in other.content
    assert agent_client.get(f"/reports/surveys/?{PERIOD}&agent=abc").status_code == 400


def test_who_may_see_the_report(fixture, customer) -> None:
    assert Client().get("/reports/surveys/").status_code == 302
    client = Client()
    client.force_login(customer)
    assert client.get("/reports/surveys/").status_code == 403


def test_export_csv_escapes_formulas_and_keeps_the_scope(fixture, agent_client) -> None:
    response = agent_client.get(f"/reports/surveys/?{PERIOD}&export=csv")
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig")), delimiter=";"))
    flat = [cell for row in rows for cell in row]
    assert "'=cmd|' /C calc'!A0" in flat
    assert "Billing was rude" not in flat
    xlsx = agent_client.get(f"/reports/surveys/?{PERIOD}&export=xlsx")
    assert xlsx.status_code == 200 and xlsx.content[:2] == b"PK"


def test_the_query_count_does_not_grow_with_the_data(
    fixture, alice, support, agent_client, django_assert_max_num_queries
) -> None:
    with django_assert_max_num_queries(16):
        small = agent_client.get(f"/reports/surveys/?{PERIOD}")
    for day in range(1, 29):
        answered(new_ticket(alice, support), at(3, day), 4, 9, f"More {day}")
    with django_assert_max_num_queries(16):
        large = agent_client.get(f"/reports/surveys/?{PERIOD}")
    assert small.status_code == large.status_code == 200
    with django_assert_max_num_queries(14):
        agent_client.get(f"/reports/surveys/?{PERIOD}&export=xlsx")


def test_the_period_menu_shows_the_period_the_report_covers(agent_client) -> None:
    page = agent_client.get("/reports/surveys/").content.decode()
    assert '<option value="last_12_months" selected>' in page
    custom = agent_client.get("/reports/surveys/?from=2026-03-01&to=2026-03-31").content.decode()
    assert '<option value="custom" selected>' in custom
    assert 'value="2026-03-01"' in custom
