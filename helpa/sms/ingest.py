"""An incoming SMS becomes part of a ticket: routed by its keyword, the sender found by phone
number, joined to the sender's open SMS conversation or made a new ticket — and every SMS is
kept, with why it went where it went, or why it could not."""

from __future__ import annotations

import logging
from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.defaultfilters import linebreaksbr
from django.utils import timezone
from django.utils.html import escape
from django.utils.translation import gettext as _

from helpa.crm.identifiers import display_phone, normalise_phone
from helpa.crm.models import Contact, ContactPhone
from helpa.tickets import actions
from helpa.tickets.models import (
    ACTIVE_STATUSES,
    ArticleKind,
    Channel,
    Queue,
    Status,
    Ticket,
)

from .models import InboundSms, OutgoingSms, SmsKeyword, SmsSettings
from .providers import Incoming

log = logging.getLogger(__name__)
SMS_ACTOR = actions.Actor(name="SMS")
TITLE_LENGTH = 60


class NotRouted(Exception):
    """No queue takes this SMS (no keyword matched and no default queue is set)."""


def receive(provider: str, incoming: Incoming) -> InboundSms:
    """Store one SMS the provider delivered; the same SMS delivered again (a provider retries
    what it thinks failed) is stored once. A failure is stored as a failed SMS, never lost."""
    existing = InboundSms.objects.filter(
        provider=provider, provider_id=incoming.provider_id
    ).first()
    if existing is not None:
        return existing
    inbound = InboundSms(
        provider=provider,
        provider_id=incoming.provider_id[:64],
        sender=_e164_or_raw(incoming.sender)[:40],
        recipient=incoming.recipient[:40],
        text=incoming.text,
        payload=incoming.payload,
        state=InboundSms.State.STORED,
    )
    try:
        with transaction.atomic():
            inbound.save()
            _place(inbound, media_count=incoming.media_count)
    except IntegrityError:
        # Delivered twice at the same moment: the other request stored it.
        duplicate = InboundSms.objects.filter(provider=provider, provider_id=inbound.provider_id)
        if duplicate.exists():
            return duplicate.get()
        return _store_failed(inbound, _("The database refused the SMS."))
    except NotRouted as exc:
        return _store_failed(inbound, str(exc))
    except Exception as exc:  # noqa: BLE001 — stored as failed for an admin, never lost
        log.exception("SMS %s from %s could not be placed", inbound.provider_id, inbound.sender)
        return _store_failed(inbound, f"{type(exc).__name__}: {exc}")
    return inbound


def _e164_or_raw(sender: str) -> str:
    try:
        return normalise_phone(sender)
    except ValidationError:
        return sender.strip()


def _store_failed(inbound: InboundSms, error: str) -> InboundSms:
    inbound.pk = None
    inbound.state = InboundSms.State.FAILED
    inbound.error = error[:500]
    inbound.ticket = None
    inbound.article = None
    inbound.decision = ""
    inbound.save()
    return inbound


@transaction.atomic
def process_again(inbound: InboundSms) -> InboundSms:
    """An admin's second try of a failed SMS (after setting a queue, say)."""
    inbound = InboundSms.objects.select_for_update().get(pk=inbound.pk)
    if inbound.state != InboundSms.State.FAILED:
        return inbound
    try:
        with transaction.atomic():
            _place(inbound, media_count=0)
            inbound.state = InboundSms.State.STORED
            inbound.error = ""
            inbound.save(update_fields=["state", "error"])
    except NotRouted as exc:
        InboundSms.objects.filter(pk=inbound.pk).update(error=str(exc)[:500])
        inbound.error = str(exc)[:500]
    except Exception as exc:  # noqa: BLE001 — shown to the admin; the SMS stays kept
        log.exception("SMS %s could not be placed again", inbound.pk)
        inbound.error = f"{type(exc).__name__}: {exc}"[:500]
        InboundSms.objects.filter(pk=inbound.pk).update(error=inbound.error)
    return inbound


