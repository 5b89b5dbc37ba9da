"""The agent workspace through HTTP, the parts test_views.py leaves out: on-hold periods,
attachment downloads, the customer's landing page, e-mail login and the browser's language."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import (
    Attachment,
    Queue,
    Status,
    Ticket,
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


# --- The ticket page --------------------------------------------------------------------------


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


def test_login_with_email(client: Client, alice: User) -> None:
    response = client.post("/login/", {"username": "ALICE@example.com", "password": "pw"})
    assert response.status_code == 302
    assert client.get("/", follow=True).request["PATH_INFO"] == "/tickets/"


# --- Language ---------------------------------------------------------------------------------


def test_the_browser_language_is_the_default(alice_client: Client) -> None:
    page = alice_client.get("/tickets/", HTTP_ACCEPT_LANGUAGE="sv-SE,sv;q=0.9").content.decode()
    assert '<html lang="sv">' in page
