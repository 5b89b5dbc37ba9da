"""The ticket overview's query: filters from the URL, tiles, sorting, paging.

Kept apart from the view so the API can later offer the same filters. Only allow-listed
parameters and sort keys are read; anything else in the URL is ignored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Q, QuerySet
from django.http import QueryDict
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from helpa.accounts.models import User

from . import search
from .models import ACTIVE_STATUSES, Status, Ticket, active_q

# Tiles at the top of the overview; each is also a view that filters the list when clicked.
VIEWS: dict[str, Any] = {
    "mine": _("My open tickets"),
    "new": _("New"),
    "open": _("Open"),
    "overdue": _("Overdue"),
    "waiting": _("Waiting on contact"),
    "on_hold": _("On hold"),
    "unassigned": _("Unassigned"),
    "sla_at_risk": _("SLA at risk"),
    "sla_breached": _("SLA breached"),
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
    # Time left to the nearest SLA target (see automation/sla.py); tickets without one last.
    "sla": F("sla_due_at").asc(nulls_last=True),
    "-sla": F("sla_due_at").desc(nulls_last=True),
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


# Views that list active tickets only: a few percent of the desk, so a search there checks the
# text of those rows rather than asking the full-text index for every ticket with the word.
ACTIVE_VIEWS = {
    "mine",
    "new",
    "open",
    "overdue",
    "waiting",
    "on_hold",
    "unassigned",
    "sla_at_risk",
    "sla_breached",
    "active",
}
# A search over all tickets, newest changes first, looks among the RECENT_WINDOW most recently
# changed tickets first; only when they do not fill the page does it search them all.
RECENT_WINDOW = 20_000


def _view_filter(view: str, user: User, now: Any) -> Q:
    active = active_q()
    return {
        "mine": active & Q(owner=user),
        "new": Q(status=Status.NEW),
        "open": Q(status=Status.OPEN),
        "overdue": active & Q(due_at__lt=now),
        "waiting": Q(status=Status.WAITING),
        "on_hold": Q(status=Status.ON_HOLD),
        "unassigned": active & Q(owner__isnull=True),
        # The warning of the nearest SLA target has begun, the target is not yet missed.
        "sla_at_risk": active & Q(sla_warning_at__lte=now, sla_due_at__gt=now),
        "sla_breached": active & Q(sla_due_at__lte=now),
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
    # The same list narrowed to the most recently changed tickets (see RECENT_WINDOW), or None.
    recent: QuerySet[Ticket] | None = None
    # The same list, written for counting (see Ticket.objects.visible_to(queue_index=False)).
    counted: QuerySet[Ticket] | None = None


def build_overview(user: User, params: QueryDict) -> Overview:
    now = timezone.now()
    view = params.get("view") or "mine"
    if view not in VIEWS:
        view = "mine"
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
    text = (params.get("q") or "").strip()[:200]
    few = view in ACTIVE_VIEWS or (bool(statuses) and set(statuses) <= set(ACTIVE_STATUSES))
    broad_search = bool(text) and not few and not search.is_number(text)

    def listed(queue_index: bool = True) -> QuerySet[Ticket]:
        found = Ticket.objects.listed_for(user, now, queue_index=queue_index).filter(
            _view_filter(view, user, now), filters
        )
        return search.apply_search(found, text, use_index=not few) if text else found

    qs = listed()

    sort = params.get("sort") or "updated"
    if sort not in SORTS:
        sort = "updated"
    # The columns a row shows (its template); nothing else is joined.
    qs = (
        qs.order_by(SORTS[sort], "-id")
        .select_related("queue", "owner", "type", "company", "contact")
        .defer("description", "description_text")
    )
    recent = None
    if broad_search and sort == "updated":
        cutoff = (
            Ticket.objects.order_by("-updated_at")
            .values_list("updated_at", flat=True)[RECENT_WINDOW : RECENT_WINDOW + 1]
            .first()
        )
        if cutoff is not None:
            recent = qs.filter(updated_at__gte=cutoff)
    counted = listed(queue_index=False) if broad_search else qs
    try:
        page_size = int(params.get("per_page", 50))
    except ValueError:
        page_size = 50
    if page_size not in PAGE_SIZES:
        page_size = 50
    has_filters = bool(filters) or bool(text)
    return Overview(view, qs, sort, page_size, text, has_filters, recent, counted)


def tile_counts(user: User) -> dict[str, int]:
    """All six tiles in one aggregate query over the active tickets the user may list.
    Counting a column of ticket_tiles_idx (not the id) lets PostgreSQL answer from the index."""
    now = timezone.now()
    base = Ticket.objects.listed_for(user, now).filter(active_q())
    return base.aggregate(
        new=Count("queue", filter=Q(status=Status.NEW)),
        open=Count("queue", filter=Q(status=Status.OPEN)),
        mine=Count("queue", filter=Q(owner=user)),
        overdue=Count("queue", filter=Q(due_at__lt=now)),
        waiting=Count("queue", filter=Q(status=Status.WAITING)),
        on_hold=Count("queue", filter=Q(status=Status.ON_HOLD)),
    )


class CappedPaginator(Paginator):
    """A paginator whose count stops at COUNT_LIMIT + 1 (shown as "more than 1,000").

    With `recent` (the same list narrowed to the most recently changed tickets, which come
    first in its order), the first COUNT_LIMIT + 1 matches among those are looked up first:
    when they hold the page asked for, its rows are those; when they are more than
    COUNT_LIMIT, so is the count. The same rows and count, found without sorting every match
    of a broad search. `counted` is the list written for counting (see `build_overview`)."""

    def __init__(
        self,
        object_list: QuerySet[Ticket],
        per_page: int,
        recent: QuerySet[Ticket] | None = None,
        counted: QuerySet[Ticket] | None = None,
    ) -> None:
        super().__init__(object_list, per_page)
        self.recent = recent
        self.counted = object_list if counted is None else counted

    @cached_property
    def recent_ids(self) -> list[int] | None:
        if self.recent is None:
            return None
        return list(self.recent.values_list("id", flat=True)[: COUNT_LIMIT + 1])

    @cached_property
    def count(self) -> int:
        if self.recent_ids is not None and len(self.recent_ids) > COUNT_LIMIT:
            return len(self.recent_ids)
        # Counting needs no order: without it PostgreSQL stops at the limit instead of sorting.
        return self.counted.order_by()[: COUNT_LIMIT + 1].count()

    @property
    def is_capped(self) -> bool:
        return self.count > COUNT_LIMIT

    def page(self, number: Any) -> Page:
        number = self.validate_number(number)
        ids = self.recent_ids
        if ids is not None:
            bottom = (number - 1) * self.per_page
            chosen = ids[bottom : bottom + self.per_page]
            # The recent tickets hold this page, or every match there is.
            if len(chosen) == self.per_page or len(ids) == self.count:
                rows = list(self.object_list.filter(id__in=chosen)) if chosen else []
                return self._get_page(rows, number, self)
        return super().page(number)
