"""Ticket events that cause outgoing mail (subscribed in MailConfig.ready).

A reply's mail is part of the reply: it is written to the outbox inside the reply's transaction,
so a reply that rolls back leaves no mail and a committed reply always has one. Notices to
colleagues are side effects: written after the change commits, and a failure to write one is
logged, never turned into an error for the change that caused it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from django.db import transaction
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from helpa.accounts.models import User
from helpa.crm.models import Brand, Contact
from helpa.lib import events
from helpa.portal.models import PortalSettings
from helpa.tickets.models import Article, ArticleKind, Channel, Queue, Ticket

from . import outbound, texts
from .ingest import may_send_automatic_mail
from .models import OutgoingMail, QueueMail, _recent

log = logging.getLogger(__name__)


@events.subscribe("ticket.article_added", when="inside")
def mail_the_reply(
    ticket: Ticket, article: Article, actor: Any, send_by: str = "mail", **_payload: Any
) -> None:
    if article.kind == ArticleKind.REPLY and send_by == "mail":
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


@events.subscribe("ticket.created")
def confirm_a_web_request(ticket: Ticket, **_payload: Any) -> None:
    """A request from the portal or a contact form gets the queue's auto-reply, with the
    number and a ticket link, as a mailed one does — under the same caps per address, so a
    form cannot be used to flood somebody's mailbox."""
    if ticket.channel not in (Channel.PORTAL, Channel.FORM):
        return
    contact = ticket.contact
    if contact is None or not contact.email:
        return
    queue_mail = QueueMail.for_queue(ticket.queue)
    rules = getattr(ticket, "rules_decision", {})
    rule_text = rules.get("auto_reply_text", "")
    if not rule_text and (not queue_mail.auto_reply or rules.get("suppress_auto_reply")):
        return
    try:
        with transaction.atomic():
            if not may_send_automatic_mail(contact.email.lower(), ticket):
                return
            subject, text = texts.auto_reply(ticket, queue_mail, rule_text)
            text += outbound.brand_footer(ticket.queue)
            outbound.queue_mail(
                kind=OutgoingMail.Kind.AUTO_REPLY,
                queue=ticket.queue,
                to=[(contact.name, contact.email)],
                subject=outbound.subject_with_tag(ticket, subject),
                text=text,
                ticket=ticket,
                queue_mail=queue_mail,
            )
    except Exception:  # noqa: BLE001 — the request is registered; a lost confirmation is logged
        log.exception("could not queue the confirmation of ticket %s", ticket.pk)


@events.subscribe("portal.sign_in_link", when="inside")
def mail_the_sign_in_link(user: User, url: str, purpose: str, **_payload: Any) -> None:
    """The portal's one-time link, to the address it proves. Written with the link itself, so
    a link that was never mailed was never made."""
    subject, text = texts.sign_in_link(url, purpose, user.language)
    queue, sender = _sign_in_sender(user)
    outbound.queue_mail(
        kind=OutgoingMail.Kind.NOTICE,
        queue=queue,
        to=[(str(user), user.email)],
        subject=subject,
        text=text,
        sender=sender,
    )


def _sign_in_sender(user: User) -> tuple[Queue | None, tuple[str, str]]:
    """The queue a customer's sign-in link goes out through (its mail server) and the sender
    it shows: the address the customer knows. A customer of a brand — their company's brand,
    else the brand of the queue of their newest ticket — hears from that brand, through one of
    its queues (the one of their newest ticket, the portal's, else its first) with the usual
    precedence queue → brand; a brand without queues still lends its sender address. Anyone
    else hears from the queue portal requests go to, as before."""
    portal_queue = PortalSettings.current().queue_for_new_tickets()
    contact = Contact.objects.filter(user=user).select_related("company__brand").first()
    newest = (
        Ticket.objects.filter(contact=contact).select_related("queue__brand").order_by("-pk")
        if contact is not None
        else Ticket.objects.none()
    ).first()
    brand = contact.company.brand if contact is not None and contact.company else None
    if brand is None and newest is not None:
        brand = newest.queue.brand
    if brand is None:
        return portal_queue, outbound.sender_for(portal_queue)
    candidates = [q for q in (newest and newest.queue, portal_queue) if q is not None]
    queue = next((q for q in candidates if q.brand_id == brand.pk), None) or (
        Queue.objects.filter(brand=brand, is_active=True).order_by("pk").first()
    )
    if queue is not None:
        return queue, outbound.sender_for(queue)
    name, address = outbound.sender_for(portal_queue)
    if brand.sender_address:
        return portal_queue, (brand.sender_name or brand.name, brand.sender_address.lower())
    return portal_queue, (brand.sender_name or brand.name or name, address)


@events.subscribe("automation.applied", when="inside")
def remember_the_rules_for_the_confirmation(
    ticket: Ticket, decision: dict[str, Any], **_payload: Any
) -> None:
    """What the rules said about a portal or form request, for its confirmation after commit
    (the same ticket object reaches `confirm_a_web_request`)."""
    if ticket.channel in (Channel.PORTAL, Channel.FORM):
        ticket.rules_decision = decision  # type: ignore[attr-defined]


@events.subscribe("automation.alarm", when="inside")
def mail_the_alarm(
    ticket: Ticket, rule: str, recipients: list[str], text: str, **_payload: Any
) -> None:
    """A rule's alarm to the people it names, written with the change that raised it."""
    subject, body = texts.alarm(ticket, rule, text)
    outbound.queue_mail(
        kind=OutgoingMail.Kind.AGENT,
        queue=ticket.queue,
        to=list(recipients),
        subject=outbound.subject_with_tag(ticket, subject),
        text=body,
        ticket=ticket,
    )


@events.subscribe("automation.sla_warning", when="inside")
def mail_the_sla_warning(
    ticket: Ticket,
    target_text: str,
    due_at: datetime,
    recipients: list[User],
    **_payload: Any,
) -> None:
    """An SLA warning to each colleague it names, written with the warning's claim (sla.check),
    so a warning is mailed once or not at all."""
    for user in recipients:
        subject, text = texts.sla_warning(ticket, target_text, due_at, user.language)
        outbound.queue_agent_notice(ticket, user, subject, text)


@receiver([post_save, post_delete], sender=Brand)
def forget_cached_brands(**_kwargs: Any) -> None:
    """A brand's sender, greeting and signature are read from a per-process copy by the mail
    pipeline; a change saved in this process is seen at once."""
    _recent.forget()
