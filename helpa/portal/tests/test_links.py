"""Ticket links: one ticket, one contact, no login — and nothing more than that."""

from __future__ import annotations

from datetime import timedelta

from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.portal import links
from helpa.portal.models import TicketLink
from helpa.tickets import actions
from helpa.tickets.models import ArticleKind, Attachment, Queue, Status, Ticket

from .test_portal import carl_ticket


def _path(raw: str) -> str:
    return reverse("portal:link", args=[raw])


def test_a_link_shows_the_public_thread_without_login(
    client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    url = links.ticket_link_url(ticket, contact)
    assert url.startswith("http") and "/portal/l/" in url
    raw = url.rstrip("/").rsplit("/", 1)[-1]
    stored = TicketLink.objects.filter(ticket=ticket).latest("pk")
    assert raw not in stored.token_hash and len(raw) >= 40

    response = client.get(_path(raw))
    text = response.content.decode()
    assert response.status_code == 200
    assert "It jams" in text and "Try turning it off and on" in text
    assert "SECRET" not in text
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Robots-Tag"].startswith("noindex")
    assert '<meta name="robots" content="noindex' in text
    assert "_auth_user_id" not in client.session  # a link never signs anybody in


def test_the_contact_adds_information_and_files_through_the_link(
    client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    actions.set_status(alice, ticket, Status.WAITING)
    raw = links.issue_ticket_link(ticket, contact)
    response = client.post(
        _path(raw),
        {
            "body": "The serial is 42",
            "attachments": [SimpleUploadedFile("photo.png", b"\x89PNG\r\n\x1a\nxx", "image/png")],
        },
    )
    assert response.status_code == 302
    article = ticket.articles.filter(kind=ArticleKind.CUSTOMER).latest("id")
    assert article.author_contact == contact and "serial is 42" in article.body_text
    ticket.refresh_from_db()
    assert ticket.status == Status.OPEN
    file = article.attachments.get()
    download = client.get(reverse("portal:link_attachment", args=[raw, file.pk]))
    assert download.status_code == 200


def test_expired_revoked_and_foreign_tokens_show_nothing(
    client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    other = carl_ticket(queue_support, Contact.objects.create(name="O", email="o@x.se"), alice)
    note_file = Attachment.objects.create(
        ticket=ticket,
        article=ticket.articles.get(kind=ArticleKind.NOTE),
        filename="internal.txt",
        size=1,
    )
    other_file = Attachment.objects.create(
        ticket=other, article=other.articles.get(kind=ArticleKind.REPLY), filename="o.txt", size=1
    )
    expired = links.issue_ticket_link(ticket, contact)
    TicketLink.objects.filter(ticket=ticket).update(expires_at=timezone.now() - timedelta(1))
    revoked = links.issue_ticket_link(ticket, contact)
    assert links.revoke_ticket_links(ticket) == 1
    valid = links.issue_ticket_link(ticket, contact)

    for raw in (expired, revoked, "x" * 43, valid[:-1] + ("A" if valid[-1] != "A" else "B")):
        assert client.get(_path(raw)).status_code == 404
        assert client.post(_path(raw), {"body": "sneaky"}).status_code == 404
    assert not ticket.articles.filter(body_text__contains="sneaky").exists()
    # A valid link opens its own ticket's public files only.
    assert (
        client.get(reverse("portal:link_attachment", args=[valid, note_file.pk])).status_code == 404
    )
    assert (
        client.get(reverse("portal:link_attachment", args=[valid, other_file.pk])).status_code
        == 404
    )


def test_an_agent_revokes_the_links_of_a_ticket(
    agent_client: Client, contact: Contact, queue_support: Queue, alice: User, bob: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    raw = links.issue_ticket_link(ticket, contact)
    url = reverse("portal:revoke_links", args=[ticket.number])
    # An agent outside the queue cannot, and learns nothing.
    outsider = Client()
    outsider.force_login(bob)
    assert outsider.post(url).status_code == 404
    assert Client().get(_path(raw)).status_code == 200
    page = agent_client.get(reverse("tickets:detail", args=[ticket.number])).content.decode()
    assert 'data-testid="revoke-links"' in page
    assert agent_client.post(url).status_code == 302
    assert Client().get(_path(raw)).status_code == 404


def test_a_link_to_a_closed_ticket_reads_but_does_not_write(
    client: Client, contact: Contact, queue_support: Queue, alice: User
) -> None:
    ticket = carl_ticket(queue_support, contact, alice)
    actions.close_ticket(alice, ticket)
    raw = links.issue_ticket_link(ticket, contact)
    page = client.get(_path(raw)).content.decode()
    assert "This request is closed" in page and 'data-testid="message-form"' not in page
    refused = client.post(_path(raw), {"body": "late words"})
    assert refused.status_code == 400 and "late words" in refused.content.decode()
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
