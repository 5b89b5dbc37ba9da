"""The statistics page and the list of tickets behind each of its figures."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.http import urlencode

from helpa.accounts.permissions import agent_required

from . import facts, statistics
from .exports import export_response

PAGE_SIZE = 50


def _export_query(request: HttpRequest) -> str:
    params = request.GET.copy()
    params.pop("export", None)
    params.pop("page", None)
    return params.urlencode()


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    # Figures at most a minute behind even without a worker (bounded: a few batches).
    facts.refresh_if_stale()
    form, query = statistics.parse(request.user, request.GET)
    report = statistics.build(request.user, query) if query is not None else None
    if report is not None:
        exported = export_response(report, request.GET.get("export", ""))
        if exported is not None:
            return exported
    return render(
        request,
        "reports/statistics.html",
        {
            "report_section": "statistics",
            "form": form,
            "report": report,
            "export_query": _export_query(request),
        },
        status=200 if report is not None else 400,
    )


@agent_required
def tickets(request: HttpRequest) -> HttpResponse:
    """The tickets one figure counts: the same filters, the figure, its bucket and group. Facts
    are limited to the user's queues as the figures are, so the list never holds a ticket the
    user could not open."""
    form, query = statistics.parse(request.user, request.GET)
    page, title, error = None, "", ""
    if query is not None:
        try:
            rows, title = statistics.drill_facts(request.user, query, request.GET)
        except ValueError as problem:
            error = str(problem)
        else:
            rows = rows.select_related("ticket", "ticket__queue", "ticket__owner").order_by(
                "-created_at", "-ticket_id"
            )
            page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    back = {k: v for k, v in (query.params if query else {}).items()}
    return render(
        request,
        "reports/statistics_tickets.html",
        {
            "report_section": "statistics",
            "form": form,
            "page": page,
            "listed": page is not None,  # an empty page is falsy: "0 tickets" is an answer
            "title": title,
            "error": error,
            "page_query": _export_query(request),
            "back_query": urlencode(back),
        },
        status=200 if page is not None else 400,
    )
