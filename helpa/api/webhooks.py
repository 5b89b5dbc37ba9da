"""Outgoing webhooks: writing deliveries with the change, and sending them.

Writing: the ticket events are subscribed `inside` the action's transaction (ApiConfig.ready), so
a delivery row commits with the change it reports and is dropped with a rollback; the worker is
woken after the commit. A contact is made in several places (mail, portal, forms, API, admin),
so `contact.created` follows Contact's post_save instead; the CSV import's bulk insert sends no
`contact.created`.

Sending: a job claims due rows with a conditional UPDATE (two workers never send one delivery
twice), POSTs the JSON body signed with the webhook's secret, and on failure retries with
back-off (1, 2, 4 … minutes, at most MAX_ATTEMPTS). A webhook whose deliveries fail
PAUSE_AFTER_FAILURES times in a row is paused and the admins are told by mail.

SSRF: the host is resolved when sending; every address it resolves to must be public unless
the admin ticked "allow private addresses", and the connection goes to the address that was
checked (the Host header and TLS server name carry the name), so DNS that answers differently
between the check and the connect cannot reach an inside address.
"""

from __future__ import annotations

import hashlib
import hmac
import http.client
import ipaddress
import json
import logging
import socket
import ssl
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from django.db import transaction
from django.db.models import F, Q
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from helpa.accounts.models import Role, User
from helpa.crm.models import Contact
from helpa.lib import events
from helpa.lib.recent import RecentlyRead
from helpa.tickets.models import Article, ArticleKind, Ticket

from .models_webhooks import (
    PAUSE_AFTER_FAILURES,
    TEST_EVENT,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)

log = logging.getLogger(__name__)

TIMEOUT = 10  # seconds, for connecting and for each read
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=2)  # a claimed delivery is left alone this long (> TIMEOUT × 2)
USER_AGENT = "Helpa-Webhook/1"
ERROR_LENGTH = 500


# --- Writing deliveries --------------------------------------------------------------------------

_recent = RecentlyRead()


def _subscribed_events() -> frozenset[str]:
    """The events some active webhook wants; read at most every few seconds per process, so a
    desk without webhooks pays no query per ticket event."""

    def load() -> frozenset[str]:
        wanted: set[str] = set()
        for hook_events in Webhook.objects.filter(is_active=True).values_list("events", flat=True):
            wanted.update(hook_events)
        return frozenset(wanted)

    return _recent.get("events", load)


def forget(*, known_empty: bool = False) -> None:
    """Read the webhooks again on next use. `known_empty`: the caller knows there are none."""
    _recent.forget()
    if known_empty:
        _recent.get("events", frozenset)


@receiver([post_save, post_delete], sender=Webhook)
def _webhooks_changed(**_kwargs: Any) -> None:
    forget()


def queue_event(event: str, data: dict[str, Any] | None = None, **build: Any) -> int:
    """Write a delivery of `event` for each active webhook subscribed to it, in the current
    transaction. `data` is the payload's "data" (or built by `_data(**build)` only when some
    webhook wants the event). Returns how many deliveries were written."""
    if event not in _subscribed_events():
        return 0
    # The cache only says whether to look: the rows written name webhooks that exist now.
    hooks = [h for h in Webhook.objects.filter(is_active=True) if event in h.events]
    if not hooks:
        return 0
    payload = envelope(event, data if data is not None else _data(**build))
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=hook, event=event, payload=payload) for hook in hooks
    )
    transaction.on_commit(wake)
    return len(hooks)


def envelope(event: str, data: dict[str, Any]) -> dict[str, Any]:
    return {"event": event, "created_at": timezone.now().isoformat(), "data": data}


