"""Tickets through the API: what a token sees, the overview's filters, writes through the
actions, ETag/If-Match, and the error shapes."""

from __future__ import annotations

import pytest

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.crm.models import Brand, Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Channel, HistoryEntry, Queue, Status, Ticket

TICKETS = "/api/v1/tickets/"


def url(ticket: Ticket, rest: str = "") -> str:
    return f"{TICKETS}{ticket.number}/{rest}"


@pytest.fixture
def billing_ticket(admin: User, queue_billing: Queue) -> Ticket:
    return actions.open_ticket(admin, queue=queue_billing, title="Invoice 4711 is wrong")


# --- Seeing -------------------------------------------------------------------------------------


def test_a_token_sees_exactly_the_tickets_its_user_sees(alice_api, ticket, billing_ticket):
    listed = alice_api.get(TICKETS).json()["results"]
    assert [t["number"] for t in listed] == [ticket.number]
    assert alice_api.get(url(ticket)).status_code == 200
    # Another queue's ticket does not exist, for reading and for every write.
    for method, rest, body in [
        ("get", "", None),
        ("patch", "", {"title": "x"}),
        ("post", "reply/", {"body": "x"}),
        ("post", "note/", {"body": "x"}),
        ("post", "status/", {"status": "closed"}),
        ("get", "followers/", None),
        ("post", "followers/", {"user": 1}),
    ]:
        response = getattr(alice_api, method)(url(billing_ticket, rest), body, format="json")
        assert response.status_code == 404, (method, rest)
        assert response.json()["code"] == "not_found"
    billing_ticket.refresh_from_db()
    assert billing_ticket.title == "Invoice 4711 is wrong" and billing_ticket.version == 1


def test_an_agent_limited_to_a_brand_sees_no_other_brands_tickets(
    alice, alice_api, queue_support, ticket
):
    other = Brand.objects.create(code="OTHER", name="Other")
    mine = Brand.objects.create(code="MINE", name="Mine")
    mine.limited_agents.add(alice)
    queue_support.brand = other
    queue_support.save()
    assert alice_api.get(TICKETS).json()["results"] == []
    assert alice_api.get(url(ticket)).status_code == 404


def test_an_agent_in_no_team_sees_nothing(bob_agent, api_for, ticket):
    client = api_for(bob_agent)
    assert client.get(TICKETS).json()["results"] == []
    assert client.get(url(ticket)).status_code == 404


def test_the_ticket_carries_its_whole_thread_and_an_etag(alice, alice_api, ticket):
    actions.add_reply(alice, ticket, "<p>We are on it</p>")
    actions.add_note(alice, ticket, "<p>Toner is out</p>", time_spent_minutes=5)
    response = alice_api.get(url(ticket))
    body = response.json()
    assert response["ETag"] == f'"{ticket.version}"'
    assert [a["kind"] for a in body["articles"]] == ["reply", "note"]
    assert body["articles"][1]["is_public"] is False
    assert body["time_spent_minutes"] == 5
    assert body["articles"][0]["author_name"] == "Alice Agent"


# --- The list: the overview's filters, an allow-list, cursor pages ---------------------------------


def test_the_list_filters_as_the_overview(alice, alice_api, queue_support, ticket):
    other = actions.open_ticket(alice, queue=queue_support, title="Mouse is broken")
    actions.update_ticket(alice, other, {"owner": alice, "status": Status.OPEN})

    def numbers(query: str) -> list[int]:
        response = alice_api.get(TICKETS + query)
        assert response.status_code == 200, response.json()
        return [t["number"] for t in response.json()["results"]]

    assert numbers("?status=open") == [other.number]
    assert numbers("?status=new&status=open") == [other.number, ticket.number]
    assert numbers("?owner=none") == [ticket.number]
    assert numbers("?view=mine") == [other.number]
    assert numbers("?q=printer") == [ticket.number]
    assert numbers(f"?q={other.number}") == [other.number]
    assert numbers("?sort=-number") == [ticket.number, other.number]


