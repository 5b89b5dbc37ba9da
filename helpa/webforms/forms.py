"""The public contact form (built from an admin's design) and the design page's forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.db.models import Model
from django.utils.translation import gettext_lazy as _

from helpa.portal.forms import _one_line
from helpa.tickets.forms import AttachmentsField
from helpa.tickets.models import Category, HelpdeskSettings, Queue, TicketType

from .models import (
    ALWAYS_REQUIRED,
    CATALOGUE,
    NEVER_HIDDEN,
    ContactForm,
    Lock,
    Mode,
    default_label,
)

# Named to attract form-filling robots; people never see it (hidden by the form's CSS).
HONEYPOT = "website"
MAX_FILES = 10
ONE_LINE_FIELDS = {"name", "company", "customer_number", "subject", "phone"}
CHOICE_FIELDS = {"type": TicketType, "category": Category}

phone_validator = RegexValidator(
    r"^\+?[0-9 ()./-]{3,40}$", _("Write a phone number with digits, e.g. +46 8 123 45 67.")
)


def _catalogue_field(key: str) -> forms.Field:
    """A fresh form field for one catalogue entry (label and required set by the caller)."""
    if key == "name":
        return forms.CharField(max_length=200)
    if key == "email":
        return forms.EmailField(max_length=254)
    if key == "phone":
        return forms.CharField(max_length=40, validators=[phone_validator])
    if key == "company":
        return forms.CharField(max_length=200)
    if key == "customer_number":
        return forms.CharField(max_length=40)
    if key == "subject":
        return forms.CharField(max_length=200)
    if key == "message":
        return forms.CharField(max_length=50_000, widget=forms.Textarea(attrs={"rows": 8}))
    if key == "attachments":
        return AttachmentsField(max_bytes=HelpdeskSettings.load().max_attachment_bytes)
    if key in CHOICE_FIELDS:
        model = CHOICE_FIELDS[key]
        return forms.ModelChoiceField(
            queryset=model._default_manager.filter(is_active=True), empty_label="—"
        )
    raise KeyError(key)


def clean_prefill(key: str, raw: str) -> str | None:
    """A value from the web address as the field would clean it, or None if it is not valid
    (a bad value is simply not prefilled). Choices are given by id or by name."""
    raw = (raw or "").strip()
    if not raw or key not in CATALOGUE or not CATALOGUE[key].prefill:
        return None
    if key in CHOICE_FIELDS:
        model = CHOICE_FIELDS[key]
        active = model._default_manager.filter(is_active=True)
        found: Model | None = None
        if raw.isdigit():
            found = active.filter(pk=int(raw)).first()
        found = found or active.filter(name__iexact=raw).first()
        return str(found.pk) if found else None
    field = _catalogue_field(key)
    field.required = False
    try:
        value = field.clean(raw)
    except forms.ValidationError:
        return None
    value = str(value or "")
    if key in ONE_LINE_FIELDS:
        value = _one_line(value)
    return value or None


class PublicForm(forms.Form):
    """The visitor's form: the form's shown fields, labelled in the page's language.

    `fixed` are the values the web address locked or hid (from the signed token): a locked
    field is shown read-only, a hidden one not at all; `tampered` names locked fields whose
    posted value differed from the signed one (the view puts the signed value back)."""

    def __init__(
        self,
        *args: Any,
        contact_form: ContactForm,
        language: str,
        fixed: dict[str, str] | None = None,
        prefill: dict[str, str] | None = None,
        tampered: set[str] | frozenset[str] = frozenset(),
        **kwargs: Any,
    ) -> None:
        self.contact_form = contact_form
        self.fixed = dict(fixed or {})
        self.tampered = set(tampered)
        self.configs = [c for c in contact_form.field_configs() if c.used]
        initial = {**(prefill or {}), **self.fixed}
        super().__init__(*args, initial=initial, **kwargs)
        for config in self.configs:
            if not config.shown:
                continue
            field = _catalogue_field(config.key)
            field.label = config.label(language)
            field.required = config.mode == Mode.REQUIRED
            if config.key in self.fixed:
                if config.key in CHOICE_FIELDS:
                    # A <select> cannot be read-only; disabled ones post nothing and Django
                    # takes the initial (signed) value instead.
                    field.disabled = True
                else:
                    field.widget.attrs.update({"readonly": True, "aria-readonly": "true"})
                field.help_text = _("Filled in for you.")
            if config.key == "email":
                field.widget.attrs["autocomplete"] = "email"
            elif config.key == "name":
                field.widget.attrs["autocomplete"] = "name"
            elif config.key == "phone":
                field.widget.attrs["autocomplete"] = "tel"
            elif config.key == "company":
                field.widget.attrs["autocomplete"] = "organization"
            self.fields[config.key] = field

    def locked(self, key: str) -> bool:
        return key in self.fixed and key in self.fields

    @property
    def locked_subject(self) -> bool:
        """A subject set by the page needs no suggestions while typing."""
        return self.locked("subject")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for key in ONE_LINE_FIELDS:
            if isinstance(cleaned.get(key), str):
                cleaned[key] = _one_line(cleaned[key])
                if not cleaned[key] and key in self.fields and self.fields[key].required:
                    self.add_error(key, _("This field is required."))
        for key in sorted(self.tampered & set(self.fields)):
            self.add_error(
                key, _("This was filled in by the page that sent you here and cannot be changed.")
            )
        files = cleaned.get("attachments") or []
        if len(files) > MAX_FILES:
            self.add_error(
                "attachments", _("Attach at most %(count)d files.") % {"count": MAX_FILES}
            )
        return cleaned

    def values(self) -> dict[str, Any]:
        """What the visitor sent and what the page fixed, by catalogue key."""
        values: dict[str, Any] = {}
        for config in self.configs:
            key = config.key
            if key in self.fields:
                values[key] = self.cleaned_data.get(key)
            elif key in self.fixed:
                raw = self.fixed[key]
                if key in CHOICE_FIELDS:
                    model = CHOICE_FIELDS[key]
                    values[key] = model._default_manager.filter(pk=raw).first()
                else:
                    values[key] = raw
        return values


# --- The design page ----------------------------------------------------------------------------


class ContactFormForm(forms.ModelForm):
    class Meta:
        model = ContactForm
        fields = [
            "name",
            "slug",
            "queue",
            "is_active",
            "thanks_en",
            "thanks_sv",
            "custom_css",
            "allowed_origins",
            "fallback_address",
            "min_fill_seconds",
            "ip_limit",
            "address_limit",
        ]
        widgets = {
            "thanks_en": forms.Textarea(attrs={"rows": 3}),
            "thanks_sv": forms.Textarea(attrs={"rows": 3}),
            "custom_css": forms.Textarea(
                attrs={"rows": 10, "spellcheck": "false", "class": "code"}
            ),
            "allowed_origins": forms.Textarea(attrs={"rows": 3, "spellcheck": "false"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(is_active=True) | Queue.objects.filter(
            pk=getattr(self.instance, "queue_id", None)
        )

    def clean_slug(self) -> str:
        slug = self.cleaned_data["slug"]
        if slug in {"settings", "static"}:
            raise forms.ValidationError(_("This address is reserved; choose another."))
        return slug

    def clean_allowed_origins(self) -> str:
        lines = [line.strip().rstrip("/") for line in self.cleaned_data["allowed_origins"].split()]
        bad = [
            line
            for line in lines
            if line
            and not (
                line.startswith(("https://", "http://"))
                and "/" not in line.split("://", 1)[1]
                and all(c.isalnum() or c in ".-:[]*" for c in line.split("://", 1)[1])
            )
        ]
        if bad:
            raise forms.ValidationError(
                _("Write origins like https://www.example.com (no path): %(bad)s")
                % {"bad": ", ".join(bad)}
            )
        return "\n".join(line for line in lines if line)


class FieldRowForm(forms.Form):
    """One catalogue field's settings on the design page (prefixed with the field's key)."""

    mode = forms.ChoiceField(label=_("Use"), choices=Mode.choices)
    label_en = forms.CharField(label=_("Label (English)"), max_length=100, required=False)
    label_sv = forms.CharField(label=_("Label (Swedish)"), max_length=100, required=False)
    lock = forms.ChoiceField(label=_("Prefilled value"), choices=Lock.choices)

    def __init__(self, *args: Any, key: str, **kwargs: Any) -> None:
        super().__init__(*args, prefix=key, **kwargs)
        self.key = key
        self.title = CATALOGUE[key].label()
        if key in ALWAYS_REQUIRED:
            self.fields["mode"].choices = [(Mode.REQUIRED, Mode.REQUIRED.label)]
        elif key in NEVER_HIDDEN:
            self.fields["mode"].choices = [c for c in Mode.choices if c[0] != Mode.HIDDEN]
        if not CATALOGUE[key].prefill:
            self.fields["lock"].choices = [(Lock.NEVER, Lock.NEVER.label)]
        self.fields["label_en"].widget.attrs["placeholder"] = default_label(key, "en")
        self.fields["label_sv"].widget.attrs["placeholder"] = default_label(key, "sv")

    def config(self) -> dict[str, str]:
        data = self.cleaned_data
        return {
            "mode": data["mode"],
            "label_en": _one_line(data["label_en"]) or default_label(self.key, "en"),
            "label_sv": _one_line(data["label_sv"]) or default_label(self.key, "sv"),
            "lock": data["lock"],
        }


def field_row_forms(contact_form: ContactForm, data: Any = None) -> list[FieldRowForm]:
    rows = []
    for config in contact_form.field_configs():
        initial = {
            "mode": config.mode,
            "label_en": config.label_en,
            "label_sv": config.label_sv,
            "lock": config.lock,
        }
        rows.append(FieldRowForm(data, key=config.key, initial=initial))
    return rows
