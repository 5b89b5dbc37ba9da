"""Forms of the surveys: the admins' profile and block list, the customer's answer."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from helpa.automation.models import TicketTemplate
from helpa.crm.models import Brand

from .models.surveys import COMMENT_MAX, SurveyBlock, SurveyProfile
from .surveys import normalise_block


class ProfileForm(forms.ModelForm):
    class Meta:
        model = SurveyProfile
        fields = [
            "name",
            "is_active",
            "ask_csat",
            "ask_nps",
            "ask_comment",
            "invitation_text",
            "delay_hours",
            "min_days_between",
            "brand",
            "templates",
        ]
        widgets = {
            "invitation_text": forms.Textarea(attrs={"rows": 5}),
            "templates": forms.CheckboxSelectMultiple,
        }

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["templates"].queryset = TicketTemplate.objects.filter(  # type: ignore[attr-defined]
            is_active=True
        )
        self.fields["brand"].queryset = Brand.objects.all()  # type: ignore[attr-defined]


class BlockForm(forms.Form):
    value = forms.CharField(
        label=_("Address or domain"),
        max_length=254,
        help_text=_("carl@example.com blocks one address, example.com a whole domain."),
    )

    def clean_value(self) -> str:
        value = normalise_block(self.cleaned_data["value"])
        if "@" in value:
            try:
                validate_email(value)
            except ValidationError:
                raise ValidationError(_("Give an e-mail address or a domain.")) from None
        elif "." not in value or " " in value or "/" in value:
            raise ValidationError(_("Give an e-mail address or a domain."))
        if SurveyBlock.objects.filter(value=value).exists():
            raise ValidationError(_("This is on the block list already."))
        return value


CSAT_CHOICES = [
    (1, _("1 – very dissatisfied")),
    (2, "2"),
    (3, "3"),
    (4, "4"),
    (5, _("5 – very satisfied")),
]
NPS_CHOICES = [(n, str(n)) for n in range(0, 11)]


class AnswerForm(forms.Form):
    """The customer's answer to the questions their profile asks. A score asked is required;
    the comment is optional unless it is the only question."""

    csat = forms.TypedChoiceField(
        label=_("How satisfied are you with the help you got?"),
        choices=CSAT_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    nps = forms.TypedChoiceField(
        label=_("How likely is it that you would recommend us to a friend or colleague?"),
        help_text=_("0 = not at all likely, 10 = extremely likely"),
        choices=NPS_CHOICES,
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=_("Anything you would like to tell us?"),
        max_length=COMMENT_MAX,
        widget=forms.Textarea(attrs={"rows": 5}),
    )

    def __init__(self, profile: SurveyProfile | None, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        ask_csat = profile.ask_csat if profile else True
        ask_nps = profile.ask_nps if profile else False
        ask_comment = profile.ask_comment if profile else True
        if not ask_csat:
            del self.fields["csat"]
        if not ask_nps:
            del self.fields["nps"]
        if not ask_comment:
            del self.fields["comment"]
        elif ask_csat or ask_nps:
            self.fields["comment"].required = False

    def answer(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "csat": data.get("csat"),
            "nps": data.get("nps"),
            "comment": (data.get("comment") or "").strip(),
        }
