"""Forms of the agent workspace. They validate input; the actions do the changing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.forms.utils import flatatt
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import Team, User
from helpa.crm.models import Company, Contact, brand_allowed_q
from helpa.lib.html import text_to_html

from .models import Category, HelpdeskSettings, Priority, Queue, Status, Ticket, TicketType


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class AttachmentsField(forms.FileField):
    """Several files at once; each checked against the admin-set size limit and for emptiness."""

    widget = MultipleFileInput

    def __init__(self, *args: Any, max_bytes: int, **kwargs: Any) -> None:
        self.max_bytes = max_bytes
        kwargs.setdefault("required", False)
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else ([data] if data else [])
        errors = []
        for upload in files:
            if upload.size == 0:
                errors.append(_("“%(name)s” is empty.") % {"name": upload.name})
            elif upload.size > self.max_bytes:
                errors.append(
                    _("“%(name)s” is %(size)s; the largest file allowed is %(limit)s.")
                    % {
                        "name": upload.name,
                        "size": filesizeformat(upload.size),
                        "limit": filesizeformat(self.max_bytes),
                    }
                )
        if errors:
            raise forms.ValidationError(errors)
        return list(files)


def _agent_choices() -> forms.ModelChoiceField:
    return forms.ModelChoiceField(
        queryset=User.objects.agents(), required=False, label=_("Owner"), widget=FastSelect
    )


def body_from_editor(value: str, editor_mode: str) -> str:
    """The editor posts HTML in HTML mode and plain text in plain mode: always return HTML."""
    if editor_mode == HelpdeskSettings.EditorMode.PLAIN:
        return text_to_html(value)
    return value


class FastSelect(forms.Select):
    """A single-choice select rendered in Python: Django's template per <option> costs about
    0.1 ms each, and the ticket page has a few hundred options."""

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        widget = self.get_context(name, value, attrs)["widget"]
        parts = []
        for group_name, options, _index in widget["optgroups"]:
            html = format_html_join(
                "",
                '<option value="{}"{}>{}</option>',
                ((o["value"], flatatt(o["attrs"]), o["label"]) for o in options),
            )
            parts.append(
                format_html('<optgroup label="{}">{}</optgroup>', group_name, html)
                if group_name
                else html
            )
        return format_html(
            '<select name="{}"{}>{}</select>',
            widget["name"],
            flatatt(widget["attrs"]),
            SafeString("".join(parts)),
        )


class LookupSelect(FastSelect):
    """A select for a model with thousands of rows (contacts, companies): it holds only the
    empty choice and the current one; the search box beside it asks `lookup_url` for matching
    options (HTMX) and puts them into the select. The field still validates against its whole
    queryset."""

    def __init__(self, lookup_url_name: str, attrs: Any = None) -> None:
        super().__init__(attrs)
        self.lookup_url_name = lookup_url_name

    def get_context(self, name: str, value: Any, attrs: Any) -> dict[str, Any]:
        every = self.choices
        field = every.field
        chosen = [v for v in self.format_value(value) if v.isdigit()]
        current = field.queryset.filter(pk__in=chosen) if chosen else []
        self.choices = [("", field.empty_label or "")] + [
            (obj.pk, field.label_from_instance(obj)) for obj in current
        ]
        try:
            return super().get_context(name, value, attrs)
        finally:
            self.choices = every

    def render(self, name: str, value: Any, attrs: Any = None, renderer: Any = None) -> SafeString:
        select = super().render(name, value, attrs, renderer)
        select_id = (attrs or {}).get("id") or self.attrs.get("id") or f"id_{name}"
        return format_html(
            '<span class="lookup">{}<input type="search" name="q" autocomplete="off"'
            ' aria-label="{}" placeholder="{}" hx-get="{}" hx-trigger="input changed delay:300ms"'
            ' hx-target="#{}" hx-include="#{}" hx-swap="innerHTML"></span>',
            select,
            _("Search"),
            _("Search…"),
            reverse(self.lookup_url_name),
            select_id,
            select_id,
        )


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(format="%Y-%m-%dT%H:%M", **kwargs)


class TicketForm(forms.ModelForm):
    """Create or edit a ticket's fields. Which fields show and which are mandatory follows the
    admin's field rules (T11); the title is always mandatory."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    on_hold_until = forms.DateTimeField(
        label=_("On hold until"), required=False, widget=DateTimeInput()
    )
    hold_for_days = forms.TypedChoiceField(
        label=_("On hold for"),
        choices=[
            ("", _("Until further notice, or the date above")),
            ("1", _("1 day")),
            ("3", _("3 days")),
            ("7", _("1 week")),
            ("30", _("30 days")),
        ],
        coerce=int,
        empty_value=None,
        required=False,
        widget=FastSelect,
    )

    class Meta:
        model = Ticket
        fields = [
            "title",
            "description",
            "queue",
            "status",
            "priority",
            "type",
            "category",
            "team",
            "owner",
            "contact",
            "company",
            "due_at",
            "hidden_until",
            "on_hold_until",
            "is_draft",
        ]
        widgets = {
            "description": forms.Textarea(attrs={"rows": 6, "class": "editor-source"}),
            "due_at": DateTimeInput(),
            "hidden_until": DateTimeInput(),
            "queue": FastSelect,
            "status": FastSelect,
            "priority": FastSelect,
            "type": FastSelect,
            "category": FastSelect,
            "team": FastSelect,
            "contact": LookupSelect("tickets:contact_options"),
            "company": LookupSelect("tickets:company_options"),
        }

    def __init__(self, *args: Any, user: User, settings: HelpdeskSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helpdesk_settings = settings
        # Validation writes posted values onto the instance; keep what was stored before.
        self.stored_dates = {
            name: getattr(self.instance, name)
            for name in ("due_at", "hidden_until", "on_hold_until")
            if self.instance.pk
        }
        queues = Queue.objects.filter(is_active=True)
        if not user.is_admin:
            queues = queues.filter(teams__members=user).filter(brand_allowed_q(user)).distinct()
        self.fields["queue"].queryset = queues
        if not self.instance.pk and not self.initial.get("queue"):
            # A new ticket starts in the agent's first queue: one click less for most desks.
            self.fields["queue"].initial = queues.values_list("pk", flat=True).first()
        self.fields["queue"].empty_label = None
        self.fields["owner"] = _agent_choices()
        self.fields["type"].queryset = TicketType.objects.filter(is_active=True)
        self.fields["category"].queryset = Category.objects.filter(is_active=True)
        self.fields["team"].queryset = Team.objects.all()
        # An agent limited to brands can neither see nor choose another brand's customers.
        self.fields["contact"].queryset = Contact.objects.visible_to(user)
        self.fields["company"].queryset = Company.objects.visible_to(user)
        self.fields["status"].choices = Status.choices
        self.fields["priority"].choices = Priority.choices
        self.fields["title"].required = True
        for name in HelpdeskSettings.OPTIONAL_FIELDS:
            rule = settings.rule_for(name)
            if rule == "hidden" and name in self.fields:
                del self.fields[name]
            elif rule == "required" and name in self.fields:
                self.fields[name].required = True
            elif name in self.fields:
                self.fields[name].required = False
        if "description" in self.fields:
            self.fields["description"].label = _("Description")

    def clean_description(self) -> str:
        return body_from_editor(
            self.cleaned_data.get("description") or "", self.helpdesk_settings.editor_mode
        )

    def changes(self) -> dict[str, Any]:
        data = dict(self.cleaned_data)
        data.pop("version", None)
        hold_for_days = data.pop("hold_for_days", None)
        for name in ("due_at", "hidden_until", "on_hold_until"):
            # The date inputs show minutes only; an untouched value must not count as a change.
            stored = self.stored_dates.get(name)
            if stored and data.get(name) == stored.replace(second=0, microsecond=0):
                data[name] = stored
        if data.get("status") != Status.ON_HOLD:
            data.pop("on_hold_until", None)
        elif hold_for_days:
            # "On hold for a period": the worker wakes the ticket when the period ends.
            data["on_hold_until"] = timezone.now() + timedelta(days=hold_for_days)
        return data


class NewTicketForm(TicketForm):
    attachments = AttachmentsField(label=_("Attachments"), max_bytes=5 * 1024 * 1024)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["attachments"].max_bytes = self.helpdesk_settings.max_attachment_bytes

    def ticket_arguments(self) -> dict[str, Any]:
        """What `actions.open_ticket` takes from the valid form: queue, title, description,
        attachments, and every other field the agent set."""
        data = self.changes()
        data.pop("attachments", None)
        arguments = {
            "queue": data.pop("queue"),
            "title": data.pop("title"),
            "description": data.pop("description", ""),
            "attachments": self.cleaned_data.get("attachments") or [],
        }
        arguments.update({k: v for k, v in data.items() if v not in (None, "") or k == "is_draft"})
        return arguments


class ArticleForm(forms.Form):
    """A reply, an internal note or a discussion post, with files and time spent."""

    KINDS = [("reply", _("Reply")), ("note", _("Internal note")), ("discussion", _("Discussion"))]
    kind = forms.ChoiceField(choices=KINDS, widget=forms.HiddenInput)
    body = forms.CharField(
        label=_("Message"), required=False, widget=forms.Textarea(attrs={"rows": 6})
    )
    time_spent_minutes = forms.IntegerField(
        label=_("Time spent (minutes)"), required=False, min_value=0, max_value=24 * 60 * 7
    )
    # The composer posts "0" (a hidden input) and "1" (the checkbox) when ticked; the last wins.
    # Absent altogether (an older client, the API): billable, the usual case.
    billable = forms.CharField(label=_("Billable"), required=False)
    attachments = AttachmentsField(label=_("Attachments"), max_bytes=5 * 1024 * 1024)
    # How a reply reaches the customer; the choice is offered when SMS is set up (sms app).
    send_by = forms.ChoiceField(choices=[("mail", _("Mail")), ("sms", _("SMS"))], required=False)

    def __init__(self, *args: Any, settings: HelpdeskSettings, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.helpdesk_settings = settings
        self.fields["attachments"].max_bytes = settings.max_attachment_bytes

    def clean_billable(self) -> bool:
        return self.cleaned_data.get("billable") != "0"

    def clean_send_by(self) -> str:
        return self.cleaned_data.get("send_by") or "mail"

    def clean_body(self) -> str:
        return body_from_editor(
            self.cleaned_data.get("body") or "", self.helpdesk_settings.editor_mode
        )


class QuickEditForm(forms.Form):
    """One field of one row of the overview, changed in place."""

    field = forms.ChoiceField(choices=[(f, f) for f in ("status", "priority", "type", "owner")])
    value = forms.CharField(required=False, max_length=50)
    version = forms.IntegerField()

    def value_for(self) -> Any:
        field, raw = self.cleaned_data["field"], self.cleaned_data["value"]
        if field == "status":
            if raw not in Status.values:
                raise forms.ValidationError(_("Unknown status."))
            return raw
        if field == "priority":
            if not raw.isdigit() or int(raw) not in Priority.values:
                raise forms.ValidationError(_("Unknown priority."))
            return int(raw)
        if not raw:
            return None
        model = TicketType if field == "type" else User
        queryset = (
            TicketType.objects.filter(is_active=True) if field == "type" else User.objects.agents()
        )
        if not raw.isdigit():
            raise forms.ValidationError(_("Unknown value."))
        try:
            return queryset.get(pk=int(raw))
        except model.DoesNotExist as exc:
            raise forms.ValidationError(_("Unknown value.")) from exc


class SavedSearchForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100)
    is_shared = forms.BooleanField(label=_("Share with everyone"), required=False)
    query = forms.CharField(max_length=2000, required=False, widget=forms.HiddenInput)
