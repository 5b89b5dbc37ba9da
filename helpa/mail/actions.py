"""What an agent does to a received mail that joined the wrong ticket: move it to another ticket,
or split it off into a new one. Both keep the message, its files and its raw .eml together and
say so in the history of both tickets.
"""

from __future__ import annotations

from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from helpa.accounts.models import User
from helpa.tickets import search
from helpa.tickets.actions import TicketError, open_ticket
from helpa.tickets.models import Attachment, Channel, HistoryEntry, Ticket

from .models import InboundMail

# History fields these actions write, with their labels (for the ticket page's history table).
HISTORY_LABELS = {
    "mail_moved_out": gettext_lazy("Mail moved to another ticket"),
    "mail_moved_in": gettext_lazy("Mail moved here"),
}


@transaction.atomic
def move_inbound_mail(actor: User, inbound: InboundMail, target: Ticket) -> InboundMail:
    """Move a received mail's article (and its files) from its ticket to `target`."""
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    source = inbound.ticket
    if source is None or inbound.article is None:
        raise TicketError(_("This mail is not part of a ticket."))
    if target.pk == source.pk:
        raise TicketError(_("The mail is already on this ticket."))
    # Lock both tickets in one order, so two moves in opposite directions cannot deadlock.
    locked = {
        t.pk: t
        for t in Ticket.objects.select_for_update()
        .filter(pk__in=[source.pk, target.pk])
        .order_by("pk")
    }
    source, target = locked[source.pk], locked[target.pk]
    _move(actor, inbound, source, target)
    inbound.thread_reason = (
        _("Moved from %(source)s to %(target)s by %(agent)s.")
        % {"source": source.display_number, "target": target.display_number, "agent": actor}
    )[:500]
    inbound.save(update_fields=["ticket", "thread_reason"])
    return inbound


@transaction.atomic
def split_inbound_mail(actor: User, inbound: InboundMail) -> Ticket:
    """Make a received mail the start of a new ticket in the same queue."""
    inbound = InboundMail.objects.select_for_update().get(pk=inbound.pk)
    source = inbound.ticket
    if source is None or inbound.article is None:
        raise TicketError(_("This mail is not part of a ticket."))
    source = Ticket.objects.select_for_update().get(pk=source.pk)
    contact = inbound.article.author_contact
    target = open_ticket(
        actor,
        queue=source.queue,
        title=(inbound.subject.strip() or _("(no subject)"))[:200],
        channel=Channel.EMAIL,
        contact=contact,
        reindex=False,
    )
    _move(actor, inbound, source, target)
    inbound.thread_reason = (
        _("Split from %(source)s into a new ticket %(target)s by %(agent)s.")
        % {"source": source.display_number, "target": target.display_number, "agent": actor}
    )[:500]
    inbound.save(update_fields=["ticket", "thread_reason"])
    return target


def _move(actor: User, inbound: InboundMail, source: Ticket, target: Ticket) -> None:
    article = inbound.article
    assert article is not None
    files = list(Attachment.objects.filter(article=article))
    # Inline images point at the ticket's URL of the file: point them at the new ticket.
    body = article.body_html
    for attachment in files:
        body = body.replace(
            reverse("tickets:attachment", args=[source.number, attachment.pk]),
            reverse("tickets:attachment", args=[target.number, attachment.pk]),
        )
    article.ticket = target
    article.body_html = body
    article.save(update_fields=["ticket", "body_html"])
    Attachment.objects.filter(article=article).update(ticket=target)
    inbound.ticket = target
    now = timezone.now()
    what = inbound.subject or inbound.from_address or str(inbound.pk)
    HistoryEntry.objects.bulk_create(
        [
            HistoryEntry(
                ticket=source,
                actor=actor,
                field="mail_moved_out",
                old_value=what[:200],
                new_value=target.display_number,
                version=source.version,
                created_at=now,
            ),
            HistoryEntry(
                ticket=target,
                actor=actor,
                field="mail_moved_in",
                old_value=source.display_number,
                new_value=what[:200],
                version=target.version,
                created_at=now,
            ),
        ]
    )
    Ticket.objects.filter(pk__in=[source.pk, target.pk]).update(updated_at=now)
    search.reindex_ticket(source.pk)
    search.reindex_ticket(target.pk)
