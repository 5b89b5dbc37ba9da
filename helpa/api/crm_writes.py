"""Contacts and companies are written through the UI's own forms (crm/forms.py), which hold
their rules (unique addresses and numbers, phone parsing, mail domains). The API hands them its
checked JSON as form data and returns their errors field by field."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from rest_framework import serializers

from helpa.accounts.models import User
from helpa.crm.forms import CompanyForm, ContactForm
from helpa.crm.models import Company, Contact

# List fields of the API that the forms take as one entry per line.
_LINES = ("other_emails", "phones", "domains")


def _form_data(form: forms.ModelForm, data: dict[str, Any]) -> dict[str, Any]:
    """The form's data: what the object holds now (a PATCH leaves the rest alone), with the
    fields the request sent on top."""
    current: dict[str, Any] = {}
    for name, field in form.fields.items():
        value = form.initial.get(name, field.initial)
        if isinstance(value, bool):
            current[name] = value
        elif value is not None:
            current[name] = getattr(value, "pk", value)
    for name, value in data.items():
        if name in _LINES:
            current[name] = "\n".join(value)
        else:
            current[name] = "" if value is None else value
    return current


def form_errors(form: forms.BaseForm) -> serializers.ValidationError:
    return serializers.ValidationError(
        {
            ("non_field_errors" if name == "__all__" else name): [str(m) for m in messages]
            for name, messages in form.errors.items()
        }
    )


def save_contact(user: User, data: dict[str, Any], instance: Contact | None = None) -> Contact:
    unbound = ContactForm(instance=instance)
    form = ContactForm(_form_data(unbound, data), instance=instance)
    # The companies an agent may choose: those they may see (brand limits), as in the UI.
    form.fields["company"].queryset = Company.objects.visible_to(user)
    if not form.is_valid():
        raise form_errors(form)
    return form.save()


def save_company(user: User, data: dict[str, Any], instance: Company | None = None) -> Company:
    if "legal_hold" in data and not user.is_admin:
        raise serializers.ValidationError(
            {"legal_hold": [_("Only admins may put a company on legal hold.")]}
        )
    unbound = CompanyForm(instance=instance, may_hold=user.is_admin)
    form = CompanyForm(_form_data(unbound, data), instance=instance, may_hold=user.is_admin)
    if not form.is_valid():
        raise form_errors(form)
    return form.save()
