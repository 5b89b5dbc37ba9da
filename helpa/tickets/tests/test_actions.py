"""The ticket actions every channel relies on. Each test asserts what is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core.files.uploadedfile import SimpleUploadedFile
from django.template import Context, Template
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    HistoryEntry,
    Notification,
    NumberSeries,
    Priority,
    Queue,
    Status,
    Ticket,
)

A_MONDAY = datetime(2026, 3, 2, 11, 0, tzinfo=UTC)
XSS = '<p onclick="steal()">Hi<script>alert(1)</script><img src="x" onerror="alert(2)"></p>'


def _history(ticket: Ticket, field: str) -> list[HistoryEntry]:
    return list(HistoryEntry.objects.filter(ticket=ticket, field=field).order_by("id"))


def _owned_and_open(alice: User, ticket: Ticket) -> Ticket:
    return actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})


# --- Numbers and the title --------------------------------------------------------------------


def test_numbers_come_from_the_running_series(alice: User, queue_support: Queue) -> None:
    numbers = [
        actions.open_ticket(alice, queue=queue_support, title=f"Ticket {i}").number
        for i in range(3)
    ]
    assert numbers == [10001, 10002, 10003]  # a new helpdesk's series starts at 10001
    assert NumberSeries.objects.get(name="ticket").next_value == 10004


def test_a_number_is_never_typed(alice: User, queue_support: Queue, ticket: Ticket) -> None:
    with pytest.raises(ValueError):
        actions.open_ticket(alice, queue=queue_support, title="Mine", number=42)
    with pytest.raises(ValueError):
        actions.update_ticket(alice, ticket, {"number": 42})
    assert not Ticket._meta.get_field("number").editable
    assert list(Ticket.objects.values_list("number", flat=True)) == [ticket.number]
    assert actions.open_ticket(alice, queue=queue_support, title="Next").number == ticket.number + 1


def test_the_title_is_mandatory(alice: User, queue_support: Queue) -> None:
    for title in ("", "   ", None):
        with pytest.raises(actions.TicketError):
            actions.open_ticket(alice, queue=queue_support, title=title)
    assert not Ticket.objects.exists()

    ticket = actions.open_ticket(alice, queue=queue_support, title="  Only a title  ")
    assert (ticket.title, ticket.status, ticket.number) == ("Only a title", Status.NEW, 10001)
    with pytest.raises(actions.TicketError):
        actions.update_ticket(alice, ticket, {"title": "  "})
    ticket.refresh_from_db()
    assert ticket.title == "Only a title" and ticket.version == 1


# --- History and concurrent edits -------------------------------------------------------------


def test_one_history_entry_per_changed_field_with_its_actor(
    alice: User, admin: User, ticket: Ticket
) -> None:
    (created,) = _history(ticket, "created")
    assert (created.actor, created.new_value) == (alice, ticket.display_number)

    changed = actions.update_ticket(
        admin, ticket, {"priority": Priority.HIGH, "owner": alice, "title": ticket.title}
    )

    assert changed.version == 2
    entries = HistoryEntry.objects.filter(ticket=ticket).exclude(field="created")
    assert sorted((e.field, e.old_value, e.new_value, e.actor, e.version) for e in entries) == [
        ("owner", "", "Alice Agent", admin, 2),
        ("priority", str(Priority.MEDIUM.value), str(Priority.HIGH.value), admin, 2),
    ]  # the unchanged title is not recorded


def test_a_machine_actor_is_recorded_by_name(ticket: Ticket) -> None:
    actions.update_ticket(actions.Actor(name="Rule: VIP"), ticket, {"priority": Priority.HIGH})
    (entry,) = _history(ticket, "priority")
    assert entry.actor is None and entry.actor_name == "Rule: VIP"


def test_a_stale_save_is_refused_and_lists_the_missed_changes(
    alice: User, admin: User, ticket: Ticket
) -> None:
    seen = ticket.version
    actions.update_ticket(admin, ticket, {"priority": Priority.HIGH, "owner": admin})
    actions.update_ticket(admin, ticket, {"title": "Printer jammed again"})

    with pytest.raises(actions.StaleTicket) as refused:
        actions.update_ticket(alice, ticket, {"priority": Priority.LOW}, expected_version=seen)

    assert [(c.field, c.actor, c.version) for c in refused.value.changes] == [
        ("priority", admin, 2),
        ("owner", admin, 2),
        ("title", admin, 3),
    ]
    ticket.refresh_from_db()
    assert (ticket.priority, ticket.version) == (Priority.HIGH, 3)
    assert len(_history(ticket, "priority")) == 1  # nothing of the stale save was stored

    fresh = actions.update_ticket(alice, ticket, {"priority": Priority.LOW}, expected_version=3)
    assert (fresh.priority, fresh.version) == (Priority.LOW, 4)


# --- The status model ---------------------------------------------------------------------------


def test_new_to_open_needs_an_owner(alice: User, ticket: Ticket) -> None:
    with pytest.raises(actions.OwnerRequired):
        actions.set_status(alice, ticket, Status.OPEN)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.version) == (Status.NEW, 1)
    assert not _history(ticket, "status")

    opened = actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})

    ticket.refresh_from_db()
    assert (ticket.status, ticket.owner) == (Status.OPEN, alice)
    assert [(e.old_value, e.new_value) for e in _history(ticket, "status")] == [("new", "open")]
    with pytest.raises(actions.OwnerRequired):  # and an open ticket cannot lose its owner
        actions.update_ticket(alice, opened, {"owner": None})


def test_a_ticket_opened_in_another_status_needs_an_owner(
    alice: User, queue_support: Queue
) -> None:
    with pytest.raises(actions.OwnerRequired):
        actions.open_ticket(alice, queue=queue_support, title="Call back", status=Status.OPEN)
    assert not Ticket.objects.exists()
    ticket = actions.open_ticket(
        alice, queue=queue_support, title="Call back", status=Status.OPEN, owner=alice
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.OPEN


def test_on_hold_until_a_date_is_woken_by_the_job(alice: User, ticket: Ticket) -> None:
    _owned_and_open(alice, ticket)
    until = timezone.now() + timedelta(days=2)
    actions.set_status(alice, ticket, Status.ON_HOLD, on_hold_until=until)
    ticket.refresh_from_db()
    assert (ticket.status, ticket.on_hold_until) == (Status.ON_HOLD, until)

    assert actions.wake_on_hold_tickets() == 0  # not yet
    with time_machine.travel(until + timedelta(minutes=1)):
        assert actions.wake_on_hold_tickets() == 1
        assert actions.wake_on_hold_tickets() == 0  # a second run finds nothing to do

    ticket.refresh_from_db()
    assert (ticket.status, ticket.on_hold_until) == (Status.OPEN, None)
    woke = _history(ticket, "status")[-1]
    assert (woke.old_value, woke.new_value) == ("on_hold", "open")
    assert woke.actor is None and woke.actor_name == actions.WAKE_ACTOR.name


def test_on_hold_indefinitely_is_never_woken(alice: User, ticket: Ticket) -> None:
    _owned_and_open(alice, ticket)
    actions.set_status(alice, ticket, Status.ON_HOLD, on_hold_until=None)
    with time_machine.travel(timezone.now() + timedelta(days=365)):
        assert actions.wake_on_hold_tickets() == 0
    ticket.refresh_from_db()
    assert (ticket.status, ticket.on_hold_until) == (Status.ON_HOLD, None)


def test_resolved_and_closed_are_stamped(alice: User, ticket: Ticket) -> None:
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)
    with time_machine.travel(A_MONDAY, tick=False):
        actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.RESOLVED})
    ticket.refresh_from_db()
    assert (ticket.resolved_at, ticket.closed_at) == (A_MONDAY, None)
    assert not Ticket.objects.active().filter(pk=ticket.pk).exists()

    later = A_MONDAY + timedelta(days=3)
    with time_machine.travel(later, tick=False):
        actions.close_ticket(alice, ticket)
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert (ticket.resolved_at, ticket.closed_at) == (A_MONDAY, later)

    actions.update_ticket(alice, ticket, {"status": Status.OPEN})
    ticket.refresh_from_db()
    assert (ticket.resolved_at, ticket.closed_at) == (None, None)  # reopened: neither any more


def test_a_job_closing_a_parent_gives_an_unowned_child_to_the_parent_owner(
    alice: User, ticket: Ticket
) -> None:
    parent = _owned_and_open(alice, ticket)
    child = actions.open_ticket(alice, queue=parent.queue, title="Child", parent=parent)
    actions.close_ticket(actions.Actor(name="Rule: close stale"), parent, close_children=True)
    child.refresh_from_db()
    assert (child.status, child.owner) == (Status.CLOSED, alice)


def test_opening_a_ticket_for_a_colleague_notifies_them(
    alice: User, admin: User, queue_support, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.open_ticket(admin, queue=queue_support, title="For Alice", owner=alice)
        actions.open_ticket(alice, queue=queue_support, title="For myself", owner=alice)
    (notice,) = Notification.objects.filter(kind=Notification.Kind.ASSIGNED)
    assert (notice.user, notice.actor) == (alice, admin)


def test_closing_a_parent_with_its_children(alice: User, admin: User, ticket: Ticket) -> None:
    parent = _owned_and_open(alice, ticket)
    owned = actions.open_ticket(alice, queue=parent.queue, title="Child A", parent=parent)
    _owned_and_open(alice, owned)
    unowned = actions.open_ticket(alice, queue=parent.queue, title="Child B", parent=parent)
    done = actions.open_ticket(alice, queue=parent.queue, title="Child C", parent=parent)
    actions.update_ticket(alice, done, {"owner": alice, "status": Status.CLOSED})
    assert len(_history(parent, "child_added")) == 3

    actions.close_ticket(admin, parent, close_children=True)

    parent.refresh_from_db()
    assert parent.status == Status.CLOSED
    for child in (owned, unowned):
        child.refresh_from_db()
        assert child.status == Status.CLOSED and child.closed_at is not None
        (entry,) = _history(child, "closed_with_parent")
        assert (entry.new_value, entry.actor) == (parent.display_number, admin)
    assert unowned.owner == admin  # a New child is closed by the closer taking it
    assert not _history(done, "closed_with_parent")  # already closed: left alone


def test_closing_only_the_parent_leaves_the_children(alice: User, ticket: Ticket) -> None:
    parent = _owned_and_open(alice, ticket)
    child = actions.open_ticket(alice, queue=parent.queue, title="Child", parent=parent)
    actions.close_ticket(alice, parent)
    child.refresh_from_db()
    assert child.status == Status.NEW
    assert not _history(child, "closed_with_parent")


# --- Followers and notifications ---------------------------------------------------------------


def test_followers_hear_of_changes_once_they_are_committed(
    alice: User, admin: User, customer: User, ticket: Ticket, django_capture_on_commit_callbacks
) -> None:
    actions.follow(alice, ticket, admin)
    actions.follow(alice, ticket, admin)  # twice is once
    actions.follow(alice, ticket, customer)  # customers cannot follow
    assert list(ticket.followers.all()) == [admin]
    assert [(e.actor, e.new_value) for e in _history(ticket, "follower_added")] == [
        (alice, "Ada Admin")
    ]

    with django_capture_on_commit_callbacks(execute=True):
        actions.update_ticket(alice, ticket, {"priority": Priority.HIGH})
        assert not Notification.objects.exists()  # nothing before the commit
    notice = Notification.objects.get()
    assert (notice.user, notice.kind, notice.actor) == (admin, Notification.Kind.CHANGED, alice)
    assert notice.ticket == ticket and notice.text == "priority"

    actions.unfollow(alice, ticket, admin)
    assert not ticket.followers.exists()
    assert [e.old_value for e in _history(ticket, "follower_removed")] == ["Ada Admin"]
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_ticket(alice, ticket, {"priority": Priority.LOW})
    assert Notification.objects.count() == 1


def test_a_customer_message_notifies_the_owner_and_the_followers_once(
    alice: User,
    admin: User,
    bob_agent: User,
    ticket: Ticket,
    django_capture_on_commit_callbacks,
    django_assert_num_queries,
) -> None:
    Ticket.objects.filter(pk=ticket.pk).update(owner=alice)
    ticket.refresh_from_db()
    actions.follow(alice, ticket, admin)
    actions.follow(alice, ticket, alice)  # the owner following too: still one notice
    mail = actions.Actor(name="Mail")
    with django_capture_on_commit_callbacks() as callbacks:
        actions.add_article(mail, ticket, ArticleKind.CUSTOMER, "<p>Any news?</p>")
    # After the commit: the owner and followers in one statement, the notices in one more.
    with django_assert_num_queries(2):
        for callback in callbacks:
            callback()
    notified = Notification.objects.filter(kind=Notification.Kind.REPLIED)
    assert sorted(n.user.email for n in notified) == sorted([alice.email, admin.email])
    assert bob_agent.email not in {n.user.email for n in notified}


def test_the_actor_is_not_notified_of_their_own_change(
    alice: User, ticket: Ticket, django_capture_on_commit_callbacks
) -> None:
    actions.follow(alice, ticket, alice)
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_ticket(alice, ticket, {"priority": Priority.HIGH})
    assert not Notification.objects.exists()


def test_a_refused_change_notifies_no_one(
    alice: User, admin: User, ticket: Ticket, django_capture_on_commit_callbacks
) -> None:
    actions.follow(alice, ticket, admin)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(actions.OwnerRequired):
            actions.set_status(alice, ticket, Status.OPEN)
    assert callbacks == [] and not Notification.objects.exists()


def test_a_mention_in_the_discussion_notifies_the_colleague(
    alice: User,
    admin: User,
    bob_agent: User,
    customer: User,
    ticket: Ticket,
    django_capture_on_commit_callbacks,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_discussion_post(
            alice,
            ticket,
            "<p>@ada can you check the invoice? Ask @bob.agent. Not @carl, not @nobody.</p>",
        )
    notices = Notification.objects.filter(kind=Notification.Kind.MENTION)
    # The customer is no colleague; Bob works no queue of this ticket, so he must not even
    # learn its title from a notice.
    assert {n.user for n in notices} == {admin}
    assert all(n.actor == alice and "check the invoice" in n.text for n in notices)
    assert not Notification.objects.exclude(kind=Notification.Kind.MENTION).exists()


def test_an_e_mail_address_or_a_note_is_no_mention(
    alice: User, admin: User, ticket: Ticket, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_discussion_post(alice, ticket, "<p>Write to ada@example.com</p>")
        actions.add_note(alice, ticket, "<p>@ada only in a note</p>")
    assert not Notification.objects.filter(kind=Notification.Kind.MENTION).exists()


# --- The thread ------------------------------------------------------------------------------


def test_only_the_author_deletes_a_discussion_post(
    alice: User, admin: User, ticket: Ticket
) -> None:
    post = actions.add_discussion_post(alice, ticket, "<p>Maybe the fuser is broken</p>")
    with pytest.raises(actions.TicketError):
        actions.delete_discussion_post(admin, post)  # not even an admin
    post.refresh_from_db()
    assert post.deleted_at is None
    reply = actions.add_reply(alice, ticket, "<p>Hello</p>")
    with pytest.raises(actions.TicketError):
        actions.delete_discussion_post(alice, reply)  # only discussion posts

    actions.delete_discussion_post(alice, post)
    actions.delete_discussion_post(alice, post)  # twice is once

    post.refresh_from_db()
    assert post.deleted_at is not None
    assert set(ticket.articles.all()) == {post, reply}  # still in the thread, marked deleted
    (entry,) = _history(ticket, "discussion_deleted")
    assert (entry.actor, entry.old_value) == (alice, "Maybe the fuser is broken")


def test_time_spent_is_stored_with_the_post(alice: User, ticket: Ticket) -> None:
    reply = actions.add_reply(alice, ticket, "<p>Fixed</p>", time_spent_minutes=15)
    note = actions.add_note(alice, ticket, "<p>Checked logs</p>", time_spent_minutes=30)
    assert {a.pk: a.time_spent_minutes for a in ticket.articles.all()} == {
        reply.pk: 15,
        note.pk: 30,
    }
    with pytest.raises(actions.TicketError):
        actions.add_note(alice, ticket, "<p>x</p>", time_spent_minutes=-5)
    with pytest.raises(actions.TicketError):
        actions.add_reply(alice, ticket, "<p> </p>")  # nothing written, nothing attached
    assert ticket.articles.count() == 2


def test_outside_html_is_stored_sanitised(alice: User, queue_support: Queue) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hi", description=XSS)
    reply = actions.add_reply(alice, ticket, XSS + '<a href="javascript:steal()">link</a>')
    note = actions.add_note(alice, ticket, "<b>bold</b><style>body{}</style>")
    actions.update_ticket(alice, ticket, {"description": XSS + "<em>edited</em>"})

    ticket.refresh_from_db()
    reply.refresh_from_db()
    for html in (ticket.description, reply.body_html):
        assert "<script" not in html and "alert" not in html
        assert "onerror" not in html and "onclick" not in html and "javascript:" not in html
        assert '<img src="x">' in html  # harmless markup stays
    assert ticket.description.endswith("<em>edited</em>")
    assert "<script" not in _history(ticket, "description")[0].new_value
    assert note.body_html == "<b>bold</b>"
    assert (ticket.description_text, reply.body_text) == ("Hi\nedited", "Hi\nlink")


def test_the_title_is_plain_text_never_markup(alice: User, queue_support: Queue) -> None:
    """A title is not HTML: it is stored as typed ("Error in <select>" is a fine title) and
    every page escapes it, so a script in it is only text."""
    ticket = actions.open_ticket(alice, queue=queue_support, title="<script>alert(1)</script>")
    assert Ticket.objects.get(pk=ticket.pk).title == "<script>alert(1)</script>"
    shown = Template("<h1>{{ ticket.title }}</h1>").render(Context({"ticket": ticket}))
    assert shown == "<h1>&lt;script&gt;alert(1)&lt;/script&gt;</h1>"


# --- Attachments -------------------------------------------------------------------------------


def _png(name: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, b"\x89PNG fake", content_type="image/png")


def test_attachments_and_a_pasted_image_in_a_reply(alice: User, ticket: Ticket) -> None:
    document = SimpleUploadedFile("report.pdf", b"%PDF-1.4 ...", content_type="application/pdf")
    article = actions.add_reply(
        alice,
        ticket,
        '<p>See <img src="cid:pasted-1.png" alt="screen"></p>',
        attachments=[_png("pasted-1.png"), document],
    )

    stored = {a.filename: a for a in Attachment.objects.filter(ticket=ticket, article=article)}
    assert set(stored) == {"pasted-1.png", "report.pdf"}
    pdf, png = stored["report.pdf"], stored["pasted-1.png"]
    assert (pdf.size, pdf.content_type, pdf.is_inline) == (12, "application/pdf", False)
    assert pdf.file.read() == b"%PDF-1.4 ..."
    assert png.is_inline and png.is_image
    body = Article.objects.get(pk=article.pk).body_html
    url = reverse("tickets:attachment", args=[ticket.number, png.pk])
    assert url == f"/t/{ticket.number}/attachments/{png.pk}/"
    assert f'<img src="{url}" alt="screen">' in body and "cid:" not in body


def test_a_pasted_image_in_a_new_ticket_description(alice: User, queue_support: Queue) -> None:
    ticket = actions.open_ticket(
        alice,
        queue=queue_support,
        title="Error dialog",
        description='<p>It shows <img src="cid:pasted-2.png"></p>',
        attachments=[_png("pasted-2.png"), _png("other.png")],
    )
    stored = {a.filename: a for a in Attachment.objects.filter(ticket=ticket, article=None)}
    assert set(stored) == {"pasted-2.png", "other.png"}
    assert stored["pasted-2.png"].is_inline and not stored["other.png"].is_inline
    url = reverse("tickets:attachment", args=[ticket.number, stored["pasted-2.png"].pk])
    assert Ticket.objects.get(pk=ticket.pk).description == f'<p>It shows <img src="{url}"></p>'