def _place(inbound: InboundSms, media_count: int) -> None:
    settings = SmsSettings.load()
    queue, text, keyword = route(inbound.text, settings)
    contact, number = contact_for(inbound.sender)
    ticket = open_conversation(contact, number, queue if keyword else None, settings)
    body = _body(inbound.text, media_count)  # as written, keyword and all
    is_new = ticket is None
    if ticket is None:
        title = " ".join(text.split())[:TITLE_LENGTH] or _("SMS from %(number)s") % {
            "number": inbound.sender
        }
        ticket = actions.open_ticket(
            SMS_ACTOR, queue=queue, title=title, channel=Channel.SMS, contact=contact
        )
    article = actions.add_article(
        SMS_ACTOR,
        ticket,
        ArticleKind.CUSTOMER,
        body,
        contact=contact,
        author_name=contact.name,
        touch=not is_new,  # a new ticket's creation time is its last change
    )
    if is_new and settings.thread_days:
        decision = _(
            "New ticket: %(name)s has no open SMS conversation from the last %(days)s days."
        ) % {"name": contact.name, "days": settings.thread_days}
    elif is_new:
        decision = _("New ticket: every SMS starts a new ticket.")
    else:
        actions.reopen_for_customer_message(SMS_ACTOR, ticket)
        decision = _("Joined %(ticket)s: the open SMS conversation of %(name)s.") % {
            "ticket": ticket.display_number,
            "name": contact.name,
        }
    if keyword:
        decision += " " + _("Keyword %(keyword)s: queue %(queue)s.") % {
            "keyword": keyword,
            "queue": queue.name,
        }
    inbound.ticket = ticket
    inbound.article = article
    inbound.decision = decision[:300]
    inbound.save(update_fields=["ticket", "article", "decision"])


def route(text: str, settings: SmsSettings) -> tuple[Queue, str, str]:
    """The queue for an SMS, the text without its keyword, and the keyword ("" if none).
    The keyword is the first word, any case, with or without a colon after it."""
    words = text.strip().split(maxsplit=1)
    if words:
        first = words[0].rstrip(":").upper()
        match = SmsKeyword.objects.filter(keyword=first, queue__is_active=True).select_related(
            "queue"
        )
        keyword = match.first()
        if keyword is not None:
            return keyword.queue, words[1] if len(words) > 1 else "", keyword.keyword
    if settings.default_queue is not None and settings.default_queue.is_active:
        return settings.default_queue, text, ""
    raise NotRouted(
        _("No queue takes this SMS: choose a queue for SMS without a keyword under Settings → SMS.")
    )


def contact_for(sender: str) -> tuple[Contact, str]:
    """The contact with this phone number (the newest when several share it), or a new
    contact named by the number; and the number in E.164 ("" when the sender is a name, as
    some companies send, which cannot be answered)."""
    try:
        number = normalise_phone(sender)
    except ValidationError:
        number = ""
    if number:
        phone = (
            ContactPhone.objects.filter(number=number)
            .select_related("contact")
            .order_by("-contact__id")
            .first()
        )
        if phone is not None:
            return phone.contact, number
        contact = Contact.objects.create(name=display_phone(number))
        ContactPhone.objects.create(contact=contact, number=number)
        return contact, number
    name = sender.strip()[:200] or _("Unknown sender")
    contact = Contact.objects.filter(name=name, phones=None, email="").first()
    return contact or Contact.objects.create(name=name), ""


def open_conversation(
    contact: Contact, number: str, queue: Queue | None, settings: SmsSettings
) -> Ticket | None:
    """The ticket an SMS from this contact joins: their most recently updated open ticket of
    the last `thread_days` days on which SMS went either way (in the keyword's queue when the
    SMS named one). None: start a new ticket."""
    if not settings.thread_days:
        return None
    since = timezone.now() - timedelta(days=settings.thread_days)
    by_sms = Q(channel=Channel.SMS)
    if number:
        by_sms |= Q(pk__in=InboundSms.objects.filter(sender=number).values("ticket_id"))
        by_sms |= Q(pk__in=OutgoingSms.objects.filter(recipient=number).values("ticket_id"))
    candidates = Ticket.objects.filter(
        by_sms,
        contact=contact,
        status__in=[*ACTIVE_STATUSES, Status.RESOLVED],
        updated_at__gte=since,
        merged_into=None,
    )
    if queue is not None:
        candidates = candidates.filter(queue=queue)
    return candidates.order_by("-updated_at", "-pk").first()


def _body(text: str, media_count: int) -> str:
    body = f"<p>{linebreaksbr(escape(text.strip()))}</p>" if text.strip() else ""
    if media_count:
        note = _("The SMS carried %(count)s picture(s) (MMS), which Helpa does not fetch.")
        body += f"<p><em>{escape(note % {'count': media_count})}</em></p>"
    return body or f"<p><em>{escape(_('(empty SMS)'))}</em></p>"
