"""One pipeline for every message that comes in, whichever way it came.

`ingest_message` stores the raw bytes and what became of them in one transaction: the
`InboundMail` row, the ticket or article, the attachments, the history, the auto-reply in the
outbox. It commits before the caller removes the message from its source (the SMTP 250, the
pipe's exit 0, the webhook's answer), so a crash anywhere means the message is sent or fetched
again and then recognised as a duplicate — stored exactly once.

A message that cannot be processed (a bug, a database constraint) is still stored, raw, as a
failed mail an admin can download and re-process; the next message is not held up.

Callers that have many messages at hand (`import-mail`, IMAP and POP3 polling) use a `Batch`:
several messages in one transaction, each in its own savepoint, so one commit serves them all —
and one message that fails still only fails itself. The source's copies are touched only after
that commit (in `Batch.done`).
"""

from __future__ import annotations

import logging
import re
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from html import escape
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, OperationalError, connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.accounts.models import Role, User
from helpa.crm.models import CompanyDomain, Contact, ContactEmail
from helpa.lib import events, rows
from helpa.tickets import actions, search
from helpa.tickets.models import Article, ArticleKind, Channel, Queue, Status, Ticket

from . import outbound
from .models import (
    FailingAddress,
    InboundMail,
    MailAddress,
    Mailbox,
    MailSettings,
    OutgoingMail,
    Participant,
    QueueMail,
    save_raw,
)
from .parsing import MailPart, ParsedMail, content_hash, parse_message

log = logging.getLogger(__name__)
MAIL_ACTOR = actions.Actor(name="Mail")
TICKET_TAG = re.compile(r"\[#(\d{1,18})\]")


class TemporaryFailure(Exception):
    """The message could not be stored now (database down, disk full): the sender should try
    again later. Nothing was stored."""


@dataclass
class IngestResult:
    inbound: InboundMail | None
    duplicate: bool = False
    # In a batch only: why this message could not be stored at all (nothing of it was kept;
    # its source copy must stay where it is). `ingest_message` raises instead.
    error: BaseException | None = None

    @property
    def ticket(self) -> Ticket | None:
        return self.inbound.ticket if self.inbound else None


def queue_for_recipients(addresses: Sequence[str]) -> Queue | None:
    """The queue bound to the first of these addresses that belongs to one."""
    lowered = [a.strip().lower() for a in addresses if a]
    if not lowered:
        return None
    bound = dict(MailAddress.objects.filter(address__in=lowered).values_list("address", "queue_id"))
    for address in lowered:
        if address in bound:
            return Queue.objects.get(pk=bound[address])
    return None


def dedupe_key(raw: bytes, message_id: str, *, mailbox: Mailbox | None, queue: Queue | None) -> str:
    scope = f"m{mailbox.pk}" if mailbox else f"q{queue.pk if queue else 0}"
    if message_id:
        return f"{scope}:{message_id}"[:400]
    return f"{scope}:sha256:{content_hash(raw)}"


def ingest_message(
    raw: bytes,
    *,
    source: str,
    queue: Queue | None = None,
    mailbox: Mailbox | None = None,
    envelope_recipients: Sequence[str] = (),
) -> IngestResult:
    """Store one message and make it part of a ticket. Raises TemporaryFailure only when
    nothing could be stored; every other outcome is recorded on the InboundMail row."""
    try:
        return _ingest(raw, source, queue, mailbox, envelope_recipients)
    except OperationalError as exc:  # the database is down, locked too long, or the disk full
        raise TemporaryFailure(str(exc)) from exc
    except OSError as exc:  # the raw file could not be written
        raise TemporaryFailure(str(exc)) from exc


def _parse(
    raw: bytes, queue: Queue | None, mailbox: Mailbox | None, envelope_recipients: Sequence[str]
) -> tuple[ParsedMail | None, str, Queue | None, str]:
    """The parsed message (None and the traceback when the parser failed), its queue and its
    dedupe key."""
    queue = queue or (mailbox.queue if mailbox else None)
    parsed: ParsedMail | None = None
    parse_error = ""
    try:
        parsed = parse_message(raw)
    except Exception:  # noqa: BLE001 — a parser bug must not lose the message
        parse_error = traceback.format_exc(limit=5)
        log.exception("could not parse a message of %d bytes", len(raw))
    if queue is None and parsed is not None:
        queue = queue_for_recipients(
            [*envelope_recipients, *(a for _n, a in parsed.to), *(a for _n, a in parsed.cc)]
        )
    key = dedupe_key(raw, parsed.message_id if parsed else "", mailbox=mailbox, queue=queue)
    return parsed, parse_error, queue, key


