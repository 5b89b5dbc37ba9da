"""Changes to contacts that other apps make (the contact form, the import later)."""

from __future__ import annotations

from django.core.exceptions import ValidationError

from .identifiers import normalise_phone
from .models import Contact, ContactPhone


def add_phone(contact: Contact, raw: str) -> bool:
    """Adds a phone number someone typed to a contact. One that cannot be read is kept in the
    contact's notes rather than lost; returns whether it became a number."""
    raw = (raw or "").strip()
    if not raw:
        return False
    try:
        number = normalise_phone(raw)
    except ValidationError:
        contact.notes = f"{contact.notes.rstrip()}\n{raw}".strip()
        contact.save(update_fields=["notes"])
        return False
    ContactPhone.objects.get_or_create(contact=contact, number=number)
    return True
