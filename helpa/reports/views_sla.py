"""The SLA report page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpa.accounts.permissions import agent_required

from . import slareport
from .exports import export_response
from .report import ParamsError


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    try:
        params, form = slareport.parse(request.user, request.GET)
    except ParamsError as exc:
        form = slareport.SLAReportForm(request.GET, user=request.user)
        form.is_valid()
        context = {"report_section": "sla", "form": form, "errors": exc.errors}
        return render(request, "reports/sla.html", {**context, "params": request.GET}, status=400)
    report = slareport.build(request.user, params)
    response = export_response(report, request.GET.get("export", ""))
    if response is not None:
        return response
    return render(
        request,
        "reports/sla.html",
        {
            "report_section": "sla",
            "report": report,
            "form": form,
            "params": request.GET,
            "export_query": params.query(),
        },
    )
