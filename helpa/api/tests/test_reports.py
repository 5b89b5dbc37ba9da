"""Report figures through the API: the registered reports, one report's tiles, charts and tables
for the report page's query parameters, counting only the queues its reader may open (as the
pages do), the page's messages for parameters it cannot use, and a bounded number of queries."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.reports.report import REPORTS
from helpa.tickets import actions
from helpa.tickets.models import Queue

REPORTS_URL = "/api/v1/reports/"


@pytest.fixture
def work(alice: User, admin: User, queue_support: Queue, queue_billing: Queue) -> None:
    """Alice's queue: 3 tickets with 30 minutes each; Billing (not hers): 1 with 2 hours."""
    for i in range(3):
        ticket = actions.open_ticket(alice, queue=queue_support, title=f"Support {i}")
        actions.log_time_entry(alice, ticket, 30)
    theirs = actions.open_ticket(admin, queue=queue_billing, title="Invoice")
    actions.log_time_entry(admin, theirs, 120)


def tiles(body: dict) -> dict[str, object]:  # type: ignore[type-arg]
    return {tile["label"]: tile["value"] for tile in body["tiles"]}


def test_the_reports_are_listed(alice_api):
    response = alice_api.get(REPORTS_URL)
    assert response.status_code == 200
    listed = response.json()
    assert sorted(r["key"] for r in listed) == sorted(REPORTS)
    statistics = next(r for r in listed if r["key"] == "statistics")
    assert statistics["title"] == "Statistics"
    assert statistics["url"] == f"http://testserver{REPORTS_URL}statistics/"
    assert alice_api.get(statistics["url"]).status_code == 200


def test_statistics_count_only_the_readers_queues(alice_api, admin, api_for, work):
    mine = alice_api.get(f"{REPORTS_URL}statistics/")
    assert mine.status_code == 200, mine.json()
    body = mine.json()
    assert body["key"] == "statistics" and body["title"] == "Statistics"
    assert tiles(body)["New"] == 3
    new = next(s for s in body["charts"][0]["series"] if s["name"] == "New")
    assert sum(new["values"]) == 3 and len(new["values"]) == len(body["charts"][0]["labels"])
    assert tiles(api_for(admin).get(f"{REPORTS_URL}statistics/").json())["New"] == 4


def test_the_time_report_sums_the_readers_queues(alice_api, admin, api_for, work, queue_support):
    body = alice_api.get(f"{REPORTS_URL}time/?group=queue").json()
    assert tiles(body) == {"Hours": 1.5, "Billable hours": 1.5, "Entries": 3}
    table = body["tables"][0]
    assert table["columns"][:2] == ["Queue", "Hours"]
    assert table["rows"] == [["Support", 1.5, 1.5, 3]]
    everything = api_for(admin).get(f"{REPORTS_URL}time/?group=queue").json()
    assert tiles(everything)["Hours"] == 3.5


def test_another_queue_cannot_be_asked_for(alice_api, queue_billing, work):
    """A queue the reader does not work is not a choice, as on the page: 400, not its figures."""
    for name in ("statistics", "time", "sla", "surveys"):
        response = alice_api.get(f"{REPORTS_URL}{name}/?queue={queue_billing.pk}")
        assert response.status_code == 400, name
        assert list(response.json()["errors"]) == ["queue"], name


def test_parameters_a_report_cannot_use_get_its_messages(alice_api):
    response = alice_api.get(f"{REPORTS_URL}time/?group=colour")
    assert response.status_code == 400
    assert response.json()["code"] == "invalid"
    assert list(response.json()["errors"]) == ["group"]
    backwards = alice_api.get(f"{REPORTS_URL}statistics/?from=2026-02-01&to=2026-01-01")
    assert backwards.json()["errors"] == {"non_field_errors": ["The period ends before it begins."]}
    assert alice_api.get(f"{REPORTS_URL}sla/?period=soon").json()["errors"] == {
        "period": ["Unknown period."]
    }


def test_an_unknown_report_is_404(alice_api):
    response = alice_api.get(f"{REPORTS_URL}payroll/")
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_reports_are_for_agents_and_read_only(alice, customer, api_for, work):
    read_only = api_for(alice, Scope.READ)
    assert read_only.get(f"{REPORTS_URL}time/").status_code == 200
    assert read_only.post(f"{REPORTS_URL}time/", {}).status_code == 403
    assert api_for(alice).post(f"{REPORTS_URL}time/", {}).status_code == 405
    assert APIClient().get(REPORTS_URL).status_code == 401
    assert APIClient().get(f"{REPORTS_URL}statistics/").status_code == 401
    as_customer = APIClient()
    as_customer.force_login(customer)
    assert as_customer.get(f"{REPORTS_URL}statistics/").status_code == 403


# Each report's queries (token and user included), whatever the number of tickets: aggregates,
# never a query per ticket or entry. Not counted: PostgreSQL's `SET LOCAL work_mem` for a large
# aggregate and the savepoint around it (statements about the query, not queries of data).
QUERIES = {"statistics": 8, "time": 4, "sla": 6, "surveys": 9}
NOT_DATA = ("SAVEPOINT", "RELEASE SAVEPOINT", "SET LOCAL")


def test_every_report_has_a_query_budget():
    assert set(QUERIES) == set(REPORTS)


@pytest.mark.parametrize("count", [2, 20])
@pytest.mark.parametrize("name", sorted(QUERIES))
def test_a_report_costs_a_bounded_number_of_queries(alice, alice_api, queue_support, name, count):
    for i in range(count):
        ticket = actions.open_ticket(alice, queue=queue_support, title=f"T{i}")
        actions.log_time_entry(alice, ticket, 10 + i)
    alice_api.get(f"{REPORTS_URL}{name}/")  # the statistics' facts catch up once
    with CaptureQueriesContext(connection) as captured:
        response = alice_api.get(f"{REPORTS_URL}{name}/?period=this_year")
    assert response.status_code == 200, response.json()
    data_queries = [
        q["sql"] for q in captured.captured_queries if not q["sql"].startswith(NOT_DATA)
    ]
    assert len(data_queries) <= QUERIES[name], data_queries
