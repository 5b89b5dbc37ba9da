"""Settings → Webhooks (admins only): subscribe URLs to events, see and resend deliveries."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS

from . import webhooks
from .forms import WebhookForm
from .models_webhooks import Webhook, WebhookDelivery

DELIVERIES_PER_PAGE = 50


def _render(
    request: HttpRequest, template: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(
        request,
        f"api/{template}",
        {"sections": SECTIONS, "section": "webhooks", **context},
        status=status,
    )


@admin_required
def webhook_list(request: HttpRequest) -> HttpResponse:
    form = WebhookForm(request.POST or None)
    created = None
    if request.method == "POST" and form.is_valid():
        created = Webhook.objects.create(
            url=form.cleaned_data["url"],
            events=form.cleaned_data["events"],
            allow_private=form.cleaned_data["allow_private"],
            created_by=request.user,
        )
        # Rendered here, not after a redirect: the secret is shown on this answer only.
        form = WebhookForm()
    hooks = Webhook.objects.all()
    status = 400 if request.method == "POST" and created is None else 200
    return _render(
        request, "webhooks.html", {"form": form, "hooks": hooks, "created": created}, status
    )


@admin_required
def webhook_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    deliveries = WebhookDelivery.objects.filter(webhook=hook).order_by("-created_at", "-id")
    page = Paginator(deliveries, DELIVERIES_PER_PAGE).get_page(request.GET.get("page"))
    return _render(request, "webhook_deliveries.html", {"hook": hook, "page": page})


@admin_required
@require_POST
def webhook_pause(request: HttpRequest, pk: int) -> HttpResponse:
    Webhook.objects.filter(pk=pk, is_active=True).update(is_active=False, paused_at=timezone.now())
    webhooks.forget()
    messages.success(request, _("The webhook is paused."))
    return redirect("webhooks:list")


@admin_required
@require_POST
def webhook_resume(request: HttpRequest, pk: int) -> HttpResponse:
    Webhook.objects.filter(pk=pk).update(is_active=True, paused_at=None, consecutive_failures=0)
    webhooks.forget()
    transaction.on_commit(webhooks.wake)  # what waited while it was paused goes out now
    messages.success(request, _("The webhook is active again."))
    return redirect("webhooks:list")


@admin_required
@require_POST
def webhook_delete(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    hook.delete()
    messages.success(request, _("The webhook to %(url)s is deleted.") % {"url": hook.url})
    return redirect("webhooks:list")


@admin_required
@require_POST
def webhook_test(request: HttpRequest, pk: int) -> HttpResponse:
    hook = get_object_or_404(Webhook, pk=pk)
    webhooks.queue_test(hook, request.user)
    messages.success(
        request, _("A test event is on its way; its delivery appears in the log below.")
    )
    return redirect("webhooks:deliveries", pk=hook.pk)


@admin_required
@require_POST
def delivery_again(request: HttpRequest, pk: int, delivery_pk: int) -> HttpResponse:
    delivery = get_object_or_404(WebhookDelivery, pk=delivery_pk, webhook_id=pk)
    if webhooks.send_again(delivery):
        transaction.on_commit(webhooks.wake)
        messages.success(request, _("The delivery is queued again."))
    else:
        messages.error(request, _("Only a failed delivery can be sent again."))
    return redirect("webhooks:deliveries", pk=pk)
