"""Contacts (the people who write to us) and their companies.

The contact register grows in the contacts issue; the ticket core only needs who asked and
for which company.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class Company(models.Model):
    name = models.CharField(_("name"), max_length=200)
    organisation_number = models.CharField(_("organisation number"), max_length=20, blank=True)
    customer_number = models.CharField(_("customer number"), max_length=40, blank=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
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
    email = models.EmailField(_("e-mail address"), blank=True, db_index=True)
    phone = models.CharField(_("phone"), max_length=40, blank=True)
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
