"""Forms of Helpa's own settings pages (for admins)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Brand
from helpa.tickets.models import Category, HelpdeskSettings, Queue, TicketType


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "slug", "brand", "teams", "is_active"]
        widgets = {"teams": forms.CheckboxSelectMultiple}


class TeamForm(forms.ModelForm):
    class Meta:
        model = Team
        fields = ["name", "members"]
        widgets = {"members": forms.CheckboxSelectMultiple}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["members"].queryset = User.objects.agents()


class TicketTypeForm(forms.ModelForm):
    class Meta:
        model = TicketType
        fields = ["name", "instructions", "is_active"]


class CategoryForm(forms.ModelForm):
    class Meta:
        model = Category
        fields = ["name", "is_active"]


class AgentForm(forms.ModelForm):
    password = forms.CharField(
        label=_("Password"),
        required=False,
        widget=forms.PasswordInput(render_value=False),
        help_text=_("Leave empty to keep the current password."),
    )
    teams = forms.ModelMultipleChoiceField(
        queryset=Team.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Teams"),
    )
    brands = forms.ModelMultipleChoiceField(
        queryset=Brand.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("Limited to brands"),
        help_text=_(
            "Empty: every brand. Else the agent sees only the tickets, companies and contacts "
            "of these brands and of no brand. Admins always see everything."
        ),
    )

    class Meta:
        model = User
        fields = ["full_name", "email", "role", "language", "is_active"]
        widgets = {
            "language": forms.Select(
                choices=[("", _("Browser's language")), ("en", "English"), ("sv", "Svenska")]
            )
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["role"].choices = [
            (Role.AGENT, Role.AGENT.label),
            (Role.ADMIN, Role.ADMIN.label),
        ]
        if self.instance.pk:
            self.fields["teams"].initial = self.instance.teams.all()
            self.fields["brands"].initial = self.instance.brand_limits.all()
        else:
            self.fields["password"].required = True

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()

    def save(self, commit: bool = True) -> User:
        user = super().save(commit=False)
        if self.cleaned_data.get("password"):
            user.set_password(self.cleaned_data["password"])
        user.save()
        user.teams.set(self.cleaned_data["teams"])
        user.brand_limits.set(self.cleaned_data["brands"])
        return user


LOGO_MAX_BYTES = 512 * 1024


def logo_type(head: bytes) -> str | None:
    """The content type of a PNG, JPEG or WebP image from its first bytes, else None. SVG and
    anything else are refused: an SVG can carry script."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if head.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "image/webp"
    return None


class BrandForm(forms.ModelForm):
    class Meta:
        model = Brand
        fields = [
            "code",
            "name",
            "sender_address",
            "sender_name",
            "closing_greeting",
            "signature",
            "agent_instructions",
            "logo",
            "primary_colour",
            "accent_colour",
        ]
        widgets = {
            "closing_greeting": forms.Textarea(attrs={"rows": 2}),
            "signature": forms.Textarea(attrs={"rows": 4}),
            "agent_instructions": forms.Textarea(attrs={"rows": 3}),
            "primary_colour": forms.TextInput(attrs={"placeholder": "#1f5fae"}),
            "accent_colour": forms.TextInput(attrs={"placeholder": "#e8f0fb"}),
        }
        help_texts = {
            "code": _(
                "A brand is a client organisation the desk answers for (a svarsställe). "
                "Its id: at most 8 letters and digits, e.g. ACME."
            ),
        }

    def clean_code(self) -> str:
        code = self.cleaned_data["code"].strip().upper()
        taken = Brand.objects.filter(code__iexact=code).exclude(pk=self.instance.pk)
        if taken.exists():
            raise forms.ValidationError(
                _("The id %(code)s is already used by another brand.") % {"code": code}
            )
        return code

    def clean_sender_address(self) -> str:
        return self.cleaned_data["sender_address"].strip().lower()

    def clean_logo(self) -> Any:
        logo = self.cleaned_data.get("logo")
        if not isinstance(logo, UploadedFile):  # unchanged or cleared
            return logo
        if logo.size > LOGO_MAX_BYTES:
            raise forms.ValidationError(_("The logo may be at most 512 KB."))
        head = logo.read(16)
        logo.seek(0)
        if logo_type(head) is None:
            raise forms.ValidationError(_("Upload the logo as a PNG, JPEG or WebP image."))
        return logo


FIELD_RULE_CHOICES = [
    ("optional", _("Shown")),
    ("required", _("Mandatory")),
    ("hidden", _("Hidden")),
]


class HelpdeskSettingsForm(forms.ModelForm):
    class Meta:
        model = HelpdeskSettings
        fields = ["editor_mode", "max_attachment_mb"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["max_attachment_mb"].widget.attrs.update(min=1, max=100)
        from helpa.tickets.models import Ticket

        for name in HelpdeskSettings.OPTIONAL_FIELDS:
            self.fields[f"field_{name}"] = forms.ChoiceField(
                label=Ticket._meta.get_field(name).verbose_name.capitalize()
                if name != "description"
                else _("Description"),
                choices=FIELD_RULE_CHOICES,
                initial=self.instance.rule_for(name),
            )

    def clean_max_attachment_mb(self) -> int:
        value = self.cleaned_data["max_attachment_mb"]
        if not 1 <= value <= 100:
            raise forms.ValidationError(_("Choose between 1 and 100 MB."))
        return value

    def save(self, commit: bool = True) -> HelpdeskSettings:
        settings = super().save(commit=False)
        settings.field_rules = {
            name: self.cleaned_data[f"field_{name}"] for name in HelpdeskSettings.OPTIONAL_FIELDS
        }
        settings.save()
        return settings
