"""Settings → Templates and Canned responses: the edit forms, with the checks an admin needs
to hear about before saving (a loop of sub-tickets, a status a sub-ticket cannot start in, a
placeholder that does not exist)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import inlineformset_factory
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import User
from helpa.lib.html import sanitize_html
from helpa.tickets.models import Status

from .actions import PLACEHOLDERS, sub_template_cycle, unknown_placeholders
from .models import CannedResponse, RecurringTicket, SubTicketTemplate, TicketTemplate, Weekday


class TicketTemplateForm(forms.ModelForm):
    class Meta:
        model = TicketTemplate
        fields = [
            "name",
            "title",
            "queue",
            "brand",
            "ticket_type",
            "category",
            "priority",
            "status",
            "team",
            "owner",
            "description",
            "instructions",
            "solution",
            "is_active",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 4}),
            "instructions": forms.Textarea(attrs={"rows": 5}),
            "solution": forms.Textarea(attrs={"rows": 4}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"].queryset = User.objects.agents()

    def clean_description(self) -> str:
        return sanitize_html(self.cleaned_data.get("description") or "")

    def clean_solution(self) -> str:
        return sanitize_html(self.cleaned_data.get("solution") or "")

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("status") and data["status"] != Status.NEW and not data.get("owner"):
            self.add_error(
                "status",
                _("A ticket leaves the status New only with an owner: choose an owner too."),
            )
        return data


class SubTicketForm(forms.ModelForm):
    class Meta:
        model = SubTicketTemplate
        fields = ["sub_template", "position"]
        labels = {"sub_template": _("Sub-ticket template"), "position": _("Order")}


class BaseSubTicketFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        chosen: list[int] = []
        for form in self.forms:
            if not getattr(form, "cleaned_data", None) or form.cleaned_data.get("DELETE"):
                continue
            sub = form.cleaned_data.get("sub_template")
            if sub is None:
                continue
            if sub.pk == self.instance.pk:
                raise forms.ValidationError(_("A template cannot be its own sub-ticket."))
            if sub.pk in chosen:
                raise forms.ValidationError(_("“%(name)s” is chosen twice.") % {"name": sub.name})
            chosen.append(sub.pk)
        loop = sub_template_cycle(self.instance, chosen)
        if loop is not None:
            raise forms.ValidationError(
                _("“%(name)s” has this template among its own sub-tickets: that would be a loop.")
                % {"name": loop.name}
            )


SubTicketFormSet = inlineformset_factory(
    TicketTemplate,
    SubTicketTemplate,
    form=SubTicketForm,
    formset=BaseSubTicketFormSet,
    fk_name="template",
    extra=2,
    can_delete=True,
)


class CannedResponseForm(forms.ModelForm):
    class Meta:
        model = CannedResponse
        fields = ["name", "queue", "brand", "body", "is_active"]
        widgets = {"body": forms.Textarea(attrs={"rows": 8})}

    def clean_body(self) -> str:
        body = self.cleaned_data.get("body") or ""
        unknown = unknown_placeholders(body)
        if unknown:
            raise forms.ValidationError(
                _("Unknown placeholder: %(unknown)s. Known: %(known)s.")
                % {
                    "unknown": ", ".join("{{" + u + "}}" for u in unknown),
                    "known": ", ".join("{{" + p + "}}" for p in PLACEHOLDERS),
                }
            )
        return body

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        name, queue = data.get("name"), data.get("queue")
        if name:
            same = CannedResponse.objects.filter(name=name, queue=queue).exclude(
                pk=self.instance.pk
            )
            if same.exists():
                self.add_error("name", _("Another canned response has this name here."))
        return data


class RecurringTicketForm(forms.ModelForm):
    """A schedule that opens a ticket from a template."""

    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=Weekday.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For weekly schedules; none chosen: the weekday of the first date."),
    )

    class Meta:
        model = RecurringTicket
        fields = [
            "name",
            "template",
            "frequency",
            "interval",
            "weekdays",
            "day_of_month",
            "time_of_day",
            "starts_on",
            "ends_on",
            "is_active",
        ]
        widgets = {
            "time_of_day": forms.TimeInput(attrs={"type": "time"}),
            "starts_on": forms.DateInput(attrs={"type": "date"}),
            "ends_on": forms.DateInput(attrs={"type": "date"}),
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].required = True
        self.fields["template"].queryset = TicketTemplate.objects.filter(is_active=True)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        return clean_schedule(self, data)


class RepeatTicketForm(forms.ModelForm):
    """An existing ticket set back to New or Open every N days (from the ticket's page)."""

    class Meta:
        model = RecurringTicket
        fields = ["interval", "reopen_status", "time_of_day", "starts_on"]
        labels = {"interval": _("Every (days)")}
        widgets = {
            "time_of_day": forms.TimeInput(attrs={"type": "time"}),
            "starts_on": forms.DateInput(attrs={"type": "date"}),
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        return clean_schedule(self, data)


def clean_schedule(form: forms.ModelForm, data: dict[str, Any]) -> dict[str, Any]:
    """What every schedule must make sense of: a positive interval, an end after the start,
    a day of the month that exists in some month."""
    interval = data.get("interval")
    if interval is not None and interval < 1:
        form.add_error("interval", _("Repeat every 1 or more."))
    day = data.get("day_of_month")
    if day is not None and not 1 <= day <= 31:
        form.add_error("day_of_month", _("A day of the month is 1 to 31."))
    starts, ends = data.get("starts_on"), data.get("ends_on")
    if starts and ends and ends < starts:
        form.add_error("ends_on", _("The end comes before the start."))
    return data
