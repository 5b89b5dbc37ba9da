"""Settings → SMS (admins only): the provider account, the addresses to give the provider,
keywords, a test SMS, and the received and sent SMS with their states."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS
from helpa.lib.tokens import new_token

from . import ingest, outbox
from .forms import KeywordForm, SmsSettingsForm, TestSmsForm
from .models import InboundSms, OutgoingSms, SmsKeyword, SmsSettings

RECENT = 50


def _render(request: HttpRequest, context: dict[str, Any], status: int = 200) -> HttpResponse:
    settings = context.get("settings") or SmsSettings.load()
    context = {
        "sections": SECTIONS,
        "section": "sms",
        "settings": settings,
        "form": SmsSettingsForm(instance=settings),
        "keyword_form": KeywordForm(),
        "test_form": TestSmsForm(),
        "keywords": SmsKeyword.objects.select_related("queue"),
        "received": InboundSms.objects.select_related("ticket")[:RECENT],
        "sent": OutgoingSms.objects.select_related("ticket").order_by("-created_at", "-id")[
            :RECENT
        ],
        "twilio_url": django_settings.BASE_URL + reverse("sms:inbound_twilio"),
        **context,
    }
    return render(request, "sms/settings.html", context, status=status)


@admin_required
def sms_settings(request: HttpRequest) -> HttpResponse:
    settings = SmsSettings.load()
    if request.method != "POST":
        return _render(request, {"settings": settings})
    form = SmsSettingsForm(request.POST, instance=settings)
    if not form.is_valid():
        return _render(request, {"settings": settings, "form": form}, status=400)
    form.save()
    messages.success(request, _("SMS settings saved."))
    return redirect("sms_settings:index")


@admin_required
@require_POST
def new_inbound_address(request: HttpRequest) -> HttpResponse:
    """A fresh secret address for 46elks (the old one stops working). Shown on this answer
    only: the database keeps its hash."""
    settings = SmsSettings.load()
    raw, hashed = new_token()
    settings.inbound_token_hash = hashed
    settings.save(update_fields=["inbound_token_hash"])
    url = django_settings.BASE_URL + reverse("sms:inbound_46elks", args=[raw])
    return _render(request, {"settings": settings, "elks_url": url})


@admin_required
@require_POST
def keyword_add(request: HttpRequest) -> HttpResponse:
    form = KeywordForm(request.POST)
    if not form.is_valid():
        return _render(request, {"keyword_form": form}, status=400)
    form.save()
    messages.success(request, _("Keyword added."))
    return redirect("sms_settings:index")


@admin_required
@require_POST
def keyword_delete(request: HttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(SmsKeyword, pk=pk).delete()
    messages.success(request, _("Keyword removed."))
    return redirect("sms_settings:index")


@admin_required
@require_POST
def send_test(request: HttpRequest) -> HttpResponse:
    form = TestSmsForm(request.POST)
    if not form.is_valid():
        return _render(request, {"test_form": form}, status=400)
    if not SmsSettings.load().is_on:
        messages.error(request, _("Save the provider's settings first."))
        return redirect("sms_settings:index")
    with transaction.atomic():
        outbox.queue_sms(
            OutgoingSms.Kind.TEST,
            form.cleaned_data["number"],
            _("A test SMS from Helpa. It works."),
        )
    messages.success(request, _("A test SMS is on its way; its state shows below."))
    return redirect("sms_settings:index")


@admin_required
@require_POST
def received_again(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = ingest.process_again(get_object_or_404(InboundSms, pk=pk))
    if inbound.state == InboundSms.State.STORED:
        messages.success(request, _("The SMS is now on %(ticket)s.") % {"ticket": inbound.ticket})
    else:
        messages.error(request, inbound.error)
    return redirect("sms_settings:index")


@admin_required
@require_POST
def sent_again(request: HttpRequest, pk: int) -> HttpResponse:
    sms = get_object_or_404(OutgoingSms, pk=pk)
    if outbox.send_again(sms):
        transaction.on_commit(outbox.wake)
        messages.success(request, _("The SMS is queued again."))
    else:
        messages.error(request, _("Only a failed SMS can be sent again."))
    return redirect("sms_settings:index")