def _data(
    ticket: Ticket | None = None,
    actor: Any = None,
    article: Article | None = None,
    contact: Contact | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The payload in the REST API's own shapes, so an integrator parses one format."""
    from .serializers import (  # noqa: PLC0415 — DRF is loaded only when a webhook wants an event
        ArticleSerializer,
        ContactSerializer,
        TicketListSerializer,
    )

    data: dict[str, Any] = {}
    if ticket is not None:
        data["ticket"] = TicketListSerializer(ticket).data
    if article is not None:
        data["article"] = ArticleSerializer(article).data
    if contact is not None:
        data["contact"] = ContactSerializer(contact).data
    if actor is not None:
        user = getattr(actor, "user", None)
        data["actor"] = {
            "user": user.pk if user is not None else None,
            "name": str(getattr(actor, "label", "") or getattr(actor, "name", "")),
        }
    data.update(extra)
    return json.loads(json.dumps(data, default=str))


@events.subscribe("ticket.created", when="inside")
def _ticket_created(ticket: Ticket, actor: Any = None, **_payload: Any) -> None:
    queue_event(WebhookEvent.TICKET_CREATED, ticket=ticket, actor=actor)


@events.subscribe("ticket.changed", when="inside")
def _ticket_changed(
    ticket: Ticket, actor: Any = None, fields: Sequence[str] = (), **_p: Any
) -> None:
    if not fields:
        return
    queue_event(WebhookEvent.TICKET_UPDATED, ticket=ticket, actor=actor, changes=list(fields))
    if "status" in fields:
        queue_event(WebhookEvent.TICKET_STATUS_CHANGED, ticket=ticket, actor=actor)


@events.subscribe("ticket.assigned", when="inside")
def _ticket_assigned(ticket: Ticket, actor: Any = None, owner: Any = None, **_p: Any) -> None:
    queue_event(
        WebhookEvent.TICKET_ASSIGNED,
        ticket=ticket,
        actor=actor,
        owner={"id": owner.pk, "name": str(owner)} if owner is not None else None,
    )


@events.subscribe("ticket.article_added", when="inside")
def _article_added(ticket: Ticket, article: Article, actor: Any = None, **_p: Any) -> None:
    event = {
        ArticleKind.REPLY: WebhookEvent.TICKET_REPLIED,
        ArticleKind.NOTE: WebhookEvent.TICKET_NOTE_ADDED,
    }.get(article.kind)
    if event is not None:
        queue_event(event, ticket=ticket, article=article, actor=actor)


@receiver(post_save, sender=Contact)
def _contact_created(instance: Contact, created: bool, raw: bool = False, **_kw: Any) -> None:
    if created and not raw:
        queue_event(WebhookEvent.CONTACT_CREATED, contact=instance)


@events.subscribe("crm.contacts_created", when="inside")
def _contacts_imported(contacts: list[Contact], **_payload: Any) -> None:
    """Contacts an import wrote in bulk (no post_save): one event each, as if made one by one."""
    if WebhookEvent.CONTACT_CREATED not in _subscribed_events():
        return
    for contact in contacts:
        queue_event(WebhookEvent.CONTACT_CREATED, contact=contact)


def queue_test(webhook: Webhook, user: User | None) -> WebhookDelivery:
    """A test delivery to one webhook, whatever it subscribes to (paused or not)."""
    delivery = WebhookDelivery.objects.create(
        webhook=webhook,
        event=TEST_EVENT,
        payload=envelope(
            TEST_EVENT,
            {"message": "This is a test delivery from Helpa.", "user": getattr(user, "pk", None)},
        ),
    )
    transaction.on_commit(wake)
    return delivery


def send_again(delivery: WebhookDelivery, now: datetime | None = None) -> bool:
    """Queue a failed delivery again (same delivery id, so the receiver can tell)."""
    return bool(
        WebhookDelivery.objects.filter(pk=delivery.pk, state=WebhookDelivery.State.FAILED).update(
            state=WebhookDelivery.State.PENDING,
            attempts=0,
            next_attempt_at=now or timezone.now(),
        )
    )


def wake() -> None:
    """After a commit that wrote deliveries: send them now, not within a minute."""
    from . import tasks  # noqa: PLC0415 — the task module imports Huey

    try:
        tasks.send_webhooks_now()
    except Exception:  # noqa: BLE001 — the periodic job sends them anyway
        log.exception("could not wake the webhook worker")


# --- Sending -------------------------------------------------------------------------------------


class Refused(Exception):
    """The URL may not be called (scheme, or an address that is not public)."""


@dataclass
class Response:
    status: int
    body: str


def _is_public(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return not (
        ip.is_loopback
        or ip.is_private
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def resolve(host: str, port: int, allow_private: bool) -> str:
    """The address to connect to. Raises Refused when any address the name resolves to is not
    public (unless allowed): a name that resolves to one public and one inside address would
    otherwise reach the inside one on some connections."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        raise OSError(f"cannot resolve {host}: {exc}") from exc
    addresses = [str(info[4][0]).split("%")[0] for info in infos]
    if not addresses:
        raise OSError(f"cannot resolve {host}")
    if not allow_private:
        for address in addresses:
            if not _is_public(ipaddress.ip_address(address)):
                raise Refused(
                    _("%(host)s resolves to %(address)s, which is not a public address.")
                    % {"host": host, "address": address}
                )
    return addresses[0]


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a given address, with the certificate checked for the URL's host name."""

    def __init__(self, address: str, port: int, server_hostname: str, **kwargs: Any) -> None:
        super().__init__(address, port, **kwargs)
        self._server_hostname = server_hostname

    def connect(self) -> None:
        sock = socket.create_connection((self.host, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self._server_hostname)  # type: ignore[attr-defined]


def post(url: str, body: bytes, headers: dict[str, str], allow_private: bool) -> Response:
    """POST once; redirects are not followed (a 3xx is an answer like any other)."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise Refused(_("Only http and https URLs are allowed."))
    port = parts.port or (443 if parts.scheme == "https" else 80)
    address = resolve(parts.hostname, port, allow_private)
    connection: http.client.HTTPConnection
    if parts.scheme == "https":
        connection = _PinnedHTTPSConnection(
            address,
            port,
            parts.hostname,
            timeout=TIMEOUT,
            context=ssl.create_default_context(),
        )
    else:
        connection = http.client.HTTPConnection(address, port, timeout=TIMEOUT)
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    default_port = parts.port is None
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        connection.request(
            "POST",
            target,
            body=body,
            headers={
                **headers,
                "Host": host if default_port else f"{host}:{port}",
                "Content-Type": "application/json",
                "User-Agent": USER_AGENT,
            },
        )
        response = connection.getresponse()
        text = response.read(2000).decode("utf-8", "replace")
        return Response(response.status, text)
    finally:
        connection.close()


def sign(secret: str, timestamp: str, body: bytes) -> str:
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + digest.hexdigest()


def body_of(delivery: WebhookDelivery) -> bytes:
    return json.dumps(delivery.payload, ensure_ascii=False, separators=(",", ":")).encode()


def _sendable() -> Q:
    """Deliveries of active webhooks; a test delivery also to a paused one (to try it before
    resuming). A subquery, not a join: an UPDATE over a join becomes `id IN (SELECT …)`, which
    PostgreSQL does not check again against a row a concurrent claim just changed, so two
    workers could both claim one delivery."""
    active = Webhook.objects.filter(is_active=True).values("pk")
    return Q(webhook_id__in=active) | Q(event=TEST_EVENT)


def backoff(attempts: int) -> timedelta:
    """The wait after the n-th failed attempt: 1, 2, 4, 8 … minutes."""
    return timedelta(minutes=2 ** (attempts - 1))


def _claim(delivery: WebhookDelivery, now: datetime) -> bool:
    """Take a due delivery; False when another worker already did (its next attempt moved)
    or its webhook was paused since the due rows were read."""
    return bool(
        WebhookDelivery.objects.filter(
            _sendable(),
            pk=delivery.pk,
            state=WebhookDelivery.State.PENDING,
            next_attempt_at=delivery.next_attempt_at,
        ).update(next_attempt_at=now + LEASE)
    )


def send_one(delivery: WebhookDelivery, now: datetime | None = None) -> str:
    """Send one claimed delivery; returns its new state."""
    now = now or timezone.now()
    webhook = delivery.webhook
    body = body_of(delivery)
    timestamp = str(int(now.timestamp()))
    headers = {
        "X-Helpa-Event": delivery.event,
        "X-Helpa-Delivery": str(delivery.delivery_id),
        "X-Helpa-Timestamp": timestamp,
        "X-Helpa-Signature": sign(webhook.secret, timestamp, body),
    }
    attempts = delivery.attempts + 1
    status: int | None = None
    try:
        response = post(webhook.url, body, headers, webhook.allow_private)
    except Refused as exc:
        # The address will not become acceptable by waiting: failed at once.
        return _finish(delivery, attempts, now, None, str(exc), final=True)
    except (OSError, http.client.HTTPException, ValueError) as exc:
        error = f"{type(exc).__name__}: {exc}"
    else:
        status = response.status
        if 200 <= status < 300:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                state=WebhookDelivery.State.SENT,
                attempts=attempts,
                last_status_code=status,
                last_error="",
                sent_at=now,
            )
            Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=0)
            return WebhookDelivery.State.SENT
        error = f"HTTP {status}: {response.body}".strip()
    return _finish(delivery, attempts, now, status, error, final=attempts >= MAX_ATTEMPTS)


def _finish(
    delivery: WebhookDelivery,
    attempts: int,
    now: datetime,
    status: int | None,
    error: str,
    *,
    final: bool,
) -> str:
    if not final:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            attempts=attempts,
            last_status_code=status,
            last_error=error[:ERROR_LENGTH],
            next_attempt_at=now + backoff(attempts),
        )
        return WebhookDelivery.State.PENDING
    with transaction.atomic():
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            state=WebhookDelivery.State.FAILED,
            attempts=attempts,
            last_status_code=status,
            last_error=error[:ERROR_LENGTH],
        )
        if delivery.event != TEST_EVENT:  # a failed test says nothing of the live traffic
            _count_failure(delivery.webhook, now)
    return WebhookDelivery.State.FAILED


def _count_failure(webhook: Webhook, now: datetime) -> None:
    Webhook.objects.filter(pk=webhook.pk).update(consecutive_failures=F("consecutive_failures") + 1)
    # Paused once: the conditional update makes only one worker pause it and tell the admins.
    paused = Webhook.objects.filter(
        pk=webhook.pk, is_active=True, consecutive_failures__gte=PAUSE_AFTER_FAILURES
    ).update(is_active=False, paused_at=now)
    if paused:
        webhook.refresh_from_db()
        _tell_the_admins(webhook)


def _tell_the_admins(webhook: Webhook) -> None:
    from helpa.mail import outbound  # noqa: PLC0415 — mail is below api; loaded when needed
    from helpa.mail.models import OutgoingMail  # noqa: PLC0415

    forget()
    for admin in User.objects.filter(is_active=True, role=Role.ADMIN).exclude(email=""):
        with translation.override(admin.language or None):
            subject = _("Webhook paused: %(url)s") % {"url": webhook.url[:200]}
            text = _(
                "Helpa paused the webhook to %(url)s after %(count)s deliveries in a row "
                "failed. No more events are sent to it until an admin resumes it under "
                "Settings → Webhooks, where the delivery log shows the errors."
            ) % {"url": webhook.url, "count": webhook.consecutive_failures}
        outbound.queue_mail(
            kind=OutgoingMail.Kind.AGENT,
            queue=None,
            to=[(str(admin), admin.email)],
            subject=subject,
            text=text,
        )
    log.warning("webhook %s paused after %s failures", webhook.pk, webhook.consecutive_failures)


def send_due(now: datetime | None = None, limit: int = 200) -> int:
    """Send the deliveries that are due (of active webhooks; a test delivery also to a paused
    one); returns how many were sent."""
    now = now or timezone.now()
    due = list(
        WebhookDelivery.objects.filter(
            state=WebhookDelivery.State.PENDING, next_attempt_at__lte=now
        )
        .filter(_sendable())
        .select_related("webhook")
        .order_by("next_attempt_at", "id")[:limit]
    )
    sent = 0
    for delivery in due:
        if _claim(delivery, now) and send_one(delivery, now) == WebhookDelivery.State.SENT:
            sent += 1
    return sent
