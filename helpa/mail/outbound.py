"""Building outgoing mail and putting it in the outbox.

A message is built completely when it is queued — Message-ID, threading headers, body — and
its bytes are stored, so the worker's retries send exactly the same message and the ticket
shows exactly what went out (T10). Queueing happens inside the caller's transaction: a reply
that rolls back leaves no mail behind; a committed reply always has its mail.
"""

from __future__ import annotations

import email.policy
import email.utils
from collections.abc import Sequence
from dataclasses import dataclass
from email.message import EmailMessage

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from helpa.tickets.models import Article, Queue, Ticket

from .models import MailAddress, OutgoingMail, QueueMail
from .parsing import _unfold

# Automatic mails say so (RFC 3834), and ask Exchange not to answer them with its own.
AUTOMATIC_KINDS = {OutgoingMail.Kind.AUTO_REPLY, OutgoingMail.Kind.REJECTION}
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclass
class Attachment:
    filename: str
    content_type: str
    payload: bytes


def sender_for(queue: Queue | None) -> tuple[str, str]:
    """(display name, address) a queue's mail goes out from."""
    address = None
    if queue is not None:
        address = (
            MailAddress.objects.filter(queue=queue)
            .order_by("-is_sender", "id")
            .values_list("address", flat=True)
            .first()
        )
    address = address or settings.DEFAULT_FROM_EMAIL
    name = ""
    if queue is not None:
        name = QueueMail.objects.filter(queue=queue).values_list("sender_name", flat=True).first()
        name = name or queue.name
    return name or "", address


def ticket_tag(ticket: Ticket) -> str:
    return f"[#{ticket.number}]"


def subject_with_tag(ticket: Ticket, subject: str) -> str:
    tag = ticket_tag(ticket)
    return subject if tag in subject else f"{subject} {tag}".strip()


def _header(value: str) -> str:
    """A header value that cannot start a new header, whatever was typed or received."""
    return _unfold(value)[:900]


def build_message(
    *,
    sender: tuple[str, str],
    to: Sequence[str],
    subject: str,
    text: str,
    html: str = "",
    cc: Sequence[str] = (),
    in_reply_to: str = "",
    references: Sequence[str] = (),
    automatic: bool = False,
    ticket: Ticket | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    message = EmailMessage(policy=SMTP_POLICY)
    sender_name, sender_address = sender
    domain = sender_address.rsplit("@", 1)[-1] or "helpa.invalid"
    message["Message-ID"] = email.utils.make_msgid("helpa", domain=domain)
    message["Date"] = email.utils.format_datetime(timezone.now())
    message["From"] = email.utils.formataddr((_header(sender_name), sender_address))
    message["To"] = ", ".join(_header(a) for a in to)
    if cc:
        message["Cc"] = ", ".join(_header(a) for a in cc)
    message["Subject"] = _header(subject)
    if in_reply_to:
        message["In-Reply-To"] = _header(in_reply_to)
    if references:
        # Keep the first (the thread's root) and the newest: long chains get trimmed like
        # mail clients do.
        refs = list(dict.fromkeys(references))
        refs = refs if len(refs) <= 20 else [refs[0], *refs[-19:]]
        message["References"] = " ".join(_header(r) for r in refs)
    if ticket is not None:
        message["X-Helpa-Ticket"] = str(ticket.number)
    if automatic:
        message["Auto-Submitted"] = "auto-replied"
        message["X-Auto-Response-Suppress"] = "All"
        message["Precedence"] = "auto_reply"
    message.set_content(text or " ")
    if html:
        message.add_alternative(html, subtype="html")
    for item in attachments:
        maintype, _slash, subtype = item.content_type.partition("/")
        message.add_attachment(
            item.payload,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return message


def queue_mail(
    *,
    kind: str,
    queue: Queue | None,
    to: Sequence[str],
    subject: str,
    text: str,
    html: str = "",
    cc: Sequence[str] = (),
    ticket: Ticket | None = None,
    article: Article | None = None,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    state: str = OutgoingMail.State.QUEUED,
) -> OutgoingMail:
    """Build a message and write it to the outbox in the current transaction; the worker is
    woken after commit."""
    sender = sender_for(queue)
    message = build_message(
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        html=html,
        in_reply_to=in_reply_to,
        references=references,
        automatic=kind in AUTOMATIC_KINDS,
        ticket=ticket,
        attachments=attachments,
    )
    outgoing = OutgoingMail(
        kind=kind,
        ticket=ticket,
        article=article,
        queue=queue,
        message_id=str(message["Message-ID"]),
        sender=sender[1],
        recipients=[a.lower() for a in [*to, *cc]],
        subject=str(message["Subject"])[:500],
        state=state,
    )
    outgoing.raw.save("message.eml", ContentFile(message.as_bytes()), save=False)
    outgoing.save()
    if state == OutgoingMail.State.QUEUED:
        transaction.on_commit(_wake_the_sender)
    return outgoing


def _wake_the_sender() -> None:
    from . import tasks  # the task module imports Huey; keep building mail free of it

    tasks.send_outbox_now()
