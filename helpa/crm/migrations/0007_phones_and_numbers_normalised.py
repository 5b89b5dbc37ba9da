"""Existing phone numbers move into the phone tables as E.164; organisation and customer numbers
are normalised before they become unique. Nothing is dropped: what cannot be read, or would
collide with another company's number, is written into the row's notes instead."""

from django.core.exceptions import ValidationError
from django.db import migrations

from helpa.crm.identifiers import normalise_org_number, normalise_phone


def _note(obj, line: str) -> None:
    obj.notes = f"{obj.notes.rstrip()}\n{line}".strip() if obj.notes else line


def _phone_into_table(obj, table, owner_field: str) -> None:
    raw = obj.phone.strip()
    if not raw:
        return
    try:
        number = normalise_phone(raw)
    except ValidationError:
        _note(obj, f"Phone (not understood): {raw}")
        return
    table.objects.get_or_create(**{owner_field: obj, "number": number})


def forwards(apps, schema_editor) -> None:
    Contact = apps.get_model("crm", "Contact")
    ContactPhone = apps.get_model("crm", "ContactPhone")
    Company = apps.get_model("crm", "Company")
    CompanyPhone = apps.get_model("crm", "CompanyPhone")

    for contact in Contact.objects.exclude(phone="").iterator():
        _phone_into_table(contact, ContactPhone, "contact")
        contact.save(update_fields=["notes"])

    org_numbers: set[str] = set()
    customer_numbers: set[str] = set()
    for company in Company.objects.order_by("pk").iterator():
        _phone_into_table(company, CompanyPhone, "company")
        raw = company.organisation_number.strip()
        if raw:
            try:
                number = normalise_org_number(raw)
            except ValidationError:
                number = ""
                _note(company, f"Organisation number (not valid): {raw}")
            if number and number in org_numbers:
                _note(company, f"Organisation number (also another company's): {raw}")
                number = ""
            company.organisation_number = number
            if number:
                org_numbers.add(number)
        customer = company.customer_number.strip()
        if customer in customer_numbers:
            _note(company, f"Customer number (also another company's): {customer}")
            customer = ""
        if customer:
            customer_numbers.add(customer)
        company.customer_number = customer
        company.save(update_fields=["notes", "organisation_number", "customer_number"])


def backwards(apps, schema_editor) -> None:
    """The first number of each goes back into the single phone field."""
    Contact = apps.get_model("crm", "Contact")
    Company = apps.get_model("crm", "Company")
    for model in (Contact, Company):
        for obj in model.objects.filter(phones__isnull=False).distinct().iterator():
            obj.phone = obj.phones.order_by("pk").first().number
            obj.save(update_fields=["phone"])


class Migration(migrations.Migration):
    dependencies = [("crm", "0006_contact_register")]

    operations = [migrations.RunPython(forwards, backwards)]