@pytest.mark.parametrize(
    "query, field",
    [
        ("?colour=red", "colour"),
        ("?sort=title", "sort"),
        ("?status=lost", "status"),
        ("?queue=abc", "queue"),
        ("?owner=someone", "owner"),
        ("?view=everything", "view"),
        ("?due=tomorrow", "due"),
        ("?priority=9", "priority"),
        ("?view=all&view=mine", "view"),
    ],
)
def test_parameters_outside_the_allow_list_are_400(alice_api, query, field):
    response = alice_api.get(TICKETS + query)
    assert response.status_code == 400
    body = response.json()
    assert body["code"] == "invalid" and list(body["errors"]) == [field]
    assert isinstance(body["errors"][field][0], str)


def test_cursor_pages_walk_the_whole_list_once(alice, alice_api, queue_support):
    made = [actions.open_ticket(alice, queue=queue_support, title=f"T{i}") for i in range(5)]
    seen: list[int] = []
    next_url = TICKETS + "?page_size=2&sort=-number"
    while next_url:
        page = alice_api.get(next_url).json()
        assert len(page["results"]) <= 2
        seen += [t["number"] for t in page["results"]]
        next_url = page["next"]
    assert seen == [t.number for t in made]


@pytest.mark.parametrize("count", [2, 20])
def test_the_list_costs_a_fixed_number_of_queries(
    alice, alice_api, queue_support, contact, count, django_assert_max_num_queries
):
    for i in range(count):
        t = actions.open_ticket(
            alice, queue=queue_support, title=f"T{i}", contact=contact, owner=alice
        )
        actions.add_reply(alice, t, "<p>hi</p>")
    alice_api.get("/api/v1/me/")  # the token's "last used" is written once a minute
    # token+user, the user's queues, the page
    with django_assert_max_num_queries(3):
        response = alice_api.get(TICKETS + "?page_size=50")
    assert len(response.json()["results"]) == count


@pytest.mark.parametrize("count", [2, 20])
def test_a_ticket_with_a_long_thread_costs_a_fixed_number_of_queries(
    alice, alice_api, ticket, count, django_assert_max_num_queries
):
    for i in range(count):
        actions.add_note(alice, ticket, f"<p>note {i}</p>")
    alice_api.get("/api/v1/me/")
    with django_assert_max_num_queries(9):
        response = alice_api.get(url(ticket))
    assert len(response.json()["articles"]) == count


# --- Creating ------------------------------------------------------------------------------------


