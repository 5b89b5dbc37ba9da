"""One narrow row per ticket for statistics (see reports/facts.py for how it is kept current).

A page of figures aggregates the same tickets a dozen ways; over a million wide ticket rows
each aggregate costs about half a second on PostgreSQL (PERFORMANCE.md). This table holds only
what the figures count and filter by — dates as local days, dimension ids as plain integers
(no foreign keys: nothing here is joined but the ticket itself, for the drill-down list) and
the durations worked out once — so each aggregate reads a fraction of the bytes.
"""

from __future__ import annotations

from django.db import models
from django.db.models import Q

from helpa.tickets.models import Ticket


class TicketFact(models.Model):
    ticket = models.OneToOneField(
        Ticket, on_delete=models.CASCADE, primary_key=True, related_name="fact"
    )
    created_at = models.DateTimeField()
    created_on = models.DateField()  # the local day (settings.TIME_ZONE)
    # When the ticket was finished (resolved or closed) since it was last reopened; NULL while
    # it is active. A ticket resolved and later closed was done when it was resolved.
    done_at = models.DateTimeField(null=True)
    done_on = models.DateField(null=True)
    status = models.CharField(max_length=16)
    queue_id = models.IntegerField()
    team_id = models.IntegerField(null=True)
    owner_id = models.IntegerField(null=True)
    brand_id = models.IntegerField(null=True)  # the queue's brand
    company_id = models.IntegerField(null=True)
    category_id = models.IntegerField(null=True)
    type_id = models.IntegerField(null=True)
    priority = models.SmallIntegerField()
    channel = models.CharField(max_length=16)
    # Counted by no figure: a duplicate merged into another ticket, or a draft nobody sent.
    is_merged = models.BooleanField(default=False)
    is_draft = models.BooleanField(default=False)
    due_at = models.DateTimeField(null=True)
    closed_before_due = models.BooleanField(null=True)  # NULL: no due date, or not done
    open_seconds = models.BigIntegerField(null=True)  # done_at - created_at
    first_response_at = models.DateTimeField(null=True)
    # In business minutes of the ticket's calendar (see facts.calendar_for).
    first_response_minutes = models.IntegerField(null=True)
    resolution_minutes = models.IntegerField(null=True)
    reopen_count = models.IntegerField(default=0)

    class Meta:
        # Every figure counts the rows that are neither merged nor drafts (a partial index
        # matches the queries' own condition) by a range of days. With the measures included,
        # PostgreSQL answers the unfiltered and queue-filtered figures from the index alone
        # (EXPLAIN ANALYZE over 1,000,000 tickets: see bench/README.md).
        indexes = [
            # New tickets per day, and those created after a period (the backlog).
            models.Index(
                fields=["created_on", "queue_id"],
                name="fact_created_idx",
                condition=Q(is_merged=False, is_draft=False),
            ),
            # Closed tickets per bucket and group, with what they measure. done_on is NULL
            # for active tickets: the same index counts the open ones.
            models.Index(
                fields=["done_on", "queue_id"],
                name="fact_done_idx",
                include=[
                    # The two groupings managers use most (agent, customer), then the measures.
                    "owner_id",
                    "company_id",
                    "closed_before_due",
                    "open_seconds",
                    "first_response_minutes",
                    "resolution_minutes",
                ],
                condition=Q(is_merged=False, is_draft=False),
            ),
        ]

    def __str__(self) -> str:
        return f"facts of ticket {self.ticket_id}"


class FactsState(models.Model):
    """One row: how far the facts are current.

    `watermark`: the greatest `updated_at` of the tickets read so far; the next refresh reads
    tickets changed since a little before it (transactions commit out of order).
    `queue_brands`: the queue → brand map the facts were written with; when an admin moves a
    queue to another brand, its facts are corrected in one UPDATE.
    """

    watermark = models.DateTimeField(null=True)
    refreshed_at = models.DateTimeField(null=True)
    queue_brands = models.JSONField(default=dict)

    @classmethod
    def load(cls) -> FactsState:
        state, _created = cls.objects.get_or_create(pk=1)
        return state
