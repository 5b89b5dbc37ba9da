"""The contact and company forms: what is stored, and what is refused with which message."""

from __future__ import annotations

import pytest

from helpa.crm.forms import CompanyForm, ContactForm
from helpa.crm.models import Company, Contact, ContactEmail

pytestmark = pytest.mark.django_db


def _contact_data(**changes: str) -> dict[str, str]:
    data = {
        "name": "Pia Persson",
        "email": "Pia@Kund.se",
        "language": "sv",
        "portal_sees_company_tickets": "on",
        "notes": "",
        "other_emails": "pia.persson@gmail.com\nPIA@privat.se",
        "phones": "070-123 45 67\n+47 912 34 567",
    }
    return {**data, **changes}


def test_a_contact_keeps_several_addresses_and_phones_normalised() -> None:
    form = ContactForm(_contact_data())
    assert form.is_valid(), form.errors
    pia = form.save()
    assert pia.email == "pia@kund.se"
    assert sorted(e.address for e in pia.emails.all()) == ["pia.persson@gmail.com", "pia@privat.se"]
    assert [p.number for p in pia.phones.all()] == ["+46701234567", "+4791234567"]

    edit = ContactForm(
        _contact_data(other_emails="pia@privat.se", phones="0701234567"), instance=pia
    )
    assert edit.is_valid(), edit.errors
    edit.save()
    assert [e.address for e in pia.emails.all()] == ["pia@privat.se"]
    assert [p.number for p in pia.phones.all()] == ["+46701234567"]


def test_an_address_of_another_contact_is_refused_naming_them() -> None:
    ola = Contact.objects.create(name="Ola Nordmann", email="ola@firma.no")
    ContactEmail.objects.create(contact=ola, address="ola@gmail.com")
    form = ContactForm(_contact_data(email="OLA@firma.no", other_emails="Ola@Gmail.com"))
    assert not form.is_valid()
    assert "already belongs to the contact Ola Nordmann" in form.errors["email"][0]
    assert (
        "ola@gmail.com already belongs to the contact Ola Nordmann"
        in form.errors["other_emails"][0]
    )


def test_bad_addresses_and_phones_are_refused_with_the_value() -> None:
    form = ContactForm(_contact_data(email="not-an-address", other_emails="x@", phones="070 123"))
    assert not form.is_valid()
    assert form.errors["email"]
    assert "“x@” is not an e-mail address." in form.errors["other_emails"]
    assert "“070 123” is not a phone number we can read" in form.errors["phones"][0]


def _company_data(**changes: str) -> dict[str, str]:
    data = {
        "name": "Nordvind AS",
        "organisation_number": "923 609 016",
        "customer_number": "K-7",
        "visiting_address": "Storgata 1, Oslo",
        "postal_address": "",
        "invoice_address": "",
        "notes": "",
        "phones": "+47 22 12 34 56",
    }
    return {**data, **changes}


def test_a_company_is_stored_normalised() -> None:
    form = CompanyForm(_company_data())
    assert form.is_valid(), form.errors
    company = form.save()
    assert company.organisation_number == "923609016"
    assert [p.number for p in company.phones.all()] == ["+4722123456"]


def test_wrong_check_digit_and_duplicate_numbers_are_refused() -> None:
    Company.objects.create(name="Acme AB", organisation_number="556036-0793", customer_number="K-7")
    wrong = CompanyForm(_company_data(organisation_number="556036-0794"))
    assert not wrong.is_valid()
    assert "check digit" in wrong.errors["organisation_number"][0]

    taken = CompanyForm(_company_data(organisation_number="5560360793"))
    assert not taken.is_valid()
    assert taken.errors["organisation_number"] == [
        "The organisation number 556036-0793 already belongs to Acme AB."
    ]
    assert taken.errors["customer_number"] == [
        "The customer number K-7 already belongs to Acme AB."
    ]


def test_two_companies_without_numbers_are_fine() -> None:
    for name in ("A", "B"):
        form = CompanyForm(_company_data(name=name, organisation_number="", customer_number=""))
        assert form.is_valid(), form.errors
        form.save()
    assert Company.objects.count() == 2


def test_mail_domains_on_the_company_form() -> None:
    form = CompanyForm(_company_data(domains="@Nordfjord.no\nnordfjord.no\nfisk.no"))
    assert form.is_valid(), form.errors
    company = form.save()
    assert sorted(d.domain for d in company.domains.all()) == ["fisk.no", "nordfjord.no"]
    # Edited: one removed, one added; the form shows what is stored.
    edit = CompanyForm(_company_data(domains="fisk.no\nhav.no"), instance=company)
    assert edit.is_valid(), edit.errors
    edit.save()
    assert sorted(d.domain for d in company.domains.all()) == ["fisk.no", "hav.no"]
    assert CompanyForm(instance=company).initial["domains"] == "fisk.no\nhav.no"
    # A new sender from the domain joins the company.
    from helpa.crm.models import company_for_address

    assert company_for_address("ola@hav.no") == company

    other = Company.objects.create(name="Acme AB")
    taken = CompanyForm(_company_data(name="Acme AB", domains="hav.no"), instance=other)
    assert not taken.is_valid()
    assert taken.errors["domains"] == [f"The domain hav.no already belongs to {company}."]
    bad = CompanyForm(_company_data(domains="not a domain"))
    assert not bad.is_valid()
    assert "is not a mail domain" in bad.errors["domains"][0]


def test_only_admins_put_a_company_on_legal_hold() -> None:
    company = Company.objects.create(name="Acme AB")
    agent_form = CompanyForm(_company_data(name="Acme AB", legal_hold="on"), instance=company)
    assert "legal_hold" not in agent_form.fields
    assert agent_form.is_valid(), agent_form.errors
    agent_form.save()
    company.refresh_from_db()
    assert not company.legal_hold
    admin_form = CompanyForm(
        _company_data(name="Acme AB", legal_hold="on"), instance=company, may_hold=True
    )
    assert admin_form.is_valid(), admin_form.errors
    admin_form.save()
    company.refresh_from_db()
    assert company.legal_hold
