"""Building outgoing mail and putting it in the outbox.

A message is built completely when it is queued — Message-ID, threading headers, body — and
its bytes are stored, so the worker's retries send exactly the same message and the ticket
shows exactly what went out (T10). Queueing happens inside the caller's transaction: a reply
that rolls back leaves no mail behind; a committed reply always has its mail.
"""

from __future__ import annotations

import email.charset
import email.header
import email.policy
import email.utils
import logging
import mimetypes
import os
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from email.message import EmailMessage
from html import escape

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Brand
from helpa.lib import rows
from helpa.lib.html import text_to_html
from helpa.tickets.models import Article, ArticleKind, Queue, Ticket
from helpa.tickets.models import Attachment as TicketAttachment

from . import texts
from .models import (
    AgentBrandSignature,
    AgentSignature,
    FailingAddress,
    InboundMail,
    MailAddress,
    MailSettings,
    OutgoingMail,
    Participant,
    QueueMail,
    _recent,
    save_raw,
)
from .parsing import _unfold, decode_header

log = logging.getLogger(__name__)
# Automatic mails say so (RFC 3834), and ask Exchange not to answer them with its own.
AUTOMATIC_KINDS = {OutgoingMail.Kind.AUTO_REPLY, OutgoingMail.Kind.REJECTION}
# Notices Helpa writes for one reader (a link to a reply, an assignment, a mention) are
# "auto-generated" (RFC 3834): the reader's own auto-responder must not answer them.
GENERATED_KINDS = {OutgoingMail.Kind.NOTICE, OutgoingMail.Kind.AGENT, OutgoingMail.Kind.REMINDER}
# An address as it may stand in an envelope and a header: no white space, no control character,
# none of the characters that end an address — whatever a contact record or a received mail
# held, an address can add no header and no SMTP command.
_ADDRESS = re.compile(r"[^\s<>()\[\],;:\"\\@]+@[^\s<>()\[\],;:\"\\@]+")
# A recipient: an address, or (display name, address).
Recipient = str | tuple[str, str]
SMTP_POLICY = email.policy.SMTP.clone(max_line_length=998)


@dataclass
class Attachment:
    filename: str
    content_type: str
    payload: bytes
    # Set for an image the HTML part shows as `cid:<content_id>`: sent in multipart/related.
    content_id: str = ""


def clean_address(value: str) -> str:
    """The address in lower case, or "" when it is not one plain address."""
    address = (value or "").strip().lower()
    return address if _ADDRESS.fullmatch(address) and address.isprintable() else ""


def _clean_recipients(recipients: Iterable[Recipient]) -> list[tuple[str, str]]:
    """(name, address) pairs with valid, distinct addresses; the others are left out."""
    cleaned: dict[str, str] = {}
    for recipient in recipients:
        name, raw = recipient if isinstance(recipient, tuple) else ("", recipient)
        address = clean_address(raw)
        if not address:
            log.warning("not mailing %r: not a valid address", raw)
        elif address not in cleaned:
            cleaned[address] = name or ""
    return [(name, address) for address, name in cleaned.items()]


def _recipient_header(recipient: Recipient) -> str:
    name, address = recipient if isinstance(recipient, tuple) else ("", recipient)
    return email.utils.formataddr((_text_header(name), _header(address)))


def brand_of(queue: Queue | None, *, cached: bool = False) -> Brand | None:
    """The brand a queue answers for, if any. No query for an unbranded queue; `cached`: from a
    per-process copy at most a few seconds old (the mail pipeline's hot path)."""
    if queue is None or queue.brand_id is None:
        return None
    if not cached:
        return queue.brand
    brand_id = queue.brand_id
    return _recent.get(("brand", brand_id), lambda: Brand.objects.filter(pk=brand_id).first())


