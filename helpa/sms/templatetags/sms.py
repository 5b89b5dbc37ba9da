"""The SMS choice in the agents' reply composer (tickets/_composer.html includes ours): the
tickets app knows nothing of SMS, so the page asks here."""

from __future__ import annotations

from dataclasses import dataclass

from django import template

from helpa.tickets.models import ArticleKind, Channel, Ticket

from ..models import InboundSms, SmsSettings
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
    last_from_customer = (
        ticket.articles.filter(kind=ArticleKind.CUSTOMER).order_by("-created_at", "-pk").first()
    )
    by_sms = (
        last_from_customer is not None
        and InboundSms.objects.filter(article=last_from_customer).exists()
    )
    if not by_sms and last_from_customer is None:
        by_sms = ticket.channel == Channel.SMS
    if not by_sms and ticket.channel == Channel.SMS:
        by_sms = not (ticket.contact and ticket.contact.email)
    return ReplyChoice(number=number, by_sms=by_sms, signature=settings.signature)
