"""Template filters of the agent workspace (registered as builtins in settings.TEMPLATES)."""

from __future__ import annotations

import html
from datetime import datetime
from typing import Any

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from helpa.tickets.models import Priority, Status

register = template.Library()


def _e(value: object) -> str:
    """HTML-escaped text, as django.utils.html.escape gives it, without its lazy-string
    wrapper: the overview escapes a few thousand values a page."""
    return html.escape(str(value))


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "") if mapping else ""


def _field_labels() -> dict[str, str]:
    """The labels in the active language, built once per language (the history table asks for
    one per row)."""
    language = get_language()
    if language not in _FIELD_LABELS:
        _FIELD_LABELS[language] = _build_field_labels()
    return _FIELD_LABELS[language]


_FIELD_LABELS: dict[str | None, dict[str, str]] = {}


def _build_field_labels() -> dict[str, str]:
    return {
        "created": _("Created"),
        "title": _("Title"),
        "description": _("Description"),
        "status": _("Status"),
        "priority": _("Priority"),
        "type": _("Type"),
        "category": _("Category"),
        "queue": _("Queue"),
        "team": _("Team"),
        "owner": _("Owner"),
        "contact": _("Contact"),
        "company": _("Company"),
        "due_at": _("Due date"),
        "hidden_until": _("Hidden until"),
        "on_hold_until": _("On hold until"),
        "is_draft": _("Draft"),
        "parent": _("Parent ticket"),
        "child_added": _("Sub-ticket added"),
        "closed_with_parent": _("Closed together with parent"),
        "follower_added": _("Follower added"),
        "follower_removed": _("Follower removed"),
        "discussion_deleted": _("Discussion post deleted"),
        # Written by the mail channel when an agent moves a wrongly threaded mail.
        "mail_moved_out": _("Mail moved to another ticket"),
        "mail_moved_in": _("Mail moved here"),
        # Written by the SLA job (automation/sla.py) when a target is missed.
        "sla_breached": _("SLA breached"),
        # Written by reminders and retention (automation).
        "legal_hold": _("Legal hold"),
        "reminder_sent": _("Reminder mailed to the contact"),
        "anonymised": _("Anonymised"),
        # Written when two contacts are merged (contact_actions.merge_contacts).
        "contact_merged": _("Contact merged"),
        # Written when a duplicate ticket is merged into another (actions.merge_tickets).
        "merged_into": _("Merged into"),
        "merged_in": _("Ticket merged into this one"),
        # Time entries (actions.log_time_entry and the entry's own buttons).
        "time_logged": _("Time logged"),
        "time_billable": _("Time entry billable"),
        "time_deleted": _("Time entry deleted"),
    }


@register.filter
def history_field(field: str) -> str:
    return _field_labels().get(field, field)


@register.filter
def history_value(value: str, field: str) -> str:
    """Stored codes shown in the reader's language (status and priority are stored as codes)."""
    if field == "status" and value in Status.values:
        return str(Status(value).label)
    if field == "priority" and value.isdigit() and int(value) in Priority.values:
        return str(Priority(int(value)).label)
    if field == "sla_breached":
        targets = {
            "first_response": _("First response"),
            "next_response": _("Next response"),
            "resolution": _("Resolution"),
        }
        return targets.get(value, value)
    if field in ("is_draft", "legal_hold"):
        return _("yes") if value == "yes" else _("no") if value == "no" else value
    return value


@register.filter
def minutes(value: int) -> str:
    hours, mins = divmod(int(value or 0), 60)
    return f"{hours} h {mins:02d} min" if hours else f"{mins} min"


@register.filter
def mention_handle(user: Any) -> str:
    """What to type after @ to mention a colleague (see actions.mentioned_users)."""
    return str(getattr(user, "email", "")).split("@")[0]


@register.simple_tag
def options(choices: list[tuple[str, str]], current: object) -> str:
    """`<option>`s for a select (`choices` already escaped by `option_choices`), built in Python: the overview renders one per row and field,
    which is thousands per page — far too slow as template loops."""
    selected = "" if current is None else str(current)
    return mark_safe(
        "".join(
            f'<option value="{value}"{" selected" if value == selected else ""}>{label}</option>'
            for value, label in choices
        )
    )


@register.simple_tag
def filter_options(choices: list[tuple[str, str]], chosen: list[str]) -> str:
    """The `<option>`s of a multiple select of the overview's filter panel (`choices` escaped
    by `option_choices`), built in Python: companies alone are hundreds. The markup is what
    the panel's template loops wrote before (`<option value="1" >` when not chosen)."""
    chosen_values = {str(value) for value in chosen or []}
    return mark_safe(
        "".join(
            f'<option value="{value}" {"selected" if value in chosen_values else ""}>{label}</option>'
            for value, label in choices
        )
    )