def sender_for(
    queue: Queue | None, queue_mail: QueueMail | None = None, *, cached: bool = False
) -> tuple[str, str]:
    """(display name, address) a queue's mail goes out from. `cached`: the address as the mail
    pipeline reads its settings, at most a few seconds old (MailAddress.cached_sender_of).

    Precedence, most specific first — queue → brand → installation. Address: the queue's own
    sender address (marked "send replies from this address"), the brand's sender address, the
    queue's first address, DEFAULT_FROM_EMAIL. Name: the queue's sender name, the brand's,
    the queue's name."""
    brand = brand_of(queue, cached=cached)
    brand_address = brand.sender_address if brand else ""
    address = None
    if queue is not None:
        address = (
            MailAddress.cached_sender_of(queue, brand_address)
            if cached
            else MailAddress.sender_of(queue, brand_address)
        )
    address = address or settings.DEFAULT_FROM_EMAIL
    name = ""
    if queue is not None:
        if queue_mail is None:
            queue_mail = QueueMail.objects.filter(queue=queue).first()
        name = (
            (queue_mail.sender_name if queue_mail else "")
            or (brand.sender_name if brand else "")
            or queue.name
        )
    return name or "", address


def ticket_tag(ticket: Ticket) -> str:
    return f"[#{ticket.number}]"


def subject_with_tag(ticket: Ticket, subject: str) -> str:
    tag = ticket_tag(ticket)
    return subject if tag in subject else f"{subject} {tag}".strip()


def _header(value: str) -> str:
    """A header value that cannot start a new header, whatever was typed or received."""
    return _unfold(value)[:900]


def _text_header(value: str) -> str:
    """A name or subject as its reader sees it: encoded words are decoded first, so neither a
    raw nor an encoded CR/LF survives (the policy encodes the text again where needed)."""
    return decode_header(value or "")[:900]


def _is_plain(value: str) -> bool:
    """Printable ASCII that no reader decodes: a header value that may be stored as it is."""
    return value.isascii() and value.isprintable() and "=?" not in value


def _encoded_words(value: str) -> str:
    """Text as RFC 2047 encoded words (UTF-8): printable ASCII whatever the text holds."""
    return email.header.Header(value, "utf-8").encode()


def _unstructured(value: str) -> str:
    """A subject as a header value of printable ASCII: plain words as they are, each run of
    other words as encoded words (a space inside a run is encoded with it, as decoders drop
    the white space between two encoded words). Folding lines start with a space: the policy
    joins them again, and no line can start a header."""
    if _is_plain(value):
        return value
    runs: list[tuple[bool, list[str]]] = []
    for word in value.split(" "):
        plain = _is_plain(word)
        if runs and runs[-1][0] == plain:
            runs[-1][1].append(word)
        else:
            runs.append((plain, [word]))
    return " ".join(
        " ".join(words) if plain else _encoded_words(" ".join(words)) for plain, words in runs
    )


def _mailbox(name: str, address: str) -> str | None:
    """`name <address>` as a header value of printable ASCII, or None when the address is not
    a plain one (the policy then formats the header)."""
    if not (_is_plain(address) and _ADDRESS.fullmatch(address)):
        return None
    if not name:
        return address
    if _is_plain(name):
        return email.utils.formataddr((name, address))  # quotes specials
    # One encoded word, as formataddr writes it: parsers of an address header keep the white
    # space between two encoded words of a display name.
    return f"{email.charset.Charset('utf-8').header_encode(name)} <{address}>"


def _set_addresses(message: EmailMessage, header: str, recipients: Sequence[Recipient]) -> None:
    values = []
    for recipient in recipients:
        name, address = recipient if isinstance(recipient, tuple) else ("", recipient)
        values.append(_mailbox(_text_header(name), _header(address)))
    if all(v is not None for v in values):
        message.set_raw(header, ", ".join(v for v in values if v is not None))
    else:
        message[header] = ", ".join(_recipient_header(r) for r in recipients)


def _set_message_ids(message: EmailMessage, header: str, ids: Sequence[str]) -> None:
    values = [_header(i) for i in ids]
    if all(_is_plain(v) and " " not in v for v in values):
        message.set_raw(header, " ".join(values))
    else:
        message[header] = " ".join(values)


def _set_text_body(message: EmailMessage, text: str) -> bytes | None:
    """A text/plain body, as `set_content` makes it (7bit or 8bit UTF-8), without the policy
    parsing the headers it writes. Returns the body as the generator writes it; None when a
    line is too long for 8bit and `set_content` chose the encoding."""
    lines = text.encode("utf-8").splitlines()
    if any(len(line) > SMTP_POLICY.max_line_length for line in lines):
        message.set_content(text)
        return None
    payload = b"\n".join(lines) + b"\n"
    message.set_raw("Content-Type", 'text/plain; charset="utf-8"')
    message.set_raw("Content-Transfer-Encoding", "7bit" if payload.isascii() else "8bit")
    message.set_payload(payload.decode("ascii", "surrogateescape"))
    message.set_raw("MIME-Version", "1.0")
    return payload.replace(b"\n", SMTP_POLICY.linesep.encode())


