"""Ticket events that send SMS (subscribed in SmsConfig.ready): a reply the agent sends by SMS,
and the rules' SMS alarms. Both are written to the outbox inside the change's transaction, so
a reply that rolls back sends nothing and a committed one is always sent."""

from __future__ import annotations

import logging
from typing import Any

from django.utils.translation import gettext as _

from helpa.crm.models import ContactPhone
from helpa.lib import events
from helpa.tickets.actions import TicketError
from helpa.tickets.models import Article, ArticleKind, Attachment, Ticket

from . import outbox
from .models import InboundSms, OutgoingSms, SmsSettings

log = logging.getLogger(__name__)


def reply_number(ticket: Ticket) -> str:
    """The number an SMS reply goes to: the one the contact last wrote from, else the
    contact's first number. "" when the ticket has no contact with a phone number."""
    if not ticket.contact_id:
        return ""
    last = (
        InboundSms.objects.filter(ticket=ticket, state=InboundSms.State.STORED)
        .exclude(sender="")
        .order_by("-received_at", "-pk")
        .values_list("sender", flat=True)
        .first()
    )
    if last and last.startswith("+"):
        return last
    return (
        ContactPhone.objects.filter(contact_id=ticket.contact_id)
        .order_by("pk")
        .values_list("number", flat=True)
        .first()
        or ""
    )


@events.subscribe("ticket.article_added", when="inside")
def text_the_reply(
    ticket: Ticket, article: Article, send_by: str = "mail", **_payload: Any
) -> None:
    if article.kind != ArticleKind.REPLY or send_by != "sms":
        return
    settings = SmsSettings.load()
    if not settings.is_on:
        raise TicketError(_("SMS is not set up: an admin sets it up under Settings → SMS."))
    number = reply_number(ticket)
    if not number:
        raise TicketError(_("The ticket's contact has no phone number to send an SMS to."))
    if Attachment.objects.filter(article=article).exists():
        raise TicketError(_("An SMS cannot carry files: send the reply by mail, or without them."))
    outbox.queue_sms(
        OutgoingSms.Kind.REPLY,
        number,
        outbox.reply_text(article, settings),
        ticket=ticket,
        article=article,
    )


@events.subscribe("automation.sms_alarm", when="inside")
def text_the_alarm(
    ticket: Ticket, rule: str, recipients: list[str], text: str, **_payload: Any
) -> None:
    """A rule's alarm to the numbers it names: short, with the ticket's number and title."""
    message = f"{ticket.display_number} {ticket.title}"[:120]
    if text:
        message += f"\n{text}"
    message = f"{rule}: {message}"[: outbox.MAX_LENGTH]
    for number in recipients:
        outbox.queue_sms(OutgoingSms.Kind.ALARM, number, message, ticket=ticket)
