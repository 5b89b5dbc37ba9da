"""The public contact form (framable by other sites, no cookies needed) and its design pages.

Client addresses come from REMOTE_ADDR. Behind a reverse proxy, name the proxy in
HELPA_TRUSTED_PROXIES: helpa.lib.proxy then puts the visitor's address there (otherwise the
proxy's address would be every visitor's, and one visitor's flood would block all).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.db import transaction
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.html import escape
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from helpa.accounts.permissions import admin_required, agent_required
from helpa.administration.views import SECTIONS
from helpa.tickets.models import HelpdeskSettings

from . import actions
from .forms import (
    CHOICE_FIELDS,
    HONEYPOT,
    ContactFormForm,
    PublicForm,
    clean_prefill,
    field_row_forms,
)
from .models import CATALOGUE, BlockedSubmission, ContactForm, Lock, Mode, Reason, Submission
from .tokens import (
    FormToken,
    TokenExpired,
    TokenInvalid,
    fixed_values_of_expired,
    read_thanks,
    thanks_value,
)

LANGUAGES = ("en", "sv")
_COLOUR = re.compile(r"^#[0-9a-fA-F]{6}$")


def _language(request: HttpRequest) -> str:
    asked = request.GET.get("lang", "")
    if asked in LANGUAGES:
        return asked
    current = (translation.get_language() or settings.LANGUAGE_CODE)[:2]
    return current if current in LANGUAGES else "en"


def _client_ip(request: HttpRequest) -> str | None:
    """REMOTE_ADDR, deliberately: X-Forwarded-For is whatever the client wrote (see the module
    docstring for proxies)."""
    return request.META.get("REMOTE_ADDR") or None


def _public(response: HttpResponse, contact_form: ContactForm | None) -> HttpResponse:
    """Headers of every public form page: framable by the form's allowed sites, never cached
    (each page carries a one-time token), nothing loaded from elsewhere but styles/images;
    scripts talk only to us (the knowledge-base suggestions)."""
    ancestors = contact_form.frame_ancestors() if contact_form else "*"
    response["Content-Security-Policy"] = (
        "default-src 'none'; script-src 'self'; style-src 'self' https:; "
        "img-src 'self' data: https:; font-src 'self' data: https:; connect-src 'self'; "
        f"form-action 'self'; base-uri 'none'; frame-ancestors {ancestors}"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex"
    return response


# --- The public form ----------------------------------------------------------------------------


class Notice:
    """A message at the top of the form: what happened and what to do now."""

    def __init__(self, text: str, level: str = "error") -> None:
        self.text = text
        self.level = level


def _prefill_and_fixed(
    contact_form: ContactForm, query: QueryDict
) -> tuple[dict[str, str], dict[str, str]]:
    """Values from the web address: all of them prefill; the locked and hidden ones are fixed."""
    lock_asked = {k.strip() for k in query.get("lock", "").split(",") if k.strip()}
    prefill: dict[str, str] = {}
    fixed: dict[str, str] = {}
    for config in contact_form.field_configs():
        if not config.used or not CATALOGUE[config.key].prefill:
            continue
        value = clean_prefill(config.key, query.get(config.key, ""))
        if value is None:
            continue
        prefill[config.key] = value
        if (
            config.mode == Mode.HIDDEN
            or config.lock == Lock.ALWAYS
            or (config.lock == Lock.ON_REQUEST and config.key in lock_asked)
        ):
            fixed[config.key] = value
    return prefill, fixed


def _render_form(
    request: HttpRequest,
    contact_form: ContactForm,
    form: PublicForm,
    token: FormToken,
    language: str,
    *,
    notice: Notice | None = None,
    status: int = 200,
) -> HttpResponse:
    context = {
        "contact_form": contact_form,
        "form": form,
        "token": token.dumps(),
        "honeypot": HONEYPOT,
        "language": language,
        "notice": notice,
        "look": contact_form.look(),
        "has_files": "attachments" in form.fields,
        "max_attachment_bytes": HelpdeskSettings.load().max_attachment_bytes,
        "action": reverse("webforms:form", args=[contact_form.slug])
        + "?"
        + urlencode({"lang": language}),
        "stylesheet": reverse("webforms:stylesheet", args=[contact_form.slug])
        + "?"
        + urlencode({"v": int(contact_form.updated_at.timestamp())}),
    }
    return render(request, "webforms/form.html", context, status=status)


@xframe_options_exempt
@csrf_exempt  # no cookies inside a third-party frame: the signed token protects the form
@require_http_methods(["GET", "POST"])
def form_page(request: HttpRequest, slug: str) -> HttpResponse:
    contact_form = get_object_or_404(ContactForm.objects.select_related("queue"), slug=slug)
    language = _language(request)
    with translation.override(language):
        if request.method == "POST":
            response = _submitted(request, contact_form, language)
        elif not contact_form.is_active:
            response = render(
                request,
                "webforms/closed.html",
                {"contact_form": contact_form, "look": contact_form.look(), "language": language},
                status=404,
            )
        else:
            prefill, fixed = _prefill_and_fixed(contact_form, request.GET)
            token = FormToken.new(contact_form.pk, fixed)
            form = PublicForm(
                contact_form=contact_form, language=language, fixed=fixed, prefill=prefill
            )
            response = _render_form(request, contact_form, form, token, language)
    return _public(response, contact_form)


def _refused_message(contact_form: ContactForm, reason: str) -> str:
    window = int(ContactForm.RATE_WINDOW.total_seconds() // 60)
    if reason in (Reason.RATE_IP, Reason.RATE_ADDRESS):
        if contact_form.fallback_address:
            return _(
                "Too many messages from you just now, so this one was not sent. Try again in "
                "%(minutes)d minutes, or mail us at %(address)s."
            ) % {"minutes": window, "address": contact_form.fallback_address}
        return _(
            "Too many messages from you just now, so this one was not sent. "
            "Try again in %(minutes)d minutes."
        ) % {"minutes": window}
    if reason == Reason.TOO_FAST:
        return _(
            "That was very quick, so your message was not sent yet. Please wait a moment and send again."
        )
    if reason == Reason.HONEYPOT:
        return _(
            "Your message was not sent: a field meant to stay empty was filled in (sometimes a "
            "browser's autofill does that). It is empty now; please send again."
        )
    if reason == Reason.EXPIRED:
        return _(
            "This form was open for a long time, so we could not accept it as it was. "
            "Everything you wrote is still here: please send again."
        )
    if reason == Reason.CLOSED:
        text = _("This form no longer takes messages, so yours was not sent.")
        if contact_form.fallback_address:
            text += " " + _("Please copy your text and mail it to %(address)s.") % {
                "address": contact_form.fallback_address
            }
        return text
    return _(
        "We could not verify this form. Everything you wrote is still here: please send again."
    )


def _submitted(request: HttpRequest, contact_form: ContactForm, language: str) -> HttpResponse:
    ip = _client_ip(request)
    raw_token = request.POST.get("token", "")
    refused = ""
    try:
        token = FormToken.loads(raw_token, contact_form.pk)
    except TokenExpired:
        refused = Reason.EXPIRED
        # The values it fixed were signed by us; a fresh token keeps them fixed.
        token = FormToken.new(contact_form.pk, fixed_values_of_expired(raw_token))
    except TokenInvalid:
        refused = Reason.INVALID
        token = FormToken.new(contact_form.pk, {})
    if not refused and not contact_form.is_active:
        refused = Reason.CLOSED
    if not refused and request.POST.get(HONEYPOT, "").strip():
        refused = Reason.HONEYPOT
    if not refused and token.age() < contact_form.min_fill_seconds:
        refused = Reason.TOO_FAST

    # Locked values: what was posted must be what was signed; the signed value is put back.
    data = request.POST.copy()
    data[HONEYPOT] = ""
    shown = {c.key for c in contact_form.field_configs() if c.shown}
    tampered = set()
    for key, value in token.fixed.items():
        if key in shown and key not in CHOICE_FIELDS and data.get(key, "").strip() != value:
            tampered.add(key)
        data[key] = value
    form = PublicForm(
        data,
        request.FILES,
        contact_form=contact_form,
        language=language,
        fixed=token.fixed,
        tampered=tampered,
    )
    if refused:
        actions.record_blocked(contact_form, refused, ip, data.get("email", ""))
        form.is_valid()  # show the entries again, with any other problems they have
        status = 410 if refused == Reason.CLOSED else 400
        notice = Notice(_refused_message(contact_form, refused))
        return _render_form(
            request, contact_form, form, token, language, notice=notice, status=status
        )
    if not form.is_valid():
        notice = Notice(_("Your message was not sent yet: please check the marked fields."))
        if form.has_error("attachments"):
            notice = Notice(
                _(
                    "Your message was not sent yet: a file could not be taken. Everything you "
                    "wrote is still here; choose the files again (within the limit) and send."
                )
            )
        return _render_form(request, contact_form, form, token, language, notice=notice, status=400)
    values = form.values()
    outcome = actions.submit(
        contact_form,
        values,
        nonce=token.nonce,
        ip=ip,
        attachments=values.get("attachments") or [],
    )
    if outcome.blocked:
        notice = Notice(_refused_message(contact_form, outcome.blocked))
        return _render_form(request, contact_form, form, token, language, notice=notice, status=429)
    number = outcome.ticket.number if outcome.ticket else 0
    url = reverse("webforms:thanks", args=[contact_form.slug])
    return redirect(url + "?" + urlencode({"r": thanks_value(number, language)}), permanent=False)


@xframe_options_exempt
@require_GET
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    contact_form = get_object_or_404(ContactForm, slug=slug)
    read = read_thanks(request.GET.get("r", ""))
    number, language = read if read else (None, _language(request))
    if language not in LANGUAGES:
        language = "en"
    with translation.override(language):
        response = render(
            request,
            "webforms/thanks.html",
            {
                "contact_form": contact_form,
                "look": contact_form.look(),
                "language": language,
                "number": number,
                "thanks_text": contact_form.thanks(language),
                "again": reverse("webforms:form", args=[slug])
                + "?"
                + urlencode({"lang": language}),
            },
        )
    return _public(response, contact_form)


@require_GET
def stylesheet(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's look as its own stylesheet: the brand's colours, then the admin's CSS. Served
    as text/css from its own address, so nothing in it can leave a stylesheet and become
    markup or script."""
    contact_form = get_object_or_404(ContactForm, slug=slug)
    look = contact_form.look()
    primary = look.primary_colour if _COLOUR.match(look.primary_colour or "") else "#1f5fae"
    soft = look.accent_colour if _COLOUR.match(look.accent_colour or "") else "#e8f0fb"
    css = f":root {{ --brand: {primary}; --brand-soft: {soft}; --accent: {primary}; }}\n"
    if contact_form.custom_css:
        css += "\n/* The form's own CSS */\n" + contact_form.custom_css + "\n"
    response = HttpResponse(css, content_type="text/css; charset=utf-8")
    response["Cache-Control"] = "public, max-age=300"
    return response