def _ingest(
    raw: bytes,
    source: str,
    queue: Queue | None,
    mailbox: Mailbox | None,
    envelope_recipients: Sequence[str],
) -> IngestResult:
    parsed, parse_error, queue, key = _parse(raw, queue, mailbox, envelope_recipients)
    if _already_stored(key):
        return IngestResult(inbound=None, duplicate=True)

    inbound = _new_inbound(raw, key, source, queue, mailbox, parsed)
    try:
        try:
            with transaction.atomic():
                if parsed is None:
                    _mark_failed(inbound, parse_error)
                else:
                    _process_or_raise(inbound, parsed)
                # The row is written last, with its outcome: one INSERT, in the same
                # transaction as the ticket article.
                rows.insert(inbound)
        except _ProcessingFailed as failure:
            # Whatever processing wrote is rolled back with its transaction (no savepoint to
            # pay for on every message): the raw message is stored as failed on its own.
            _mark_failed(inbound, failure.error)
            with transaction.atomic():
                inbound.save()
    except IntegrityError:
        inbound.raw.delete(save=False)
        # The same message, stored a moment ago by another process (dedupe_key is unique).
        if InboundMail.objects.filter(dedupe_key=key).exists():
            return IngestResult(inbound=None, duplicate=True)
        raise
    except BaseException:
        inbound.raw.delete(save=False)  # nothing refers to the file: the sender will retry
        raise
    return IngestResult(inbound=inbound)


# A batch commits when it holds this many messages or bytes, whichever comes first: the commit
# is shared, while a batch holds the database's write lock (SQLite) and its messages in memory.
BATCH_MESSAGES = 50
BATCH_BYTES = 16 * 1024 * 1024


@dataclass
class _Pending:
    raw: bytes
    tag: Any  # the caller's name for the message (a path, a UID), handed back with the result
    envelope_recipients: Sequence[str] = ()
    queue: Queue | None = None  # this message's own queue, else the batch's


