"""The sender of a form gets the queue's auto-reply with a ticket link that works."""

from __future__ import annotations

import email
import re
from email import policy

from django.test import Client

from helpa.mail.models import OutgoingMail
from helpa.tickets.models import Ticket

from .conftest import Visitor, message


def test_the_sender_gets_the_auto_reply_with_a_working_link(
    visitor: Visitor, contact_form, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = visitor.fill_and_send(contact_form, **message())
    assert response.status_code == 302
    ticket = Ticket.objects.get()
    confirmation = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AUTO_REPLY, ticket=ticket)
    assert confirmation.first_recipient == "ann@example.com"
    with confirmation.raw.open("rb") as handle:
        text = (
            email.message_from_binary_file(handle, policy=policy.default)
            .get_body(preferencelist=("plain",))
            .get_content()
        )
    path = re.search(r"https?://[^/]+(/portal/l/\S+/)", text).group(1)
    page = Client().get(path)
    assert page.status_code == 200 and "invoice 1234 is wrong" in page.content.decode()