# --- Design pages ------------------------------------------------------------------------------


@agent_required
def form_list(request: HttpRequest) -> HttpResponse:
    """Every form with what it received and refused lately (agents see the counts too)."""
    now = timezone.now()
    today = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    week = now - timedelta(days=7)
    forms_ = ContactForm.objects.select_related("queue").annotate(
        blocked_today=Count("blocked", filter=Q(blocked__created_at__gte=today), distinct=True),
        blocked_week=Count("blocked", filter=Q(blocked__created_at__gte=week), distinct=True),
    )
    # Counted separately: two joined counts of different tables would multiply each other.
    sent = dict(
        Submission.objects.filter(created_at__gte=week)
        .values_list("form")
        .annotate(n=Count("pk"))
        .values_list("form", "n")
    )
    reasons: dict[int, list[tuple[str, int]]] = {}
    labels = dict(Reason.choices)
    for form_id, reason, n in (
        BlockedSubmission.objects.filter(created_at__gte=week)
        .values_list("form", "reason")
        .annotate(n=Count("pk"))
        .values_list("form", "reason", "n")
        .order_by("form", "-n")
    ):
        reasons.setdefault(form_id, []).append((str(labels.get(reason, reason)), n))
    rows = [(f, sent.get(f.pk, 0), reasons.get(f.pk, [])) for f in forms_]
    return render(
        request,
        "webforms/list.html",
        {"rows": rows, "section": "webforms", "sections": SECTIONS},
    )


