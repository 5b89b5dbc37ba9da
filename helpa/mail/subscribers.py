"""Ticket events that cause outgoing mail (subscribed in MailConfig.ready).

A reply's mail is part of the reply: it is written to the outbox inside the reply's transaction,
so a reply that rolls back leaves no mail and a committed reply always has one. Notices to
colleagues are side effects: written after the change commits, and a failure to write one is
logged, never turned into an error for the change that caused it.
"""

from __future__ import annotations

import logging
from typing import Any

from django.db import transaction

from helpa.accounts.models import User
from helpa.lib import events
from helpa.tickets.models import Article, ArticleKind, Ticket

from . import outbound, texts

log = logging.getLogger(__name__)


@events.subscribe("ticket.article_added", when="inside")
def mail_the_reply(ticket: Ticket, article: Article, actor: Any, **_payload: Any) -> None:
    if article.kind == ArticleKind.REPLY:
        outbound.queue_reply(article, getattr(actor, "user", None))


@events.subscribe("ticket.article_added")
def mail_the_mentioned(
    ticket: Ticket, article: Article, actor: Any, mentions: list[User], **_payload: Any
) -> None:
    actor_user = getattr(actor, "user", None)
    for user in mentions:
        if user == actor_user:
            continue
        subject, text = texts.mention_notice(
            ticket, actor.label, article.body_text[:2000], user.language
        )
        _queue_agent_notice(ticket, user, subject, text)


@events.subscribe("ticket.assigned")
def mail_the_new_owner(ticket: Ticket, actor: Any, owner: User, **_payload: Any) -> None:
    if owner == getattr(actor, "user", None):
        return  # taking a ticket oneself needs no mail
    subject, text = texts.assigned_notice(ticket, actor.label, owner.language)
    _queue_agent_notice(ticket, owner, subject, text)


def _queue_agent_notice(ticket: Ticket, user: User, subject: str, text: str) -> None:
    try:
        with transaction.atomic():
            outbound.queue_agent_notice(ticket, user, subject, text)
    except Exception:  # noqa: BLE001 — the change is committed; a lost notice is only logged
        log.exception("could not queue a notice to %s on ticket %s", user.pk, ticket.pk)
