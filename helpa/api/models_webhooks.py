"""Outgoing webhooks: an admin subscribes a URL to ticket and contact events.

Each event writes one `WebhookDelivery` per matching webhook in the transaction of the change
(an outbox, DESIGN.md): the row commits with the change and disappears with a rollback, so a
worker that dies loses nothing. The worker (webhooks.py) claims due rows and POSTs them.
"""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class WebhookEvent(models.TextChoices):
    TICKET_CREATED = "ticket.created", _("Ticket created")
    TICKET_UPDATED = "ticket.updated", _("Ticket updated (any field)")
    TICKET_REPLIED = "ticket.replied", _("Public reply added")
    TICKET_NOTE_ADDED = "ticket.note_added", _("Internal note added")
    TICKET_STATUS_CHANGED = "ticket.status_changed", _("Ticket status changed")
    TICKET_ASSIGNED = "ticket.assigned", _("Ticket assigned")
    CONTACT_CREATED = "contact.created", _("Contact created")


# Sent by the "Send test event" button only; never subscribed to.
TEST_EVENT = "webhook.test"

# Consecutive failed deliveries after which a webhook is paused and the admins are told.
PAUSE_AFTER_FAILURES = 10


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


class Webhook(models.Model):
    url = models.URLField(_("URL"), max_length=1000)
    events = models.JSONField(_("events"), default=list)  # a list of WebhookEvent values
    # Kept in clear, unlike API tokens (which are only compared, so a hash suffices): Helpa
    # must compute HMAC-SHA256 with this very key for every delivery, and a hash cannot sign.
    # It is shown to the admin once, when the webhook is made, and never again in the UI.
    secret = models.CharField(max_length=100, default=new_secret)
    is_active = models.BooleanField(_("active"), default=True)
    allow_private = models.BooleanField(
        _("allow private addresses"),
        default=False,
        help_text=_(
            "Allow delivery to loopback, private and link-local addresses (an endpoint inside "
            "your own network). Leave off unless you trust every address this host name may "
            "resolve to."
        ),
    )
    consecutive_failures = models.PositiveIntegerField(default=0)
    paused_at = models.DateTimeField(_("paused"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("webhook")
        verbose_name_plural = _("webhooks")

    def __str__(self) -> str:
        return self.url

    def event_labels(self) -> list[str]:
        labels = dict(WebhookEvent.choices)
        return [str(labels.get(e, e)) for e in self.events]


class WebhookDelivery(models.Model):
    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    webhook = models.ForeignKey(Webhook, on_delete=models.CASCADE, related_name="deliveries")
    event = models.CharField(_("event"), max_length=40)
    payload = models.JSONField(encoder=DjangoJSONEncoder)
    # Sent as X-Helpa-Delivery and kept on "send again": a receiver can drop a duplicate.
    delivery_id = models.UUIDField(default=uuid.uuid4, unique=True)
    state = models.CharField(
        _("status"), max_length=8, choices=State.choices, default=State.PENDING
    )
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(_("response"), null=True, blank=True)
    last_error = models.CharField(_("error"), max_length=500, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["state", "next_attempt_at"], name="webhook_delivery_due_idx"),
            models.Index(fields=["webhook", "-created_at"], name="webhook_delivery_log_idx"),
        ]