@dataclass
class Batch:
    """Messages stored several to a transaction, for callers that have many at hand.

        batch = Batch(source=InboundMail.Source.IMPORT, queue=queue, done=report)
        for path in paths:
            batch.add(path.read_bytes(), tag=path)
            if batch.full:
                batch.flush()
        batch.flush()  # the rest

    Every message gets exactly what `ingest_message` gives it — the same checks, the same rows,
    the same failed-mail row when processing fails — but inside its own savepoint of a shared
    transaction: a message that fails is rolled back alone (and stored as failed), the others
    commit. `done(tag, result)` is called for each message, in order, after the commit that
    stored it; only then may the caller flag or delete the source's copy. A result with `error`
    set was not stored at all (its copy must stay). When the database cannot be written
    (`TemporaryFailure`), nothing of the batch is kept and `flush` raises; the batch still
    holds its messages, so calling `flush` again retries them."""

    source: str
    queue: Queue | None = None
    mailbox: Mailbox | None = None
    done: Callable[[Any, IngestResult], None] = lambda _tag, _result: None
    max_messages: int = field(default_factory=lambda: BATCH_MESSAGES)
    max_bytes: int = field(default_factory=lambda: BATCH_BYTES)
    pending: list[_Pending] = field(default_factory=list)
    pending_bytes: int = 0

    def add(
        self,
        raw: bytes,
        *,
        tag: Any = None,
        envelope_recipients: Sequence[str] = (),
        queue: Queue | None = None,
    ) -> None:
        """Queue one message, to be stored by the next `flush` (into `queue`, when given, rather
        than the batch's)."""
        self.pending.append(_Pending(raw, tag, envelope_recipients, queue))
        self.pending_bytes += len(raw)

    @property
    def full(self) -> bool:
        """Whether the batch holds enough to be stored now."""
        return len(self.pending) >= self.max_messages or self.pending_bytes >= self.max_bytes

    def flush(self) -> None:
        """Store the queued messages in one transaction, then report each to `done`."""
        if not self.pending:
            return
        written: list[InboundMail] = []
        try:
            results = self._store_all(written)
        except BaseException as exc:
            for inbound in written:  # nothing refers to these files: the batch is undone
                inbound.raw.delete(save=False)
            if isinstance(exc, OperationalError | OSError):
                raise TemporaryFailure(str(exc)) from exc
            raise
        items, self.pending, self.pending_bytes = self.pending, [], 0
        for item, result in zip(items, results, strict=True):
            self.done(item.tag, result)

    def _store_all(self, written: list[InboundMail]) -> list[IngestResult]:
        # Parsing needs no transaction: it is done before the write lock is taken.
        prepared = [self._prepare(item) for item in self.pending]
        results = []
        with transaction.atomic():
            for item, ready in zip(self.pending, prepared, strict=True):
                if isinstance(ready, IngestResult):
                    results.append(ready)
                    continue
                parsed, parse_error, queue, key = ready
                results.append(self._store_one(item.raw, parsed, parse_error, queue, key, written))
        return results

    def _prepare(
        self, item: _Pending
    ) -> tuple[ParsedMail | None, str, Queue | None, str] | IngestResult:
        try:
            return _parse(
                item.raw, item.queue or self.queue, self.mailbox, item.envelope_recipients
            )
        except OperationalError:
            raise  # the database itself: the whole batch is retried later
        except Exception as exc:  # noqa: BLE001 — one message must not hold up the others
            log.exception("could not look at an inbound mail of %d bytes", len(item.raw))
            return IngestResult(inbound=None, error=exc)

    def _store_one(
        self,
        raw: bytes,
        parsed: ParsedMail | None,
        parse_error: str,
        queue: Queue | None,
        key: str,
        written: list[InboundMail],
    ) -> IngestResult:
        # Asked inside the transaction: a message twice in one batch is a duplicate too.
        if _already_stored(key):
            return IngestResult(inbound=None, duplicate=True)
        inbound = _new_inbound(raw, key, self.source, queue, self.mailbox, parsed)
        written.append(inbound)
        try:
            try:
                with transaction.atomic():  # a savepoint: this message alone is undone
                    if parsed is None:
                        _mark_failed(inbound, parse_error)
                    else:
                        _process_or_raise(inbound, parsed)
                    rows.insert(inbound)
            except _ProcessingFailed as failure:
                _mark_failed(inbound, failure.error)
                with transaction.atomic():
                    rows.insert(inbound)
        except IntegrityError as exc:
            written.remove(inbound)
            inbound.raw.delete(save=False)
            # The same message, stored a moment ago by another process (dedupe_key is unique).
            if InboundMail.objects.filter(dedupe_key=key).exists():
                return IngestResult(inbound=None, duplicate=True)
            log.exception("could not store an inbound mail from %s", inbound.from_address)
            return IngestResult(inbound=None, error=exc)
        except OperationalError:
            raise  # the database itself: the whole batch is retried later
        except Exception as exc:  # noqa: BLE001 — one message must not hold up the others
            log.exception("could not store an inbound mail from %s", inbound.from_address)
            written.remove(inbound)
            inbound.raw.delete(save=False)
            return IngestResult(inbound=None, error=exc)
        return IngestResult(inbound=inbound)


