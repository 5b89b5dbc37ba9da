"""Template filters of the agent workspace (registered as builtins in settings.TEMPLATES)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from helpa.tickets.models import Priority, Status

register = template.Library()


@register.filter
def get_item(mapping: dict[str, Any], key: str) -> Any:
    return mapping.get(key, "") if mapping else ""


def _field_labels() -> dict[str, str]:
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
    if field == "is_draft":
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


def option_choices(pairs: Any) -> list[tuple[str, str]]:
    """(value, label) pairs escaped once, ready for `options`."""
    return [(escape(str(value)), escape(str(label))) for value, label in pairs]
