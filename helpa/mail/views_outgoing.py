"""What agents do with an outgoing mail on a ticket: confirm or discard one that waits for
confirmation, download the message as it was (or will be) sent.

Access follows the ticket: an agent who may not open the ticket gets a 404 for its mail too.
"""

from __future__ import annotations

from django.contrib import messages
from django.db import transaction
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import agent_required
from helpa.tickets.models import Ticket

from .models import OutgoingMail
from .outbound import _wake_the_sender


def _outgoing_for(request: HttpRequest, pk: int) -> OutgoingMail:
    """The mail behind a URL, or 404 when it does not exist or its ticket is not the user's."""
    visible = Ticket.objects.visible_to(request.user).values("id")
    return get_object_or_404(
        OutgoingMail.objects.select_related("ticket", "article"), pk=pk, ticket__in=visible
    )


def _back(request: HttpRequest, mail: OutgoingMail) -> HttpResponse:
    """To the reply on the ticket page; an HTMX request gets the reply's delivery part."""
    if getattr(request, "htmx", False) and mail.article_id:
        article = mail.article
        article.mails_sent = list(article.outgoing_mails.all())  # type: ignore[attr-defined]
        return render(request, "mail/article_delivery.html", {"article": article})
    url = reverse("tickets:detail", args=[mail.ticket.number])
    return redirect(f"{url}#article-{mail.article_id}" if mail.article_id else url)


@agent_required
@require_POST
def outgoing_confirm(request: HttpRequest, pk: int) -> HttpResponse:
    mail = _outgoing_for(request, pk)
    with transaction.atomic():
        confirmed = OutgoingMail.objects.filter(pk=mail.pk, state=OutgoingMail.State.DRAFT).update(
            state=OutgoingMail.State.QUEUED, next_attempt_at=timezone.now(), last_error=""
        )
        if confirmed:
            transaction.on_commit(_wake_the_sender)
    if confirmed:
        messages.success(request, _("The mail is on its way."))
    else:
        messages.info(request, _("This mail was already confirmed."))
    return _back(request, mail)


@agent_required
@require_POST
def outgoing_discard(request: HttpRequest, pk: int) -> HttpResponse:
    """A mail waiting for confirmation is thrown away: it was never sent, so nothing of it is
    kept (the reply stays on the ticket, marked as not sent by mail)."""
    mail = _outgoing_for(request, pk)
    with transaction.atomic():
        discarded, _kinds = OutgoingMail.objects.filter(
            pk=mail.pk, state=OutgoingMail.State.DRAFT
        ).delete()
        if discarded:
            raw = mail.raw
            transaction.on_commit(lambda: raw.delete(save=False))
    if discarded:
        messages.success(request, _("The mail was discarded."))
    else:
        messages.info(request, _("This mail was already confirmed."))
    return _back(request, mail)


@agent_required
def outgoing_eml(request: HttpRequest, pk: int) -> FileResponse:
    """The message as sent (or as it will be sent), to open in a mail program."""
    mail = _outgoing_for(request, pk)
    return FileResponse(
        mail.raw.open("rb"),
        as_attachment=True,
        filename=f"ticket-{mail.ticket.number}-mail-{mail.pk}.eml",
        content_type="message/rfc822",
    )