def _already_stored(key: str) -> bool:
    """Whether a message with this dedupe key is stored. Written out: every message asks, and
    the ORM spends ten times the statement's own time building it."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM {InboundMail._meta.db_table} WHERE dedupe_key = %s LIMIT 1", [key]
        )
        return cursor.fetchone() is not None


def _new_inbound(
    raw: bytes,
    key: str,
    source: str,
    queue: Queue | None,
    mailbox: Mailbox | None,
    parsed: ParsedMail | None,
) -> InboundMail:
    """The unsaved row, with the raw message already in storage."""
    inbound = InboundMail(
        source=source,
        mailbox=mailbox,
        queue=queue,
        size=len(raw),
        dedupe_key=key,
        state=InboundMail.State.FAILED,  # until processing says otherwise
    )
    if parsed is not None:
        inbound.message_id = parsed.message_id
        inbound.from_address = parsed.from_address[:300]
        inbound.from_name = parsed.from_name[:300]
        inbound.subject = parsed.subject[:500]
        inbound.is_automatic = bool(parsed.automatic_reason)
    save_raw(inbound.raw, raw)
    return inbound


def _mark_failed(inbound: InboundMail, error: str) -> None:
    inbound.state = InboundMail.State.FAILED
    inbound.error = error[:5000]
    inbound.ticket = None
    inbound.article = None
    inbound.processed_at = timezone.now()


class _ProcessingFailed(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def _process_or_raise(inbound: InboundMail, parsed: ParsedMail) -> None:
    """`process`, any failure of it turned into _ProcessingFailed: the caller rolls back and
    stores the message as failed (shown to admins, re-processable)."""
    try:
        process(inbound, parsed)
    except Exception as exc:
        log.exception("could not process an inbound mail from %s", inbound.from_address)
        raise _ProcessingFailed(traceback.format_exc(limit=8)) from exc


def _process_or_fail(inbound: InboundMail, parsed: ParsedMail) -> None:
    try:
        with transaction.atomic():  # a savepoint: a failure undoes the ticket, keeps the raw
            process(inbound, parsed)
    except Exception:  # noqa: BLE001 — stored as failed, shown to admins, re-processable
        log.exception("could not process an inbound mail from %s", inbound.from_address)
        _mark_failed(inbound, traceback.format_exc(limit=8))


def reprocess(inbound: InboundMail) -> InboundMail:
    """Run a failed or held message through the pipeline again (an admin's button)."""
    with inbound.raw.open("rb") as f:
        raw = f.read()
    parsed = parse_message(raw)
    with transaction.atomic():
        inbound.error = ""
        inbound.message_id = parsed.message_id
        inbound.from_address = parsed.from_address[:300]
        inbound.from_name = parsed.from_name[:300]
        inbound.subject = parsed.subject[:500]
        _process_or_fail(inbound, parsed)
        inbound.save()
    return inbound


# --- What becomes of a message ----------------------------------------------------------------


def process(inbound: InboundMail, parsed: ParsedMail, *, release_held: bool = False) -> None:
    """Decide and do: reject, record a bounce, ignore our own mail, hold, thread or open."""
    settings = MailSettings.cached()
    if inbound.size > settings.max_message_bytes:
        _reject_oversize(inbound, parsed, settings)
        return
    if parsed.is_delivery_report:
        _record_delivery_report(inbound, parsed)
        return
    if _is_our_own(parsed.message_id):
        _finish(inbound, InboundMail.State.IGNORED, reason=_("Our own outgoing message."))
        return
    if inbound.queue is None:
        _finish(
            inbound,
            InboundMail.State.FAILED,
            reason=_("No queue is bound to any recipient address."),
        )
        return

    ticket, reason, related = find_thread(parsed, inbound.queue)
    # The rules (helpa.automation, when installed) answer what only mail can do: another
    # auto-reply text, none at all, or a new ticket for a reply. An empty dict: no rules.
    rules: dict[str, Any] = {}
    events.publish(
        "mail.received", parsed=parsed, queue=inbound.queue, ticket=ticket, decision=rules
    )
    if ticket is not None and rules.get("force_new_ticket"):
        ticket, related = None, ticket
        reason = _("A rule starts a new ticket for this reply (%(rules)s).") % {
            "rules": ", ".join(rules.get("matched", []))
        }
    if ticket is not None:
        article = _add_to_ticket(ticket, parsed, inbound)
        _finish(inbound, InboundMail.State.STORED, reason, ticket=ticket, article=article)
        if rules.get("auto_reply_text") and not parsed.automatic_reason:
            send_auto_reply(ticket, parsed, QueueMail.cached_for(ticket.queue), settings, rules)
        return

    queue_mail = QueueMail.cached_for(inbound.queue)
    if queue_mail.new_mail == QueueMail.NewMail.REVIEW and not release_held:
        _finish(inbound, InboundMail.State.HELD, reason=_("Held for review: a new ticket."))
        return
    ticket, article = _open_ticket(inbound.queue, parsed, inbound, related)
    _finish(inbound, InboundMail.State.STORED, reason, ticket=ticket, article=article)
    wanted = queue_mail.auto_reply and not rules.get("suppress_auto_reply")
    if (wanted or rules.get("auto_reply_text")) and not parsed.automatic_reason:
        send_auto_reply(ticket, parsed, queue_mail, settings, rules)


def _is_our_own(message_id: str) -> bool:
    """Our outgoing mail coming back (a forward loop, a list echoing it). Our Message-IDs carry
    "helpa" before the @ (outbound.build_message), so other mail needs no look-up."""
    if ".helpa@" not in message_id:
        return False
    return OutgoingMail.objects.filter(message_id=message_id).exists()


def _finish(
    inbound: InboundMail,
    state: str,
    reason: str,
    *,
    ticket: Ticket | None = None,
    article: Article | None = None,
) -> None:
    inbound.state = state
    inbound.thread_reason = reason[:500]
    inbound.ticket = ticket
    inbound.article = article
    inbound.processed_at = timezone.now()


# --- Threading ----------------------------------------------------------------------------------


def find_thread(parsed: ParsedMail, queue: Queue) -> tuple[Ticket | None, str, Ticket | None]:
    """The ticket this mail continues, why, and — when it names a ticket but may not join it —
    that ticket, so the new one can point at it. The reason is shown to agents."""
    candidate, reason = _ticket_named_by(parsed)
    if candidate is None:
        return None, _("New ticket: the mail names no earlier message or ticket."), None
    if candidate.status == Status.CLOSED:
        return (
            None,
            _("New ticket: %(reason)s, but %(ticket)s is closed.")
            % {"reason": reason, "ticket": candidate.display_number},
            candidate,
        )
    if not is_participant(candidate, parsed.from_address):
        return (
            None,
            _("New ticket: %(reason)s, but the sender %(sender)s takes no part in %(ticket)s.")
            % {
                "reason": reason,
                "sender": parsed.from_address,
                "ticket": candidate.display_number,
            },
            candidate,
        )
    return (
        candidate,
        _("Added to %(ticket)s: %(reason)s.")
        % {
            "ticket": candidate.display_number,
            "reason": reason,
        },
        None,
    )


def _ticket_named_by(parsed: ParsedMail) -> tuple[Ticket | None, str]:
    ids = parsed.thread_ids
    if ids:
        known: dict[str, tuple[int, str]] = {}
        for is_ours, mid, ticket_id, article_id in _mails_with_ids(ids):
            if is_ours:
                known[mid] = (ticket_id, _("our reply %(id)s") % {"id": article_id or mid})
            else:
                what = _("message %(id)s") % {"id": article_id or mid}
                known.setdefault(mid, (ticket_id, what))
        for mid in ids:  # nearest first
            if mid in known:
                ticket_id, what = known[mid]
                header = "In-Reply-To" if mid in parsed.in_reply_to else "References"
                ticket = _ticket_with_contact("id = %s", ticket_id)
                if ticket is None:
                    raise Ticket.DoesNotExist(f"no ticket {ticket_id}")
                return ticket, _("%(header)s %(mid)s is %(what)s") % {
                    "header": header,
                    "mid": mid,
                    "what": what,
                }
    match = TICKET_TAG.search(parsed.subject)
    if match:
        ticket = _ticket_with_contact("number = %s", int(match.group(1)))
        if ticket is None:
            return None, ""
        return ticket, _("the subject carries the tag %(tag)s") % {"tag": match.group(0)}
    return None, ""


def _ticket_with_contact(where: str, value: int) -> Ticket | None:
    """The ticket with its contact (`select_related("contact")`): whether the sender takes
    part, and who the participants are, are then answered without asking again. Read with
    `rows.fetch`: every reply asks."""
    ticket = rows.fetch(Ticket, where, [value])
    if ticket is not None and ticket.contact_id:
        ticket.contact = rows.fetch(Contact, "id = %s", [ticket.contact_id])
    return ticket


def _mails_with_ids(ids: list[str]) -> list[tuple[bool, str, int, int | None]]:
    """(ours, Message-ID, ticket, article) of the mails we sent (ours, first) or received
    (newest first) with one of these Message-IDs, on a ticket: one statement for both tables,
    written out (see `_already_stored`)."""
    marks = ", ".join(["%s"] * len(ids))
    sql = (
        "SELECT 1 AS ours, message_id, ticket_id, article_id, created_at AS at, id "
        f"FROM {OutgoingMail._meta.db_table} "
        f"WHERE message_id IN ({marks}) AND ticket_id IS NOT NULL "
        "UNION ALL "
        "SELECT 0 AS ours, message_id, ticket_id, article_id, received_at AS at, id "
        f"FROM {InboundMail._meta.db_table} "
        f"WHERE message_id IN ({marks}) AND ticket_id IS NOT NULL "
        "ORDER BY ours DESC, at DESC, id DESC"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*ids, *ids])
        return [(bool(row[0]), row[1], row[2], row[3]) for row in cursor.fetchall()]


