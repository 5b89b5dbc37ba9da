"""In-app notifications, written after the change commits (subscribers of ticket events)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext_noop

from helpa.accounts.models import User
from helpa.lib import events, rows

from .models import Article, ArticleKind, Notification, Ticket


def _notify(users: set[User], ticket: Ticket, kind: str, actor: Any, text: str = "") -> None:
    actor_user = getattr(actor, "user", None)
    notices = [
        Notification(user=u, ticket=ticket, kind=kind, actor=actor_user, text=text[:300])
        for u in users
        if u != actor_user and u.is_active
    ]
    if notices:  # an empty bulk_create still opens and commits a transaction
        Notification.objects.bulk_create(notices)


def _watchers(ticket: Ticket) -> set[User]:
    """The ticket's followers and its owner."""
    # A ticket opened in this transaction says it has no followers (open_ticket): no query.
    cached = getattr(ticket, "_prefetched_objects_cache", {}).get("followers")
    if cached is not None and cached.query.is_empty():
        return {ticket.owner} if ticket.owner_id else set()
    # Followers and owner in one statement, written out: every reply and every customer mail
    # asks, and the ORM spends more building the join than the database answering it.
    followers = Ticket.followers.through._meta.db_table
    return set(
        rows.fetch_all(
            User,
            f"id IN (SELECT user_id FROM {followers} WHERE ticket_id = %s UNION ALL SELECT %s)",
            [ticket.pk, ticket.owner_id],
        )
    )


@events.subscribe("ticket.changed")
def on_changed(ticket: Ticket, actor: Any, fields: list[str]) -> None:
    _notify(_watchers(ticket), ticket, Notification.Kind.CHANGED, actor, ", ".join(fields))


@events.subscribe("ticket.assigned")
def on_assigned(ticket: Ticket, actor: Any, owner: User) -> None:
    _notify({owner}, ticket, Notification.Kind.ASSIGNED, actor, gettext_noop("Assigned to you"))


@events.subscribe("ticket.article_added")
def on_article_added(
    ticket: Ticket, article: Article, actor: Any, mentions: list[User], **_payload: Any
) -> None:
    if mentions:
        _notify(set(mentions), ticket, Notification.Kind.MENTION, actor, article.body_text[:300])
    if article.kind != ArticleKind.DISCUSSION:
        _notify(
            _watchers(ticket) - set(mentions),
            ticket,
            Notification.Kind.REPLIED,
            actor,
            article.body_text[:300],
        )
