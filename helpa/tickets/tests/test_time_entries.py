"""Time entries: written with the time spent on an article, billable or not, changed by their
author or an admin, following their ticket's company, queue and category."""

from __future__ import annotations

from datetime import date, datetime
from importlib import import_module
from zoneinfo import ZoneInfo

import time_machine
from django.apps import apps
from django.test import Client

from helpa.accounts.models import User
from helpa.crm.models import Company
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Category,
    HistoryEntry,
    Queue,
    Ticket,
    TimeEntry,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")


def test_the_composer_logs_billable_time_by_default(agent_client: Client, ticket: Ticket) -> None:
    url = f"/t/{ticket.number}/post/"
    # The checkbox ticked: the hidden "0" and the box's "1"; the last one counts.
    agent_client.post(
        url, {"kind": "note", "body": "a", "time_spent_minutes": "15", "billable": ["0", "1"]}
    )
    agent_client.post(
        url, {"kind": "note", "body": "b", "time_spent_minutes": "25", "billable": "0"}
    )
    agent_client.post(url, {"kind": "reply", "body": "c", "time_spent_minutes": "5"})
    agent_client.post(url, {"kind": "note", "body": "d"})  # no time, no entry
    entries = TimeEntry.objects.filter(ticket=ticket).order_by("id")
    assert [(e.minutes, e.billable, e.article.body_text) for e in entries] == [
        (15, True, "a"),
        (25, False, "b"),
        (5, True, "c"),
    ]
    page = agent_client.get(f"/t/{ticket.number}/").content.decode()
    assert "Total: 45 min · billable: 20 min" in page


def test_an_entry_is_dated_the_local_day(alice: User, ticket: Ticket) -> None:
    # 00:30 on 1 March in Stockholm is still 28 February in UTC.
    with time_machine.travel(datetime(2026, 3, 1, 0, 30, tzinfo=STOCKHOLM), tick=False):
        actions.add_note(alice, ticket, "<p>night shift</p>", time_spent_minutes=40)
    entry = TimeEntry.objects.get(ticket=ticket)
    assert entry.worked_on == date(2026, 3, 1)
    assert (entry.user, entry.queue_id, entry.company_id) == (alice, ticket.queue_id, None)


def test_entries_follow_their_ticket(alice: User, ticket: Ticket, support: Queue) -> None:
    actions.add_note(alice, ticket, "<p>x</p>", time_spent_minutes=30)
    other_queue = Queue.objects.create(name="Field", slug="field")
    acme = Company.objects.create(name="Acme AB")
    printers = Category.objects.create(name="Printers")
    actions.update_ticket(
        alice, ticket, {"company": acme, "queue": other_queue, "category": printers}
    )
    entry = TimeEntry.objects.get(ticket=ticket)
    assert (entry.queue_id, entry.company_id, entry.category_id) == (
        other_queue.pk,
        acme.pk,
        printers.pk,
    )


def _entry(alice: User, ticket: Ticket, minutes: int = 30) -> TimeEntry:
    actions.add_note(alice, ticket, "<p>x</p>", time_spent_minutes=minutes)
    return TimeEntry.objects.filter(ticket=ticket).latest("id")


def test_the_author_marks_an_entry_not_billable(
    agent_client: Client, alice: User, ticket: Ticket
) -> None:
    entry = _entry(alice, ticket)
    response = agent_client.post(f"/t/{ticket.number}/time/{entry.pk}/billable/", {"billable": "0"})
    assert response.status_code == 302
    entry.refresh_from_db()
    assert entry.billable is False
    change = HistoryEntry.objects.filter(ticket=ticket, field="time_billable").get()
    assert (change.actor, change.new_value) == (alice, f"30 min {entry.worked_on}: False")


def test_a_colleague_may_not_change_anothers_entry_but_an_admin_may(
    alice: User, ticket: Ticket, ada_client: Client, team_support
) -> None:
    entry = _entry(alice, ticket)
    colleague = User.objects.create_user("cleo@example.com", "pw", role="agent")
    team_support.members.add(colleague)
    client = Client()
    client.force_login(colleague)
    assert client.post(f"/t/{ticket.number}/time/{entry.pk}/delete/").status_code == 403
    assert client.post(f"/t/{ticket.number}/time/{entry.pk}/billable/").status_code == 403
    assert TimeEntry.objects.filter(pk=entry.pk, billable=True).exists()
    assert ada_client.post(f"/t/{ticket.number}/time/{entry.pk}/delete/").status_code == 302
    assert not TimeEntry.objects.filter(pk=entry.pk).exists()
    assert HistoryEntry.objects.filter(ticket=ticket, field="time_deleted").count() == 1


def test_entries_are_404_outside_the_agents_queues_and_on_another_ticket(
    alice: User, ticket: Ticket, bob_client: Client, agent_client: Client, support: Queue
) -> None:
    entry = _entry(alice, ticket)
    assert bob_client.post(f"/t/{ticket.number}/time/{entry.pk}/delete/").status_code == 404
    other = actions.open_ticket(alice, queue=support, title="Other")
    assert agent_client.post(f"/t/{other.number}/time/{entry.pk}/delete/").status_code == 404
    assert agent_client.get(f"/t/{ticket.number}/time/{entry.pk}/delete/").status_code == 405
    assert TimeEntry.objects.filter(pk=entry.pk).exists()


def test_the_migration_turns_logged_time_into_entries(alice: User, ticket: Ticket) -> None:
    with time_machine.travel(datetime(2026, 1, 31, 23, 30, tzinfo=STOCKHOLM), tick=False):
        actions.add_note(alice, ticket, "<p>x</p>", time_spent_minutes=50)
        actions.add_article(alice, ticket, ArticleKind.NOTE, "<p>y</p>")
    TimeEntry.objects.all().delete()  # as before the migration
    migration = import_module("helpa.tickets.migrations.0009_time_entries")
    migration.entries_from_articles(apps, None)
    entry = TimeEntry.objects.get()
    assert (entry.minutes, entry.billable, entry.worked_on, entry.user) == (
        50,
        True,
        date(2026, 1, 31),
        alice,
    )
    assert entry.article == Article.objects.get(body_text="x")
