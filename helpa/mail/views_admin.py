"""The mail settings pages (admins only): received mail that needs attention, each queue's
addresses and mail settings, the polled mailboxes, and the installation's mail settings.

They sit in the settings area next to helpa/administration's sections and use its navigation.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.paginator import Paginator
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import admin_required
from helpa.administration.views import SECTIONS
from helpa.tickets.models import Queue

from . import ingest
from .forms import (
    InboundFilterForm,
    MailAddressForm,
    MailboxForm,
    MailSettingsForm,
    QueueMailForm,
)
from .models import ATTENTION_STATES, InboundMail, MailAddress, Mailbox, MailSettings, QueueMail

PAGE_SIZE = 50


def _render(
    request: HttpRequest, template: str, section: str, context: dict[str, Any], status: int = 200
) -> HttpResponse:
    return render(
        request,
        f"mail/{template}",
        {"sections": SECTIONS, "section": section, **context},
        status=status,
    )


# --- Received mail -----------------------------------------------------------------------------


@admin_required
def inbound_list(request: HttpRequest) -> HttpResponse:
    form = InboundFilterForm(request.GET or None)
    state = form.cleaned_data["state"] if form.is_valid() else ""
    mails = InboundMail.objects.select_related("queue", "ticket", "mailbox")
    mails = mails.filter(state=state) if state else mails.filter(state__literal_in=ATTENTION_STATES)
    page = Paginator(mails.order_by("-received_at", "-id"), PAGE_SIZE).get_page(
        request.GET.get("page")
    )
    return _render(
        request,
        "admin_inbound.html",
        "mail_inbound",
        {
            "filter_form": form,
            "state": state,
            "page": page,
            "queues": Queue.objects.filter(is_active=True).order_by("name"),
        },
    )


def _back_to_list(request: HttpRequest) -> HttpResponse:
    state = request.POST.get("state", "")
    response = redirect("mail:inbound_list")
    if state in InboundMail.State.values:
        response["Location"] += f"?state={state}"
    return response


@admin_required
@require_POST
def inbound_reprocess(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = get_object_or_404(InboundMail, pk=pk, state=InboundMail.State.FAILED)
    queue_id = request.POST.get("queue", "")
    if queue_id.isdigit() and inbound.queue_id is None:
        inbound.queue = get_object_or_404(Queue, pk=int(queue_id))
        inbound.save(update_fields=["queue"])
    try:
        inbound = ingest.reprocess(inbound)
    except Exception as exc:  # noqa: BLE001 — e.g. the raw file is gone; say so, keep the row
        messages.error(request, _("The mail could not be processed: %(error)s") % {"error": exc})
        return _back_to_list(request)
    if inbound.state == InboundMail.State.FAILED:
        messages.error(request, _("The mail failed again; see its error."))
    else:
        messages.success(
            request, _("Processed: %(state)s.") % {"state": inbound.get_state_display()}
        )
    return _back_to_list(request)


@admin_required
@require_POST
def inbound_accept(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = get_object_or_404(InboundMail, pk=pk, state=InboundMail.State.HELD)
    try:
        ingest.release_held(inbound)
    except Exception as exc:  # noqa: BLE001 — nothing was changed (one transaction)
        messages.error(request, _("The mail could not be processed: %(error)s") % {"error": exc})
        return _back_to_list(request)
    inbound.refresh_from_db()
    if inbound.ticket is not None:
        messages.success(
            request, _("Accepted: %(ticket)s.") % {"ticket": inbound.ticket.display_number}
        )
    return _back_to_list(request)


@admin_required
@require_POST
def inbound_discard(request: HttpRequest, pk: int) -> HttpResponse:
    updated = InboundMail.objects.filter(pk=pk, state__in=ATTENTION_STATES).update(
        state=InboundMail.State.IGNORED
    )
    if updated:
        messages.success(request, _("Discarded. The raw message is kept."))
    return _back_to_list(request)


# --- Queues: addresses and mail settings --------------------------------------------------------


@admin_required
def queue_list(request: HttpRequest) -> HttpResponse:
    queues = Queue.objects.order_by("name").prefetch_related("mail_addresses")
    settings_by_queue = {qm.queue_id: qm for qm in QueueMail.objects.all()}
    rows = [(queue, settings_by_queue.get(queue.pk)) for queue in queues]
    return _render(request, "admin_queues.html", "mail_queues", {"rows": rows})


@admin_required
def queue_edit(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    queue_mail = QueueMail.for_queue(queue)
    form = QueueMailForm(request.POST or None, instance=queue_mail)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("mail:queue_edit", queue_id=queue.pk)
    return _queue_page(
        request,
        queue,
        form,
        MailAddressForm(queue=queue),
        status=400 if request.method == "POST" else 200,
    )


def _queue_page(
    request: HttpRequest,
    queue: Queue,
    form: QueueMailForm | None,
    address_form: MailAddressForm,
    status: int = 200,
) -> HttpResponse:
    if form is None:
        form = QueueMailForm(instance=QueueMail.for_queue(queue))
    return _render(
        request,
        "admin_queue.html",
        "mail_queues",
        {
            "queue": queue,
            "form": form,
            "address_form": address_form,
            "addresses": list(queue.mail_addresses.order_by("address")),
        },
        status=status,
    )


@admin_required
@require_POST
def address_add(request: HttpRequest, queue_id: int) -> HttpResponse:
    queue = get_object_or_404(Queue, pk=queue_id)
    form = MailAddressForm(request.POST, queue=queue)
    if not form.is_valid():
        return _queue_page(request, queue, None, form, status=400)
    with transaction.atomic():
        address = form.save(commit=False)
        address.queue = queue
        first = not queue.mail_addresses.exists()
        if address.is_sender or first:
            queue.mail_addresses.update(is_sender=False)
            address.is_sender = True
        address.save()
    messages.success(request, _("Address %(address)s added.") % {"address": address.address})
    return redirect("mail:queue_edit", queue_id=queue.pk)


@admin_required
@require_POST
def address_delete(request: HttpRequest, pk: int) -> HttpResponse:
    address = get_object_or_404(MailAddress, pk=pk)
    queue_id = address.queue_id
    with transaction.atomic():
        address.delete()
        # The queue keeps a sender as long as it has an address.
        successor = MailAddress.objects.filter(queue_id=queue_id).order_by("address").first()
        if address.is_sender and successor is not None:
            successor.is_sender = True
            successor.save(update_fields=["is_sender"])
    messages.success(request, _("Address %(address)s removed.") % {"address": address.address})
    return redirect("mail:queue_edit", queue_id=queue_id)


@admin_required
@require_POST
def address_sender(request: HttpRequest, pk: int) -> HttpResponse:
    address = get_object_or_404(MailAddress, pk=pk)
    with transaction.atomic():
        MailAddress.objects.filter(queue_id=address.queue_id).update(is_sender=False)
        MailAddress.objects.filter(pk=address.pk).update(is_sender=True)
    messages.success(
        request, _("Replies now go out from %(address)s.") % {"address": address.address}
    )
    return redirect("mail:queue_edit", queue_id=address.queue_id)


# --- Mailboxes ---------------------------------------------------------------------------------


@admin_required
def mailbox_list(request: HttpRequest) -> HttpResponse:
    mailboxes = Mailbox.objects.select_related("queue").order_by("name")
    return _render(request, "admin_mailboxes.html", "mail_mailboxes", {"mailboxes": mailboxes})


@admin_required
def mailbox_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk) if pk else None
    form = MailboxForm(request.POST or None, instance=mailbox)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("mail:mailbox_list")
    return _render(
        request,
        "admin_mailbox.html",
        "mail_mailboxes",
        {"form": form, "mailbox": mailbox},
        status=400 if request.method == "POST" else 200,
    )


@admin_required
@require_POST
def mailbox_delete(request: HttpRequest, pk: int) -> HttpResponse:
    mailbox = get_object_or_404(Mailbox, pk=pk)
    mailbox.delete()  # received mail keeps its rows (mailbox is SET_NULL there)
    messages.success(request, _("Mailbox %(name)s deleted.") % {"name": mailbox.name})
    return redirect("mail:mailbox_list")


# --- Installation ------------------------------------------------------------------------------


@admin_required
def mail_settings(request: HttpRequest) -> HttpResponse:
    form = MailSettingsForm(request.POST or None, instance=MailSettings.load())
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, _("Saved."))
        return redirect("mail:settings")
    return _render(
        request,
        "admin_settings.html",
        "mail_settings",
        {"form": form},
        status=400 if request.method == "POST" else 200,
    )