def embed_snippet(contact_form: ContactForm) -> str:
    """The HTML to paste into a website, as text (the page escapes it once for display)."""
    src = escape(f"{settings.BASE_URL}/forms/{contact_form.slug}/")
    title = escape(contact_form.name)
    return (
        f'<iframe src="{src}" title="{title}" '
        'style="width:100%;max-width:40rem;height:48rem;border:0" loading="lazy"></iframe>'
    )


def resize_snippet() -> str:
    """An optional script for the host page: the frame grows with the form (form.js reports
    its height; only messages from Helpa's origin are heard)."""
    origin = settings.BASE_URL
    return (
        '<script>addEventListener("message",function(e){'
        f'if(e.origin!=="{origin}"||!e.data||!e.data.helpaFormHeight)return;'
        'document.querySelectorAll("iframe").forEach(function(f){'
        'if(f.contentWindow===e.source)f.style.height=(e.data.helpaFormHeight+16)+"px";});'
        "});</script>"
    )


@admin_required
def form_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    instance = get_object_or_404(ContactForm, pk=pk) if pk else None
    design = instance or ContactForm()
    data = request.POST if request.method == "POST" else None
    form = ContactFormForm(data, instance=instance)
    rows = field_row_forms(design, data)
    if data is not None and form.is_valid() and all(r.is_valid() for r in rows):
        with transaction.atomic():
            saved = form.save(commit=False)
            saved.fields = {row.key: row.config() for row in rows}
            saved.updated_at = timezone.now()
            saved.save()
        messages.success(request, _("Contact form saved."))
        return redirect("webforms:edit", pk=saved.pk)
    context: dict[str, Any] = {
        "form": form,
        "rows": rows,
        "instance": instance,
        "section": "webforms",
        "sections": SECTIONS,
        "parameters": [k for k, spec in CATALOGUE.items() if spec.prefill],
    }
    if instance:
        context["snippet"] = embed_snippet(instance)
        context["resize_snippet"] = resize_snippet()
        context["public_url"] = f"{settings.BASE_URL}/forms/{instance.slug}/"
    return render(request, "webforms/edit.html", context, status=400 if data else 200)
