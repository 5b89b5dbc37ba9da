"""The SMS outbox: rows written in the transaction of the reply or alarm that caused them,
sent by the worker with retries and back-off, moved on by the provider's delivery reports.

A claimed row is leased for a while before another worker may take it, so two workers never
send one SMS. Between the provider accepting an SMS and our noting it, a crash would send it
again after the lease: the one window where at-least-once shows (providers offer no
idempotency key for sending).
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings as django_settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.tickets.actions import TicketError
from helpa.tickets.models import Article, Ticket

from . import providers
from .models import OutgoingSms, SmsSettings

log = logging.getLogger(__name__)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)  # > providers.TIMEOUT × 2
# Both providers join long texts into one message up to 1,600 characters (10 parts or more).
MAX_LENGTH = 1600
STATUS_SALT = "helpa.sms.status"


def queue_sms(
    kind: str,
    recipient: str,
    text: str,
    *,
    ticket: Ticket | None = None,
    article: Article | None = None,
) -> OutgoingSms:
    sms = OutgoingSms.objects.create(
        kind=kind, recipient=recipient, text=text, ticket=ticket, article=article
    )
    transaction.on_commit(wake)
    return sms


def reply_text(article: Article, settings: SmsSettings) -> str:
    """A reply as an SMS: its plain text and the SMS signature. Too long for one message:
    TicketError, so the reply is not saved and the agent's text stays in the form."""
    text = article.body_text.strip()
    if settings.signature:
        text = f"{text}\n{settings.signature}"
    if len(text) > MAX_LENGTH:
        raise TicketError(
            _(
                "An SMS can hold at most %(max)s characters; this reply has %(count)s. "
                "Shorten it or send it by mail."
            )
            % {"max": MAX_LENGTH, "count": len(text)}
        )
    return text


def status_url(sms_id: int, provider: str) -> str:
    """Where the provider reports this SMS's delivery. The signed id proves the report is about
    an SMS we sent (46elks signs nothing; Twilio's signature is checked as well)."""
    signed = signing.Signer(salt=STATUS_SALT).sign(str(sms_id))
    return django_settings.BASE_URL + reverse("sms:status", args=[provider, signed])


def sms_id_from(signed: str) -> int | None:
    try:
        return int(signing.Signer(salt=STATUS_SALT).unsign(signed))
    except (signing.BadSignature, ValueError):
        return None


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4, 8 … minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def wake() -> None:
    """After a commit that wrote SMS: send them now, not within a minute."""
    from . import tasks  # noqa: PLC0415 — the task module imports Huey

    try:
        tasks.send_sms_now()
    except Exception:  # noqa: BLE001 — the periodic job sends them anyway
        log.exception("could not wake the SMS worker")


def _claim(sms: OutgoingSms, now: datetime) -> bool:
    return bool(
        OutgoingSms.objects.filter(
            pk=sms.pk, state=OutgoingSms.State.QUEUED, next_attempt_at=sms.next_attempt_at
        ).update(next_attempt_at=now + LEASE)
    )


def send_one(sms: OutgoingSms, settings: SmsSettings, now: datetime) -> str:
    """Send one claimed SMS; returns its new state."""
    attempts = sms.attempts + 1
    if not settings.is_on:
        result = providers.SendResult(ok=False, error=_("SMS is not set up."), retry=True)
    else:
        report_to = status_url(sms.pk, settings.provider)
        result = providers.send(settings, sms.recipient, sms.text, report_to)
    if result.ok:
        OutgoingSms.objects.filter(pk=sms.pk).update(
            state=OutgoingSms.State.SENT,
            attempts=attempts,
            provider=settings.provider,
            provider_id=result.provider_id,
            last_error=result.error,
            sent_at=now,
        )
        return OutgoingSms.State.SENT
    if result.retry and attempts < MAX_ATTEMPTS:
        OutgoingSms.objects.filter(pk=sms.pk).update(
            attempts=attempts, last_error=result.error, next_attempt_at=now + backoff(attempts)
        )
        return OutgoingSms.State.QUEUED
    OutgoingSms.objects.filter(pk=sms.pk).update(
        state=OutgoingSms.State.FAILED, attempts=attempts, last_error=result.error
    )
    return OutgoingSms.State.FAILED


def send_due(now: datetime | None = None, limit: int = 200) -> int:
    """Send the SMS that are due; returns how many the provider accepted."""
    now = now or timezone.now()
    due = list(
        OutgoingSms.objects.filter(
            state=OutgoingSms.State.QUEUED, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")[:limit]
    )
    if not due:
        return 0
    settings = SmsSettings.load()
    sent = 0
    for sms in due:
        if _claim(sms, now) and send_one(sms, settings, now) == OutgoingSms.State.SENT:
            sent += 1
    return sent


def send_again(sms: OutgoingSms) -> bool:
    return bool(
        OutgoingSms.objects.filter(pk=sms.pk, state=OutgoingSms.State.FAILED).update(
            state=OutgoingSms.State.QUEUED, attempts=0, next_attempt_at=timezone.now()
        )
    )


def record_status(sms_id: int, provider: str, report: providers.StatusReport) -> bool:
    """A delivery report: moves the SMS on (never back: a late "sent" after "delivered" is
    ignored). False when the report names another SMS than the address it came to."""
    sms = OutgoingSms.objects.filter(pk=sms_id).first()
    if sms is None or (sms.provider and sms.provider != provider):
        return False
    if sms.provider_id and sms.provider_id != report.provider_id:
        return False
    now = timezone.now()
    if report.state == "delivered":
        OutgoingSms.objects.filter(pk=sms.pk).exclude(state=OutgoingSms.State.FAILED).update(
            state=OutgoingSms.State.DELIVERED, delivered_at=now
        )
    elif report.state == "failed":
        OutgoingSms.objects.filter(pk=sms.pk).exclude(state=OutgoingSms.State.DELIVERED).update(
            state=OutgoingSms.State.FAILED,
            last_error=report.error or _("The provider could not deliver the SMS."),
        )
    elif report.state == "sent":
        OutgoingSms.objects.filter(pk=sms.pk, state=OutgoingSms.State.QUEUED).update(
            state=OutgoingSms.State.SENT, sent_at=now
        )
    return True
