"""The agent workspace through HTTP: what an agent sees, what is stored, what is refused."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    Attachment,
    HelpdeskSettings,
    Notification,
    Priority,
    Queue,
    SavedSearch,
    Status,
    Ticket,
    TicketType,
)

XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'


def _owned(alice: User, support: Queue, title: str, **fields) -> Ticket:
    ticket = actions.open_ticket(alice, queue=support, title=title, **fields)
    return actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})


def _fields(ticket: Ticket, **overrides) -> dict[str, object]:
    """The ticket page's field form as the browser posts it."""
    data = {
        "title": ticket.title,
        "description": ticket.description,
        "queue": ticket.queue_id,
        "status": ticket.status,
        "priority": ticket.priority,
        "owner": ticket.owner_id or "",
        "version": ticket.version,
    }
    data.update(overrides)
    return data


# --- Overview ----------------------------------------------------------------------------------


def test_the_default_view_is_my_open_tickets(
    alice_client: Client, alice: User, support: Queue
) -> None:
    mine = _owned(alice, support, "Mine and open")
    actions.open_ticket(alice, queue=support, title="Unowned new one")
    closed = _owned(alice, support, "Mine but closed")
    actions.close_ticket(alice, closed)

    page = alice_client.get(reverse("tickets:overview"))

    assert page.status_code == 200
    assert [t.pk for t in page.context["tickets"]] == [mine.pk]
    assert page.context["tile_counts"] == {
        "new": 1,
        "open": 1,
        "mine": 1,
        "overdue": 0,
        "waiting": 0,
        "on_hold": 0,
    }


def test_tiles_and_filters_narrow_the_list(
    alice_client: Client, alice: User, support: Queue
) -> None:
    new = actions.open_ticket(alice, queue=support, title="Brand new")
    late = _owned(alice, support, "Late one", due_at=timezone.now() - timedelta(days=1))
    high = _owned(alice, support, "Urgent one", priority=Priority.HIGH)

    def listed(query: str) -> set[int]:
        return {
            t.pk for t in alice_client.get(reverse("tickets:overview") + query).context["tickets"]
        }

    assert listed("?view=new") == {new.pk}
    assert listed("?view=overdue") == {late.pk}
    assert listed("?view=active&priority=3") == {high.pk}
    assert listed("?view=active&owner=none") == {new.pk}
    assert listed("?view=active&status=open&due=overdue") == {late.pk}
    assert listed(f"?view=active&queue={support.pk}") == {new.pk, late.pk, high.pk}
    assert listed("?view=active&q=urgent") == {high.pk}
    ordered = alice_client.get(reverse("tickets:overview") + "?view=active&sort=-number").context[
        "tickets"
    ]
    assert [t.pk for t in ordered] == [new.pk, late.pk, high.pk]
    assert listed("?view=nonsense&sort=drop_table&per_page=abc&priority=x") == {late.pk, high.pk}


def test_paging(alice_client: Client, alice: User, support: Queue) -> None:
    for n in range(30):
        _owned(alice, support, f"Ticket {n}")
    first = alice_client.get(reverse("tickets:overview") + "?per_page=25")
    second = alice_client.get(reverse("tickets:overview") + "?per_page=25&page=2")
    assert len(first.context["tickets"]) == 25 and len(second.context["tickets"]) == 5
    assert "Page 1 of 2" in first.content.decode()


