"""The ticket overview's query: filters from the URL, tiles, sorting, paging.

Kept apart from the view so the API can later offer the same filters. Only allow-listed
parameters and sort keys are read; anything else in the URL is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.paginator import Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import User

from . import search
from .models import ACTIVE_STATUSES, Status, Ticket

# Tiles at the top of the overview; each is also a view that filters the list when clicked.
VIEWS: dict[str, Any] = {
    "mine": _("My open tickets"),
    "new": _("New"),
    "open": _("Open"),
    "overdue": _("Overdue"),
    "waiting": _("Waiting on contact"),
    "on_hold": _("On hold"),
    "unassigned": _("Unassigned"),
    "followed": _("Followed"),
    "active": _("All active"),
    "all": _("All tickets"),
}
TILES = ["new", "open", "mine", "overdue", "waiting", "on_hold"]

SORTS = {
    "updated": "-updated_at",
    "-updated": "updated_at",
    "created": "-created_at",
    "-created": "created_at",
    "number": "-number",
    "-number": "number",
    "priority": "-priority",
    "-priority": "priority",
    # Tickets without a due date last in both directions (SQLite would put them first).
    "due": F("due_at").asc(nulls_last=True),
    "-due": F("due_at").desc(nulls_last=True),
    "title": "title",
    "-title": "-title",
    "status": "status",
    "-status": "-status",
}
PAGE_SIZES = [25, 50, 100, 200]
# Counting every match of a broad search over a million tickets costs more than the page itself;
# beyond this many the overview says "more than …" and pages on.
COUNT_LIMIT = 1_000
FILTER_KEYS = ["queue", "team", "owner", "status", "priority", "type", "category", "company", "due"]


def _ids(params: QueryDict, key: str) -> list[int]:
    return [int(v) for v in params.getlist(key) if v.isdigit()]


def _view_filter(view: str, user: User, now: Any) -> Q:
    active = Q(status__in=ACTIVE_STATUSES)
    return {
        "mine": active & Q(owner=user),
        "new": Q(status=Status.NEW),
        "open": Q(status=Status.OPEN),
        "overdue": active & Q(due_at__lt=now),
        "waiting": Q(status=Status.WAITING),
        "on_hold": Q(status=Status.ON_HOLD),
        "unassigned": active & Q(owner__isnull=True),
        "followed": Q(followers=user),
        "active": active,
        "all": Q(),
    }[view]


@dataclass
class Overview:
    view: str
    queryset: QuerySet[Ticket]
    sort: str
    page_size: int
    search_text: str
    has_filters: bool


def build_overview(user: User, params: QueryDict) -> Overview:
    now = timezone.now()
    view = params.get("view") or "mine"
    if view not in VIEWS:
        view = "mine"
    qs = Ticket.objects.listed_for(user, now).filter(_view_filter(view, user, now))

    filters = Q()
    if queues := _ids(params, "queue"):
        filters &= Q(queue__in=queues)
    if teams := _ids(params, "team"):
        filters &= Q(team__in=teams)
    owners = params.getlist("owner")
    if owners:
        owner_q = Q(owner__in=[int(o) for o in owners if o.isdigit()])
        if "none" in owners:
            owner_q |= Q(owner__isnull=True)
        if "me" in owners:
            owner_q |= Q(owner=user)
        filters &= owner_q
    if statuses := [s for s in params.getlist("status") if s in Status.values]:
        filters &= Q(status__in=statuses)
    if priorities := _ids(params, "priority"):
        filters &= Q(priority__in=priorities)
    if types := _ids(params, "type"):
        filters &= Q(type__in=types)
    if categories := _ids(params, "category"):
        filters &= Q(category__in=categories)
    if companies := _ids(params, "company"):
        filters &= Q(company__in=companies)
    due = params.get("due")
    today_end = timezone.localtime(now).replace(hour=23, minute=59, second=59)
    if due == "overdue":
        filters &= Q(due_at__lt=now)
    elif due == "today":
        filters &= Q(due_at__lte=today_end)
    elif due == "week":
        filters &= Q(due_at__lte=today_end + timedelta(days=7))
    elif due == "none":
        filters &= Q(due_at__isnull=True)
    qs = qs.filter(filters)

    text = (params.get("q") or "").strip()[:200]
    if text:
        qs = search.apply_search(qs, text)

    sort = params.get("sort") or "updated"
    if sort not in SORTS:
        sort = "updated"
    qs = qs.order_by(SORTS[sort], "-id").select_related(
        "queue", "owner", "type", "category", "company", "contact"
    )
    try:
        page_size = int(params.get("per_page", 50))
    except ValueError:
        page_size = 50
    if page_size not in PAGE_SIZES:
        page_size = 50
    has_filters = bool(filters) or bool(text)
    return Overview(view, qs, sort, page_size, text, has_filters)


def tile_counts(user: User) -> dict[str, int]:
    """All six tiles in one aggregate query over the active tickets the user may list.
    Counting a column of ticket_tiles_idx (not the id) lets PostgreSQL answer from the index."""
    now = timezone.now()
    base = Ticket.objects.listed_for(user, now).filter(status__in=ACTIVE_STATUSES)
    return base.aggregate(
        new=Count("queue", filter=Q(status=Status.NEW)),
        open=Count("queue", filter=Q(status=Status.OPEN)),
        mine=Count("queue", filter=Q(owner=user)),
        overdue=Count("queue", filter=Q(due_at__lt=now)),
        waiting=Count("queue", filter=Q(status=Status.WAITING)),
        on_hold=Count("queue", filter=Q(status=Status.ON_HOLD)),
    )


class CappedPaginator(Paginator):
    """A paginator whose count stops at COUNT_LIMIT + 1 (shown as "more than 1,000")."""

    @cached_property
    def count(self) -> int:
        return self.object_list[: COUNT_LIMIT + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_LIMIT