def is_participant(ticket: Ticket, address: str) -> bool:
    """The contact, a CC'd address, a follower or an agent may add to a ticket by mail."""
    address = address.lower()
    if not address:
        return False
    if ticket.contact_id and ticket.contact.email == address:
        return True
    # A CC'd participant, an active agent, or an active user following the ticket: one
    # statement, written out (every reply asks; see `_already_stored`).
    followers = Ticket.followers.through._meta.db_table
    sql = (
        f"SELECT 1 FROM {Participant._meta.db_table} WHERE ticket_id = %s AND address = %s "
        "UNION ALL "
        f"SELECT 1 FROM {User._meta.db_table} u WHERE LOWER(u.email) = %s AND u.is_active = %s "
        "AND (u.role IN (%s, %s) OR EXISTS "
        f"(SELECT 1 FROM {followers} f WHERE f.ticket_id = %s AND f.user_id = u.id)) "
        "LIMIT 1"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [ticket.pk, address, address, True, Role.ADMIN, Role.AGENT, ticket.pk])
        return cursor.fetchone() is not None


# --- Tickets and articles -----------------------------------------------------------------------


# The ticket actions are each a `transaction.atomic` unit; inside the pipeline they already run
# in the message's own transaction (or savepoint, in a batch), which undoes all of the message
# when anything fails. Their own savepoint would undo nothing more and costs two statements and
# the bookkeeping around them, so the pipeline calls the actions' bodies. (Anything they call in
# turn — rules, SLA — keeps its own savepoints.)
def _without_savepoint(action: Callable[..., Any]) -> Callable[..., Any]:
    if not connection.in_atomic_block:  # (never the case here: then the action's own)
        return action
    return getattr(action, "__wrapped__", action)