def test_quick_edit_changes_one_field_in_place(
    alice_client: Client, alice: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Quick one")
    response = alice_client.post(
        reverse("tickets:quick_edit", args=[ticket.number]),
        {"field": "priority", "value": Priority.HIGH, "version": ticket.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert response.templates[0].name == "tickets/_overview_row.html"
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert ticket.history.filter(field="priority", actor=alice).exists()


def test_quick_edit_refuses_new_to_open_without_owner(alice_client: Client, ticket: Ticket) -> None:
    response = alice_client.post(
        reverse("tickets:quick_edit", args=[ticket.number]),
        {"field": "status", "value": "open", "version": ticket.version},
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    assert "needs an owner" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_quick_edit_with_a_stale_version_changes_nothing(
    alice_client: Client, alice: User, ticket: Ticket
) -> None:
    stale = ticket.version
    actions.update_ticket(alice, ticket, {"priority": Priority.LOW})
    response = alice_client.post(
        reverse("tickets:quick_edit", args=[ticket.number]),
        {"field": "priority", "value": Priority.HIGH, "version": stale},
        HTTP_HX_REQUEST="true",
    )
    assert "Changed by someone else" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.priority == Priority.LOW


def test_saved_searches_personal_and_shared(
    alice_client: Client, ada_client: Client, alice: User, ada: User
) -> None:
    alice_client.post(
        reverse("tickets:saved_search_create"), {"name": "Mine high", "query": "priority=3&page=4"}
    )
    alice_client.post(
        reverse("tickets:saved_search_create"),
        {"name": "Team view", "query": "view=active", "is_shared": "on"},
    )
    personal = SavedSearch.objects.get(name="Mine high")
    assert personal.query == "priority=3"  # the page is not part of a search
    names = {s.name for s in ada_client.get(reverse("tickets:overview")).context["saved_searches"]}
    assert names == {"Team view"}

    other = SavedSearch.objects.create(owner=ada, name="Ada's", query="")
    assert (
        alice_client.post(reverse("tickets:saved_search_delete", args=[other.pk])).status_code
        == 403
    )
    alice_client.post(reverse("tickets:saved_search_delete", args=[personal.pk]))
    assert not SavedSearch.objects.filter(pk=personal.pk).exists()


# --- Creating tickets -------------------------------------------------------------------------


def test_create_with_only_a_title(alice_client: Client, support: Queue) -> None:
    response = alice_client.post(
        reverse("tickets:new"),
        {"title": "Coffee machine", "queue": support.pk, "status": "new", "priority": 2},
    )
    ticket = Ticket.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/t/{ticket.number}/"
    assert ticket.title == "Coffee machine" and ticket.number >= 10001


def test_admin_field_rules_make_fields_mandatory_or_hidden(
    alice_client: Client, support: Queue
) -> None:
    settings = HelpdeskSettings.load()
    settings.field_rules = {"category": "required", "team": "hidden"}
    settings.save()
    page = alice_client.get(reverse("tickets:new"))
    assert "category" in page.context["form"].fields and "team" not in page.context["form"].fields
    response = alice_client.post(
        reverse("tickets:new"), {"title": "X", "queue": support.pk, "status": "new", "priority": 2}
    )
    assert response.status_code == 200
    assert response.context["form"].errors["category"]
    assert not Ticket.objects.exists()


def test_over_long_title_is_refused_and_the_rest_is_kept(
    alice_client: Client, support: Queue
) -> None:
    response = alice_client.post(
        reverse("tickets:new"),
        {
            "title": "x" * 201,
            "description": "My long story",
            "queue": support.pk,
            "status": "new",
            "priority": 3,
        },
    )
    body = response.content.decode()
    assert response.status_code == 200 and not Ticket.objects.exists()
    assert "at most 200 characters" in body
    assert "My long story" in body
    assert response.context["form"]["priority"].value() == "3"


def test_oversize_attachment_is_refused_and_the_text_kept(
    alice_client: Client, alice: User, support: Queue
) -> None:
    settings = HelpdeskSettings.load()
    settings.max_attachment_mb = 1
    settings.save()
    ticket = _owned(alice, support, "Files")
    big = SimpleUploadedFile(
        "huge-scan.pdf", b"x" * (1024 * 1024 + 500_000), content_type="application/pdf"
    )
    response = alice_client.post(
        reverse("tickets:article", args=[ticket.number]),
        {
            "kind": "reply",
            "body": "<p>Here is my carefully written answer</p>",
            "time_spent_minutes": 12,
            "attachments": [big],
        },
    )
    body = response.content.decode()
    assert response.status_code == 400
    assert "huge-scan.pdf" in body and "1.0\xa0MB" in body
    assert "carefully written answer" in body and 'value="12"' in body
    assert not Article.objects.exists() and not Attachment.objects.exists()


def test_empty_attachment_is_refused(alice_client: Client, alice: User, support: Queue) -> None:
    ticket = _owned(alice, support, "Files")
    empty = SimpleUploadedFile("empty.txt", b"", content_type="text/plain")
    response = alice_client.post(
        reverse("tickets:article", args=[ticket.number]),
        {"kind": "note", "body": "see file", "attachments": [empty]},
    )
    assert response.status_code == 400 and "empty.txt" in response.content.decode()
    assert not Article.objects.exists()


def test_unknown_ids_and_other_queues_are_not_found(
    alice_client: Client, bob: User, billing: Queue
) -> None:
    assert alice_client.get("/t/999999/").status_code == 404
    foreign = actions.open_ticket(bob, queue=billing, title="Bob's secret")
    response = alice_client.get(f"/t/{foreign.number}/")
    assert response.status_code == 404 and "Bob's secret" not in response.content.decode()
    assert (
        alice_client.post(f"/t/{foreign.number}/post/", {"kind": "reply", "body": "hi"}).status_code
        == 404
    )
    assert not foreign.articles.exists()


def test_forged_queue_is_forbidden(
    alice_client: Client, alice: User, support: Queue, billing: Queue
) -> None:
    response = alice_client.post(
        reverse("tickets:new"),
        {"title": "Sneaky", "queue": billing.pk, "status": "new", "priority": 2},
    )
    assert response.status_code == 403 and not Ticket.objects.exists()
    ticket = _owned(alice, support, "Mine")
    response = alice_client.post(
        reverse("tickets:update", args=[ticket.number]), _fields(ticket, queue=billing.pk)
    )
    assert response.status_code == 403
    ticket.refresh_from_db()
    assert ticket.queue == support


def test_script_in_every_text_field_is_inert(
    alice_client: Client, alice: User, ada_client: Client, support: Queue
) -> None:
    kind = TicketType.objects.create(name="Fault", instructions=XSS)
    ticket = actions.open_ticket(alice, queue=support, title=XSS, description=XSS, type=kind)
    for post_kind in ("reply", "note", "discussion"):
        alice_client.post(
            reverse("tickets:article", args=[ticket.number]),
            {"kind": post_kind, "body": XSS + "text"},
        )
    alice_client.post(reverse("tickets:saved_search_create"), {"name": XSS, "query": "view=all"})
    pages = [
        alice_client.get(f"/t/{ticket.number}/"),
        alice_client.get(reverse("tickets:overview") + "?view=all"),
        ada_client.get(reverse("administration:list", args=["types"])),
    ]
    for page in pages:
        body = page.content.decode()
        assert page.status_code == 200
        assert '<script>alert("x")' not in body
        assert "<img src=x onerror" not in body and '<img src="x" onerror' not in body
    assert "&lt;script&gt;" in pages[0].content.decode()


# --- The ticket page --------------------------------------------------------------------------


def test_stale_save_is_refused_showing_changes_and_keeping_input(
    alice_client: Client, alice: User, ada: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Shared ticket")
    seen = Ticket.objects.get(pk=ticket.pk)
    actions.update_ticket(ada, ticket, {"priority": Priority.HIGH}, expected_version=seen.version)

    response = alice_client.post(
        reverse("tickets:update", args=[ticket.number]), _fields(seen, title="Alice's better title")
    )

    body = response.content.decode()
    assert response.status_code == 409
    assert "someone else changed this ticket" in body
    assert "Ada Admin" in body and "High" in body
    assert 'value="Alice&#x27;s better title"' in body
    ticket.refresh_from_db()
    assert ticket.title == "Shared ticket"
    # Saving again from the refreshed form applies Alice's change on top of Ada's.
    again = alice_client.post(
        reverse("tickets:update", args=[ticket.number]),
        _fields(ticket, title="Alice's better title"),
    )
    assert again.status_code == 302
    ticket.refresh_from_db()
    assert (ticket.title, ticket.priority) == ("Alice's better title", Priority.HIGH)


def test_leaving_new_without_owner_is_a_message_not_an_error_page(
    alice_client: Client, ticket: Ticket
) -> None:
    response = alice_client.post(
        reverse("tickets:update", args=[ticket.number]), _fields(ticket, status="open")
    )
    assert response.status_code == 400
    assert "needs an owner" in response.content.decode()
    ticket.refresh_from_db()
    assert ticket.status == Status.NEW


def test_on_hold_for_a_period_sets_the_wake_up_time(
    alice_client: Client, alice: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Waiting for delivery")
    alice_client.post(
        reverse("tickets:update", args=[ticket.number]),
        _fields(ticket, status="on_hold", hold_for_days=7),
    )
    ticket.refresh_from_db()
    assert ticket.status == Status.ON_HOLD
    assert abs(ticket.on_hold_until - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)


def test_replies_notes_and_mentions(
    alice_client: Client,
    alice: User,
    ada: User,
    ada_client: Client,
    support: Queue,
    django_capture_on_commit_callbacks,
) -> None:
    ticket = _owned(alice, support, "Thread")
    url = reverse("tickets:article", args=[ticket.number])
    alice_client.post(
        url, {"kind": "reply", "body": "<p>Hello customer</p>", "time_spent_minutes": 5}
    )
    alice_client.post(url, {"kind": "note", "body": "<p>Internal</p>", "time_spent_minutes": 20})
    with django_capture_on_commit_callbacks(execute=True):
        alice_client.post(url, {"kind": "discussion", "body": "<p>@ada please look</p>"})
    assert list(ticket.articles.values_list("kind", "time_spent_minutes")) == [
        (ArticleKind.REPLY, 5),
        (ArticleKind.NOTE, 20),
        (ArticleKind.DISCUSSION, 0),
    ]
    assert Notification.objects.filter(user=ada, kind=Notification.Kind.MENTION).count() == 1
    overview = ada_client.get(reverse("tickets:notifications")).content.decode()
    assert "Thread" in overview and 'data-testid="unread-count">1<' in overview


def test_delete_own_discussion_post_only(
    alice_client: Client, alice: User, ada: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Talk")
    mine = actions.add_discussion_post(alice, ticket, "<p>mine</p>")
    theirs = actions.add_discussion_post(ada, ticket, "<p>theirs</p>")
    url = "tickets:discussion_delete"
    assert alice_client.post(reverse(url, args=[ticket.number, theirs.pk])).status_code == 403
    assert alice_client.post(reverse(url, args=[ticket.number, mine.pk])).status_code == 302
    mine.refresh_from_db()
    theirs.refresh_from_db()
    assert mine.deleted_at is not None and theirs.deleted_at is None


def test_close_parent_with_children(alice_client: Client, alice: User, support: Queue) -> None:
    parent = _owned(alice, support, "Outage")
    child = actions.open_ticket(alice, queue=support, title="Part", parent=parent)
    page = alice_client.get(f"/t/{parent.number}/").content.decode()
    assert "Also close its 1 open sub-ticket" in page
    alice_client.post(
        reverse("tickets:close", args=[parent.number]),
        {"close_children": "on", "version": parent.version},
    )
    child.refresh_from_db()
    assert child.status == Status.CLOSED


def test_attachment_download_is_checked(
    alice_client: Client, bob_client: Client, alice: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "File")
    actions.add_note(
        alice,
        ticket,
        "<p>log</p>",
        attachments=[SimpleUploadedFile("a.html", b"<script>x</script>", content_type="text/html")],
    )
    attachment = Attachment.objects.get()
    url = reverse("tickets:attachment", args=[ticket.number, attachment.pk])
    response = alice_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"  # uploaded HTML never renders
    assert "attachment" in response["Content-Disposition"]
    assert bob_client.get(url).status_code == 404


# --- Roles ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["/tickets/", "/tickets/new/", "/settings/", "/settings/queues/", "/notifications/"]
)
def test_customers_never_reach_the_agent_workspace(carl_client: Client, url: str) -> None:
    assert carl_client.get(url).status_code == 403


def test_customer_cannot_open_a_ticket_page(carl_client: Client, ticket: Ticket) -> None:
    response = carl_client.get(f"/t/{ticket.number}/")
    assert response.status_code == 403
    assert ticket.title not in response.content.decode()


def test_customer_lands_on_their_requests(
    carl_client: Client, carl: User, alice: User, support: Queue
) -> None:
    actions.open_ticket(alice, queue=support, title="Printer of Carl", contact=carl.contact)
    actions.open_ticket(alice, queue=support, title="Someone else's")
    page = carl_client.get("/", follow=True).content.decode()
    assert "Printer of Carl" in page and "Someone else" not in page


def test_anonymous_users_are_sent_to_login(client: Client, ticket: Ticket) -> None:
    response = client.get(f"/t/{ticket.number}/")
    assert response.status_code == 302 and response["Location"].startswith("/login/")


def test_login_with_email(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "ALICE@example.com", "password": "pw"})
    assert response.status_code == 302
    assert client.get("/", follow=True).request["PATH_INFO"] == "/tickets/"


# --- Language ---------------------------------------------------------------------------------


def test_the_user_chooses_swedish(alice_client: Client, alice: User) -> None:
    alice_client.post("/language/", {"language": "sv", "next": "/tickets/"})
    alice.refresh_from_db()
    assert alice.language == "sv"
    page = alice_client.get("/tickets/").content.decode()
    assert '<html lang="sv">' in page
    assert "Mina öppna ärenden" in page


def test_the_browser_language_is_the_default(alice_client: Client) -> None:
    page = alice_client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9").content.decode()
    assert '<html lang="sv">' in page


# --- Query counts -----------------------------------------------------------------------------


def test_overview_queries_do_not_grow_with_rows(
    alice_client: Client, alice: User, support: Queue, django_assert_max_num_queries
) -> None:
    for n in range(5):
        _owned(alice, support, f"Small {n}")
    with django_assert_max_num_queries(14) as small:
        alice_client.get("/tickets/?per_page=100")
    for n in range(120):
        _owned(alice, support, f"Big {n}", priority=Priority.HIGH)
    with django_assert_max_num_queries(14) as big:
        page = alice_client.get("/tickets/?per_page=100")
    assert len(page.context["tickets"]) == 100
    assert len(big.captured_queries) == len(small.captured_queries)


def test_ticket_page_queries_do_not_grow_with_the_thread(
    alice_client: Client, alice: User, ada: User, support: Queue, django_assert_max_num_queries
) -> None:
    ticket = _owned(alice, support, "Long thread")
    actions.add_reply(alice, ticket, "<p>first</p>")
    alice_client.get(f"/t/{ticket.number}/")  # first visit creates the settings and presence rows
    with django_assert_max_num_queries(26) as short:
        alice_client.get(f"/t/{ticket.number}/")
    for n in range(200):
        files = (
            [SimpleUploadedFile(f"f{n}.txt", b"x", content_type="text/plain")]
            if n % 20 == 0
            else []
        )
        author = alice if n % 2 else ada
        actions.add_article(
            author,
            ticket,
            [ArticleKind.REPLY, ArticleKind.NOTE, ArticleKind.DISCUSSION][n % 3],
            f"<p>m{n}</p>",
            attachments=files,
        )
        if n % 10 == 0:
            actions.follow(alice, ticket, ada if n % 20 else alice)
    with django_assert_max_num_queries(26) as long:
        page = alice_client.get(f"/t/{ticket.number}/")
    assert "m199" in page.content.decode()
    assert len(long.captured_queries) == len(short.captured_queries)
