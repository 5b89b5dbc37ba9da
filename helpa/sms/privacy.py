"""The SMS channel's part of a GDPR export and anonymisation (helpa.privacy publishes the
events; the subject is found by its contacts' e-mail addresses and phone numbers, E.164)."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from helpa.lib.events import subscribe
from helpa.tickets.actions import REMOVED

from .models import InboundSms, OutgoingSms


def _received(subject: Any) -> QuerySet[InboundSms]:
    return InboundSms.objects.filter(
        Q(sender__in=sorted(subject.phones)) | Q(article__author_contact_id__in=subject.contact_ids)
    )


def _sent(subject: Any) -> QuerySet[OutgoingSms]:
    return OutgoingSms.objects.filter(recipient__in=sorted(subject.phones))


@subscribe("privacy.export", when="inside")
def export_sms(subject: Any, data: dict[str, Any]) -> None:
    """The SMS they sent us and we sent them, with their texts."""
    data["sms_received"] = [
        {
            "received": sms.received_at.isoformat(),
            "from": sms.sender,
            "text": sms.text,
            "ticket": sms.ticket.number if sms.ticket_id else None,
        }
        for sms in _received(subject).select_related("ticket").order_by("received_at", "pk")
    ]
    data["sms_sent"] = [
        {
            "created": sms.created_at.isoformat(),
            "to": sms.recipient,
            "text": sms.text,
            "state": sms.state,
            "ticket": sms.ticket.number if sms.ticket_id else None,
        }
        for sms in _sent(subject).select_related("ticket").order_by("created_at", "pk")
    ]


@subscribe("privacy.anonymise", when="inside")
def anonymise_sms(subject: Any, counts: dict[str, int]) -> None:
    """Their SMS keep their place (a ticket's thread, the statistics) without number, text or
    the provider's copy; an SMS to them not sent yet never will be."""
    sent = _sent(subject)
    sent.filter(state=OutgoingSms.State.QUEUED).update(
        state=OutgoingSms.State.FAILED, last_error=REMOVED
    )
    counts["sms_sent_removed"] = sent.update(recipient="", text=REMOVED)
    counts["sms_received_removed"] = _received(subject).update(
        sender="", recipient="", text=REMOVED, payload={}, decision=""
    )
