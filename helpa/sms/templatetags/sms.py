"""The SMS choice in the agents' reply composer (tickets/_composer.html includes ours): the
tickets app knows nothing of SMS, so the page asks here."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from helpa.tickets.models import ArticleKind, Channel, Ticket

from ..models import SmsSettings
from ..subscribers import reply_number

register = template.Library()


@dataclass
class ReplyChoice:
    number: str  # where an SMS reply goes (E.164)
    by_sms: bool  # SMS is the default: the customer's last message came by SMS
    signature: str  # added to the reply's text (counted in the composer)


@register.simple_tag
def sms_reply_choice(ticket: Ticket) -> ReplyChoice | None:
    """None when a reply cannot go by SMS (SMS off, no number); else the number and whether
    SMS is the default — when the customer's last message was an SMS, or the ticket came by
    SMS and the contact has no mail address."""
    settings = SmsSettings.load()
    if not settings.is_on:
        return None
    number = reply_number(ticket)
    if not number:
        return None
    # The customer's last message, and the SMS it came as (None: not an SMS): one query.
    last = list(
        ticket.articles.filter(kind=ArticleKind.CUSTOMER)
        .order_by("-created_at", "-pk")
        .values_list("inbound_sms", flat=True)[:1]
    )
    if last and last[0] is not None:
        by_sms = True
    else:
        no_mail = not last or not (ticket.contact and ticket.contact.email)
        by_sms = ticket.channel == Channel.SMS and no_mail
    return ReplyChoice(number=number, by_sms=by_sms, signature=settings.signature)