@dataclass
class _Composed:
    message: EmailMessage
    message_id: str
    subject: str  # as the reader sees it
    # A single text part: its bytes, written without the generator (which parses
    # Content-Type twice to choose how to write the part).
    text_body: bytes | None = None

    def as_bytes(self) -> bytes:
        if self.text_body is None:
            return self.message.as_bytes()
        head = b"".join(SMTP_POLICY.fold_binary(n, v) for n, v in self.message.raw_items())
        return head + SMTP_POLICY.linesep.encode() + self.text_body


def build_message(
    *,
    sender: tuple[str, str],
    to: Sequence[Recipient],
    subject: str,
    text: str,
    html: str = "",
    cc: Sequence[Recipient] = (),
    in_reply_to: str = "",
    references: Sequence[str] = (),
    automatic: bool = False,
    auto_submitted: str = "",
    ticket: Ticket | None = None,
    attachments: Sequence[Attachment] = (),
) -> EmailMessage:
    """The complete message. `automatic`: an automatic answer (auto-replied);
    `auto_submitted`: another Auto-Submitted value (auto-generated for notices). Attachments
    with a content_id are the HTML part's inline images (multipart/related)."""
    return _compose(
        sender=sender,
        to=to,
        subject=subject,
        text=text,
        html=html,
        cc=cc,
        in_reply_to=in_reply_to,
        references=references,
        automatic=automatic,
        auto_submitted=auto_submitted,
        ticket=ticket,
        attachments=attachments,
    ).message


def _compose(
    *,
    sender: tuple[str, str],
    to: Sequence[Recipient],
    subject: str,
    text: str,
    html: str = "",
    cc: Sequence[Recipient] = (),
    in_reply_to: str = "",
    references: Sequence[str] = (),
    automatic: bool = False,
    auto_submitted: str = "",
    ticket: Ticket | None = None,
    attachments: Sequence[Attachment] = (),
) -> _Composed:
    """`build_message`, with the message's Message-ID, subject and bytes at hand."""
    message = EmailMessage(policy=SMTP_POLICY)
    sender_name, sender_address = sender
    domain = sender_address.rsplit("@", 1)[-1] or "helpa.invalid"
    message_id = email.utils.make_msgid("helpa", domain=domain)
    # Every header is composed here as printable ASCII and stored as it is (set_raw): the
    # policy's parsing of a header costs more than the rest of the message. A name or subject
    # is decoded first (no raw or encoded CR/LF survives, see _text_header) and encoded again
    # as RFC 2047 words; a value that is not plain (an odd address or Message-ID) still goes
    # through the policy.
    _set_message_ids(message, "Message-ID", [message_id])
    message.set_raw("Date", email.utils.format_datetime(timezone.now()))
    _set_addresses(message, "From", [(sender_name, sender_address)])
    _set_addresses(message, "To", to)
    if cc:
        _set_addresses(message, "Cc", cc)
    subject_text = _text_header(subject)
    message.set_raw("Subject", _unstructured(subject_text))
    if in_reply_to:
        _set_message_ids(message, "In-Reply-To", [in_reply_to])
    if references:
        # Keep the first (the thread's root) and the newest: long chains get trimmed like
        # mail clients do.
        refs = list(dict.fromkeys(references))
        refs = refs if len(refs) <= 20 else [refs[0], *refs[-19:]]
        _set_message_ids(message, "References", refs)
    if ticket is not None:
        message.set_raw("X-Helpa-Ticket", str(int(ticket.number)))
    if automatic:
        message.set_raw("Auto-Submitted", "auto-replied")
        message.set_raw("X-Auto-Response-Suppress", "All")
        message.set_raw("Precedence", "auto_reply")
    elif auto_submitted:
        message["Auto-Submitted"] = auto_submitted
        message.set_raw("X-Auto-Response-Suppress", "All")
    if not html and not attachments:
        body = _set_text_body(message, text or " ")
        return _Composed(message, message_id, subject_text, body)
    message.set_content(text or " ")
    html_part = None
    if html:
        message.add_alternative(html, subtype="html")
        html_part = message.get_body(("html",))
    for item in attachments:
        maintype, _slash, subtype = item.content_type.partition("/")
        if item.content_id and html_part is not None:
            # text/html becomes multipart/related(text/html, image…) inside the alternative.
            html_part.add_related(
                item.payload,
                maintype=maintype or "application",
                subtype=subtype or "octet-stream",
                cid=f"<{item.content_id}>",
                filename=item.filename,
                # Shown in the text, not offered as a file to save.
                disposition="inline",
            )
            continue
        message.add_attachment(
            item.payload,
            maintype=maintype or "application",
            subtype=subtype or "octet-stream",
            filename=item.filename,
        )
    return _Composed(message, message_id, subject_text)


