"""The contact and company forms agents edit on the contact and company pages.

Further addresses and phone numbers are edited as one per line: a contact has a handful, and a
text box is quicker to type into than a row of fields (the import uses the same cleaning).
"""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from .identifiers import display_phone, normalise_org_number, normalise_phone
from .models import Company, CompanyDomain, CompanyPhone, Contact, ContactEmail, ContactPhone

DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


def _lines(text: str) -> list[str]:
    return [line.strip() for line in (text or "").replace(",", "\n").splitlines() if line.strip()]


def _clean_phones(text: str) -> list[str]:
    numbers: list[str] = []
    errors: list[ValidationError] = []
    for line in _lines(text):
        try:
            number = normalise_phone(line)
        except ValidationError as error:
            errors.append(error)
            continue
        if number not in numbers:
            numbers.append(number)
    if errors:
        raise ValidationError(errors)
    return numbers


def _sync_phones(manager: Any, model: type, owner: dict[str, Any], numbers: list[str]) -> None:
    manager.exclude(number__in=numbers).delete()
    have = set(manager.values_list("number", flat=True))
    model.objects.bulk_create([model(number=n, **owner) for n in numbers if n not in have])


class ContactForm(forms.ModelForm):
    other_emails = forms.CharField(
        label=_("Further e-mail addresses"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One per line. Mail from any of them lands on this contact."),
    )
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, e.g. 070-123 45 67 or +47 912 34 567."),
    )

    class Meta:
        model = Contact
        fields = ["name", "email", "company", "language", "portal_sees_company_tickets", "notes"]
        widgets = {"notes": forms.Textarea(attrs={"rows": 4})}

    def __init__(self, *args: Any, company_widget: forms.Widget | None = None, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["email"].required = True
        if company_widget is not None:
            company_widget.choices = self.fields["company"].choices  # type: ignore[attr-defined]
            self.fields["company"].widget = company_widget
        if self.instance.pk and not self.is_bound:
            self.initial["other_emails"] = "\n".join(e.address for e in self.instance.emails.all())
            self.initial["phones"] = "\n".join(
                display_phone(p.number) for p in self.instance.phones.all()
            )

    def _used_by(self, address: str) -> Contact | None:
        """Another contact that has this address, as primary or further address."""
        others = Contact.objects.exclude(pk=self.instance.pk)
        return (
            others.filter(email__iexact=address).first()
            or others.filter(emails__address=address).first()
        )

    def _refuse_if_used(self, field: str, address: str) -> None:
        other = self._used_by(address)
        if other:
            self.add_error(
                field,
                _("The address %(address)s already belongs to the contact %(contact)s.")
                % {"address": address, "contact": other},
            )

    def clean_email(self) -> str:
        address = (self.cleaned_data.get("email") or "").strip().lower()
        self._refuse_if_used("email", address)
        return address

    def clean_other_emails(self) -> list[str]:
        addresses: list[str] = []
        for line in _lines(self.cleaned_data.get("other_emails", "")):
            address = line.lower()
            try:
                validate_email(address)
            except ValidationError:
                self.add_error(
                    "other_emails",
                    _("“%(address)s” is not an e-mail address.") % {"address": line},
                )
                continue
            self._refuse_if_used("other_emails", address)
            if address not in addresses:
                addresses.append(address)
        return addresses

    def clean_phones(self) -> list[str]:
        return _clean_phones(self.cleaned_data.get("phones", ""))

    @transaction.atomic
    def save(self, commit: bool = True) -> Contact:
        contact = super().save()
        addresses = [a for a in self.cleaned_data["other_emails"] if a != contact.email]
        contact.emails.exclude(address__in=addresses).delete()
        have = set(contact.emails.values_list("address", flat=True))
        ContactEmail.objects.bulk_create(
            [ContactEmail(contact=contact, address=a) for a in addresses if a not in have]
        )
        _sync_phones(
            contact.phones, ContactPhone, {"contact": contact}, self.cleaned_data["phones"]
        )
        return contact


class CompanyForm(forms.ModelForm):
    phones = forms.CharField(
        label=_("Phone numbers"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("One per line, e.g. 08-123 456 00 or +47 22 12 34 56."),
    )
    domains = forms.CharField(
        label=_("Mail domains"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_(
            "One per line, e.g. acme.se: a new sender from it joins this company. Never a "
            "shared domain such as gmail.com."
        ),
    )

    class Meta:
        model = Company
        fields = [
            "name",
            "organisation_number",
            "customer_number",
            "visiting_address",
            "postal_address",
            "invoice_address",
            "portal_shares_tickets",
            "notes",
            "legal_hold",
        ]
        widgets = {
            "visiting_address": forms.Textarea(attrs={"rows": 2}),
            "postal_address": forms.Textarea(attrs={"rows": 2}),
            "invoice_address": forms.Textarea(attrs={"rows": 2}),
            "notes": forms.Textarea(attrs={"rows": 4}),
        }
        help_texts = {
            "organisation_number": _("Swedish (556036-0793) or Norwegian (923609016)."),
        }

    def __init__(self, *args: Any, may_hold: bool = False, **kwargs: Any) -> None:
        """`may_hold`: the user is an admin, who may put the company on legal hold."""
        super().__init__(*args, **kwargs)
        if not may_hold:
            del self.fields["legal_hold"]
        if self.instance.pk and not self.is_bound:
            self.initial["phones"] = "\n".join(
                display_phone(p.number) for p in self.instance.phones.all()
            )
            self.initial["domains"] = "\n".join(d.domain for d in self.instance.domains.all())

    def _others(self) -> Any:
        return Company.objects.exclude(pk=self.instance.pk)

    def clean_domains(self) -> list[str]:
        domains: list[str] = []
        for line in (self.cleaned_data.get("domains") or "").split():
            domain = line.strip().lower().lstrip("@")
            if not DOMAIN.match(domain):
                raise ValidationError(
                    _("“%(domain)s” is not a mail domain (e.g. acme.se).") % {"domain": line}
                )
            taken = CompanyDomain.objects.filter(domain=domain).exclude(company=self.instance.pk)
            other = taken.select_related("company").first()
            if other:
                raise ValidationError(
                    _("The domain %(domain)s already belongs to %(company)s.")
                    % {"domain": domain, "company": other.company}
                )
            if domain not in domains:
                domains.append(domain)
        return domains

    def clean_organisation_number(self) -> str:
        number = normalise_org_number(self.cleaned_data.get("organisation_number", ""))
        other = number and self._others().filter(organisation_number=number).first()
        if other:
            raise ValidationError(
                _("The organisation number %(number)s already belongs to %(company)s.")
                % {"number": number, "company": other}
            )
        return number

    def clean_customer_number(self) -> str:
        number = (self.cleaned_data.get("customer_number") or "").strip()
        other = number and self._others().filter(customer_number=number).first()
        if other:
            raise ValidationError(
                _("The customer number %(number)s already belongs to %(company)s.")
                % {"number": number, "company": other}
            )
        return number

    def clean_phones(self) -> list[str]:
        return _clean_phones(self.cleaned_data.get("phones", ""))

    @transaction.atomic
    def save(self, commit: bool = True) -> Company:
        company = super().save()
        _sync_phones(
            company.phones, CompanyPhone, {"company": company}, self.cleaned_data["phones"]
        )
        wanted = set(self.cleaned_data["domains"])
        company.domains.exclude(domain__in=wanted).delete()
        have = set(company.domains.values_list("domain", flat=True))
        CompanyDomain.objects.bulk_create(
            CompanyDomain(company=company, domain=d) for d in sorted(wanted - have)
        )
        return company
