"""Merging a duplicate ticket into the one where the work goes on.

Personas from helpa/conftest.py: `alice` works Support; `bob` works Billing only; `ada` admin.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    HistoryEntry,
    Queue,
    Status,
    Ticket,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def duplicate(alice: User, support: Queue) -> Ticket:
    ticket = actions.open_ticket(
        alice, queue=support, title="Printer jammed again", description="<p>Floor 3 printer</p>"
    )
    actions.add_reply(
        alice,
        ticket,
        "<p>See the picture</p>",
        attachments=[SimpleUploadedFile("jam.txt", b"paper", content_type="text/plain")],
    )
    return ticket


@pytest.fixture
def original(alice: User, support: Queue) -> Ticket:
    return actions.open_ticket(alice, queue=support, title="Printer on floor 3", owner=alice)


def test_merge_moves_the_thread_and_closes_the_duplicate(
    alice: User, bob: User, duplicate: Ticket, original: Ticket
) -> None:
    actions.follow(alice, duplicate, alice)
    reply = duplicate.articles.get()
    target = actions.merge_tickets(alice, duplicate, original, expected_version=duplicate.version)

    duplicate.refresh_from_db()
    assert target == original
    assert duplicate.merged_into == original
    assert duplicate.status == Status.CLOSED and duplicate.closed_at is not None
    # It was New and unowned: the one who merged takes it, so it may be closed.
    assert duplicate.owner == alice
    reply.refresh_from_db()
    assert reply.ticket == original
    assert Attachment.objects.get(filename="jam.txt").ticket == original
    # Its description is kept on the target as an internal note.
    description = original.articles.get(kind=ArticleKind.NOTE)
    assert description.body_text.strip() == "Floor 3 printer"
    assert alice in Ticket.objects.get(pk=original.pk).followers.all()
    # The duplicate says where it went, the target what came in.
    note = duplicate.articles.get()
    assert note.kind == ArticleKind.NOTE and note.body_text == f"Merged into #{original.number}."
    assert HistoryEntry.objects.get(ticket=duplicate, field="merged_into").new_value == (
        f"#{original.number}"
    )
    came_in = HistoryEntry.objects.get(ticket=original, field="merged_in")
    assert came_in.old_value == f"#{duplicate.number}" and came_in.actor == alice
    assert HistoryEntry.objects.filter(
        ticket=duplicate, field="status", new_value="closed"
    ).exists()


def test_sub_tickets_of_the_duplicate_move_to_the_target(
    alice: User, duplicate: Ticket, original: Ticket, support: Queue
) -> None:
    child = actions.open_ticket(alice, queue=support, title="Order toner", parent=duplicate)
    actions.merge_tickets(alice, duplicate, original)
    child.refresh_from_db()
    assert child.parent == original


def test_merge_publishes_the_change_of_the_duplicate(
    alice: User, duplicate: Ticket, original: Ticket, monkeypatch: pytest.MonkeyPatch
) -> None:
    from helpa.lib import events

    seen: list[tuple[str, dict]] = []
    original_publish = events.publish
    monkeypatch.setattr(
        events,
        "publish",
        lambda name, **kw: (seen.append((name, kw)), original_publish(name, **kw)),
    )
    actions.merge_tickets(alice, duplicate, original)
    changed = [kw for name, kw in seen if name == "ticket.changed"]
    assert changed[0]["ticket"].pk == duplicate.pk
    assert set(changed[0]["fields"]) == {"merged_into", "status", "owner"}
    assert any(name == "ticket.merged" for name, _kw in seen)


@pytest.mark.parametrize(
    "case, message",
    [
        ("itself", "cannot be merged into itself"),
        ("merged_target", "has itself been merged"),
        ("merged_source", "already been merged"),
        ("sub_ticket", "one of its own sub-tickets"),
        ("grandchild", "one of its own sub-tickets"),
    ],
)
def test_merges_that_make_no_sense_are_refused(
    alice: User, duplicate: Ticket, original: Ticket, support: Queue, case: str, message: str
) -> None:
    source, target = duplicate, original
    if case == "itself":
        target = duplicate
    elif case == "merged_target":
        third = actions.open_ticket(alice, queue=support, title="Third")
        actions.merge_tickets(alice, original, third)
    elif case == "merged_source":
        third = actions.open_ticket(alice, queue=support, title="Third")
        actions.merge_tickets(alice, duplicate, third)
    elif case == "sub_ticket":
        target = actions.open_ticket(alice, queue=support, title="Child", parent=duplicate)
    elif case == "grandchild":
        child = actions.open_ticket(alice, queue=support, title="Child", parent=duplicate)
        target = actions.open_ticket(alice, queue=support, title="Grandchild", parent=child)
    with pytest.raises(actions.TicketError, match=message):
        actions.merge_tickets(alice, source, target)
    source.refresh_from_db()
    assert source.merged_into_id is None or case == "merged_source"


def test_merging_into_a_ticket_merged_into_the_source_is_refused(
    alice: User, duplicate: Ticket, original: Ticket
) -> None:
    """The chain would go round: original → duplicate → original."""
    actions.merge_tickets(alice, original, duplicate)
    with pytest.raises(actions.TicketError):
        actions.merge_tickets(alice, duplicate, original)


def test_merge_across_a_queue_the_agent_does_not_work_is_refused(
    alice: User, bob: User, duplicate: Ticket, billing: Queue
) -> None:
    billing_ticket = actions.open_ticket(bob, queue=billing, title="Invoice")
    with pytest.raises(actions.TicketError, match="queues you work"):
        actions.merge_tickets(alice, duplicate, billing_ticket)
    with pytest.raises(actions.TicketError, match="queues you work"):
        actions.merge_tickets(bob, billing_ticket, duplicate)
    assert not Article.objects.filter(ticket=billing_ticket).exists()


def test_an_admin_merges_across_queues(
    ada: User, duplicate: Ticket, billing: Queue, bob: User
) -> None:
    billing_ticket = actions.open_ticket(bob, queue=billing, title="Invoice")
    actions.merge_tickets(ada, duplicate, billing_ticket)
    duplicate.refresh_from_db()
    assert duplicate.merged_into == billing_ticket


def test_a_stale_merge_is_refused(alice: User, duplicate: Ticket, original: Ticket) -> None:
    seen = duplicate.version
    actions.update_ticket(alice, duplicate, {"title": "Printer jammed (floor 3)"})
    with pytest.raises(actions.StaleTicket) as caught:
        actions.merge_tickets(alice, duplicate, original, expected_version=seen)
    assert [c.field for c in caught.value.changes] == ["title"]
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    with pytest.raises(actions.StaleTicket):
        actions.merge_tickets(
            alice, duplicate, original, expected_target_version=original.version - 1
        )


# --- The pages ---------------------------------------------------------------------------------


def test_merge_page_asks_then_confirms_with_both_titles(
    alice_client: Client, duplicate: Ticket, original: Ticket
) -> None:
    page = alice_client.get(f"/t/{duplicate.number}/")
    assert f'href="/t/{duplicate.number}/merge/"' in page.content.decode()
    confirm = alice_client.get(f"/t/{duplicate.number}/merge/", {"target": f"#{original.number}"})
    html = confirm.content.decode()
    assert "Printer jammed again" in html and "Printer on floor 3" in html
    assert 'data-testid="merge-confirm"' in html
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None  # looking merges nothing
    done = alice_client.post(
        f"/t/{duplicate.number}/merge/",
        {
            "target": original.number,
            "confirm": "on",
            "version": duplicate.version,
            "target_version": original.version,
        },
    )
    assert done.status_code == 302 and done["Location"] == f"/t/{original.number}/"
    duplicate.refresh_from_db()
    assert duplicate.merged_into == original
    banner = alice_client.get(f"/t/{duplicate.number}/").content.decode()
    assert 'data-testid="merged-banner"' in banner
    assert f'href="/t/{original.number}/"' in banner
    assert 'data-testid="merge-link"' not in banner


def test_merge_page_says_what_is_wrong(
    alice_client: Client, duplicate: Ticket, bob: User, billing: Queue
) -> None:
    billing_ticket = actions.open_ticket(bob, queue=billing, title="Secret invoice")
    for given in ("abc", "999999", str(billing_ticket.number)):
        page = alice_client.get(f"/t/{duplicate.number}/merge/", {"target": given})
        assert page.status_code == 200
        html = page.content.decode()
        assert 'data-testid="merge-confirm"' not in html
        assert "Secret invoice" not in html
    # A forged confirmation into another queue's ticket changes nothing.
    alice_client.post(
        f"/t/{duplicate.number}/merge/", {"target": billing_ticket.number, "confirm": "on"}
    )
    duplicate.refresh_from_db()
    assert duplicate.merged_into is None
    itself = alice_client.post(
        f"/t/{duplicate.number}/merge/", {"target": duplicate.number, "confirm": "on"}
    )
    assert "cannot be merged into itself" in itself.content.decode()


def test_merge_page_of_a_ticket_outside_ones_queues_is_404(
    bob_client: Client, duplicate: Ticket, carl_client: Client
) -> None:
    assert bob_client.get(f"/t/{duplicate.number}/merge/").status_code == 404
    assert carl_client.get(f"/t/{duplicate.number}/merge/").status_code == 403


def test_stale_confirmation_shows_a_message(
    alice: User, alice_client: Client, duplicate: Ticket, original: Ticket
) -> None:
    seen = duplicate.version
    actions.update_ticket(alice, duplicate, {"priority": 3})
    page = alice_client.post(
        f"/t/{duplicate.number}/merge/",
        {"target": original.number, "confirm": "on", "version": seen},
    )
    assert "changed while you were looking" in page.content.decode()


def test_merge_query_count_does_not_grow_with_the_thread(alice: User, support: Queue) -> None:
    counts = []
    for size in (1, 12):
        source = actions.open_ticket(alice, queue=support, title="Dup", owner=alice)
        target = actions.open_ticket(alice, queue=support, title="Kept", owner=alice)
        for n in range(size):
            actions.add_note(alice, source, f"<p>note {n}</p>")
        actions.follow(alice, source, alice)
        with CaptureQueriesContext(connection) as queries:
            actions.merge_tickets(alice, source, target)
        counts.append(len(queries))
    assert counts[0] == counts[1]
    assert counts[0] <= 40