def queue_mail(
    *,
    kind: str,
    queue: Queue | None,
    to: Sequence[Recipient],
    subject: str,
    text: str,
    html: str = "",
    cc: Sequence[Recipient] = (),
    ticket: Ticket | None = None,
    article: Article | None = None,
    in_reply_to: str = "",
    references: Sequence[str] = (),
    attachments: Sequence[Attachment] = (),
    state: str = OutgoingMail.State.QUEUED,
    queue_mail: QueueMail | None = None,
    note: str = "",
    sender: tuple[str, str] | None = None,
) -> OutgoingMail | None:
    """Build a message and write it to the outbox in the current transaction; the worker is
    woken after commit. `queue_mail`: the queue's mail settings, when the caller has them;
    `sender`: (name, address) it goes out from, when the caller has it (else `sender_for`).
    `note`: shown to agents with the message (why it waits for confirmation). Recipients that
    are not plain addresses are left out; None when no addressee is left."""
    to = _clean_recipients(to)
    addressees = {address for _name, address in to}
    cc = [r for r in _clean_recipients(cc) if r[1] not in addressees]
    if not to:
        return None
    sender = sender or sender_for(queue, queue_mail)
    composed = _compose(
        sender=sender,
        to=to,
        cc=cc,
        subject=subject,
        text=text,
        html=html,
        in_reply_to=in_reply_to,
        references=references,
        automatic=kind in AUTOMATIC_KINDS,
        auto_submitted="auto-generated" if kind in GENERATED_KINDS else "",
        ticket=ticket,
        attachments=attachments,
    )
    outgoing = OutgoingMail(
        kind=kind,
        ticket=ticket,
        article=article,
        queue=queue,
        message_id=composed.message_id,
        sender=sender[1],
        recipients=[address for _name, address in [*to, *cc]],
        first_recipient=to[0][1][:254],
        subject=composed.subject[:500],
        state=state,
        last_error=note[:2000],
    )
    save_raw(outgoing.raw, composed.as_bytes())
    rows.insert(outgoing)
    if state == OutgoingMail.State.QUEUED:
        transaction.on_commit(_wake_the_sender)
    return outgoing


# A busy gateway commits hundreds of auto-replies a second; one run of the worker drains the whole
# outbox, so a task per commit only costs (an enqueue is a write to Huey's store). Outside
# immediate mode a process enqueues at most one wake per WAKE_INTERVAL at once, and for the
# commits in between one wake scheduled to run at the end of the interval: every committed mail
# still has a wake that runs after its commit.
WAKE_INTERVAL = 1.0


@dataclass
class _Wakes:
    last: float = float("-inf")  # when the last wake was enqueued to run at once
    scheduled_for: float = float("-inf")  # when the wake scheduled for later runs


_wakes = _Wakes()


def _wake_the_sender() -> None:
    from huey.contrib.djhuey import HUEY  # noqa: PLC0415

    from . import tasks  # noqa: PLC0415 — the task module imports Huey; keep building mail free of it

    if HUEY.immediate:  # tests: the mail is sent at once, after every commit
        tasks.send_outbox_now()
        return
    now = time.monotonic()
    if now < _wakes.scheduled_for:
        return  # the scheduled wake runs after this commit
    if now - _wakes.last >= WAKE_INTERVAL:
        _wakes.last = now
        tasks.send_outbox_now()
    else:
        _wakes.scheduled_for = _wakes.last + WAKE_INTERVAL
        tasks.send_outbox_now.schedule(delay=_wakes.scheduled_for - now)


