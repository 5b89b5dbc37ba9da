"""Settings → Calendars and SLA: the calendar and policy forms."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.crm.models import Brand, Company
from helpa.tickets.models import Priority, Queue

from .calendars import HoursError, format_ranges, minute_of, parse_ranges
from .models import BusinessCalendar, CalendarException, CalendarQueue, HolidayCountry, SLAPolicy

WEEKDAYS = [
    ("mon", gettext_lazy("Monday")),
    ("tue", gettext_lazy("Tuesday")),
    ("wed", gettext_lazy("Wednesday")),
    ("thu", gettext_lazy("Thursday")),
    ("fri", gettext_lazy("Friday")),
    ("sat", gettext_lazy("Saturday")),
    ("sun", gettext_lazy("Sunday")),
]


def _hours_messages() -> dict[str, str]:
    return {
        "format": _("“%(value)s” is not a time range; write it like 08:00-17:00."),
        "end_before_start": _("“%(value)s” ends before it starts."),
        "overlap": _("The ranges %(value)s overlap."),
    }


class CalendarForm(forms.ModelForm):
    # Not validated as the model's field: the one-default constraint is kept by the save,
    # which takes the mark off the old default.
    is_default = forms.BooleanField(label=gettext_lazy("default calendar"), required=False)
    holiday_country = forms.ChoiceField(
        label=gettext_lazy("Public holidays (closed)"),
        choices=HolidayCountry.choices,
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy(
                "Unknown country “%(value)s”: choose Sweden, Norway, Denmark, Finland or none."
            )
        },
    )
    queues = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Queues that use this calendar"),
        queryset=Queue.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("A queue without a calendar of its own uses the default calendar."),
    )

    class Meta:
        model = BusinessCalendar
        fields = ["name", "holiday_country"]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        hours = self.instance.hours if self.instance.pk else BusinessCalendar().hours
        for index, (key, label) in enumerate(WEEKDAYS):
            self.fields[key] = forms.CharField(
                label=label,
                required=False,
                max_length=200,
                initial=format_ranges(hours[index]),
                widget=forms.TextInput(attrs={"placeholder": _("closed")}),
            )
        self.fields["is_default"].initial = self.instance.is_default
        if self.instance.pk:
            self.fields["queues"].initial = list(
                CalendarQueue.objects.filter(calendar=self.instance).values_list(
                    "queue_id", flat=True
                )
            )

    @property
    def weekday_fields(self) -> list[forms.BoundField]:
        return [self[key] for key, _label in WEEKDAYS]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        hours = []
        for key, label in WEEKDAYS:
            try:
                hours.append(parse_ranges(data.get(key, ""), _hours_messages()))
            except HoursError as exc:
                self.add_error(key, f"{label}: {exc}")
        data["hours"] = [[list(r) for r in day] for day in hours]
        taken = (
            CalendarQueue.objects.filter(queue__in=data.get("queues") or [])
            .exclude(calendar=self.instance.pk)
            .select_related("queue", "calendar")
        )
        for link in taken:
            self.add_error(
                "queues",
                _("The queue “%(queue)s” already has the calendar “%(calendar)s”.")
                % {"queue": link.queue, "calendar": link.calendar},
            )
        return data


class ExceptionForm(forms.Form):
    position = forms.IntegerField(label=gettext_lazy("Order"), min_value=0, required=False)
    is_open = forms.TypedChoiceField(
        label=gettext_lazy("The desk is"),
        choices=[("0", gettext_lazy("closed")), ("1", gettext_lazy("open"))],
        coerce=lambda v: v == "1",
        initial="0",
    )
    on_date = forms.DateField(
        label=gettext_lazy("On the date"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    weekday = forms.TypedChoiceField(
        label=gettext_lazy("or every"),
        choices=[("", "–"), *((str(i), label) for i, (_k, label) in enumerate(WEEKDAYS))],
        coerce=int,
        empty_value=None,
        required=False,
    )
    start_time = forms.TimeField(
        label=gettext_lazy("From"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    end_time = forms.TimeField(
        label=gettext_lazy("To"), required=False, widget=forms.TimeInput(attrs={"type": "time"})
    )
    note = forms.CharField(label=gettext_lazy("Note"), max_length=200, required=False)

    @property
    def is_blank(self) -> bool:
        """A row left empty (the spare rows at the end): not an exception at all."""
        data = getattr(self, "cleaned_data", {})
        fields = ("on_date", "weekday", "start_time", "end_time", "note")
        return all(data.get(f) in (None, "") for f in fields)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("DELETE") or self.is_blank:
            return data
        if (data.get("on_date") is None) == (data.get("weekday") is None):
            raise forms.ValidationError(_("An exception needs either a date or a weekday."))
        start, end = data.get("start_time"), data.get("end_time")
        if (start is None) != (end is None):
            raise forms.ValidationError(
                _("Give both times of an exception's range, or neither for the whole day.")
            )
        if start is not None and minute_of(end, end=True) <= minute_of(start):
            raise forms.ValidationError(_("An exception's range ends before it starts."))
        return data


ExceptionFormSet = forms.formset_factory(ExceptionForm, extra=2, can_delete=True)


def exception_rows(calendar: BusinessCalendar | None) -> list[dict[str, Any]]:
    if calendar is None:
        return []
    return [
        {
            "position": e.position,
            "is_open": "1" if e.is_open else "0",
            "on_date": e.on_date,
            "weekday": "" if e.weekday is None else str(e.weekday),
            "start_time": e.start_time,
            "end_time": e.end_time,
            "note": e.note,
        }
        for e in calendar.exceptions.all()
    ]


def exceptions_from(formset: forms.BaseFormSet) -> list[CalendarException]:
    """The filled-in rows, in their order (equal orders keep the page's order)."""
    rows = [
        f.cleaned_data
        for f in formset.forms
        if f.cleaned_data and not f.cleaned_data.get("DELETE") and not f.is_blank
    ]
    ordered = sorted(enumerate(rows), key=lambda pair: (pair[1].get("position") or 0, pair[0]))
    return [
        CalendarException(
            position=n * 10,
            is_open=row["is_open"],
            on_date=row.get("on_date"),
            weekday=row.get("weekday"),
            start_time=row.get("start_time"),
            end_time=row.get("end_time"),
            note=row.get("note", ""),
        )
        for n, (_index, row) in enumerate(ordered)
    ]


MINUTES = gettext_lazy("Minutes cannot be negative.")


class PolicyForm(forms.ModelForm):
    priorities = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Priorities"),
        choices=Priority.choices,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every priority."),
    )
    queues = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Queues"),
        queryset=Queue.objects.filter(is_active=True),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every queue."),
    )
    companies = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Companies"),
        queryset=Company.objects.order_by("name"),
        required=False,
        help_text=gettext_lazy("None chosen: every company (and tickets without one)."),
    )

    brands = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Brands"),
        queryset=Brand.objects.all(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=gettext_lazy("None ticked: every brand (and queues without one)."),
    )

    class Meta:
        model = SLAPolicy
        fields = [
            "name",
            "position",
            "is_active",
            "priorities",
            "queues",
            "companies",
            "brands",
            "first_response_minutes",
            "next_response_minutes",
            "resolution_minutes",
            "calendar",
            "pause_on_waiting",
            "pause_on_hold",
            "warning_minutes",
        ]
        error_messages = {
            name: {"min_value": MINUTES}
            for name in (
                "first_response_minutes",
                "next_response_minutes",
                "resolution_minutes",
                "warning_minutes",
            )
        }

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        targets = ("first_response_minutes", "next_response_minutes", "resolution_minutes")
        if not self.errors and all(data.get(t) is None for t in targets):
            raise forms.ValidationError(_("Set at least one target."))
        return data