def contact_for(address: str, name: str) -> Contact | None:
    """The contact with this address; an unknown sender becomes a new contact (M4)."""
    if not address:
        return None
    # The oldest contact with the address as their primary one or a further one (ContactEmail,
    # lower-case). One query, each side an index lookup; a UNION rather than an OR, which would
    # let PostgreSQL walk the whole contact table for an unknown sender. Written out (every mail
    # asks): `rows.fetch` costs a fraction of what the ORM spends building this one.
    contact = rows.fetch(
        Contact,
        f"id IN (SELECT id FROM {Contact._meta.db_table} WHERE email = %s UNION ALL "
        f"SELECT contact_id FROM {ContactEmail._meta.db_table} WHERE address = %s) "
        "ORDER BY id LIMIT 1",
        [address, address.lower()],
    )
    if contact is None:
        contact = rows.create(
            Contact(
                name=(name or address.split("@")[0])[:200],
                email=address,
                company_id=_company_id_for(address),
            )
        )
    return contact


def _company_id_for(address: str) -> int | None:
    """`company_for_address`, the id only, written out: every new sender asks."""
    domain = address.rpartition("@")[2].strip().lower()
    if not domain:
        return None
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT company_id FROM {CompanyDomain._meta.db_table} WHERE domain = %s", [domain]
        )
        row = cursor.fetchone()
    return row[0] if row else None


def _agent_with(address: str) -> User | None:
    """The active agent or admin with this (lower-case) address: `User.objects.agents()`,
    written out (every reply asks)."""
    if not address:
        return None
    return rows.fetch(
        User,
        "LOWER(email) = %s AND is_active = %s AND role IN (%s, %s) ORDER BY full_name, id LIMIT 1",
        [address.lower(), True, Role.ADMIN, Role.AGENT],
    )


def _uploads(parts: Sequence[MailPart]) -> list[SimpleUploadedFile]:
    used: set[str] = set()
    uploads = []
    for part in parts:
        name = part.filename
        stem, dot, ext = name.rpartition(".")
        n = 2
        while name in used:  # two parts named image.png must not share a cid: reference
            name = f"{stem}-{n}.{ext}" if dot else f"{ext}-{n}"
            n += 1
        used.add(name)
        part.filename = name
        uploads.append(SimpleUploadedFile(name, part.payload, content_type=part.content_type))
    return uploads


def _body_with_file_references(parsed: ParsedMail) -> str:
    """Inline images are referenced as cid:<Content-ID>; the ticket actions resolve
    cid:<filename> to the stored file."""
    html = parsed.html
    for part in parsed.attachments:
        if part.content_id:
            html = html.replace(f"cid:{part.content_id}", f"cid:{part.filename}")
    return html


