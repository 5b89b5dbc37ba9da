"""The ticket list's query parameters: the overview's filters (tickets/overview.py), checked
against an allow-list. The overview quietly ignores what it cannot read (a hand-edited URL);
the API says so with 400, so an integrator's typo never returns the wrong tickets."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from django.http import QueryDict
from django.utils.translation import gettext as _
from rest_framework.exceptions import ValidationError

from helpa.tickets.models import Priority, Status
from helpa.tickets.overview import FILTER_KEYS, VIEWS

# The API's sort keys and the order each pages in: only orders a cursor can page through
# (a column that is never empty, newest first unless the key starts with "-", as in the UI).
TICKET_SORTS: dict[str, tuple[str, ...]] = {
    "updated": ("-updated_at", "-id"),
    "-updated": ("updated_at", "id"),
    "created": ("-created_at", "-id"),
    "-created": ("created_at", "id"),
    "number": ("-number",),
    "-number": ("number",),
}
PAGING = ("cursor", "page_size", "format")  # DRF's own: pagination, ?format=json
DUE_CHOICES = ("overdue", "today", "week", "none")


def is_id(value: str) -> bool:
    return value.isdigit() and len(value) < 19


CHECKS: dict[str, Callable[[str], bool]] = {
    "view": lambda v: v in VIEWS,
    "sort": lambda v: v in TICKET_SORTS,
    "q": lambda v: len(v) <= 200,
    "status": lambda v: v in Status.values,
    "priority": lambda v: v.isdigit() and int(v) in Priority.values,
    "owner": lambda v: v in ("me", "none") or is_id(v),
    "due": lambda v: v in DUE_CHOICES,
    **{key: is_id for key in ("queue", "team", "type", "category", "company")},
}
assert set(FILTER_KEYS) <= set(CHECKS), "a filter of the overview is missing from the API"
SINGLE = {"view", "sort", "q", "due"}


def check_params(
    params: QueryDict,
    allowed: Iterable[str],
    checks: Mapping[str, Callable[[str], bool]] | None = None,
) -> None:
    """400 for a parameter outside `allowed` (plus paging) or a value it cannot take. The
    ticket list's CHECKS apply unless the caller names its own `checks` (each given once)."""
    errors: dict[str, list[str]] = {}
    allowed = set(allowed) | set(PAGING)
    single = SINGLE if checks is None else set(checks)
    checks = CHECKS if checks is None else checks
    for key in params:
        values = params.getlist(key)
        if key not in allowed:
            errors[key] = [_("Unknown parameter.")]
        elif key in single and len(values) > 1:
            errors[key] = [_("Give this parameter once.")]
        elif key in checks and not all(checks[key](v) for v in values):
            errors[key] = [_("Not a valid value: %(values)s") % {"values": ", ".join(values)}]
    if errors:
        raise ValidationError(errors)


def ticket_list_params(params: QueryDict) -> QueryDict:
    """The overview's parameters for an API request: checked, and "all tickets" unless a view
    is asked for (the UI starts on "my open tickets"; an integrator expects every ticket)."""
    check_params(params, CHECKS)
    overview = params.copy()
    overview.setdefault("view", "all")
    overview.pop("sort", None)  # the cursor pages in TICKET_SORTS' order
    return overview