def test_creating_a_ticket_goes_through_open_ticket(alice, alice_api, queue_support, contact):
    response = alice_api.post(
        TICKETS,
        {
            "title": "VPN drops",
            "description": "It drops <b>every</b> hour<script>x</script>",
            "queue": queue_support.pk,
            "contact": contact.pk,
        },
        format="json",
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    ticket = Ticket.objects.get(number=body["number"])
    assert response["Location"].endswith(f"/api/v1/tickets/{ticket.number}/")
    assert response["ETag"] == '"1"'
    assert ticket.channel == Channel.API and ticket.created_by == alice
    assert "<script>" not in ticket.description  # sanitised by the action
    assert ticket.company == contact.company  # the action's rule: the contact's company
    assert HistoryEntry.objects.filter(ticket=ticket, field="created").exists()


def test_plain_text_bodies_become_html(alice_api, queue_support):
    response = alice_api.post(
        TICKETS,
        {
            "title": "x",
            "description": "a < b\nsecond line",
            "format": "text",
            "queue": queue_support.pk,
        },
        format="json",
    )
    assert "a &lt; b" in response.json()["description"]


def test_creating_in_a_queue_one_does_not_work_is_refused(alice_api, queue_billing):
    response = alice_api.post(TICKETS, {"title": "x", "queue": queue_billing.pk}, format="json")
    assert response.status_code == 400
    assert list(response.json()["errors"]) == ["queue"]
    assert not Ticket.objects.exists()


def test_another_brands_contact_cannot_be_set(alice, alice_api, queue_support):
    other = Brand.objects.create(code="OTHER", name="Other")
    Brand.objects.create(code="MINE", name="Mine").limited_agents.add(alice)
    stranger = Contact.objects.create(
        name="S", email="s@other.example", company=Company.objects.create(name="O", brand=other)
    )
    response = alice_api.post(
        TICKETS, {"title": "x", "queue": queue_support.pk, "contact": stranger.pk}, format="json"
    )
    assert response.status_code == 400 and list(response.json()["errors"]) == ["contact"]


def test_invalid_input_gets_one_message_per_field(alice_api):
    response = alice_api.post(
        TICKETS, {"priority": 7, "due_at": "soon", "colour": "red"}, format="json"
    )
    assert response.status_code == 400
    errors = response.json()["errors"]
    assert set(errors) == {"colour"}  # unknown fields first: a typo is named before anything
    response = alice_api.post(TICKETS, {"priority": 7, "due_at": "soon"}, format="json")
    errors = response.json()["errors"]
    assert set(errors) == {"title", "queue", "priority", "due_at"}
    assert all(isinstance(m, str) for messages in errors.values() for m in messages)


def test_the_actions_refusals_come_back_as_400(alice_api, queue_support):
    response = alice_api.post(
        TICKETS, {"title": "x", "queue": queue_support.pk, "status": "open"}, format="json"
    )
    assert response.status_code == 400
    assert "owner" in response.json()["errors"]["non_field_errors"][0]


def test_a_json_body_that_is_not_an_object_is_400(alice_api):
    response = alice_api.post(TICKETS, [1, 2], format="json")
    assert response.status_code == 400 and response.json()["code"] == "invalid"
    response = alice_api.post(TICKETS, "{not json", content_type="application/json")
    assert response.status_code == 400 and response.json()["detail"]


# --- Changing, with ETag and If-Match ------------------------------------------------------------


def test_patch_with_the_current_etag_changes_the_ticket(alice, alice_api, ticket):
    etag = alice_api.get(url(ticket))["ETag"]
    response = alice_api.patch(
        url(ticket),
        {"title": "Printer fixed?", "owner": alice.pk},
        format="json",
        HTTP_IF_MATCH=etag,
    )
    assert response.status_code == 200, response.json()
    assert response.json()["title"] == "Printer fixed?"
    assert response["ETag"] == '"2"'
    assert set(
        HistoryEntry.objects.filter(ticket=ticket, version=2).values_list("field", flat=True)
    ) == {"title", "owner"}


def test_patch_with_a_stale_etag_is_412_and_changes_nothing(alice, alice_api, ticket):
    etag = alice_api.get(url(ticket))["ETag"]
    actions.update_ticket(alice, ticket, {"title": "Changed by a colleague"})
    response = alice_api.patch(url(ticket), {"title": "Mine"}, format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 412
    assert response.json()["code"] == "precondition_failed" and response.json()["detail"]
    ticket.refresh_from_db()
    assert ticket.title == "Changed by a colleague"
    for rest, body in [("status/", {"status": "closed"}), ("reply/", {"body": "hi"})]:
        assert (
            alice_api.post(url(ticket, rest), body, format="json", HTTP_IF_MATCH=etag).status_code
            == 412
        )
    assert not Article.objects.filter(ticket=ticket).exists()


def test_a_write_the_action_finds_stale_is_412_too(alice, alice_api, ticket, monkeypatch):
    """If-Match read the current version, then a colleague saved before the row lock."""
    real = actions.update_ticket

    def colleague_first(actor, t, changes, expected_version=None):
        real(alice, t, {"priority": 3})
        return real(actor, t, changes, expected_version=expected_version)

    monkeypatch.setattr(actions, "update_ticket", colleague_first)
    response = alice_api.patch(url(ticket), {"title": "Mine"}, format="json", HTTP_IF_MATCH='"1"')
    assert response.status_code == 412


def test_patch_without_if_match_is_last_write_wins(alice_api, ticket):
    response = alice_api.patch(url(ticket), {"priority": 3}, format="json")
    assert response.status_code == 200 and response.json()["priority"] == 3


def test_patch_refuses_an_empty_title_and_unknown_fields(alice_api, ticket):
    assert alice_api.patch(url(ticket), {"title": " "}, format="json").status_code == 400
    response = alice_api.patch(url(ticket), {"number": 1}, format="json")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["number"]


def test_status_changes_go_through_the_actions(alice, alice_api, ticket):
    refused = alice_api.post(url(ticket, "status/"), {"status": "open"}, format="json")
    assert refused.status_code == 400  # leaving New needs an owner
    alice_api.patch(url(ticket), {"owner": alice.pk}, format="json")
    held = alice_api.post(url(ticket, "status/"), {"status": "on_hold"}, format="json")
    assert held.json()["status"] == "on_hold"
    closed = alice_api.post(url(ticket, "status/"), {"status": "closed"}, format="json")
    assert closed.json()["status"] == "closed" and closed.json()["closed_at"]


def test_closing_with_children_closes_them(alice, alice_api, ticket, queue_support):
    child = actions.open_ticket(alice, queue=queue_support, title="child", parent=ticket)
    actions.update_ticket(alice, ticket, {"owner": alice})
    response = alice_api.post(
        url(ticket, "status/"), {"status": "closed", "close_children": True}, format="json"
    )
    assert response.status_code == 200
    child.refresh_from_db()
    assert child.status == Status.CLOSED


# --- Thread and followers ------------------------------------------------------------------------


def test_reply_and_note_with_time_spent(alice_api, ticket):
    reply = alice_api.post(
        url(ticket, "reply/"), {"body": "<p>Try again</p>", "time_spent_minutes": 10}, format="json"
    )
    assert reply.status_code == 201, reply.json()
    assert reply.json()["kind"] == "reply" and reply["ETag"] == f'"{ticket.version}"'
    note = alice_api.post(
        url(ticket, "note/"), {"body": "internal", "format": "text"}, format="json"
    )
    assert note.json()["kind"] == "note"
    kinds = list(Article.objects.filter(ticket=ticket).values_list("kind", "time_spent_minutes"))
    assert kinds == [(ArticleKind.REPLY, 10), (ArticleKind.NOTE, 0)]


def test_replies_are_checked(alice_api, ticket):
    negative = alice_api.post(
        url(ticket, "reply/"), {"body": "x", "time_spent_minutes": -1}, format="json"
    )
    assert list(negative.json()["errors"]) == ["time_spent_minutes"]
    empty = alice_api.post(url(ticket, "reply/"), {"body": "<p> </p>"}, format="json")
    assert empty.status_code == 400 and empty.json()["errors"]["non_field_errors"]


def test_followers(alice, alice_api, ticket, admin, customer):
    added = alice_api.post(url(ticket, "followers/"), {"user": admin.pk}, format="json")
    assert [u["id"] for u in added.json()] == [admin.pk]
    not_an_agent = alice_api.post(url(ticket, "followers/"), {"user": customer.pk}, format="json")
    assert not_an_agent.status_code == 400
    assert alice_api.delete(url(ticket, f"followers/{admin.pk}/")).status_code == 204
    assert alice_api.get(url(ticket, "followers/")).json() == []
    assert HistoryEntry.objects.filter(ticket=ticket, field="follower_removed").exists()


def test_a_read_only_token_changes_no_ticket(alice, api_for, ticket):
    client = api_for(alice, Scope.READ)
    for method, rest, body in [
        ("patch", "", {"title": "x"}),
        ("post", "reply/", {"body": "x"}),
        ("post", "status/", {"status": "closed"}),
        ("post", "followers/", {"user": alice.pk}),
        ("delete", f"followers/{alice.pk}/", None),
    ]:
        assert getattr(client, method)(url(ticket, rest), body, format="json").status_code == 403
    ticket.refresh_from_db()
    assert ticket.version == 1 and not Article.objects.exists()