@register.simple_tag(takes_context=True)
def quick_edit(context: Any, ticket: Any, field: str, url: str) -> str:
    """One quick-edit form of an overview row (status, priority, type or owner), built in
    Python: four per row and up to 200 rows a page. Type and owner hold only the current
    choice; app.js copies the others in from the page's <template>s. `url` is the row's
    tickets:quick_edit address."""
    labels, choices = context["labels"], context["quick_choices"]
    url = _e(url)
    if field in ("status", "priority"):
        css = f"quick status-{_e(ticket.status)}" if field == "status" else "quick"
        select = (
            f'<select name="value" aria-label="{_e(labels[field])}" class="{css}">'
            f"{options(choices[field], getattr(ticket, field))}</select>"
        )
    else:
        value = getattr(ticket, f"{field}_id")
        shown = getattr(ticket, field) or ("–" if field == "type" else labels["nobody"])
        select = (
            f'<select name="value" aria-label="{_e(labels[field])}" class="quick" '
            f'data-options="{field}"><option value="{"" if value is None else value}" selected>'
            f"{_e(shown)}</option></select>"
        )
    return mark_safe(
        f'<form hx-post="{url}" hx-trigger="change" hx-target="#row-{ticket.number}" '
        f'hx-swap="outerHTML" method="post" action="{url}">'
        f'<input type="hidden" name="csrfmiddlewaretoken" value="{_e(context.get("csrf_token", ""))}">'
        f'<input type="hidden" name="field" value="{field}">'
        f'<input type="hidden" name="version" value="{ticket.version}">{select}</form>'
    )


def option_choices(pairs: Any) -> list[tuple[str, str]]:
    """(value, label) pairs escaped once, ready for `options`."""
    return [(_e(value), _e(label)) for value, label in pairs]


def _minute(value: datetime) -> str:
    """What the template filter date:"Y-m-d H:i" shows, without its per-call format parsing."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M")


def _duration(minutes: int) -> str:
    days, rest = divmod(abs(minutes), 24 * 60)
    hours, mins = divmod(rest, 60)
    sign = "−" if minutes < 0 else ""
    if days:
        return f"{sign}{days} d {hours} h"
    return f"{sign}{hours} h {mins:02d} min" if hours else f"{sign}{mins} min"


def sla_state(ticket: Any, now: datetime) -> str:
    """ok, warning, breached or paused: how the nearest SLA target stands (see automation/sla.py,
    which keeps the ticket's SLA columns)."""
    if ticket.sla_due_at is None:
        return ""
    if ticket.sla_paused_at is not None:
        return "paused"
    if ticket.sla_due_at <= now:
        return "breached"
    if ticket.sla_warning_at is not None and ticket.sla_warning_at <= now:
        return "warning"
    return "ok"


def _sla_cell(ticket: Any, label: str) -> str:
    """Time left to the nearest SLA target, coloured by its state; empty without a target."""
    due = ticket.sla_due_at
    if due is None:
        return f'<td data-label="{_e(label)}"></td>'
    now = timezone.now()
    state = sla_state(ticket, now)
    if state == "paused":
        text = _("Paused")
    else:
        text = _duration(int((due - now).total_seconds() // 60))
    return (
        f'<td data-label="{_e(label)}" class="sla sla-{state}" data-sla="{state}">'
        f'<time datetime="{timezone.localtime(due).isoformat()}" title="{_minute(due)}">'
        f"{_e(text)}</time></td>"
    )


@register.simple_tag(takes_context=True)
def overview_row(context: Any, ticket: Any, row_error: str = "") -> str:
    """One row of the overview, built in Python: a template costs about half a millisecond a
    row, up to 200 rows a page. Needs the page's `labels` and `quick_choices`."""
    labels = context["labels"]
    number = ticket.number
    detail = _e(reverse("tickets:detail", args=[number]))
    quick = reverse("tickets:quick_edit", args=[number])
    overdue = ticket.is_overdue
    company = f" · {_e(ticket.company)}" if ticket.company_id else ""
    draft = f' <span class="tag">{_e(labels["draft"])}</span>' if ticket.is_draft else ""
    error = f'<div class="errors small" role="alert">{_e(row_error)}</div>' if row_error else ""
    edits = "".join(
        f'<td data-label="{_e(labels[field])}">{quick_edit(context, ticket, field, quick)}</td>'
        for field in ("status", "priority", "type", "owner")
    )
    return mark_safe(
        f'<tr id="row-{number}" class="prio-{ticket.priority}{" overdue" if overdue else ""}"'
        f' data-number="{number}">'
        f'<td class="num"><a href="{detail}">{number}</a></td>'
        f'<td class="title"><a href="{detail}">{_e(ticket.title)}</a>{draft}'
        f'<div class="muted small">{_e(ticket.contact.name) if ticket.contact_id else ""}'
        f"{company}</div>{error}</td>{edits}"
        f'<td data-label="{_e(labels["queue"])}">{_e(ticket.queue)}</td>'
        f'<td data-label="{_e(labels["due"])}" class="{"overdue-text" if overdue else ""}">'
        f"{_minute(ticket.due_at) if ticket.due_at else ''}</td>"
        f"{_sla_cell(ticket, labels.get('sla') or _('SLA'))}"
        f'<td data-label="{_e(labels["changed"])}" class="muted"><time datetime="'
        f'{timezone.localtime(ticket.updated_at).isoformat()}">{_minute(ticket.updated_at)}'
        f"</time></td></tr>"
    )


@register.simple_tag
def sla_targets(ticket: Any) -> list[dict[str, Any]]:
    """The ticket's pending SLA targets for its page: name, due time, state and time left."""
    now = timezone.now()
    paused = ticket.sla_paused_at is not None
    targets = []
    for label, due in (
        (_("First response"), ticket.first_response_due_at),
        (_("Next response"), ticket.next_response_due_at),
        (_("Resolution"), ticket.resolution_due_at),
    ):
        if due is None:
            continue
        state = "paused" if paused else "breached" if due <= now else "ok"
        if state == "ok" and due == ticket.sla_due_at and sla_state(ticket, now) == "warning":
            state = "warning"
        targets.append(
            {
                "label": label,
                "due": due,
                "state": state,
                "left": _("Paused")
                if paused
                else _duration(int((due - now).total_seconds() // 60)),
            }
        )
    return targets
