"""Downloads of the agent lists (tickets, contacts, companies) as CSV or Excel.

The list pages belong to the tickets app, which imports nothing from reports (DESIGN.md); their
"Export" links point here with the page's own query string, and the rows are chosen by the
same functions the pages use (see lists.py)."""

from __future__ import annotations

from collections.abc import Callable

from django.http import Http404, HttpRequest, HttpResponse, QueryDict

from helpa.accounts.models import User
from helpa.accounts.permissions import agent_required

from . import exports, lists
from .report import Report


def _download(request: HttpRequest, build: Callable[[User, QueryDict], Report]) -> HttpResponse:
    file_format = request.GET.get("export", "")
    if file_format not in ("csv", "xlsx"):
        raise Http404
    response = exports.export_response(build(request.user, request.GET), file_format)
    assert response is not None
    return response


@agent_required
def tickets(request: HttpRequest) -> HttpResponse:
    return _download(request, lists.tickets_report)


@agent_required
def contacts(request: HttpRequest) -> HttpResponse:
    return _download(request, lists.contacts_report)


@agent_required
def companies(request: HttpRequest) -> HttpResponse:
    return _download(request, lists.companies_report)
