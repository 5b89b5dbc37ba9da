"""Ticket templates and canned responses through the API: what the agent UI offers the user
(brand limits, the user's queues, active only), and a canned response filled in for a ticket as
the reply editor inserts it."""

from __future__ import annotations

import pytest
from django.test import Client
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.automation.models import CannedResponse, SubTicketTemplate, TicketTemplate
from helpa.crm.models import Brand, Contact
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

TEMPLATES = "/api/v1/templates/"
CANNED = "/api/v1/canned-responses/"


@pytest.fixture
def brands(alice: User, queue_support: Queue) -> tuple[Brand, Brand]:
    """Alice is limited to brand MINE (Support's brand); OTHER is not hers."""
    mine = Brand.objects.create(code="MINE", name="Mine")
    other = Brand.objects.create(code="OTHER", name="Other")
    mine.limited_agents.add(alice)
    queue_support.brand = mine
    queue_support.save(update_fields=["brand"])
    return mine, other


def names(response) -> list[str]:  # type: ignore[no-untyped-def]
    assert response.status_code == 200, response.json()
    return [row["name"] for row in response.json()["results"]]


# --- Templates -----------------------------------------------------------------------------------


@pytest.fixture
def templates(brands: tuple[Brand, Brand], queue_support: Queue) -> dict[str, TicketTemplate]:
    mine, other = brands
    made = {
        "Any": TicketTemplate.objects.create(name="Any", title="Any brand"),
        "Mine": TicketTemplate.objects.create(
            name="Mine", title="Mine", brand=mine, queue=queue_support, instructions="a\n\nb"
        ),
        "Other": TicketTemplate.objects.create(name="Other", title="Other", brand=other),
        "Old": TicketTemplate.objects.create(name="Old", title="Old", is_active=False),
    }
    SubTicketTemplate.objects.create(template=made["Mine"], sub_template=made["Any"], position=1)
    return made


def test_templates_follow_the_brand_limits_and_leave_out_inactive_ones(
    alice_api, templates, admin, api_for
):
    assert names(alice_api.get(TEMPLATES)) == ["Any", "Mine"]
    assert alice_api.get(f"{TEMPLATES}{templates['Other'].pk}/").status_code == 404
    assert alice_api.get(f"{TEMPLATES}{templates['Old'].pk}/").status_code == 404
    # An admin has no brand limit; an inactive template is offered to nobody.
    assert names(api_for(admin).get(TEMPLATES)) == ["Any", "Mine", "Other"]


def test_a_template_shows_its_fields_steps_and_sub_templates(alice_api, templates, queue_support):
    body = alice_api.get(f"{TEMPLATES}{templates['Mine'].pk}/").json()
    assert body["title"] == "Mine" and body["queue"] == queue_support.pk
    assert body["steps"] == ["a", "b"] and body["sub_templates"] == [templates["Any"].pk]
    assert body["status"] == "new" and body["brand"] == templates["Mine"].brand_id


def test_with_a_ticket_the_templates_its_page_offers(
    alice, admin, api_for, alice_api, templates, brands, queue_billing
):
    ticket = actions.open_ticket(alice, queue=Queue.objects.get(slug="support"), title="T")
    assert names(alice_api.get(f"{TEMPLATES}?ticket={ticket.number}")) == ["Any", "Mine"]
    # A ticket of an unbranded queue: only the templates of every brand (templates_for).
    unbranded = actions.open_ticket(admin, queue=queue_billing, title="U")
    assert names(api_for(admin).get(f"{TEMPLATES}?ticket={unbranded.number}")) == ["Any"]
    # Another queue's ticket does not exist for alice; a number must be a number.
    assert alice_api.get(f"{TEMPLATES}?ticket={unbranded.number}").status_code == 404
    bad = alice_api.get(f"{TEMPLATES}?ticket=abc")
    assert bad.status_code == 400 and list(bad.json()["errors"]) == ["ticket"]
    assert alice_api.get(f"{TEMPLATES}?queue=1").status_code == 400


@pytest.mark.parametrize("count", [2, 20])
def test_the_template_list_costs_a_fixed_number_of_queries(
    alice_api, count, django_assert_max_num_queries
):
    for i in range(count):
        parent = TicketTemplate.objects.create(name=f"T{i}", title="t")
        child = TicketTemplate.objects.create(name=f"S{i}", title="s")
        SubTicketTemplate.objects.create(template=parent, sub_template=child)
    alice_api.get("/api/v1/me/")
    with django_assert_max_num_queries(3):  # token+user, page, sub-template links
        response = alice_api.get(TEMPLATES + "?page_size=100")
    assert len(response.json()["results"]) == 2 * count


# --- Canned responses ----------------------------------------------------------------------------


