from __future__ import annotations

from datetime import date, datetime, time, timedelta
from urllib.parse import urlsplit

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .models import MAX_LIFETIME, Scope
from .models_webhooks import WebhookEvent

DEFAULT_LIFETIME = timedelta(days=90)


def _today() -> date:
    return timezone.localdate()


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=100,
        help_text=_("What the token is for, e.g. “Webshop integration”."),
    )
    scope = forms.ChoiceField(label=_("Access"), choices=Scope.choices, initial=Scope.READ)
    expires_on = forms.DateField(
        label=_("Expires on"),
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("At most a year from today. The token stops working at the end of that day."),
    )

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["expires_on"].initial = _today() + DEFAULT_LIFETIME

    def clean_expires_on(self) -> date:
        day: date = self.cleaned_data["expires_on"]
        if day < _today():
            raise forms.ValidationError(_("The expiry date must be in the future."))
        if day > _today() + MAX_LIFETIME - timedelta(days=1):
            raise forms.ValidationError(_("A token may live for at most a year."))
        return day

    def expires_at(self) -> datetime:
        """The end of the chosen day, in the installation's time zone."""
        end = datetime.combine(self.cleaned_data["expires_on"], time(23, 59, 59))
        return timezone.make_aware(end)


class WebhookForm(forms.Form):
    url = forms.URLField(
        label=_("URL"),
        max_length=1000,
        assume_scheme="https",
        help_text=_("Helpa POSTs a JSON body to this address for each event."),
    )
    events = forms.MultipleChoiceField(
        label=_("Events"),
        choices=WebhookEvent.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    allow_private = forms.BooleanField(
        label=_("Allow private addresses"),
        required=False,
        help_text=_(
            "Allow loopback, private and link-local addresses (a receiver inside your own "
            "network). Off: such addresses are refused, so a webhook cannot reach internal "
            "services."
        ),
    )

    def clean_url(self) -> str:
        url: str = self.cleaned_data["url"]
        if urlsplit(url).scheme not in ("http", "https"):
            raise forms.ValidationError(_("Only http and https URLs are allowed."))
        return url
