"""Contacts (the people who write to us), their companies, and brands.

A contact's primary address is `Contact.email` (mail, the portal and notifications use it); more
addresses and the phone numbers live in small tables of their own, stored normalised (addresses
lower-cased, phones E.164) and indexed, so the mail and SMS channels find a contact by any of them.

A brand (ServIT's "svarsställe") is a client organisation the desk answers for: its queues,
companies, templates, canned responses and rules belong to it, its mail goes out under its
sender, greeting and signature, and its customer pages show its logo and colours. An agent may
be limited to some brands (`Brand.limited_agents`): such an agent sees only the tickets of
those brands' queues and of unbranded queues, and only the companies (and their contacts) of
those brands and the unbranded ones. An agent limited to no brand is not limited; admins see
everything. The limit lives here, on Brand, so that accounts (below crm) knows nothing of
brands.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Exists, Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .identifiers import display_phone

if TYPE_CHECKING:
    from helpa.accounts.models import User

brand_code_validator = RegexValidator(
    r"^[A-Za-z0-9]{1,8}$",
    _("Use at most 8 letters (A–Z) and digits, e.g. ACME."),
)
colour_validator = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Write a colour as #rrggbb, e.g. #1f5fae.")
)


def _brand_logo_path(instance: Brand, filename: str) -> str:
    return f"brands/{instance.code.lower()}/{filename}"


class Brand(models.Model):
    """A client organisation the desk answers for (svarsställe)."""

    code = models.CharField(
        _("brand id"),
        max_length=8,
        unique=True,
        validators=[brand_code_validator],
        help_text=_("At most 8 letters and digits, e.g. ACME. Stored in capitals."),
    )
    name = models.CharField(_("name"), max_length=100)
    sender_address = models.EmailField(
        _("sender address"),
        blank=True,
        help_text=_(
            "Mail of this brand's queues goes out from this address, unless the queue has "
            "its own sender address."
        ),
    )
    sender_name = models.CharField(_("sender name"), max_length=100, blank=True)
    closing_greeting = models.TextField(
        _("closing greeting"),
        blank=True,
        help_text=_("Ends every reply of this brand. Placeholders: {agent}, {queue}, {number}."),
    )
    signature = models.TextField(
        _("signature"),
        blank=True,
        help_text=_(
            "Used when the agent has no signature of their own for this brand. "
            "Placeholders: {agent}, {queue}, {number}."
        ),
    )
    agent_instructions = models.TextField(
        _("instructions for agents"),
        blank=True,
        help_text=_("Shown to agents on every ticket of this brand's queues."),
    )
    logo = models.FileField(_("logo"), upload_to=_brand_logo_path, blank=True, max_length=200)
    primary_colour = models.CharField(
        _("main colour"), max_length=7, blank=True, validators=[colour_validator]
    )
    accent_colour = models.CharField(
        _("accent colour"), max_length=7, blank=True, validators=[colour_validator]
    )
    limited_agents = models.ManyToManyField(
        settings.AUTH_USER_MODEL,
        related_name="brand_limits",
        blank=True,
        verbose_name=_("agents limited to this brand"),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("brand")
        verbose_name_plural = _("brands")

    def __str__(self) -> str:
        return f"{self.code} · {self.name}"

    def save(self, *args: object, **kwargs: object) -> None:
        self.code = self.code.strip().upper()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


def brand_allowed_q(user: User, field: str = "brand") -> Q:
    """The rows (by their brand key `field`) a user may see: those of no brand, those of a
    brand the user is limited to, and all of them when the user is limited to none. One
    condition, no query of its own: it becomes part of the caller's query. Admins: no limit."""
    if user.is_admin:
        return Q()
    limits = Brand.limited_agents.through.objects.filter(user_id=user.pk)
    return (
        Q(**{f"{field}__isnull": True})
        | Q(**{f"{field}__in": limits.values("brand_id")})
        | ~Exists(limits)
    )


def is_brand_limited(user: User) -> bool:
    return (
        not user.is_admin and Brand.limited_agents.through.objects.filter(user_id=user.pk).exists()
    )


class CompanyQuerySet(models.QuerySet["Company"]):
    def visible_to(self, user: User) -> CompanyQuerySet:
        """The companies a user may see: admins all; an agent limited to brands those of
        their brands and the unbranded ones; customers none (the portal has its own access)."""
        if not user.is_authenticated or not user.is_agent:
            return self.none()
        if user.is_admin:
            return self
        return self.filter(brand_allowed_q(user))


LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    brand = models.ForeignKey(
        Brand,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="companies",
        verbose_name=_("brand"),
    )
    # Stored normalised (see identifiers.normalise_org_number): NNNNNN-NNNN or 9 digits.
    organisation_number = models.CharField(_("organisation number"), max_length=20, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True)
    visiting_address = models.TextField(_("visiting address"), blank=True)
    postal_address = models.TextField(_("postal address"), blank=True)
    invoice_address = models.TextField(_("invoice address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    portal_shares_tickets = models.BooleanField(
        _("colleagues see each other's tickets in the portal"), default=False
    )
    # Retention never deletes or anonymises the tickets of a company on legal hold.
    legal_hold = models.BooleanField(
        _("legal hold"),
        default=False,
        help_text=_("Keep every ticket of this company: retention skips them."),
    )

    objects = CompanyQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("company")
        verbose_name_plural = _("companies")
        constraints = [
            models.UniqueConstraint(
                fields=["organisation_number"],
                condition=~Q(organisation_number=""),
                name="company_org_number_unique",
            ),
            models.UniqueConstraint(
                fields=["customer_number"],
                condition=~Q(customer_number=""),
                name="company_customer_number_unique",
            ),
        ]

    def __str__(self) -> str:
        return self.name


class CompanyDomain(models.Model):
    """A mail domain that belongs to a company: a new contact writing from it joins the company
    (M4). Set by an admin, never guessed, so a shared domain (gmail.com) is never one."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="domains", verbose_name=_("company")
    )
    domain = models.CharField(_("mail domain"), max_length=253, unique=True)

    class Meta:
        ordering = ["domain"]
        verbose_name = _("mail domain")
        verbose_name_plural = _("mail domains")

    def __str__(self) -> str:
        return self.domain

    def save(self, *args: object, **kwargs: object) -> None:
        self.domain = self.domain.strip().lower().lstrip("@")
        super().save(*args, **kwargs)  # type: ignore[arg-type]


def company_for_address(address: str) -> Company | None:
    """The company whose mail domain the address is at, if an admin set one."""
    domain = address.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    match = CompanyDomain.objects.select_related("company").filter(domain=domain).first()
    return match.company if match else None


class ContactQuerySet(models.QuerySet["Contact"]):
    def visible_to(self, user: User) -> ContactQuerySet:
        """The contacts a user may see: a contact follows its company's brand; a contact of
        no company is of no brand."""
        if not user.is_authenticated or not user.is_agent:
            return self.none()
        if user.is_admin:
            return self
        return self.filter(brand_allowed_q(user, "company__brand"))


class Contact(models.Model):
    name = models.CharField(_("name"), max_length=200)
    # The primary address; the others are ContactEmail rows.
    email = models.EmailField(_("e-mail address"), blank=True, db_index=True)
    company = models.ForeignKey(
        Company,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contacts",
        verbose_name=_("company"),
    )
    # The login a contact uses for the portal, if they have one.
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="contact",
    )
    language = models.CharField(_("language"), max_length=8, choices=LANGUAGES, default="sv")
    notes = models.TextField(_("notes"), blank=True)
    # Both this and the company's portal_shares_tickets must be on for a contact to see their
    # colleagues' tickets in the portal: the company opens the door, a contact can be kept out.
    portal_sees_company_tickets = models.BooleanField(
        _("may see the company's tickets in the portal"),
        default=True,
        help_text=_("Only when the company shares its tickets in the portal."),
    )

    objects = ContactQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        verbose_name = _("contact")
        verbose_name_plural = _("contacts")

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>" if self.email else self.name

    @property
    def initials(self) -> str:
        parts = [p for p in (self.name or self.email).replace("@", " ").split() if p]
        return "".join(p[0] for p in parts[:2]).upper()


class ContactEmail(models.Model):
    """A contact's further address (the primary one is Contact.email). Lower-case, one contact
    per address."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="emails", verbose_name=_("contact")
    )
    address = models.EmailField(_("e-mail address"), unique=True)

    class Meta:
        ordering = ["address"]
        verbose_name = _("e-mail address")
        verbose_name_plural = _("e-mail addresses")
        constraints = [
            models.UniqueConstraint(Lower("address"), name="contactemail_address_ci_unique")
        ]

    def __str__(self) -> str:
        return self.address

    def save(self, *args: object, **kwargs: object) -> None:
        self.address = self.address.strip().lower()
        super().save(*args, **kwargs)  # type: ignore[arg-type]


class ContactPhone(models.Model):
    """One of a contact's phone numbers, E.164 (the SMS channel looks contacts up by it)."""

    contact = models.ForeignKey(
        Contact, on_delete=models.CASCADE, related_name="phones", verbose_name=_("contact")
    )
    number = models.CharField(_("phone number"), max_length=20, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(fields=["contact", "number"], name="contactphone_unique")
        ]

    def __str__(self) -> str:
        return display_phone(self.number)


class CompanyPhone(models.Model):
    """One of a company's phone numbers (switchboard, support line), E.164."""

    company = models.ForeignKey(
        Company, on_delete=models.CASCADE, related_name="phones", verbose_name=_("company")
    )
    number = models.CharField(_("phone number"), max_length=20, db_index=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("phone number")
        verbose_name_plural = _("phone numbers")
        constraints = [
            models.UniqueConstraint(fields=["company", "number"], name="companyphone_unique")
        ]

    def __str__(self) -> str:
        return display_phone(self.number)


class ImportJob(models.Model):
    """One file of contacts and companies being imported (crm/importing.py): the stored file,
    the column mapping, and the progress and outcome the import page shows."""

    class State(models.TextChoices):
        UPLOADED = "uploaded", _("waiting for the mapping")
        QUEUED = "queued", _("queued")
        RUNNING = "running", _("importing")
        DONE = "done", _("done")
        FAILED = "failed", _("failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True
    )
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    file_name = models.CharField(_("file"), max_length=255)
    # Relative to MEDIA_ROOT (under HELPA_DATA_DIR): imports/<id>-<random>.csv|xlsx
    stored_path = models.CharField(max_length=255)
    headers = models.JSONField(default=list)
    mapping = models.JSONField(default=list)
    total_rows = models.PositiveIntegerField(default=0)
    state = models.CharField(max_length=10, choices=State.choices, default=State.UPLOADED)
    processed = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    failed = models.PositiveIntegerField(default=0)
    # [{"row": 7, "reason": "…"}], at most importing.MAX_ERRORS_KEPT; error_count counts all.
    errors = models.JSONField(default=list)
    error_count = models.PositiveIntegerField(default=0)
    message = models.TextField(blank=True)  # why the whole import failed, if it did
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return self.file_name

    @property
    def percent(self) -> int:
        if self.state == self.State.DONE:
            return 100
        return min(100, self.processed * 100 // self.total_rows) if self.total_rows else 0

    @property
    def is_active(self) -> bool:
        return self.state in (self.State.QUEUED, self.State.RUNNING)
