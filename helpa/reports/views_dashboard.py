from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from helpa.accounts.permissions import agent_required

from . import dashboard


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "reports/dashboard.html",
        {"report": dashboard.build(request.user), "report_section": "dashboard"},
    )