# --- Replies and notices to contacts -----------------------------------------------------------

# Mail a contact receives on a ticket: what their mail client threads, and what References name.
CONTACT_KINDS = [
    OutgoingMail.Kind.REPLY,
    OutgoingMail.Kind.NOTICE,
    OutgoingMail.Kind.AUTO_REPLY,
    OutgoingMail.Kind.REMINDER,
]
_REPLY_PREFIX = re.compile(r"^\s*(re|sv|aw|vs|antw)\s*:", re.IGNORECASE)


@dataclass
class Thread:
    """What our next mail on a ticket answers, for the contact's mail client."""

    in_reply_to: str
    references: list[str]
    answers_customer: bool  # the ticket holds a mail of the customer: our subject says "Re:"


def thread_of(ticket: Ticket) -> Thread:
    """In-Reply-To: the customer's newest mail on the ticket, else our newest mail to them.
    References: the ticket's mails oldest first, ending with that one (build_message trims)."""
    received = list(
        InboundMail.objects.filter(
            ticket=ticket, state=InboundMail.State.STORED, article__kind=ArticleKind.CUSTOMER
        )
        .exclude(message_id="")
        .values_list("received_at", "message_id")
    )
    sent = list(
        OutgoingMail.objects.filter(
            ticket=ticket,
            kind__in=CONTACT_KINDS,
            state__in=[OutgoingMail.State.QUEUED, OutgoingMail.State.SENT],
        ).values_list("created_at", "message_id")
    )
    chain = [mid for _at, mid in sorted([*received, *sent], key=lambda row: row[0])]
    newest = max(received, key=lambda row: row[0])[1] if received else ""
    in_reply_to = newest or (chain[-1] if chain else "")
    references = [mid for mid in chain if mid != in_reply_to]
    if in_reply_to:
        references.append(in_reply_to)
    return Thread(in_reply_to, references, answers_customer=bool(received))


def reply_subject(ticket: Ticket, thread: Thread) -> str:
    subject = ticket.title
    if thread.answers_customer and not _REPLY_PREFIX.match(subject):
        subject = f"Re: {subject}"
    return subject_with_tag(ticket, subject)


def reply_recipients(ticket: Ticket) -> tuple[tuple[str, str] | None, list[str]]:
    """The contact (To) and the ticket's other participants (Cc): everyone in the
    conversation hears the answer, as in Zendesk and Zammad. (None, …) without a usable
    contact address."""
    contact = ticket.contact
    address = clean_address(contact.email) if contact else ""
    if not address:
        return None, []
    ours = set(MailAddress.objects.values_list("address", flat=True))
    cc = [
        a
        for a in Participant.objects.filter(ticket=ticket)
        .order_by("added_at", "id")
        .values_list("address", flat=True)
        if clean_address(a) and a.lower() not in ours and a.lower() != address
    ]
    return (contact.name, address), cc


def first_filled(candidates: Iterable[Callable[[], str]]) -> str:
    """The first candidate giving a text that is not blank. Candidates are called in order and
    only as far as needed, so a level that is not reached costs no query."""
    for candidate in candidates:
        value = (candidate() or "").strip()
        if value:
            return value
    return ""


def signature_for(agent: User | None, general: MailSettings, brand: Brand | None = None) -> str:
    """The signature rule (M6): the agent's own for the ticket's brand → the brand's → the
    agent's own → the general one. The first that is not blank wins."""
    return first_filled(
        [
            lambda: _personal_brand_signature(agent, brand),
            lambda: brand.signature if brand else "",
            lambda: _personal_signature(agent),
            lambda: general.signature,
        ]
    )


def closing_greeting_for(
    agent: User | None, general: MailSettings, brand: Brand | None = None
) -> str:
    """The closing greeting: the brand's, else the general one (agents have no greeting of
    their own)."""
    return first_filled(
        [lambda: brand.closing_greeting if brand else "", lambda: general.closing_greeting]
    )


def _personal_brand_signature(agent: User | None, brand: Brand | None) -> str:
    if agent is None or brand is None:
        return ""
    return (
        AgentBrandSignature.objects.filter(user=agent, brand=brand)
        .values_list("signature", flat=True)
        .first()
        or ""
    )


