"""The mail channel's part of merging two tickets (tickets.actions.merge_tickets): the received
mail and the CC participants of the duplicate move to the ticket the work goes on at, so its
replies reach everyone who wrote in, and a later answer to an old mail threads onto it."""

from __future__ import annotations

from typing import Any

from helpa.lib import events
from helpa.tickets.models import Ticket

from .models import InboundMail, Participant


@events.subscribe("ticket.merged", when="inside")
def move_mail_of_merged_ticket(source: Ticket, target: Ticket, **_payload: Any) -> None:
    InboundMail.objects.filter(ticket=source).update(ticket=target)
    present = set(Participant.objects.filter(ticket=target).values_list("address", flat=True))
    if target.contact_id and target.contact.email:
        present.add(target.contact.email.lower())
    moving = list(Participant.objects.filter(ticket=source).exclude(address__in=present))
    # The duplicate's own contact takes part in the merged ticket too: they asked as well.
    if source.contact_id and source.contact.email:
        address = source.contact.email.lower()
        if address not in present and all(p.address != address for p in moving):
            moving.append(Participant(address=address, contact=source.contact))
    Participant.objects.bulk_create(
        Participant(ticket=target, address=p.address, contact_id=p.contact_id) for p in moving
    )
    Participant.objects.filter(ticket=source).delete()