def _add_participants(ticket: Ticket, parsed: ParsedMail, contact_address: str) -> None:
    """Everyone else on the mail (To and Cc, a CC'd colleague answering) may follow the
    ticket by mail: keep them as participants. Our own addresses are not participants."""
    candidates = {
        a
        for _n, a in [*parsed.to, *parsed.cc, ("", parsed.from_address)]
        if a and a != contact_address
    }
    if not candidates:
        return
    wanted = candidates - MailAddress.cached_addresses()
    if not wanted:
        return
    existing = set(
        Participant.objects.filter(ticket=ticket, address__in=wanted).values_list(
            "address", flat=True
        )
    )
    Participant.objects.bulk_create(
        Participant(ticket=ticket, address=a) for a in sorted(wanted - existing)
    )


def _paragraph(text: str) -> str:
    return f"<p>{escape(text)}</p>"


def _add_to_ticket(ticket: Ticket, parsed: ParsedMail, inbound: InboundMail) -> Article:
    agent = _agent_with(parsed.from_address)
    uploads = _uploads(parsed.attachments)
    body = _body_with_file_references(parsed) or _paragraph(_("(empty message)"))
    if agent is not None:
        # A colleague answering a notice by mail: kept internal until they reply properly.
        article = _without_savepoint(actions.add_article)(
            agent, ticket, ArticleKind.NOTE, body, attachments=uploads
        )
    else:
        contact = contact_for(parsed.from_address, parsed.from_name)
        article = _without_savepoint(actions.add_article)(
            MAIL_ACTOR,
            ticket,
            ArticleKind.CUSTOMER,
            body,
            attachments=uploads,
            contact=contact,
            author_name=parsed.from_name or parsed.from_address,
        )
        actions.reopen_for_customer_message(MAIL_ACTOR, ticket)
    contact_address = ticket.contact.email if ticket.contact_id else ""
    _add_participants(ticket, parsed, contact_address or "")
    return article


def _open_ticket(
    queue: Queue, parsed: ParsedMail, inbound: InboundMail, related: Ticket | None
) -> tuple[Ticket, Article]:
    contact = contact_for(parsed.from_address, parsed.from_name)
    title = parsed.subject.strip() or _("(no subject)")
    # One search-index update at the end instead of one per step.
    ticket = _without_savepoint(actions.open_ticket)(
        MAIL_ACTOR,
        queue=queue,
        title=title[:200],
        channel=Channel.EMAIL,
        contact=contact,
        reindex=False,
    )
    uploads = _uploads(parsed.attachments)
    body = _body_with_file_references(parsed) or _paragraph(_("(empty message)"))
    article = _without_savepoint(actions.add_article)(
        MAIL_ACTOR,
        ticket,
        ArticleKind.CUSTOMER,
        body,
        attachments=uploads,
        contact=contact,
        author_name=parsed.from_name or parsed.from_address,
        reindex=False,
        touch=False,
    )
    bodies = [article.body_text]
    if related is not None:
        note = _without_savepoint(actions.add_article)(
            MAIL_ACTOR,
            ticket,
            ArticleKind.SYSTEM,
            _paragraph(_("This mail refers to %(ticket)s.") % {"ticket": related.display_number}),
            reindex=False,
            touch=False,
        )
        bodies.append(note.body_text)
    # Everything the index holds was written just now: index it without reading it back.
    search.index_document(
        ticket.id, ticket.title, search.document_text(ticket.description_text, bodies), new=True
    )
    _add_participants(ticket, parsed, contact.email if contact else "")
    return ticket, article


# --- Automatic mail -----------------------------------------------------------------------------


def may_send_automatic_mail(
    address: str, ticket: Ticket | None, settings: MailSettings | None = None
) -> bool:
    """Two auto-responders must never ping-pong: caps per address per ticket and per day, and
    nothing to an address our mail bounced from."""
    if not address:
        return False
    settings = settings or MailSettings.load()
    failing, today, on_ticket = _automatic_mail_counts(address, ticket.pk if ticket else None)
    return (
        not failing
        and today < settings.auto_mails_per_day
        and on_ticket < settings.auto_mails_per_ticket
    )


# `kind IN ('auto_reply', 'rejection')`: fixed codes, written as the index's condition is.
_AUTOMATIC_KINDS_SQL = ", ".join(f"'{kind}'" for kind in sorted(outbound.AUTOMATIC_KINDS))


