"""Did a suggested article spare the customer a ticket?

While a customer types a new request's title, the suggestion endpoint hands the browser a
signed visit token (no database write per keystroke). The rest is recorded against it:

- opening a suggested article (its link carries the token) creates the visit and records the
  open; the visit remembers the last article opened;
- "This solved my problem" on that article marks the visit solved by that article;
- a ticket created during the visit marks it `ticket_at`: the suggestion script tells us when
  the form is submitted (for anonymous contact forms too), and a new ticket of a signed-in
  customer's contact marks their visits of the last VISIT_WINDOW (the `ticket.created` event).

A visit counts as a deflection for exactly one article — the one marked as solving the problem,
else the last one opened once the visit has been quiet for VISIT_WINDOW — and only while no
ticket was created in it. A suggestion opened and then followed by a ticket is never counted,
even when the customer had clicked "solved" first.
"""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.core import signing
from django.db import IntegrityError, transaction
from django.db.models import Count, Q
from django.db.models.functions import Coalesce
from django.utils import timezone

from helpa.crm.models import Contact
from helpa.lib import events
from helpa.tickets.models import Channel, Ticket

from .models import Article, SuggestionOpen, SuggestionVisit

VISIT_WINDOW = timedelta(hours=1)
_SALT = "helpa.kb.visit"
TOKEN_MAX_AGE = 24 * 3600


def new_token(previous: str = "") -> str:
    """The visit token for a suggestion answer: the browser's own one if still valid."""
    if previous and visit_key(previous):
        return previous
    return signing.dumps(secrets.token_hex(12), salt=_SALT, compress=False)


def visit_key(token: str) -> str | None:
    try:
        key = signing.loads(token, salt=_SALT, max_age=TOKEN_MAX_AGE)
    except signing.BadSignature:
        return None
    return key if isinstance(key, str) and len(key) <= 32 else None


def _visit(key: str, contact: Contact | None) -> SuggestionVisit:
    visit, _created = SuggestionVisit.objects.get_or_create(key=key)
    if contact is not None and visit.contact_id is None:
        visit.contact = contact
        visit.save(update_fields=["contact"])
    return visit


@transaction.atomic
def record_open(token: str, article: Article, contact: Contact | None) -> bool:
    key = visit_key(token)
    if key is None:
        return False
    visit = _visit(key, contact)
    now = timezone.now()
    visit.last_article = article
    visit.last_seen_at = now
    visit.save(update_fields=["last_article", "last_seen_at"])
    try:
        with transaction.atomic():
            SuggestionOpen.objects.create(visit=visit, article=article, opened_at=now)
    except IntegrityError:
        pass  # opened again in the same visit: counted once
    return True


@transaction.atomic
def record_solved(token: str, article: Article, contact: Contact | None) -> bool:
    """The customer says this article solved their problem. Only for an article opened from
    a suggestion in this visit."""
    key = visit_key(token)
    if key is None:
        return False
    visit = SuggestionVisit.objects.select_for_update().filter(key=key).first()
    if visit is None or not visit.opens.filter(article=article).exists():
        return False
    if contact is not None and visit.contact_id is None:
        visit.contact = contact
    now = timezone.now()
    visit.solved_article = article
    visit.solved_at = now
    visit.last_seen_at = now
    visit.save(update_fields=["contact", "solved_article", "solved_at", "last_seen_at"])
    return True


def record_ticket(token: str) -> bool:
    """The visit's form was submitted: whatever was opened did not spare a ticket."""
    key = visit_key(token)
    if key is None:
        return False
    now = timezone.now()
    SuggestionVisit.objects.filter(key=key, ticket_at=None).update(ticket_at=now, last_seen_at=now)
    return True


@events.subscribe("ticket.created", when="on_commit")
def _ticket_created(ticket: Ticket, **_payload: object) -> None:
    # Suggestions are shown on the portal and the contact forms only: a mailed or phoned-in
    # ticket ends no visit (and costs the mail pipeline no extra statement).
    if ticket.channel not in (Channel.PORTAL, Channel.FORM) or not ticket.contact_id:
        return
    contact_id = ticket.contact_id
    now = timezone.now()
    SuggestionVisit.objects.filter(
        contact_id=contact_id, ticket_at=None, last_seen_at__gte=now - VISIT_WINDOW
    ).update(ticket_at=now)


def counts(article_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per article: `opened` (suggestion opens), `solved` (visits ended without a ticket that
    credit this article) and of those `confirmed` (the customer clicked "solved"). Two
    queries whatever the number of articles."""
    result = {pk: {"opened": 0, "solved": 0, "confirmed": 0} for pk in article_ids}
    if not article_ids:
        return result
    for row in (
        SuggestionOpen.objects.filter(article_id__in=article_ids)
        .values("article_id")
        .annotate(n=Count("pk"))
    ):
        result[row["article_id"]]["opened"] = row["n"]
    cutoff = timezone.now() - VISIT_WINDOW
    credited = (
        SuggestionVisit.objects.filter(ticket_at=None)
        .filter(
            Q(solved_article_id__in=article_ids)
            | Q(solved_article=None, last_article_id__in=article_ids, last_seen_at__lt=cutoff)
        )
        .annotate(credited=Coalesce("solved_article_id", "last_article_id"))
        .values("credited")
        .annotate(n=Count("pk"), confirmed=Count("solved_at"))
    )
    for row in credited:
        if row["credited"] in result:
            result[row["credited"]]["solved"] = row["n"]
            result[row["credited"]]["confirmed"] = row["confirmed"]
    return result
