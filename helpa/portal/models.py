"""The customer side: portal settings and brand look, ticket links, one-time login links.

Tokens are stored hashed (helpa.lib.tokens): the raw value exists only in the mail or the
browser that received it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from helpa.crm.models import Contact
from helpa.lib.recent import RecentlyRead
from helpa.tickets.models import Queue, Ticket

_recent = RecentlyRead()

colour = RegexValidator(r"^#[0-9a-fA-F]{6}$", _("Write a colour as #rrggbb, e.g. #1f5fae."))

# Optional fields an admin may offer customers on a new ticket (subject, description and
# attachments are always there), in the order the form shows them.
NEW_TICKET_FIELDS = {
    "queue": _("Queue"),
    "type": _("Type"),
    "category": _("Category"),
    "priority": _("Priority"),
}


class PortalSettings(models.Model):
    """One row (pk=1): how the customer side looks and what it allows."""

    site_name = models.CharField(_("name shown to customers"), max_length=100, default="Helpa")
    logo = models.FileField(_("logo"), upload_to="brand/", blank=True, max_length=200)
    primary_colour = models.CharField(
        _("main colour"), max_length=7, default="#1f5fae", validators=[colour]
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, default="#e8f0fb", validators=[colour]
    )
    self_registration = models.BooleanField(
        _("customers may register themselves"),
        default=False,
        help_text=_("A new account sees nothing until its address is verified."),
    )
    default_queue = models.ForeignKey(
        Queue,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        verbose_name=_("queue for new portal tickets"),
        help_text=_("Empty: the first active queue."),
    )
    new_ticket_fields = models.JSONField(
        _("fields on a new ticket"), default=list, blank=True
    )  # keys of NEW_TICKET_FIELDS
    reopen_days = models.PositiveIntegerField(
        _("a closed ticket may be reopened for (days)"), default=14
    )
    link_valid_days = models.PositiveIntegerField(
        _("ticket links are valid for (days)"),
        default=30,
        help_text=_("Every new mail to the contact carries a fresh link."),
    )

    class Meta:
        verbose_name = _("portal settings")

    def save(self, *args, **kwargs) -> None:
        super().save(*args, **kwargs)
        _recent.forget()

    @classmethod
    def current(cls) -> PortalSettings:
        settings_row, _created = cls.objects.get_or_create(pk=1)
        return settings_row

    @classmethod
    def cached(cls) -> PortalSettings:
        """For hot paths (a ticket link in every auto-reply): at most a few seconds old."""
        return _recent.get("portal", cls.current)

    def queue_for_new_tickets(self) -> Queue | None:
        if self.default_queue_id and self.default_queue.is_active:
            return self.default_queue
        return Queue.objects.filter(is_active=True).order_by("pk").first()


@dataclass(frozen=True)
class Look:
    """How a customer page (or a contact form) looks: the installation's, or a brand's."""

    site_name: str
    logo: str  # the logo's URL, "" without one
    primary_colour: str
    accent_colour: str


def look_for(queue: Queue | None) -> Look:
    """The look of a customer page about `queue`'s tickets: its brand's name, logo and colours
    where the brand has them, the portal's otherwise. No query for an unbranded queue."""
    portal = PortalSettings.current()
    look = Look(
        site_name=portal.site_name,
        logo=reverse("portal:logo") if portal.logo else "",
        primary_colour=portal.primary_colour,
        accent_colour=portal.accent_colour,
    )
    brand = queue.brand if queue is not None and queue.brand_id else None
    if brand is None:
        return look
    return Look(
        site_name=brand.name,
        logo=reverse("portal:brand_logo", args=[brand.code]) if brand.logo else look.logo,
        primary_colour=brand.primary_colour or look.primary_colour,
        accent_colour=brand.accent_colour or look.accent_colour,
    )


class TicketLink(models.Model):
    """A link that opens one ticket for one contact without a login (ServIT's "ärendelänk")."""

    # Indexed by ticketlink_ticket_idx (ticket, expires_at).
    ticket = models.ForeignKey(
        Ticket, on_delete=models.CASCADE, related_name="customer_links", db_index=False
    )
    contact = models.ForeignKey(Contact, on_delete=models.CASCADE, related_name="+")
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["ticket", "expires_at"], name="ticketlink_ticket_idx")]

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and self.expires_at > timezone.now()


class LoginLink(models.Model):
    """A one-time link that signs a customer in, or verifies a new account's address."""

    class Purpose(models.TextChoices):
        LOGIN = "login", _("Sign in")
        VERIFY = "verify", _("Verify address")

    LIFETIME = {Purpose.LOGIN: timedelta(minutes=30), Purpose.VERIFY: timedelta(days=3)}

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    purpose = models.CharField(max_length=8, choices=Purpose.choices)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["user", "created_at"], name="loginlink_user_idx")]


class FormSubmission(models.Model):
    """A customer's form post already carried out, by the one-time key the form carried: a
    double click or a resent POST leads to the first result instead of storing it twice."""

    key = models.CharField(max_length=64, unique=True)
    result_url = models.CharField(max_length=300)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
