"""Keeps the ticket columns copied onto time entries current.

A time entry carries its ticket's queue, company and category so that the time report reads one
table (bench/timereport.py measured the join to a million tickets as what made it slow). When a
ticket moves, all its time moves with it: a ticket filed under the wrong customer is invoiced to
the right one once corrected.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from helpa.lib import events
from helpa.tickets.models import Ticket, TimeEntry

COPIED = ("queue", "company", "category")


@events.subscribe("ticket.changed", when="inside")
def follow_ticket(ticket: Ticket, fields: Iterable[str], **_: Any) -> None:
    moved = [f for f in COPIED if f in set(fields)]
    if moved:
        # One UPDATE, inside the change's transaction; nothing when the ticket has no time.
        TimeEntry.objects.filter(ticket_id=ticket.pk).update(
            **{f"{f}_id": getattr(ticket, f"{f}_id") for f in moved}
        )
