"""The rule editor: the rule, its lines and its actions as plain forms. The forms only gather
input; `transfer.check_rule` judges it, the same way the JSON import does."""

from __future__ import annotations

from typing import Any

from django import forms
from django.forms import formset_factory
from django.utils.translation import gettext_lazy as _

from helpa.crm.models import Brand
from helpa.tickets.models import Queue

from .models import ActionKind, Event, Field, Rule
from .transfer import rule_data


class RuleForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    weight = forms.IntegerField(
        label=_("Weight"), initial=10, help_text=_("Rules are tried from the lowest weight up.")
    )
    events = forms.MultipleChoiceField(
        label=_("Runs on"), choices=Event.choices, widget=forms.CheckboxSelectMultiple
    )
    queue = forms.ModelChoiceField(
        label=_("Queue"),
        queryset=Queue.objects.all(),
        required=False,
        empty_label=_("Every queue"),
        to_field_name="slug",
    )
    brand = forms.ModelChoiceField(
        label=_("Brand"),
        queryset=Brand.objects.all(),
        required=False,
        empty_label=_("Every brand"),
        to_field_name="code",
        help_text=_("Only tickets of this brand's queues."),
    )
    continue_matching = forms.BooleanField(
        label=_("Continue"),
        required=False,
        help_text=_("After this rule's actions, go on trying the rules below it."),
    )
    is_active = forms.BooleanField(label=_("Active"), required=False)
    description = forms.CharField(
        label=_("Notes for admins"), required=False, widget=forms.Textarea(attrs={"rows": 2})
    )


class LineForm(forms.Form):
    fields_ = forms.MultipleChoiceField(
        label=_("Fields"),
        choices=Field.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
    )
    values = forms.CharField(
        label=_("Values (one per line)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
    )
    negate = forms.BooleanField(label=_("Not (none of them)"), required=False)

    def data_or_none(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        values = [v.strip() for v in (d.get("values") or "").splitlines() if v.strip()]
        if not d.get("fields_") and not values:
            return None  # an empty row of the form
        return {"fields": d.get("fields_") or [], "values": values, "negate": d.get("negate")}


class ActionForm(forms.Form):
    action = forms.ChoiceField(
        label=_("Action"), choices=[("", "—"), *ActionKind.choices], required=False
    )
    value = forms.CharField(
        label=_("Value or text"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    recipients = forms.CharField(
        label=_("Alarm recipients (mail addresses; for SMS phone numbers, separated by commas)"),
        required=False,
        max_length=2000,
    )

    def data_or_none(self) -> dict[str, Any] | None:
        d = self.cleaned_data
        if not d.get("action"):
            return None
        item = {"action": d["action"], "value": d.get("value", "")}
        if d["action"] in (ActionKind.ALARM, ActionKind.SMS_ALARM):
            item["recipients"] = d.get("recipients", "")
        return item


LineFormSet = formset_factory(LineForm, extra=2)
ActionFormSet = formset_factory(ActionForm, extra=2)


def initial_for(rule: Rule) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
    data = rule_data(rule)
    main = {
        "name": rule.name,
        "weight": rule.weight,
        "events": data["events"],
        "queue": rule.queue.slug if rule.queue else None,
        "brand": rule.brand.code if rule.brand else None,
        "continue_matching": rule.continue_matching,
        "is_active": rule.is_active,
        "description": rule.description,
    }
    lines = [
        {"fields_": x["fields"], "values": "\n".join(x["values"]), "negate": x["negate"]}
        for x in data["lines"]
    ]
    actions = [
        {
            "action": a["action"],
            "value": a.get("value", ""),
            "recipients": ", ".join(a.get("recipients", [])),
        }
        for a in data["actions"]
    ]
    return main, lines, actions


def rule_dict(form: RuleForm, lines: Any, actions: Any) -> dict[str, Any]:
    d = form.cleaned_data
    return {
        "name": d["name"],
        "weight": d["weight"],
        "events": d["events"],
        "queue": d["queue"].slug if d.get("queue") else None,
        "brand": d["brand"].code if d.get("brand") else None,
        "continue": d["continue_matching"],
        "active": d["is_active"],
        "description": d["description"],
        "lines": [x for f in lines.forms if (x := f.data_or_none()) is not None],
        "actions": [x for f in actions.forms if (x := f.data_or_none()) is not None],
    }


class TesterForm(forms.Form):
    raw_mail = forms.CharField(
        label=_("A mail (paste it with its headers)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 10, "spellcheck": "false"}),
    )
    ticket_number = forms.IntegerField(label=_("or a ticket number"), required=False)
    queue = forms.ModelChoiceField(
        label=_("Queue the mail arrives in"),
        queryset=Queue.objects.all(),
        required=False,
        to_field_name="slug",
        empty_label=_("From its recipients"),
    )
    event = forms.ChoiceField(
        label=_("As"),
        choices=[
            ("", _("New ticket, or a reply when the mail continues a ticket")),
            *Event.choices,
        ],
        required=False,
    )
    include_inactive = forms.BooleanField(
        label=_("Include rules that are switched off"), required=False
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if not data.get("raw_mail", "").strip() and not data.get("ticket_number"):
            raise forms.ValidationError(_("Paste a mail or give a ticket number."))
        return data


class DryRunForm(forms.Form):
    days = forms.IntegerField(label=_("Days back"), min_value=1, max_value=365, initial=30)
