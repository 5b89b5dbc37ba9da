"""Canned responses: placeholders filled for the ticket, offered per queue, managed by admins."""

import pytest
from django.conf import settings
from django.urls import reverse

from helpa.automation import actions
from helpa.automation.models import CannedResponse


@pytest.fixture
def thanks(db) -> CannedResponse:
    return CannedResponse.objects.create(
        name="Thanks",
        body="Hej {{contact.first_name}}!\n\nTack för ditt ärende {{ticket.number}} "
        "({{ticket.title}}) från {{company.name}}.\nSe {{ticket.link}}\n\n"
        "Hälsningar\n{{agent.name}} {{unknown.thing}}",
    )


def test_placeholders_are_filled_for_the_ticket(thanks, ticket, contact, alice) -> None:
    ticket.contact = contact
    ticket.company = contact.company
    filled = actions.filled_response(thanks, ticket, alice)
    link = settings.BASE_URL + reverse("portal:ticket", args=[ticket.number])
    assert filled["text"] == (
        f"Hej Carl!\n\nTack för ditt ärende {ticket.display_number} "
        f"(Printer on floor 3 is jammed) från Acme AB.\nSe {link}\n\n"
        "Hälsningar\nAlice Agent {{unknown.thing}}"
    )
    assert filled["html"].startswith("<p>Hej Carl!</p><p>Tack för")
    assert "<br>Se " in filled["html"]


def test_values_from_outside_are_escaped_in_the_html(thanks, ticket, alice) -> None:
    ticket.title = "<img src=x onerror=alert(1)>"
    filled = actions.filled_response(thanks, ticket, alice)
    assert "<img" not in filled["html"]
    assert "&lt;img" in filled["html"]
    assert "Hej !" in filled["text"]  # no contact: an empty name, not an error


def test_a_ticket_is_offered_its_queue_s_and_the_global_responses(
    thanks, ticket, queue_support, queue_billing
) -> None:
    CannedResponse.objects.create(name="Support only", body="x", queue=queue_support)
    CannedResponse.objects.create(name="Billing only", body="x", queue=queue_billing)
    CannedResponse.objects.create(name="Old", body="x", is_active=False)
    assert [r.name for r in actions.responses_for(ticket)] == ["Support only", "Thanks"]


def test_the_composer_endpoint_checks_the_ticket(alice_client, bob_client, thanks, ticket) -> None:
    url = reverse("templates:canned_for_ticket", args=[ticket.number])
    assert bob_client.get(url).status_code == 404  # not his queue: nothing leaks
    data = alice_client.get(url).json()
    assert [r["name"] for r in data["responses"]] == ["Thanks"]
    assert ticket.display_number in data["responses"][0]["text"]


def test_the_composer_endpoint_takes_few_queries(
    alice_client, thanks, ticket, queue_support, django_assert_max_num_queries
) -> None:
    for n in range(20):
        CannedResponse.objects.create(name=f"R{n}", body="{{ticket.title}}", queue=queue_support)
    with django_assert_max_num_queries(8):  # session, user, queues, ticket, responses
        response = alice_client.get(reverse("templates:canned_for_ticket", args=[ticket.number]))
    assert len(response.json()["responses"]) == 21


def test_an_admin_writes_a_response_and_hears_of_unknown_placeholders(
    ada_client, queue_support
) -> None:
    url = reverse("templates:canned_new")
    bad = ada_client.post(url, {"name": "Hi", "body": "Hej {{contact.namn}}", "is_active": "on"})
    assert bad.status_code == 400
    assert "Unknown placeholder: {{contact.namn}}" in bad.content.decode()
    assert "Hej {{contact.namn}}" in bad.content.decode()  # kept in the form
    good = ada_client.post(url, {"name": "Hi", "body": "Hej {{contact.name}}", "is_active": "on"})
    assert good.status_code == 302
    duplicate = ada_client.post(url, {"name": "Hi", "body": "Again", "is_active": "on"})
    assert duplicate.status_code == 400
    # The same name in a queue of its own is another response.
    in_queue = ada_client.post(
        url, {"name": "Hi", "body": "Queue", "queue": queue_support.pk, "is_active": "on"}
    )
    assert in_queue.status_code == 302
    assert CannedResponse.objects.filter(name="Hi").count() == 2


def test_the_composer_shows_the_picker(alice_client, ticket) -> None:
    page = alice_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert reverse("templates:canned_for_ticket", args=[ticket.number]) in page
