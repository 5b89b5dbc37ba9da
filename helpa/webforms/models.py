"""Contact forms that admins design and customers embed in their own websites (FEATURES M8, P5).

A form is public by design: its slug is its address. What a submission may do is bounded by
the spam defences (a honeypot, a minimum fill time, rate limits per IP and per address), and
every refused submission leaves a `BlockedSubmission` row, so the team sees a count instead of
a silent drop.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.core.validators import RegexValidator
from django.db import models
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _

from helpa.portal.models import Look, look_for
from helpa.tickets.models import Queue, Ticket


class Mode(models.TextChoices):
    """How a catalogue field appears on a form."""

    OFF = "off", _("Not on the form")
    OPTIONAL = "optional", _("Shown, optional")
    REQUIRED = "required", _("Shown, mandatory")
    HIDDEN = "hidden", _("Hidden, filled from the web address")


class Lock(models.TextChoices):
    """Whether a value prefilled from the web address may be changed by the visitor."""

    NEVER = "never", _("Never locked")
    ON_REQUEST = "request", _("Locked when the address says lock=…")
    ALWAYS = "always", _("Always locked when prefilled")


@dataclass(frozen=True)
class CatalogueField:
    # The default labels are content of the form, stored with it in both languages (an admin
    # rewrites them), so they are written here in both rather than looked up in the catalogue.
    label_en: str
    label_sv: str
    default_mode: str
    prefill: bool = True  # may come from the web address (and then be locked)

    def label(self) -> str:
        return (
            self.label_sv if (translation.get_language() or "").startswith("sv") else self.label_en
        )


# The fields a form may offer, in the order it shows them. The keys are also the names of the
# web-address parameters that prefill them (…/forms/support/?name=Ann&email=ann@example.com).
CATALOGUE: dict[str, CatalogueField] = {
    "name": CatalogueField("Your name", "Ditt namn", Mode.REQUIRED),
    "email": CatalogueField("Your e-mail address", "Din e-postadress", Mode.REQUIRED),
    "phone": CatalogueField("Phone", "Telefon", Mode.OFF),
    "company": CatalogueField("Company", "Företag", Mode.OFF),
    "customer_number": CatalogueField("Customer number", "Kundnummer", Mode.OFF),
    "type": CatalogueField("What is it about?", "Vad gäller det?", Mode.OFF),
    "category": CatalogueField("Category", "Kategori", Mode.OFF),
    "subject": CatalogueField("Subject", "Ämne", Mode.REQUIRED),
    "message": CatalogueField("Your message", "Ditt meddelande", Mode.REQUIRED),
    "attachments": CatalogueField("Attachments", "Bilagor", Mode.OFF, prefill=False),
}
# The address is how we answer: every form asks for it, and requires it.
ALWAYS_REQUIRED = {"email"}
# Fields without a sensible hidden value from the address.
NEVER_HIDDEN = {"email", "message", "attachments"}


def default_label(key: str, language: str) -> str:
    spec = CATALOGUE[key]
    return spec.label_sv if language.startswith("sv") else spec.label_en


def default_fields() -> dict[str, dict[str, str]]:
    return {
        key: {
            "mode": spec.default_mode,
            "label_en": default_label(key, "en"),
            "label_sv": default_label(key, "sv"),
            "lock": Lock.ON_REQUEST if spec.prefill else Lock.NEVER,
        }
        for key, spec in CATALOGUE.items()
    }


@dataclass(frozen=True)
class FieldConfig:
    """One catalogue field as a form uses it."""

    key: str
    mode: str
    label_en: str
    label_sv: str
    lock: str

    @property
    def shown(self) -> bool:
        return self.mode in (Mode.OPTIONAL, Mode.REQUIRED)

    @property
    def used(self) -> bool:
        return self.mode != Mode.OFF

    def label(self, language: str) -> str:
        text = self.label_sv if language.startswith("sv") else self.label_en
        return text or default_label(self.key, "sv" if language.startswith("sv") else "en")


slug_validator = RegexValidator(
    r"^[a-z0-9](?:[a-z0-9-]{0,48}[a-z0-9])?$",
    _("Use lower-case letters, digits and hyphens (e.g. “support-sv”)."),
)


class ContactForm(models.Model):
    name = models.CharField(_("name"), max_length=100)
    slug = models.CharField(
        _("address"),
        max_length=50,
        unique=True,
        validators=[slug_validator],
        help_text=_("The form's public address: /forms/<address>/."),
    )
    queue = models.ForeignKey(
        Queue, on_delete=models.PROTECT, related_name="+", verbose_name=_("queue for new tickets")
    )
    is_active = models.BooleanField(_("active"), default=True)
    # key of CATALOGUE → {"mode", "label_en", "label_sv", "lock"}; see `field_configs`.
    fields = models.JSONField(default=default_fields, blank=True)
    custom_css = models.TextField(
        _("your own CSS"),
        blank=True,
        max_length=50_000,
        help_text=_("Served as the form's own stylesheet, after Helpa's."),
    )
    thanks_en = models.TextField(_("thank-you text (English)"), blank=True, max_length=2000)
    thanks_sv = models.TextField(_("thank-you text (Swedish)"), blank=True, max_length=2000)
    allowed_origins = models.TextField(
        _("websites that may embed the form"),
        blank=True,
        help_text=_(
            "One origin a line, e.g. https://www.example.com. Empty: any website may embed it."
        ),
    )
    fallback_address = models.EmailField(
        _("address to mention when a message is refused"),
        blank=True,
        help_text=_("Shown to a visitor who sent too many messages, as another way to reach you."),
    )
    min_fill_seconds = models.PositiveSmallIntegerField(
        _("minimum time to fill in (seconds)"),
        default=3,
        help_text=_("A faster submission is taken for a robot and refused with a request to wait."),
    )
    ip_limit = models.PositiveSmallIntegerField(
        _("messages per IP address per 10 minutes"), default=5
    )
    address_limit = models.PositiveSmallIntegerField(
        _("messages per e-mail address per 10 minutes"), default=3
    )
    # A form wears the look of its queue's brand (C3), else the installation's: see `look()`.
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    RATE_WINDOW = timedelta(minutes=10)

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact form")
        verbose_name_plural = _("contact forms")

    def __str__(self) -> str:
        return self.name

    def field_configs(self) -> list[FieldConfig]:
        """Every catalogue field in catalogue order, with defaults for what is not stored."""
        stored = self.fields if isinstance(self.fields, dict) else {}
        defaults = default_fields()
        configs = []
        for key in CATALOGUE:
            row = {**defaults[key], **(stored.get(key) or {})}
            mode = row["mode"] if row["mode"] in Mode.values else defaults[key]["mode"]
            if key in ALWAYS_REQUIRED:
                mode = Mode.REQUIRED
            if mode == Mode.HIDDEN and key in NEVER_HIDDEN:
                mode = Mode.OPTIONAL
            lock = row["lock"] if row["lock"] in Lock.values else Lock.NEVER
            if not CATALOGUE[key].prefill:
                lock = Lock.NEVER
            configs.append(FieldConfig(key, mode, str(row["label_en"]), str(row["label_sv"]), lock))
        return configs

    def config(self, key: str) -> FieldConfig:
        return next(c for c in self.field_configs() if c.key == key)

    def thanks(self, language: str) -> str:
        return self.thanks_sv if language.startswith("sv") else self.thanks_en

    def frame_ancestors(self) -> str:
        """The CSP frame-ancestors source list: the listed origins and our own, or any site."""
        origins = [o.strip().rstrip("/") for o in self.allowed_origins.split() if o.strip()]
        return " ".join(["'self'", *origins]) if origins else "*"

    def look(self) -> Look:
        """The look the form wears: its queue's brand's where the brand has one, else the
        installation's (PortalSettings)."""
        return look_for(self.queue)


