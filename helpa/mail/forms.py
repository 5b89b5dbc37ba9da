"""Forms of the mail settings pages and of the agent's move/split actions."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.utils.translation import gettext_lazy as _

from .models import ATTENTION_STATES, InboundMail, MailAddress, Mailbox, MailSettings, QueueMail

PORT_VALIDATORS = [MinValueValidator(1), MaxValueValidator(65535)]


class _KeepsPasswordMixin(forms.ModelForm):
    """A stored password (or other secret) is never shown back; a blank field keeps it."""

    secret_fields: tuple[str, ...] = ("password",)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for name in self.secret_fields:
            field = self.fields[name]
            field.required = False
            field.widget = forms.PasswordInput(
                render_value=False, attrs={"autocomplete": "new-password"}
            )
            if self.instance.pk and getattr(self.instance, name):
                field.help_text = _("A value is stored. Leave this empty to keep it.")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.instance.pk:
            stored = (
                type(self.instance)
                .objects.filter(pk=self.instance.pk)
                .values(*self.secret_fields)
                .first()
                or {}
            )
            for name in self.secret_fields:
                if not cleaned.get(name):
                    cleaned[name] = stored.get(name) or ""
        return cleaned


class QueueMailForm(_KeepsPasswordMixin):
    secret_fields = ("smtp_password",)

    class Meta:
        model = QueueMail
        fields = [
            "new_mail",
            "auto_reply",
            "auto_reply_subject",
            "auto_reply_body",
            "sender_name",
            "contact_notices",
            "confirm_before_sending",
            "smtp_host",
            "smtp_port",
            "smtp_security",
            "smtp_username",
            "smtp_password",
        ]
        widgets = {"auto_reply_body": forms.Textarea(attrs={"rows": 5})}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["smtp_port"].validators += PORT_VALIDATORS
        self.fields["smtp_port"].help_text = _("Empty: the installation's mail server.")


class MailAddressForm(forms.ModelForm):
    class Meta:
        model = MailAddress
        fields = ["address", "is_sender"]

    def __init__(self, *args: Any, queue: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = queue

    def clean_address(self) -> str:
        address = self.cleaned_data["address"].strip().lower()
        bound = MailAddress.objects.filter(address=address).select_related("queue").first()
        if bound is not None:
            if bound.queue_id == getattr(self.queue, "pk", None):
                raise forms.ValidationError(_("This address is already bound to this queue."))
            raise forms.ValidationError(
                _("This address is already bound to the queue %(queue)s."),
                params={"queue": bound.queue.name},
            )
        return address

    def validate_unique(self) -> None:
        # clean_address says it in words that name the other queue.
        pass


class MailboxForm(_KeepsPasswordMixin):
    secret_fields = ("password", "oauth_client_secret", "oauth_refresh_token")
    oauth_token_url = forms.URLField(
        label=_("OAuth token URL"), required=False, assume_scheme="https", max_length=200
    )

    class Meta:
        model = Mailbox
        fields = [
            "name",
            "queue",
            "protocol",
            "host",
            "port",
            "security",
            "verify_tls",
            "username",
            "auth",
            "password",
            "oauth_token_url",
            "oauth_client_id",
            "oauth_client_secret",
            "oauth_scope",
            "oauth_refresh_token",
            "folder",
            "after_import",
            "move_to_folder",
            "is_active",
        ]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["port"].validators += PORT_VALIDATORS
        self.fields["port"].help_text = _("Empty: the standard port of the protocol and security.")
        self.fields["auth"].required = False  # password, unless OAuth 2 is chosen
        self.fields["oauth_refresh_token"].help_text = _(
            "From the provider's consent flow for this mailbox (Microsoft 365: offline_access "
            "and IMAP.AccessAsUser.All or POP.AccessAsUser.All)."
        )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if cleaned.get("after_import") == Mailbox.AfterImport.MOVE and not cleaned.get(
            "move_to_folder"
        ):
            self.add_error("move_to_folder", _("Name the folder to move imported mail to."))
        if cleaned.get("protocol") == Mailbox.Protocol.POP3 and cleaned.get("after_import") == (
            Mailbox.AfterImport.MOVE
        ):
            self.add_error("after_import", _("POP3 has no folders to move mail to."))
        cleaned["auth"] = cleaned.get("auth") or Mailbox.Auth.PASSWORD
        if cleaned["auth"] == Mailbox.Auth.PASSWORD:
            if not cleaned.get("password"):
                self.add_error("password", _("Enter the mailbox's password."))
        else:
            needed = {
                "oauth_token_url": _("Enter the provider's token URL."),
                "oauth_client_id": _("Enter the OAuth client id."),
                "oauth_refresh_token": _("Enter a refresh token for this mailbox."),
            }
            for name, message in needed.items():
                if not cleaned.get(name):
                    self.add_error(name, message)
        return cleaned


class MailSettingsForm(forms.ModelForm):
    class Meta:
        model = MailSettings
        fields = ["max_message_mb", "closing_greeting", "signature"]
        widgets = {
            "closing_greeting": forms.Textarea(attrs={"rows": 3}),
            "signature": forms.Textarea(attrs={"rows": 5}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["max_message_mb"].validators += [MinValueValidator(1), MaxValueValidator(500)]


class InboundFilterForm(forms.Form):
    state = forms.ChoiceField(
        label=_("state"),
        required=False,
        choices=[("", _("Needs attention"))]
        + [(s, InboundMail.State(s).label) for s in ATTENTION_STATES]
        + [(InboundMail.State.IGNORED.value, InboundMail.State.IGNORED.label)],
    )


class MoveMailForm(forms.Form):
    ticket = forms.IntegerField(label=_("ticket number"), min_value=1)
