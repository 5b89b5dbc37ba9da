"""Forms of Helpa's own settings pages (for admins)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Role, Team, User
from helpa.tickets.models import Category, HelpdeskSettings, Queue, TicketType


class QueueForm(forms.ModelForm):
    class Meta:
        model = Queue
        fields = ["name", "slug", "teams", "is_active"]
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
        return user


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