@pytest.fixture
def canned(
    brands: tuple[Brand, Brand], queue_support: Queue, queue_billing: Queue
) -> dict[str, CannedResponse]:
    mine, other = brands
    return {
        name: CannedResponse.objects.create(name=name, body=body, **fields)
        for name, body, fields in [
            ("Hello", "Hi {{contact.first_name}}, about {{ticket.number}}: {{nope.x}}", {}),
            ("Support only", "Support <b>text</b>", {"queue": queue_support}),
            ("Billing only", "Billing", {"queue": queue_billing}),
            ("Mine", "Mine", {"brand": mine}),
            ("Other brand", "Other", {"brand": other}),
            ("Off", "Off", {"is_active": False}),
        ]
    }


def test_canned_responses_of_the_users_queues_and_brands(alice_api, canned, admin, api_for):
    assert names(alice_api.get(CANNED)) == ["Hello", "Support only", "Mine"]
    for name in ("Billing only", "Other brand", "Off"):
        assert alice_api.get(f"{CANNED}{canned[name].pk}/").status_code == 404, name
    assert names(api_for(admin).get(CANNED)) == [
        "Hello",
        "Support only",
        "Billing only",
        "Mine",
        "Other brand",
    ]
    plain = alice_api.get(f"{CANNED}{canned['Hello'].pk}/").json()
    assert plain["body"].startswith("Hi {{contact.first_name}}")
    assert plain["text"] is None and plain["html"] is None


@pytest.fixture
def carls_ticket(alice: User, queue_support: Queue, contact: Contact, brands) -> Ticket:  # type: ignore[no-untyped-def]
    return actions.open_ticket(
        alice, queue=queue_support, title="Printer", contact=contact, company=contact.company
    )


def test_a_canned_response_is_filled_in_for_a_ticket_as_in_the_reply_editor(
    alice, alice_api, canned, carls_ticket
):
    agent_ui = Client()
    agent_ui.force_login(alice)
    editor = agent_ui.get(f"/t/{carls_ticket.number}/canned/").json()["responses"]
    listed = alice_api.get(f"{CANNED}?ticket={carls_ticket.number}").json()["results"]
    # The same responses as the composer's picker, filled in the same way.
    assert sorted((r["id"], r["text"], r["html"]) for r in listed) == sorted(
        (r["id"], r["text"], r["html"]) for r in editor
    )
    hello = next(r for r in listed if r["name"] == "Hello")
    number = carls_ticket.display_number
    assert hello["text"] == f"Hi Carl, about {number}: {{{{nope.x}}}}"
    one = alice_api.get(f"{CANNED}{canned['Hello'].pk}/?ticket={carls_ticket.number}").json()
    assert one["text"] == hello["text"] and one["body"] == canned["Hello"].body


def test_a_response_the_ticket_is_not_offered_is_refused_for_it(
    admin, api_for, canned, carls_ticket
):
    client = api_for(admin)
    response = client.get(f"{CANNED}{canned['Billing only'].pk}/?ticket={carls_ticket.number}")
    assert response.status_code == 400 and list(response.json()["errors"]) == ["ticket"]
    assert client.get(f"{CANNED}{canned['Billing only'].pk}/").status_code == 200


def test_another_queues_ticket_fills_in_nothing(alice_api, canned, admin, queue_billing):
    theirs = actions.open_ticket(admin, queue=queue_billing, title="Invoice")
    assert alice_api.get(f"{CANNED}?ticket={theirs.number}").status_code == 404
    hello = f"{CANNED}{canned['Hello'].pk}/?ticket={theirs.number}"
    assert alice_api.get(hello).status_code == 404


def test_templates_and_canned_responses_are_read_only_and_for_agents(
    alice, customer, api_for, canned, templates
):
    read_only = api_for(alice, Scope.READ)
    assert names(read_only.get(CANNED))  # reading is what a read-only token is for
    assert read_only.post(CANNED, {"name": "x", "body": "y"}).status_code == 403
    assert api_for(alice).post(CANNED, {"name": "x", "body": "y"}).status_code == 405
    assert api_for(alice).patch(f"{TEMPLATES}{templates['Any'].pk}/", {}).status_code == 405
    assert APIClient().get(CANNED).status_code == 401
    assert APIClient().get(f"{TEMPLATES}{templates['Any'].pk}/").status_code == 401
    as_customer = APIClient()
    as_customer.force_login(customer)
    assert as_customer.get(TEMPLATES).status_code == 403
    assert as_customer.get(CANNED).status_code == 403
    assert CannedResponse.objects.count() == len(canned)


@pytest.mark.parametrize("count", [2, 20])
def test_filled_canned_responses_cost_a_fixed_number_of_queries(
    alice_api, carls_ticket, count, django_assert_max_num_queries
):
    for i in range(count):
        CannedResponse.objects.create(name=f"R{i}", body="Hi {{contact.name}}")
    alice_api.get("/api/v1/me/")
    # token+user, the user's queues (list and ticket), the ticket, the responses it is
    # offered, the page
    with django_assert_max_num_queries(7):
        response = alice_api.get(f"{CANNED}?ticket={carls_ticket.number}")
    assert len(response.json()["results"]) == count
    assert response.json()["results"][0]["text"] == "Hi Carl Customer"
