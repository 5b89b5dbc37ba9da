"""Settings → Privacy (GDPR): find a person by address or number, see what is held, export it,
anonymise it; the log of past requests. Admins only. Export and anonymisation each show a
confirm page (GET: the counts, nothing changes) and act on POST with `confirm`."""

from __future__ import annotations

import io

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from helpa.accounts.permissions import admin_required

from . import gdpr
from .models import GdprRequest

COUNT_LABELS = {
    "contacts": gettext_lazy("Contacts"),
    "portal_accounts": gettext_lazy("Portal logins"),
    "addresses": gettext_lazy("E-mail addresses"),
    "phones": gettext_lazy("Phone numbers"),
    "tickets": gettext_lazy("Tickets"),
    "messages": gettext_lazy("Their messages"),
    "attachments": gettext_lazy("Attachments of their messages"),
    "received_mails": gettext_lazy("Mails received from them"),
    "sent_mails": gettext_lazy("Mails sent to them"),
    "raw_mails_deleted": gettext_lazy("Raw mails deleted"),
    "tickets_touched": gettext_lazy("Tickets changed"),
}


def _labelled(counts: dict[str, int]) -> list[tuple[str, int]]:
    return [(str(COUNT_LABELS.get(k, k)), v) for k, v in counts.items()]


def _find(request: HttpRequest) -> tuple[str, gdpr.Subject | None]:
    query = (request.POST.get("q") or request.GET.get("q") or "").strip()
    if not query:
        return query, None
    try:
        return query, gdpr.find_subject(query)
    except gdpr.NotFound:
        return query, None


@admin_required
def index(request: HttpRequest) -> HttpResponse:
    query, subject = _find(request)
    counts = gdpr.summary(subject) if subject else None
    return render(
        request,
        "privacy/index.html",
        {
            "section": "privacy",
            "query": query,
            "subject": subject,
            "counts": counts,
            "labelled": _labelled(counts) if counts else [],
            "log": GdprRequest.objects.select_related("actor")[:100],
            "labels": COUNT_LABELS,
        },
    )


def _confirm(request: HttpRequest, kind: str) -> HttpResponse:
    query, subject = _find(request)
    if subject is None:
        messages.error(request, _("Helpa holds nothing about “%(query)s”.") % {"query": query})
        return redirect("privacy:index")
    counts = gdpr.summary(subject)
    return render(
        request,
        "privacy/confirm.html",
        {
            "section": "privacy",
            "kind": kind,
            "query": query,
            "counts": counts,
            "labelled": _labelled(counts),
        },
    )


@admin_required
def export(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" or not request.POST.get("confirm"):
        return _confirm(request, "export")
    query, subject = _find(request)
    if subject is None:
        return _confirm(request, "export")
    out = io.BytesIO()
    gdpr.export(subject, out, request.user)  # type: ignore[arg-type]
    response = HttpResponse(out.getvalue(), content_type="application/zip")
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M")
    response["Content-Disposition"] = f'attachment; filename="gdpr-export-{stamp}.zip"'
    return response


@admin_required
def anonymise(request: HttpRequest) -> HttpResponse:
    if request.method != "POST" or not request.POST.get("confirm"):
        return _confirm(request, "anonymise")
    query, subject = _find(request)
    if subject is None:
        return _confirm(request, "anonymise")
    row = gdpr.anonymise(subject, request.user)  # type: ignore[arg-type]
    count = row.counts.get("tickets_touched", 0)
    messages.success(
        request,
        ngettext(
            "The person was anonymised: %(count)s ticket changed.",
            "The person was anonymised: %(count)s tickets changed.",
            count,
        )
        % {"count": count},
    )
    return redirect("privacy:index")