class Reason(models.TextChoices):
    HONEYPOT = "honeypot", _("Robot field filled in")
    TOO_FAST = "too_fast", _("Sent too fast")
    RATE_IP = "rate_ip", _("Too many from one IP address")
    RATE_ADDRESS = "rate_address", _("Too many from one e-mail address")
    EXPIRED = "expired", _("Form open too long")
    INVALID = "invalid", _("Form could not be verified")
    CLOSED = "closed", _("Form closed")


class Submission(models.Model):
    """An accepted submission: the token's one-time value (a replay finds it and makes no second
    ticket), and what the rate limits count. The message itself lives only in the ticket."""

    form = models.ForeignKey(ContactForm, on_delete=models.CASCADE, related_name="submissions")
    nonce = models.CharField(max_length=64, unique=True)
    ticket = models.ForeignKey(Ticket, on_delete=models.SET_NULL, null=True, related_name="+")
    ip = models.GenericIPAddressField(null=True, blank=True)
    address = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["form", "ip", "created_at"], name="wf_submission_ip_idx"),
            models.Index(fields=["form", "address", "created_at"], name="wf_submission_addr_idx"),
        ]


class BlockedSubmission(models.Model):
    """A refused submission: why, from where, when — never what it said."""

    form = models.ForeignKey(ContactForm, on_delete=models.CASCADE, related_name="blocked")
    reason = models.CharField(max_length=16, choices=Reason.choices)
    ip = models.GenericIPAddressField(null=True, blank=True)
    address = models.EmailField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["form", "created_at"], name="wf_blocked_form_idx")]