def brand_footer(queue: Queue | None, *, cached: bool = False) -> str:
    """The closing greeting and signature a brand's automatic mail (auto-reply, reminder,
    notice) ends with, as plain text; "" for an unbranded queue (that mail stays as it was)."""
    brand = brand_of(queue, cached=cached)
    if brand is None or queue is None:
        return ""
    values = {"agent": "", "queue": queue.name, "number": ""}
    greeting = texts.fill(brand.closing_greeting.strip(), values)
    signature = texts.fill(brand.signature.strip(), values)
    footer = ""
    if greeting:
        footer += "\n\n" + greeting
    if signature:
        footer += "\n\n-- \n" + signature
    return footer


def _personal_signature(agent: User | None) -> str:
    if agent is None:
        return ""
    return (
        AgentSignature.objects.filter(user=agent).values_list("signature", flat=True).first() or ""
    )


def _reply_content(
    ticket: Ticket, article: Article, agent: User | None
) -> tuple[str, str, list[Attachment]]:
    """Text, HTML and files of a reply's mail: the reply, the closing greeting, the signature
    (placeholders {agent}, {queue}, {number}), the reply's files; images shown in the reply
    travel as inline parts (cid:) so the customer sees them without logging in."""
    general = MailSettings.load()
    brand = brand_of(ticket.queue)
    values = {
        "agent": str(agent) if agent else "",
        "queue": ticket.queue.name,
        "number": ticket.display_number,
    }
    greeting = texts.fill(closing_greeting_for(agent, general, brand), values)
    signature = texts.fill(signature_for(agent, general, brand), values)

    text = article.body_text
    if greeting:
        text += "\n\n" + greeting
    if signature:
        # "-- " marks the signature: mail clients leave it out when quoting the answer.
        text += "\n\n-- \n" + signature

    # Every mail to the contact carries the way back to the ticket (a fresh ticket link).
    link_words, link = texts.follow_link(ticket)
    text += f"\n\n{link_words} {link}"

    body_html, files = _with_inline_images(ticket, article)
    # A brand's mail carries its logo (an inline part, so it shows without loading anything
    # from the web) and its colour as a band above the text (a validated #rrggbb).
    logo = brand_logo_part(brand) if brand else None
    if logo is not None:
        files.insert(0, logo)
    band = _brand_band(brand, logo) if brand else ""
    html = (
        '<!DOCTYPE html><html><head><meta charset="utf-8"></head><body>'
        + band
        + body_html
        + (text_to_html(greeting) if greeting else "")
        + (f'<div class="signature">{text_to_html(signature)}</div>' if signature else "")
        + f'<p class="ticket-link">{escape(link_words)} <a href="{escape(link)}">{escape(link)}</a></p>'
        + "</body></html>"
    )
    return text, html, files


# Logo files a mail client shows inline; anything else is not put in a mail as a logo.
LOGO_TYPES = {"image/png", "image/jpeg", "image/gif", "image/webp"}


def brand_logo_part(brand: Brand) -> Attachment | None:
    """The brand's logo as an inline image of the HTML part (multipart/related, shown as
    `cid:`), read from storage once for the message (all its recipients get the same bytes).
    None without a logo, for a file that is not an image, or when the file cannot be read (the
    mail then goes out as without a logo: a missing logo must not stop a reply)."""
    if not brand.logo:
        return None
    content_type = mimetypes.guess_type(brand.logo.name)[0] or ""
    if content_type not in LOGO_TYPES:
        log.warning("brand %s: logo %s is not an image a mail can show", brand.code, brand.logo)
        return None
    try:
        with brand.logo.open("rb") as f:
            payload = f.read()
    except OSError:
        log.exception("brand %s: logo %s cannot be read", brand.code, brand.logo.name)
        return None
    return Attachment(
        filename=os.path.basename(brand.logo.name),
        content_type=content_type,
        payload=payload,
        content_id=email.utils.make_msgid("logo", domain="helpa.invalid")[1:-1],
    )


def _brand_band(brand: Brand, logo: Attachment | None) -> str:
    """The head of a brand's HTML mail: its logo (the brand's name as alt text) or its name,
    above a band of its colour; "" for a brand with neither a logo nor a colour."""
    if logo is None and not brand.primary_colour:
        return ""
    content = (
        f'<img src="cid:{logo.content_id}" alt="{escape(brand.name)}" style="max-height:60px">'
        if logo is not None
        else escape(brand.name)
    )
    style = (
        f' style="border-top:4px solid {brand.primary_colour};padding-top:8px"'
        if brand.primary_colour
        else ""
    )
    return f'<div class="brand"{style}>{content}</div>'


