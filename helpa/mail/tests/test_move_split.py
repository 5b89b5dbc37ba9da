"""An agent corrects the threading: a received mail moves to another ticket, or becomes a new one.
The message, its files and its raw .eml go together; both tickets' history says so.

Personas from helpa/conftest.py: `alice` works Support; `bob` works Billing only.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from django.template.loader import render_to_string
from django.test import Client, RequestFactory

from helpa.accounts.models import User
from helpa.mail import actions, ingest
from helpa.mail.models import InboundMail
from helpa.tickets import actions as ticket_actions
from helpa.tickets.models import Attachment, HistoryEntry, Queue, Ticket

pytestmark = pytest.mark.django_db

CORPUS = Path(__file__).parent / "corpus"


def ingest_file(name: str, queue: Queue) -> InboundMail:
    result = ingest.ingest_message(
        (CORPUS / name).read_bytes(), source=InboundMail.Source.PIPE, queue=queue
    )
    assert result.inbound is not None and result.inbound.state == InboundMail.State.STORED
    return result.inbound


@pytest.fixture
def inline_mail(support: Queue) -> InboundMail:
    """A mail with an inline image and its own ticket."""
    return ingest_file("related_cid.eml", support)


@pytest.fixture
def other_ticket(alice: User, support: Queue) -> Ticket:
    return ticket_actions.open_ticket(alice, queue=support, title="The right ticket")


def test_move_takes_the_article_files_and_history_along(
    alice: User, inline_mail: InboundMail, other_ticket: Ticket
) -> None:
    source = inline_mail.ticket
    actions.move_inbound_mail(alice, inline_mail, other_ticket)
    inline_mail.refresh_from_db()
    article = inline_mail.article
    assert inline_mail.ticket == other_ticket and article.ticket == other_ticket
    logo = Attachment.objects.get(article=article)
    assert logo.ticket == other_ticket
    assert f"/t/{other_ticket.number}/attachments/{logo.pk}/" in article.body_html
    assert f"/t/{source.number}/" not in article.body_html
    assert not source.articles.exists()
    out = HistoryEntry.objects.get(ticket=source, field="mail_moved_out")
    into = HistoryEntry.objects.get(ticket=other_ticket, field="mail_moved_in")
    assert out.actor == alice and out.new_value == other_ticket.display_number
    assert into.old_value == source.display_number
    assert "Moved from" in inline_mail.thread_reason and "Alice" in inline_mail.thread_reason


def test_moving_to_the_same_ticket_is_refused(alice: User, inline_mail: InboundMail) -> None:
    with pytest.raises(ticket_actions.TicketError):
        actions.move_inbound_mail(alice, inline_mail, inline_mail.ticket)


def test_split_makes_a_new_ticket_with_the_message(
    alice: User, support: Queue, other_ticket: Ticket
) -> None:
    first = ingest_file("latin1.eml", support)
    # A second mail wrongly threaded onto the first one's ticket.
    second = ingest_file("koi8r.eml", support)
    actions.move_inbound_mail(alice, second, first.ticket)
    new = actions.split_inbound_mail(alice, second)
    second.refresh_from_db()
    assert new not in (first.ticket, other_ticket) and new.queue == support
    assert new.title == "KOI8-R" and new.channel == "email"
    assert new.contact == second.article.author_contact
    assert second.ticket == new and second.article.ticket == new
    assert list(first.ticket.articles.all()) == [first.article]
    fields = HistoryEntry.objects.filter(ticket=first.ticket, field__startswith="mail_moved")
    assert sorted(fields.values_list("field", flat=True)) == ["mail_moved_in", "mail_moved_out"]
    assert HistoryEntry.objects.filter(ticket=new, field="mail_moved_in").exists()
    assert "Split from" in second.thread_reason


# --- The views -------------------------------------------------------------------------------


def test_an_agent_moves_a_mail_from_the_ticket_page(
    alice_client: Client, inline_mail: InboundMail, other_ticket: Ticket
) -> None:
    response = alice_client.post(
        f"/mail/received/{inline_mail.pk}/move/", {"ticket": other_ticket.number}
    )
    assert response.status_code == 302 and response["Location"] == f"/t/{other_ticket.number}/"
    inline_mail.refresh_from_db()
    assert inline_mail.ticket == other_ticket
    page = alice_client.get(f"/t/{other_ticket.number}/").content.decode()
    assert "Our logo:" in page


def test_a_target_in_a_queue_the_agent_does_not_see_is_404(
    alice_client: Client, alice: User, inline_mail: InboundMail, billing: Queue
) -> None:
    hidden = ticket_actions.open_ticket(None, queue=billing, title="Billing matter")
    response = alice_client.post(
        f"/mail/received/{inline_mail.pk}/move/", {"ticket": hidden.number}
    )
    assert response.status_code == 404
    inline_mail.refresh_from_db()
    assert inline_mail.ticket != hidden and not hidden.articles.exists()


def test_a_mail_on_a_ticket_the_agent_does_not_see_is_404(
    bob_client: Client, bob: User, inline_mail: InboundMail, billing: Queue
) -> None:
    own = ticket_actions.open_ticket(bob, queue=billing, title="Bob's ticket")
    before = inline_mail.ticket
    assert (
        bob_client.post(f"/mail/received/{inline_mail.pk}/move/", {"ticket": own.number})
    ).status_code == 404
    assert bob_client.post(f"/mail/received/{inline_mail.pk}/split/").status_code == 404
    assert bob_client.get(f"/mail/received/{inline_mail.pk}/message.eml").status_code == 404
    inline_mail.refresh_from_db()
    assert inline_mail.ticket == before


def test_customers_cannot_move_or_split(
    carl_client: Client, inline_mail: InboundMail, other_ticket: Ticket
) -> None:
    response = carl_client.post(
        f"/mail/received/{inline_mail.pk}/move/", {"ticket": other_ticket.number}
    )
    assert response.status_code == 403
    assert carl_client.post(f"/mail/received/{inline_mail.pk}/split/").status_code == 403


def test_an_agent_splits_a_mail(alice_client: Client, inline_mail: InboundMail) -> None:
    source = inline_mail.ticket
    response = alice_client.post(f"/mail/received/{inline_mail.pk}/split/")
    assert response.status_code == 302
    inline_mail.refresh_from_db()
    assert inline_mail.ticket != source
    assert response["Location"] == f"/t/{inline_mail.ticket.number}/"


def test_a_bad_target_number_goes_back_with_a_message(
    alice_client: Client, inline_mail: InboundMail
) -> None:
    response = alice_client.post(
        f"/mail/received/{inline_mail.pk}/move/", {"ticket": "abc"}, follow=True
    )
    assert "Enter the number of the ticket" in response.content.decode()
    assert (
        alice_client.post(f"/mail/received/{inline_mail.pk}/move/", {"ticket": 999999})
    ).status_code == 404


def test_the_agent_downloads_the_raw_mail_of_a_visible_ticket(
    alice_client: Client, inline_mail: InboundMail
) -> None:
    response = alice_client.get(f"/mail/received/{inline_mail.pk}/message.eml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert b"".join(response.streaming_content) == (CORPUS / "related_cid.eml").read_bytes()


# --- The include for the ticket page ------------------------------------------------------------


def _render_include(article, user: User) -> str:
    request = RequestFactory().get("/")
    request.user = user
    return render_to_string(
        "mail/article_inbound.html", {"article": article, "ticket": article.ticket}, request
    )


def test_the_include_shows_reason_eml_and_actions(alice: User, support: Queue) -> None:
    inbound = ingest_file("remote_images.eml", support)
    html = _render_include(inbound.article, alice)
    assert inbound.thread_reason in html
    assert f'href="/mail/received/{inbound.pk}/message.eml"' in html
    assert "data-show-remote-images" in html
    assert f'action="/mail/received/{inbound.pk}/move/"' in html
    assert f'action="/mail/received/{inbound.pk}/split/"' in html
    assert 'name="csrfmiddlewaretoken"' in html


def test_the_include_offers_remote_images_only_when_there_are_some(
    alice: User, support: Queue, ticket: Ticket
) -> None:
    inbound = ingest_file("text_only.eml", support)
    assert "data-show-remote-images" not in _render_include(inbound.article, alice)
    # An article that did not come by mail shows nothing.
    note = ticket_actions.add_note(alice, ticket, "<p>Internal</p>")
    assert _render_include(note, alice).strip() == ""
