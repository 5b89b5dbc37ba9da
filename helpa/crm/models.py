"""Contacts (the people who write to us) and their companies.

A contact's primary address is `Contact.email` (mail, the portal and notifications use it); more
addresses and the phone numbers live in small tables of their own, stored normalised (addresses
lower-cased, phones E.164) and indexed, so the mail and SMS channels find a contact by any of them.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _

from .identifiers import display_phone

LANGUAGES = [("sv", _("Swedish")), ("en", _("English"))]


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
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
