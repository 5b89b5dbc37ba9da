"""What a customer does to a ticket, as calls of the ticket actions (one flow, one path).

The customer's words become a customer message in the same thread the agents work in. A
message on a ticket that waits for the customer (or is resolved, or on hold) reopens it, as a
mail reply does; a closed ticket is reopened only by the explicit "reopen", within the
admin's window.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.crm.models import Contact
from helpa.tickets import actions
from helpa.tickets.actions import Actor, TicketError
from helpa.tickets.models import ArticleKind, Channel, Queue, Status, Ticket

from .models import PortalSettings

# Statuses in which a customer's message means "over to you again".
REOPENED_BY_A_MESSAGE = {Status.WAITING, Status.RESOLVED, Status.ON_HOLD}


def contact_actor(contact: Contact) -> Actor:
    return Actor(
        user=contact.user if contact.user_id else None,
        name=contact.name or contact.email,
        is_customer=True,
    )


@transaction.atomic
def create_ticket(
    contact: Contact,
    *,
    queue: Queue,
    title: str,
    body_html: str,
    channel: str = Channel.PORTAL,
    attachments: Sequence[UploadedFile] = (),
    **fields: object,
) -> Ticket:
    """A new request in the customer's own words: the ticket and its first customer message."""
    actor = contact_actor(contact)
    ticket = actions.open_ticket(
        actor, queue=queue, title=title, channel=channel, contact=contact, **fields
    )
    actions.add_article(
        actor,
        ticket,
        ArticleKind.CUSTOMER,
        body_html,
        attachments=attachments,
        contact=contact,
        author_name=contact.name or contact.email,
        touch=False,
    )
    return ticket


@transaction.atomic
def add_message(
    contact: Contact,
    ticket: Ticket,
    body_html: str,
    attachments: Sequence[UploadedFile] = (),
) -> Ticket:
    if ticket.status == Status.CLOSED:
        raise TicketError(_("This ticket is closed. Reopen it to write more."))
    actor = contact_actor(contact)
    actions.add_article(
        actor,
        ticket,
        ArticleKind.CUSTOMER,
        body_html,
        attachments=attachments,
        contact=contact,
        author_name=contact.name or contact.email,
    )
    if ticket.status in REOPENED_BY_A_MESSAGE:
        return actions.update_ticket(actor, ticket, {"status": Status.OPEN, "on_hold_until": None})
    return ticket


def close(contact: Contact, ticket: Ticket) -> Ticket:
    """The customer says it is done (also a request nobody has taken yet: withdrawn)."""
    if ticket.status == Status.CLOSED:
        return ticket
    return actions.close_ticket(contact_actor(contact), ticket)


def can_reopen(ticket: Ticket) -> bool:
    if ticket.status != Status.CLOSED:
        return False
    days = PortalSettings.current().reopen_days
    closed_at = ticket.closed_at or ticket.updated_at
    return timezone.now() - closed_at <= timedelta(days=days)


def reopen(contact: Contact, ticket: Ticket) -> Ticket:
    if not can_reopen(ticket):
        raise TicketError(_("This ticket was closed too long ago to reopen. Create a new one."))
    status = Status.OPEN if ticket.owner_id else Status.NEW
    return actions.update_ticket(contact_actor(contact), ticket, {"status": status})
