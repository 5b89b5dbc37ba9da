"""Settings → SMS: the provider account, routing and keywords; a test SMS."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

from helpa.crm.identifiers import normalise_phone
from helpa.tickets.models import Queue

from .models import SmsKeyword, SmsSettings

ALPHANUMERIC_SENDER = re.compile(r"[A-Za-z0-9 ]{1,11}")


class SmsSettingsForm(forms.ModelForm):
    # The stored password/token is never shown back; left empty, it stays as it is.
    secret = forms.CharField(
        label=_("API password / Auth Token"),
        required=False,
        max_length=200,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text=_("Leave empty to keep the one saved."),
    )

    api_url = forms.URLField(
        label=_("API address"),
        required=False,
        assume_scheme="https",
        help_text=_("Leave empty for the provider's own address."),
    )

    class Meta:
        model = SmsSettings
        fields = [
            "provider",
            "account",
            "secret",
            "sender",
            "api_url",
            "default_queue",
            "thread_days",
            "signature",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["default_queue"].queryset = Queue.objects.filter(is_active=True)
        self.fields["thread_days"].widget.attrs["max"] = 365

    def clean_secret(self) -> str:
        return self.cleaned_data.get("secret") or self.instance.secret

    def clean_sender(self) -> str:
        sender = (self.cleaned_data.get("sender") or "").strip()
        if not sender:
            return ""
        if sender.startswith("+") or sender[:1].isdigit():
            try:
                return normalise_phone(sender)
            except ValidationError as exc:
                raise ValidationError(exc.messages) from exc
        if not ALPHANUMERIC_SENDER.fullmatch(sender):
            raise ValidationError(
                _("A sender name has at most 11 letters (A–Z) and digits, or is a phone number.")
            )
        return sender

    def clean_thread_days(self) -> int:
        days = self.cleaned_data.get("thread_days") or 0
        if days > 365:
            raise ValidationError(_("At most 365 days."))
        return days

    def clean_api_url(self) -> str:
        url = (self.cleaned_data.get("api_url") or "").strip()
        if url and not url.startswith(("https://", "http://")):
            raise ValidationError(_("The address must begin with https:// or http://."))
        return url

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("provider"):
            missing = [
                str(self.fields[name].label) for name in ("account", "sender") if not data.get(name)
            ]
            if not data.get("secret"):
                missing.append(str(self.fields["secret"].label))
            if missing:
                raise ValidationError(
                    _("To send SMS, fill in: %(fields)s.") % {"fields": ", ".join(missing)}
                )
        return data


class KeywordForm(forms.ModelForm):
    class Meta:
        model = SmsKeyword
        fields = ["keyword", "queue"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["queue"].queryset = Queue.objects.filter(is_active=True)

    def clean_keyword(self) -> str:
        keyword = (self.cleaned_data.get("keyword") or "").strip().upper()
        if not re.fullmatch(r"[0-9A-ZÅÄÖÆØÜ]{2,30}", keyword):
            raise ValidationError(_("A keyword is one word of 2–30 letters or digits."))
        if SmsKeyword.objects.filter(keyword=keyword).exclude(pk=self.instance.pk).exists():
            raise ValidationError(_("That keyword is taken."))
        return keyword


class TestSmsForm(forms.Form):
    number = forms.CharField(label=_("Send a test SMS to"), max_length=40)

    def clean_number(self) -> str:
        try:
            return normalise_phone(self.cleaned_data["number"])
        except ValidationError as exc:
            raise ValidationError(exc.messages) from exc
