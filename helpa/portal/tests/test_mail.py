"""What reaches the customer's mailbox: confirmations and sign-in links that work, ticket
links in every mail to the contact, and never an internal note."""

from __future__ import annotations

import email
import re
from email import policy

from django.test import Client
from django.urls import reverse

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, OutgoingMail, QueueMail
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket


def _text(mail: OutgoingMail) -> str:
    with mail.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    part = message.get_body(preferencelist=("plain",))
    return part.get_content() if part else ""


def _link(text: str) -> str:
    found = re.search(r"https?://\S+/portal/\S+/", text)
    assert found, text
    return found.group(0).split("://", 1)[1].split("/", 1)[1].join(["/", ""])


def test_a_portal_request_is_confirmed_with_a_working_link(
    carl_client: Client, contact: Contact, queue_support: Queue, django_capture_on_commit_callbacks
) -> None:
    MailAddress.objects.create(queue=queue_support, address="support@helpa.test", is_sender=True)
    with django_capture_on_commit_callbacks(execute=True):
        carl_client.post(reverse("portal:new"), {"title": "Printer jams", "body": "Every page"})
    ticket = Ticket.objects.get(contact=contact)
    confirmation = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AUTO_REPLY, ticket=ticket)
    assert confirmation.first_recipient == contact.email
    assert f"[#{ticket.number}]" in confirmation.subject
    page = Client().get(_link(_text(confirmation)))
    assert page.status_code == 200 and "Every page" in page.content.decode()


def test_no_confirmation_when_the_queue_sends_no_auto_replies(
    carl_client: Client, contact: Contact, queue_support: Queue, django_capture_on_commit_callbacks
) -> None:
    QueueMail.objects.create(queue=queue_support, auto_reply=False)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        carl_client.post(reverse("portal:new"), {"title": "Quiet", "body": "x"})
    assert callbacks  # the subscriber ran, and decided not to mail
    assert Ticket.objects.filter(contact=contact).exists()
    assert not OutgoingMail.objects.exists()


def test_the_sign_in_link_is_mailed_and_signs_in_once(
    client: Client, customer: User, queue_support: Queue
) -> None:
    client.post(reverse("portal:login_link_request"), {"email": customer.email})
    mail = OutgoingMail.objects.get()
    assert mail.first_recipient == customer.email and mail.ticket is None
    url = _link(_text(mail))
    assert client.post(url).status_code == 302
    assert int(client.session["_auth_user_id"]) == customer.pk
    assert Client().post(url).status_code == 404


def test_mail_to_the_contact_links_the_ticket_and_never_carries_a_note(
    contact: Contact, queue_support: Queue, alice: User
) -> None:
    MailAddress.objects.create(queue=queue_support, address="support@helpa.test", is_sender=True)
    raw = (
        f"From: Carl <{contact.email}>\r\nTo: support@helpa.test\r\nSubject: Broken\r\n"
        "Message-ID: <a1@kund.se>\r\n\r\nIt is broken.\r\n"
    ).encode()
    result = ingest.ingest_message(raw, source=InboundMail.Source.PIPE, queue=queue_support)
    ticket = result.ticket
    auto_reply = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AUTO_REPLY)
    assert Client().get(_link(_text(auto_reply))).status_code == 200

    actions.update_ticket(alice, ticket, {"owner": alice})
    actions.add_note(alice, ticket, "<p>SECRET note: customer is difficult</p>")
    actions.add_discussion_post(alice, ticket, "<p>SECRET discussion</p>")
    actions.add_reply(alice, ticket, "<p>We are on it.</p>")
    for mail in OutgoingMail.objects.filter(ticket=ticket):
        with mail.raw.open("rb") as handle:
            assert b"SECRET" not in handle.read()
    reply_mail = OutgoingMail.objects.get(ticket=ticket, kind=OutgoingMail.Kind.REPLY)
    page = Client().get(_link(_text(reply_mail)))  # the full reply carries the link too
    assert page.status_code == 200 and "We are on it." in page.content.decode()

    QueueMail.objects.filter(queue=queue_support).update(
        contact_notices=QueueMail.ContactNotices.LINK
    )
    actions.add_reply(alice, ticket, "<p>Done now.</p>")
    notice = OutgoingMail.objects.filter(ticket=ticket, kind=OutgoingMail.Kind.NOTICE).get()
    page = Client().get(_link(_text(notice)))
    assert page.status_code == 200 and "Done now." in page.content.decode()
    assert "SECRET" not in page.content.decode()
