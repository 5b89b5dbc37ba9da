"""The time report page and the list of entries behind each of its figures."""

from __future__ import annotations

from dataclasses import replace

from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from helpa.accounts.permissions import agent_required

from . import timereport
from .exports import export_response
from .report import ParamsError
from .timereport import NONE_KEY

ENTRIES_PER_PAGE = 100


def _error_page(request: HttpRequest, template: str, exc: ParamsError) -> HttpResponse:
    form = timereport.TimeReportForm(request.GET, user=request.user)
    form.is_valid()
    return render(
        request,
        template,
        {"report_section": "time", "form": form, "errors": exc.errors, "params": request.GET},
        status=400,
    )


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        params, form = timereport.parse(request.user, request.GET)
    except ParamsError as exc:
        return _error_page(request, "reports/time.html", exc)
    file_format = request.GET.get("export", "")
    # The page shows the chart and the table per group; a file adds every month and group and
    # every entry (what an invoice is checked against).
    exporting = file_format in ("csv", "xlsx")
    report = timereport.build(request.user, params, per_period=exporting, with_entries=exporting)
    response = export_response(report, file_format)
    if response is not None:
        return response
    return render(
        request,
        "reports/time.html",
        {
            "report_section": "time",
            "report": report,
            # Tiles and chart through the shared template; the tables here, with 2 decimals.
            "charts_only": replace(report, tables=[]),
            "form": form,
            "params": request.GET,
            "export_query": params.query(),
        },
    )


@agent_required
def entry_list(request: HttpRequest) -> HttpResponse:
    """The entries behind one figure of the report (`key`: one group, or all without it)."""
    try:
        params, form = timereport.parse(request.user, request.GET)
    except ParamsError as exc:
        return _error_page(request, "reports/time_entries.html", exc)
    key = request.GET.get("key") or None
    if key is not None and key != NONE_KEY and not key.isdigit():
        return _error_page(
            request, "reports/time_entries.html", ParamsError({"key": [_("Unknown group.")]})
        )
    rows = timereport.entry_rows(request.user, params, key).select_related("ticket", "user")
    page = Paginator(rows, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "reports/time_entries.html",
        {
            "report_section": "time",
            "page": page,
            "params": params,
            "form": form,
            "report_query": params.query(),
            "page_query": params.query(**({"key": key} if key else {})),
            "description": timereport.describe(params),
        },
    )