def _automatic_mail_counts(address: str, ticket_id: int | None) -> tuple[int, int, int]:
    """Whether the address bounced before, and how many automatic mails went to it over the
    last day and on this ticket. One statement, written out: it runs for every new ticket,
    and building it with the ORM (an aggregate and an exists) costs several times the query.
    The kinds are written into the statement as the partial index `outbox_automatic_idx`
    states them: SQLite matches an IN list of parameters to no partial index, and read the
    whole outbox for every new ticket."""
    since = connection.ops.adapt_datetimefield_value(timezone.now() - timedelta(days=1))
    sql = (
        f"SELECT (SELECT COUNT(*) FROM {FailingAddress._meta.db_table} WHERE address = %s), "
        "COUNT(*) FILTER (WHERE created_at >= %s), COUNT(*) FILTER (WHERE ticket_id = %s) "
        f"FROM {OutgoingMail._meta.db_table} "
        f"WHERE first_recipient = %s AND kind IN ({_AUTOMATIC_KINDS_SQL})"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [address, since, ticket_id, address])
        failing, today, on_ticket = cursor.fetchone()
    return failing, today, on_ticket


def send_auto_reply(
    ticket: Ticket,
    parsed: ParsedMail,
    queue_mail: QueueMail,
    settings: MailSettings,
    rules: dict[str, Any] | None = None,
) -> None:
    """The queue's auto-reply, or the text a rule chose (`rules["auto_reply_text"]`)."""
    address = parsed.reply_to or parsed.from_address
    if not may_send_automatic_mail(address, ticket, settings):
        return
    from .texts import auto_reply  # noqa: PLC0415

    subject, text = auto_reply(ticket, queue_mail, (rules or {}).get("auto_reply_text", ""))
    text += outbound.brand_footer(ticket.queue, cached=True)
    outbound.queue_mail(
        kind=OutgoingMail.Kind.AUTO_REPLY,
        queue=ticket.queue,
        to=[address],
        subject=outbound.subject_with_tag(ticket, subject),
        text=text,
        ticket=ticket,
        in_reply_to=parsed.message_id,
        references=[*parsed.references, parsed.message_id] if parsed.message_id else [],
        queue_mail=queue_mail,
        sender=outbound.sender_for(ticket.queue, queue_mail, cached=True),
    )


def _reject_oversize(inbound: InboundMail, parsed: ParsedMail, settings: MailSettings) -> None:
    reason = _("The message is %(size)s MB; the limit is %(limit)s MB.") % {
        "size": round(inbound.size / 1024 / 1024, 1),
        "limit": settings.max_message_mb,
    }
    _finish(inbound, InboundMail.State.REJECTED, reason)
    address = parsed.reply_to or parsed.from_address
    if parsed.automatic_reason or not may_send_automatic_mail(address, None, settings):
        return
    from .texts import rejection  # noqa: PLC0415

    subject, text = rejection(parsed.subject, settings.max_message_mb)
    outbound.queue_mail(
        kind=OutgoingMail.Kind.REJECTION,
        queue=inbound.queue,
        to=[address],
        subject=subject,
        text=text,
        in_reply_to=parsed.message_id,
        references=[parsed.message_id] if parsed.message_id else [],
    )


def _record_delivery_report(inbound: InboundMail, parsed: ParsedMail) -> None:
    """A bounce of our mail belongs to the ticket of that mail; the address is marked failing."""
    original = (
        OutgoingMail.objects.filter(message_id__in=parsed.bounced_message_ids)
        .select_related("ticket")
        .first()
    )
    for address in parsed.bounced_recipients:
        FailingAddress.objects.update_or_create(
            address=address[:254],
            defaults={"reason": parsed.subject[:500], "bounced_at": timezone.now()},
        )
    recipients = ", ".join(parsed.bounced_recipients) or _("an unknown recipient")
    if original is None or original.ticket is None:
        _finish(
            inbound,
            InboundMail.State.BOUNCE,
            _("Delivery report for %(recipients)s; the original mail is not ours or not known.")
            % {"recipients": recipients},
        )
        return
    article = actions.add_article(
        MAIL_ACTOR,
        original.ticket,
        ArticleKind.SYSTEM,
        _paragraph(
            _("Mail to %(recipients)s could not be delivered: %(subject)s")
            % {"recipients": recipients, "subject": parsed.subject}
        ),
    )
    _finish(
        inbound,
        InboundMail.State.BOUNCE,
        _("Delivery report of our mail %(mid)s.") % {"mid": original.message_id},
        ticket=original.ticket,
        article=article,
    )


def release_held(inbound: InboundMail) -> InboundMail:
    """An admin accepts a held message: it becomes a ticket now."""
    with inbound.raw.open("rb") as f:
        parsed = parse_message(f.read())
    with transaction.atomic():
        process(inbound, parsed, release_held=True)
        inbound.save()
    return inbound
