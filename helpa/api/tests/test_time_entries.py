"""Time entries through the API: logging time without a reply (tickets/actions.log_time_entry),
marking an entry billable or not and deleting it — the author or an admin, as on the ticket
page — and what another queue's, a read-only token's or a customer's request gets."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from django.utils import timezone
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.tickets import actions
from helpa.tickets.models import HistoryEntry, Queue, Ticket, TimeEntry

TICKETS = "/api/v1/tickets/"


def entries_url(ticket: Ticket, pk: int | None = None) -> str:
    return f"{TICKETS}{ticket.number}/time-entries/" + (f"{pk}/" if pk else "")


@pytest.fixture
def billing_ticket(admin: User, queue_billing: Queue) -> Ticket:
    ticket = actions.open_ticket(admin, queue=queue_billing, title="Invoice 4711 is wrong")
    actions.add_note(admin, ticket, "<p>worked</p>", time_spent_minutes=15)
    return ticket


@time_machine.travel("2026-03-10 12:00 +01:00", tick=False)
def test_time_is_logged_without_a_reply(alice, alice_api, ticket):
    response = alice_api.post(
        entries_url(ticket),
        {"minutes": 45, "billable": False, "worked_on": "2026-03-09", "note": " Call on site "},
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["minutes"], body["billable"], body["worked_on"]) == (45, False, "2026-03-09")
    assert (body["note"], body["user"], body["article"]) == ("Call on site", alice.pk, None)
    entry = TimeEntry.objects.get(pk=body["id"])
    # The ticket's queue is copied for the time report, as for time logged with a reply.
    assert entry.queue_id == ticket.queue_id
    assert ticket.articles.count() == 0
    history = HistoryEntry.objects.get(ticket=ticket, field="time_logged")
    assert (history.actor, history.new_value) == (alice, "45 min 2026-03-09")
    listed = alice_api.get(entries_url(ticket)).json()["results"]
    assert [e["id"] for e in listed] == [entry.pk]


@time_machine.travel("2026-03-10 12:00 +01:00", tick=False)
def test_the_day_defaults_to_today_and_billable_to_yes(alice_api, ticket):
    response = alice_api.post(entries_url(ticket), {"minutes": 5}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["worked_on"] == "2026-03-10" and response.json()["billable"] is True


@time_machine.travel("2026-03-10 12:00 +01:00", tick=False)
def test_bad_time_is_refused_field_by_field(alice_api, ticket):
    response = alice_api.post(
        entries_url(ticket),
        {"minutes": 0, "worked_on": "2026-03-11", "note": "x" * 201},
        format="json",
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"minutes", "worked_on", "note"}
    assert "not come yet" in errors["worked_on"][0]
    # Time is logged as its user: another agent's id is not a field.
    other = alice_api.post(entries_url(ticket), {"minutes": 5, "user": 1}, format="json")
    assert other.status_code == 400 and other.json()["errors"] == {"user": ["Unknown field."]}
    too_long = alice_api.post(entries_url(ticket), {"minutes": 7 * 24 * 60 + 1}, format="json")
    assert list(too_long.json()["errors"]) == ["minutes"]
    assert not TimeEntry.objects.exists()


def test_the_action_refuses_what_the_api_checks(alice, ticket):
    """log_time_entry holds its rules for any caller, not only for the API's serializer."""
    with pytest.raises(actions.TicketError):
        actions.log_time_entry(alice, ticket, 0)
    with pytest.raises(actions.TicketError):
        actions.log_time_entry(alice, ticket, 5, worked_on=timezone.localdate() + timedelta(1))
    assert not TimeEntry.objects.exists()


def test_another_queues_ticket_gets_no_time(alice_api, billing_ticket):
    entry = TimeEntry.objects.get(ticket=billing_ticket)
    assert alice_api.post(entries_url(billing_ticket), {"minutes": 5}).status_code == 404
    assert alice_api.get(entries_url(billing_ticket, entry.pk)).status_code == 404
    patched = alice_api.patch(entries_url(billing_ticket, entry.pk), {"billable": False})
    assert patched.status_code == 404
    assert alice_api.delete(entries_url(billing_ticket, entry.pk)).status_code == 404
    entry.refresh_from_db()
    assert entry.billable is True and TimeEntry.objects.filter(ticket=billing_ticket).count() == 1


