"""Who sees which figures. Reports count tickets, so they follow the tickets' own rule: an admin
sees every queue, an agent the queues of their teams (and of their brands, when limited to
some). A figure never counts a ticket its reader could not open."""

from __future__ import annotations

from django.db.models import Q

from helpa.accounts.models import User
from helpa.tickets.models import visible_queue_ids


def report_queue_ids(user: User) -> list[int] | None:
    """The queues a user's reports cover: None for all (admins), else a list (maybe empty)."""
    if user.is_admin:
        return None
    return visible_queue_ids(user)


def queue_scope_q(user: User, field: str = "queue_id") -> Q:
    """A condition limiting rows with a queue column (`field`) to the user's report queues."""
    queue_ids = report_queue_ids(user)
    return Q() if queue_ids is None else Q(**{f"{field}__in": queue_ids})
