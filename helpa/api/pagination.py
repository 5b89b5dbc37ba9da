"""Cursor pagination: stable pages while tickets change underneath (no offsets to skip)."""

from __future__ import annotations

from typing import Any

from rest_framework.pagination import CursorPagination
from rest_framework.request import Request


class IdCursorPagination(CursorPagination):
    """Pages in the order the view names (`cursor_ordering`), by id when it names none."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    ordering = "id"

    def get_ordering(self, request: Request, queryset: Any, view: Any) -> tuple[str, ...]:
        ordering = getattr(view, "cursor_ordering", None)
        if callable(ordering):
            return tuple(ordering(request))
        return (self.ordering,) if isinstance(self.ordering, str) else tuple(self.ordering)
