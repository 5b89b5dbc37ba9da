"""Forms of the customer side. Customers write plain text; it becomes escaped HTML paragraphs."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth.password_validation import validate_password
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from helpa.lib.html import text_to_html
from helpa.tickets.forms import AttachmentsField
from helpa.tickets.models import Category, HelpdeskSettings, Priority, Queue, TicketType

from .models import NEW_TICKET_FIELDS, PortalSettings


def _one_line(value: str) -> str:
    """Titles and names are one line: CR/LF and other control characters become spaces."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


class MessageForm(forms.Form):
    """A customer's message on a ticket (portal or ticket link)."""

    body = forms.CharField(
        label=_("Your message"),
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        max_length=50_000,
    )
    attachments = AttachmentsField(label=_("Attachments"), max_bytes=5 * 1024 * 1024)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].max_bytes = HelpdeskSettings.load().max_attachment_bytes

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not (cleaned.get("body") or "").strip() and not cleaned.get("attachments"):
            if not self.errors:
                raise forms.ValidationError(_("Write something or attach a file."))
        return cleaned

    @property
    def body_html(self) -> str:
        return text_to_html(self.cleaned_data.get("body") or "")


class NewTicketForm(MessageForm):
    """A new request from the portal; the optional fields are the ones the admin offers."""

    title = forms.CharField(label=_("Subject"), max_length=200)
    queue = forms.ModelChoiceField(label=_("Queue"), queryset=Queue.objects.none(), required=False)
    type = forms.ModelChoiceField(
        label=_("Type"), queryset=TicketType.objects.none(), required=False
    )
    category = forms.ModelChoiceField(
        label=_("Category"), queryset=Category.objects.none(), required=False
    )
    priority = forms.TypedChoiceField(
        label=_("Priority"), choices=Priority.choices, coerce=int, required=False
    )

    field_order = ["title", "queue", "type", "category", "priority", "body", "attachments"]

    def __init__(self, *args: Any, portal: PortalSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["body"].label = _("Describe your request")
        offered = [f for f in portal.new_ticket_fields if f in NEW_TICKET_FIELDS]
        for name in NEW_TICKET_FIELDS:
            if name not in offered:
                del self.fields[name]
        if "queue" in self.fields:
            self.fields["queue"].queryset = Queue.objects.filter(is_active=True)
        if "type" in self.fields:
            self.fields["type"].queryset = TicketType.objects.filter(is_active=True)
        if "category" in self.fields:
            self.fields["category"].queryset = Category.objects.filter(is_active=True)
        if "priority" in self.fields:
            self.fields["priority"].initial = Priority.NORMAL

    def clean_title(self) -> str:
        title = _one_line(self.cleaned_data.get("title") or "")
        if not title:
            raise forms.ValidationError(_("Give your request a subject."))
        return title

    def ticket_fields(self) -> dict[str, Any]:
        """The chosen optional fields, as open_ticket takes them (empty choices left out)."""
        data = self.cleaned_data
        return {
            name: data[name]
            for name in ("type", "category", "priority")
            if name in self.fields and data.get(name) not in (None, "")
        }


class LoginLinkForm(forms.Form):
    email = forms.EmailField(label=_("Your e-mail address"))


class RegisterForm(forms.Form):
    name = forms.CharField(label=_("Your name"), max_length=150)
    email = forms.EmailField(label=_("Your e-mail address"))
    password = forms.CharField(
        label=_("Choose a password"), widget=forms.PasswordInput, strip=False
    )

    def clean_name(self) -> str:
        name = _one_line(self.cleaned_data.get("name") or "")
        if not name:
            raise forms.ValidationError(_("Write your name."))
        return name

    def clean_password(self) -> str:
        password = self.cleaned_data.get("password") or ""
        validate_password(password)
        return password


class PortalSettingsForm(forms.ModelForm):
    new_ticket_fields = forms.MultipleChoiceField(
        label=_("Fields customers fill in on a new ticket"),
        choices=list(NEW_TICKET_FIELDS.items()),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )

    class Meta:
        model = PortalSettings
        fields = [
            "site_name",
            "logo",
            "primary_colour",
            "accent_colour",
            "self_registration",
            "default_queue",
            "new_ticket_fields",
            "reopen_days",
            "link_valid_days",
        ]
        widgets = {
            "primary_colour": forms.TextInput(attrs={"type": "color"}),
            "accent_colour": forms.TextInput(attrs={"type": "color"}),
        }

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if not isinstance(logo, UploadedFile):  # unchanged or cleared
            return logo
        if logo.size > 1024 * 1024:
            raise forms.ValidationError(_("The logo may be at most 1 MB."))
        head = logo.read(16)
        logo.seek(0)
        # Known image formats by their first bytes; SVG is refused because it can carry script.
        if image_type(head) is None:
            raise forms.ValidationError(_("Upload the logo as PNG, JPEG, GIF or WebP."))
        return logo


def image_type(head: bytes) -> str | None:
    """The content type of a PNG, JPEG, GIF or WebP image from its first bytes, else None."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None
