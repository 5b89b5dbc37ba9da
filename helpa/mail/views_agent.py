"""What agents do with a received mail on the ticket page: download it as received, move it to
another ticket, split it into a new one. Every view asks `Ticket.objects.visible_to` about each
ticket involved: a ticket the agent may not open is a 404, as on the ticket page itself."""

from __future__ import annotations

from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from helpa.accounts.permissions import agent_required
from helpa.tickets.actions import TicketError
from helpa.tickets.models import Ticket

from . import actions
from .forms import MoveMailForm
from .models import InboundMail


def _inbound_for(request: HttpRequest, pk: int, *, on_ticket: bool = True) -> InboundMail:
    """The received mail behind a URL, or 404 unless the user may open its ticket. Admins may
    also reach mail that is on no ticket (failed, held, rejected)."""
    inbound = get_object_or_404(InboundMail.objects.select_related("ticket"), pk=pk)
    if inbound.ticket_id is None:
        if on_ticket or not request.user.is_admin:
            raise Http404
        return inbound
    if not Ticket.objects.visible_to(request.user).filter(pk=inbound.ticket_id).exists():
        raise Http404
    return inbound


@agent_required
def inbound_raw(request: HttpRequest, pk: int) -> FileResponse:
    """The message exactly as received. Always a download, never rendered: it is foreign
    content (HTML, scripts) and must not run in our origin."""
    inbound = _inbound_for(request, pk, on_ticket=False)
    try:
        raw = inbound.raw.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404 from exc
    response = FileResponse(
        raw,
        as_attachment=True,
        filename=f"mail-{inbound.pk}.eml",
        content_type="application/octet-stream",
    )
    response["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@agent_required
@require_POST
def inbound_move(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = _inbound_for(request, pk)
    source = inbound.ticket
    assert source is not None
    form = MoveMailForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Enter the number of the ticket to move the mail to."))
        return redirect("tickets:detail", number=source.number)
    target = get_object_or_404(
        Ticket.objects.visible_to(request.user), number=form.cleaned_data["ticket"]
    )
    try:
        actions.move_inbound_mail(request.user, inbound, target)
    except TicketError as exc:
        messages.error(request, str(exc))
        return redirect("tickets:detail", number=source.number)
    messages.success(
        request,
        _("The mail was moved to %(ticket)s.") % {"ticket": target.display_number},
    )
    return redirect("tickets:detail", number=target.number)


@agent_required
@require_POST
def inbound_split(request: HttpRequest, pk: int) -> HttpResponse:
    inbound = _inbound_for(request, pk)
    source = inbound.ticket
    assert source is not None
    try:
        target = actions.split_inbound_mail(request.user, inbound)
    except TicketError as exc:
        messages.error(request, str(exc))
        return redirect("tickets:detail", number=source.number)
    messages.success(
        request,
        _("The mail is now the new ticket %(ticket)s.") % {"ticket": target.display_number},
    )
    return redirect("tickets:detail", number=target.number)
