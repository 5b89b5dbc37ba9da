"""Survey pages: the satisfaction report (agents: their queues' answers), the admins' profiles
and block list, and the customer's public survey page (no login: its link is the key)."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from helpa.accounts.permissions import admin_required, agent_required

from . import survey_report
from .exports import export_response
from .forms_surveys import AnswerForm, BlockForm, ProfileForm
from .models.surveys import SurveyBlock, SurveyInvitation, SurveyProfile
from .surveys import invitation_for, record_answer

COMMENTS_PER_PAGE = 25


# --- The report -------------------------------------------------------------------------------


@agent_required
def index(request: HttpRequest) -> HttpResponse:
    form = survey_report.SurveyFilterForm(request.user, request.GET)  # type: ignore[arg-type]
    context: dict[str, object] = {"form": form, "report_section": "surveys"}
    if not form.is_valid():
        return render(request, "reports/surveys/index.html", context, status=400)
    scope = survey_report.scope_of(form)
    file_format = request.GET.get("export", "")
    if file_format:
        rows = list(survey_report.comments(scope.answers)[: survey_report.EXPORT_COMMENTS])
        response = export_response(survey_report.build(scope, rows), file_format)
        if response is not None:
            return response
    page = Paginator(survey_report.comments(scope.answers), COMMENTS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    query = request.GET.copy()
    for key in ("page", "export"):
        query.pop(key, None)
    context |= {
        "report": survey_report.build(scope, []),
        "comments": page,
        "filter_query": query.urlencode(),
        "export_query": query.urlencode(),
    }
    return render(request, "reports/surveys/index.html", context)


# --- Profiles and the block list (admins) -----------------------------------------------------


@admin_required
def profile_list(request: HttpRequest) -> HttpResponse:
    profiles = SurveyProfile.objects.select_related("brand").prefetch_related("templates")
    return render(
        request,
        "reports/surveys/profiles.html",
        {"profiles": profiles, "report_section": "surveys"},
    )


@admin_required
def profile_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    profile = get_object_or_404(SurveyProfile, pk=pk) if pk else None
    form = ProfileForm(request.POST or None, instance=profile)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("reports_surveys:profiles")
    return render(
        request,
        "reports/surveys/profile_edit.html",
        {"form": form, "profile": profile, "report_section": "surveys"},
    )


@admin_required
def block_list(request: HttpRequest) -> HttpResponse:
    form = BlockForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        SurveyBlock.objects.create(value=form.cleaned_data["value"])
        messages.success(request, _("Added to the block list."))
        return redirect("reports_surveys:blocks")
    return render(
        request,
        "reports/surveys/blocks.html",
        {"form": form, "blocks": SurveyBlock.objects.all(), "report_section": "surveys"},
    )


@admin_required
@require_POST
def block_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(SurveyBlock, pk=pk).delete()
    messages.success(request, _("Removed from the block list."))
    return redirect("reports_surveys:blocks")


# --- The customer's page ----------------------------------------------------------------------


def _private(response: HttpResponse) -> HttpResponse:
    """The link is the key: never indexed, never cached, no Referer to other sites (not
    "no-referrer": browsers then send `Origin: null` with the page's form, which CSRF
    protection refuses)."""
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Referrer-Policy"] = "same-origin"
    response["Cache-Control"] = "private, no-store"
    return response


def _preselected(request: HttpRequest) -> dict[str, int]:
    """`?csat=4` from the faces in the mail: the choice shown, nothing recorded."""
    raw = request.GET.get("csat", "")
    return {"csat": int(raw)} if raw in {"1", "2", "3", "4", "5"} else {}


def _page(
    request: HttpRequest,
    template: str,
    invitation: SurveyInvitation | None,
    status: int = 200,
    **extra: object,
) -> HttpResponse:
    ticket = invitation.ticket if invitation else None
    context = {"invitation": invitation, "ticket": ticket, "hide_login": True}
    return _private(render(request, template, context | extra, status=status))


@require_http_methods(["GET", "HEAD", "POST"])
def survey(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the questions and records nothing; a POST (with CSRF) records the answer
    once. An unknown link: 404; an expired one: 410; an answered one says so."""
    invitation = invitation_for(token)
    if invitation is None:
        return _page(request, "reports/surveys/public_invalid.html", None, status=404)
    if invitation.answered_at is not None:
        return _page(request, "reports/surveys/public_done.html", invitation, already=True)
    if invitation.is_expired(timezone.now()):
        return _page(request, "reports/surveys/public_invalid.html", invitation, status=410)
    if request.method == "POST":
        form = AnswerForm(invitation.profile, request.POST)
        if form.is_valid():
            answer = record_answer(invitation, **form.answer())
            return _page(
                request, "reports/surveys/public_done.html", invitation, already=answer is None
            )
        status = 400
    else:
        form = AnswerForm(invitation.profile, initial=_preselected(request))
        status = 200
    return _page(request, "reports/surveys/public.html", invitation, status=status, form=form)