def _with_inline_images(ticket: Ticket, article: Article) -> tuple[str, list[Attachment]]:
    """The reply's HTML with the ticket's attachment URLs of its images rewritten to cid:
    parts, and every file to send: the reply's own and the images it shows."""
    html = article.body_html
    prefix = reverse("tickets:attachment", args=[ticket.number, 0])[: -len("0/")]
    shown = {int(pk) for pk in re.findall(re.escape(prefix) + r"(\d+)/", html)}
    stored = TicketAttachment.objects.filter(ticket=ticket).filter(
        Q(article=article) | Q(pk__in=shown)
    )
    files = []
    for item in stored.order_by("id"):
        try:
            with item.file.open("rb") as f:
                payload = f.read()
        except OSError:
            log.exception("attachment %s of ticket %s is missing", item.pk, ticket.number)
            continue
        content_id = ""
        src = f'src="{prefix}{item.pk}/"'
        if item.pk in shown and item.is_image and src in html:
            content_id = email.utils.make_msgid("img", domain="helpa.invalid")[1:-1]
            html = html.replace(src, f'src="cid:{content_id}"')
        elif item.article_id != article.pk:
            continue  # another entry's file, only linked, not shown: not sent
        files.append(
            Attachment(
                filename=item.filename,
                content_type=item.content_type or "application/octet-stream",
                payload=payload,
                content_id=content_id,
            )
        )
    return html, files


def queue_reply(article: Article, agent: User | None) -> OutgoingMail | None:
    """The mail of an agent's reply, written in the reply's transaction. By the queue's
    notification policy: the full reply, a link to the ticket, or nothing. It waits for an
    agent's confirmation when the queue asks for that or when an address bounced before.
    None when no mail is made (the reply shows why: see mail/article_delivery.html)."""
    ticket = Ticket.objects.select_related("queue__brand", "contact").get(pk=article.ticket_id)
    settings_ = QueueMail.objects.filter(queue=ticket.queue).first() or QueueMail(
        queue=ticket.queue
    )
    if settings_.contact_notices == QueueMail.ContactNotices.NEVER:
        return None
    to, cc = reply_recipients(ticket)
    if to is None:
        return None
    failing = list(
        FailingAddress.objects.filter(address__in=[to[1], *cc])
        .order_by("address")
        .values_list("address", "reason", "bounced_at")
    )
    draft = settings_.confirm_before_sending or bool(failing)
    thread = thread_of(ticket)
    common = {
        "queue": ticket.queue,
        "queue_mail": settings_,
        "to": [to],
        "cc": cc,
        "subject": reply_subject(ticket, thread),
        "ticket": ticket,
        "article": article,
        "in_reply_to": thread.in_reply_to,
        "references": thread.references,
        "state": OutgoingMail.State.DRAFT if draft else OutgoingMail.State.QUEUED,
        "note": texts.failing_note(failing) if failing else "",
    }
    if settings_.contact_notices == QueueMail.ContactNotices.LINK:
        return queue_mail(
            kind=OutgoingMail.Kind.NOTICE,
            text=texts.reply_link_notice(ticket) + brand_footer(ticket.queue),
            **common,
        )
    text, html, files = _reply_content(ticket, article, agent)
    return queue_mail(
        kind=OutgoingMail.Kind.REPLY, text=text, html=html, attachments=files, **common
    )


def queue_agent_notice(ticket: Ticket, user: User, subject: str, text: str) -> OutgoingMail | None:
    """A mail to a colleague about a ticket (assigned, mentioned). Answering it by mail adds an
    internal note to the ticket (see ingest), so it carries the ticket's tag."""
    if not user.is_active or not user.email:
        return None
    if FailingAddress.objects.filter(address=user.email.lower()).exists():
        log.warning("no notice to %s: the address bounced before", user.email)
        return None
    return queue_mail(
        kind=OutgoingMail.Kind.AGENT,
        queue=ticket.queue,
        to=[(str(user), user.email)],
        subject=subject_with_tag(ticket, subject),
        text=text,
        ticket=ticket,
    )