def test_an_entry_is_found_only_under_its_own_ticket(alice, alice_api, ticket, queue_support):
    other = actions.open_ticket(alice, queue=queue_support, title="Other")
    entry = actions.log_time_entry(alice, other, 10)
    assert alice_api.get(entries_url(ticket, entry.pk)).status_code == 404
    assert alice_api.delete(entries_url(ticket, entry.pk)).status_code == 404
    assert alice_api.get(entries_url(other, entry.pk)).json()["minutes"] == 10


def test_the_author_marks_their_entry_not_billable_and_deletes_it(alice, alice_api, ticket):
    entry = actions.log_time_entry(alice, ticket, 30)
    response = alice_api.patch(entries_url(ticket, entry.pk), {"billable": False}, format="json")
    assert response.status_code == 200 and response.json()["billable"] is False
    entry.refresh_from_db()
    assert entry.billable is False
    assert HistoryEntry.objects.filter(ticket=ticket, field="time_billable").count() == 1
    bad = alice_api.patch(entries_url(ticket, entry.pk), {"billable": "maybe"}, format="json")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["billable"]
    assert alice_api.delete(entries_url(ticket, entry.pk)).status_code == 204
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()
    assert HistoryEntry.objects.filter(ticket=ticket, field="time_deleted").count() == 1


def test_a_colleagues_entry_is_theirs_to_change_or_an_admins(
    alice, alice_api, admin, api_for, ticket, team_support
):
    colleague = User.objects.create_user("cleo@example.com", "pw", role="agent")
    team_support.members.add(colleague)
    entry = actions.log_time_entry(colleague, ticket, 20)
    assert alice_api.get(entries_url(ticket, entry.pk)).status_code == 200  # she may read it
    refused = alice_api.patch(entries_url(ticket, entry.pk), {"billable": False}, format="json")
    assert refused.status_code == 403
    assert "Only the agent who logged the time" in refused.json()["detail"]
    assert alice_api.delete(entries_url(ticket, entry.pk)).status_code == 403
    entry.refresh_from_db()
    assert entry.billable is True
    by_admin = api_for(admin)
    assert by_admin.patch(entries_url(ticket, entry.pk), {"billable": False}).status_code == 200
    assert by_admin.delete(entries_url(ticket, entry.pk)).status_code == 204
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()


def test_a_read_only_token_reads_but_logs_nothing(alice, api_for, ticket):
    entry = actions.log_time_entry(alice, ticket, 30)
    client = api_for(alice, Scope.READ)
    assert client.get(entries_url(ticket, entry.pk)).status_code == 200
    assert client.post(entries_url(ticket), {"minutes": 5}).status_code == 403
    assert client.patch(entries_url(ticket, entry.pk), {"billable": False}).status_code == 403
    assert client.delete(entries_url(ticket, entry.pk)).status_code == 403
    entry.refresh_from_db()
    assert entry.billable is True and TimeEntry.objects.count() == 1


def test_anonymous_and_customers_get_nothing(alice, customer, ticket):
    entry = actions.log_time_entry(alice, ticket, 30)
    anonymous = APIClient()
    assert anonymous.post(entries_url(ticket), {"minutes": 5}).status_code == 401
    assert anonymous.delete(entries_url(ticket, entry.pk)).status_code == 401
    client = APIClient()
    client.force_login(customer)
    assert client.get(entries_url(ticket, entry.pk)).status_code == 403
    assert client.post(entries_url(ticket), {"minutes": 5}).status_code == 403
    assert TimeEntry.objects.count() == 1


def test_the_day_is_the_local_day(alice, ticket):
    # 23:30 UTC on 9 March is already 10 March in Stockholm (settings.TIME_ZONE).
    with time_machine.travel("2026-03-09 23:30 +00:00", tick=False):
        entry = actions.log_time_entry(alice, ticket, 5)
    assert entry.worked_on == date(2026, 3, 10)


def test_anonymising_the_ticket_removes_the_notes_and_keeps_the_time(alice, alice_api, ticket):
    alice_api.post(entries_url(ticket), {"minutes": 20, "note": "Call with Carl"}, format="json")
    actions.anonymise_ticket(alice, ticket)
    entry = TimeEntry.objects.get(ticket=ticket)
    assert (entry.minutes, entry.note) == (20, actions.REMOVED)
