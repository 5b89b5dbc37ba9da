"""The dashboard's tiles count what the agent may see, now."""

from __future__ import annotations

from datetime import timedelta

from django.test import Client
from django.utils import timezone

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status, Ticket


def _open(agent: User, queue: Queue, title: str, **fields) -> Ticket:  # type: ignore[no-untyped-def]
    return actions.open_ticket(agent, queue=queue, title=title, **fields)


def test_tiles_count_the_agents_queues_only(
    alice: User,
    bob: User,
    support: Queue,
    billing: Queue,
    alice_client: Client,
    django_assert_max_num_queries,  # type: ignore[no-untyped-def]
) -> None:
    now = timezone.now()
    _open(alice, support, "Unassigned one")
    _open(
        alice,
        support,
        "Overdue one",
        owner=alice,
        status=Status.OPEN,
        due_at=now - timedelta(hours=1),
    )
    at_risk = _open(alice, support, "At risk", owner=alice, status=Status.OPEN)
    breached = _open(alice, support, "Breached", owner=alice, status=Status.OPEN)
    Ticket.objects.filter(pk=at_risk.pk).update(
        sla_warning_at=now - timedelta(minutes=5), sla_due_at=now + timedelta(minutes=25)
    )
    Ticket.objects.filter(pk=breached.pk).update(
        sla_warning_at=now - timedelta(hours=2), sla_due_at=now - timedelta(hours=1)
    )
    done = _open(alice, support, "Done", owner=alice, status=Status.OPEN)
    actions.set_status(alice, done, Status.CLOSED)
    _open(bob, billing, "Bob's own, not Alice's")  # another queue: never counted for Alice

    with django_assert_max_num_queries(40):
        response = alice_client.get("/reports/")
    assert response.status_code == 200
    tiles = {str(label): value for label, value, _url in response.context["report"].tiles}
    assert tiles == {
        "New today": 5,  # Bob's ticket is in a queue Alice does not work
        "Open": 4,
        "Unassigned": 1,
        "Overdue": 1,
        "SLA at risk": 1,
        "SLA breached": 1,
        "CSAT this week": "–",
    }
    new_and_closed, backlog, chart = response.context["report"].charts
    assert new_and_closed.series[0].values[-1] == 5 and new_and_closed.series[1].values[-1] == 1
    assert len(new_and_closed.labels) == 7
    assert backlog.series[0].values[-1] == 4
    assert chart.labels == ["Support"]
    assert [s.values for s in chart.series] == [[3], [1]]


def test_the_at_risk_tile_opens_the_list_behind_it(
    alice: User, support: Queue, alice_client: Client
) -> None:
    now = timezone.now()
    at_risk = _open(alice, support, "At risk", owner=alice, status=Status.OPEN)
    _open(alice, support, "Calm", owner=alice, status=Status.OPEN)
    Ticket.objects.filter(pk=at_risk.pk).update(
        sla_warning_at=now - timedelta(minutes=5), sla_due_at=now + timedelta(minutes=25)
    )
    response = alice_client.get("/tickets/?view=sla_at_risk")
    assert response.status_code == 200
    assert "At risk" in response.content.decode() and "Calm" not in response.content.decode()


def test_customers_get_no_dashboard(carl_client: Client) -> None:
    assert carl_client.get("/reports/").status_code == 403
