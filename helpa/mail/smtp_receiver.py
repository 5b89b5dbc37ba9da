"""The built-in SMTP receiver (`helpa smtpd`): the "forward your support mail to us" set-up.

A thin adapter around `ingest.ingest_message`, in the manner of healthchecks' smtpd:

- RCPT: an address bound to a queue (MailAddress) gets 250, any other 550, so a mail server
  never hands us mail we would have to bounce later;
- DATA: the message is stored once per queue its accepted recipients belong to (as `helpa
  mailgate` is run once per queue address by Postfix), and 250 is answered only after the
  ingest transaction committed; a temporary failure (database down, disk full) is 451, so the
  sending server keeps the message and retries;
- size: the installation's limit (MailSettings.max_message_mb) is advertised in EHLO (SIZE) and
  enforced while the data arrives: a larger message gets 552 at SMTP time and the sending server
  writes the bounce. That is the answer a sender expects from SMTP; the pipeline's own "stored
  as rejected, the sender gets a rejection mail" rule is for the ways in that cannot refuse (the
  pipe, IMAP, POP3).

aiosmtpd runs the protocol on an asyncio loop; Django's ORM must not run there. Every database
call goes to a worker thread of the handler's own, each with its own database connection, which
the handler closes when it stops: one thread stores, one answers RCPT's look-ups (so a sender's
RCPT never waits for another's message to be stored). One storing thread keeps SQLite's
one-writer rule simple. Messages that
arrive while that thread is storing wait, and are then stored together in one transaction
(`ingest.Batch`, each message in its own savepoint) — a group commit: a burst from several
connections shares its commits, while each sender still gets its 250 only after the commit that
holds its message.

SMTP answers stay in English on purpose: replies on the wire must be ASCII (RFC 5321).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from django.db import DatabaseError, close_old_connections, connection

from helpa.tickets.models import Queue

from . import ingest
from .models import InboundMail, MailAddress, MailSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

# How long a size limit read from the database is trusted; an admin's change applies to new
# connections within this time, without restarting the receiver.
SETTINGS_TTL_SECONDS = 60.0


@dataclass
class _Delivery:
    """A message waiting for the database thread, and the answer its DATA command awaits."""

    raw: bytes
    recipients: list[str]
    stored: asyncio.Future[list[ingest.IngestResult]]


class HelpaHandler:
    """The aiosmtpd handler: recipients checked against the bound addresses, data ingested."""

    def __init__(self) -> None:
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpa-smtpd-db")
        self._lookups = ThreadPoolExecutor(max_workers=1, thread_name_prefix="helpa-smtpd-rcpt")
        self.max_bytes = 0
        self._settings_read_at = float("-inf")
        self._waiting: list[_Delivery] = []
        self._storer: asyncio.Task[None] | None = None

    # --- The database thread --------------------------------------------------------------------

    def _in_db_thread(self, function: Callable[..., T], *args: Any) -> T:
        """Run in the database thread: a connection that the server closed or that outlived
        its CONN_MAX_AGE is replaced first, as Django does between requests."""
        close_old_connections()
        try:
            return function(*args)
        finally:
            close_old_connections()

    async def _db(self, function: Callable[..., T], *args: Any) -> T:
        """Run in the storing thread."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, self._in_db_thread, function, *args)

    async def _look_up(self, function: Callable[..., T], *args: Any) -> T:
        """Run in the look-up thread (reads only)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._lookups, self._in_db_thread, function, *args)

    def load_settings(self) -> int:
        """The size limit in bytes (read now; also called before the server starts)."""
        self.max_bytes = self._executor.submit(self._in_db_thread, self._read_limit).result()
        return self.max_bytes

    def _read_limit(self) -> int:
        self.max_bytes = MailSettings.load().max_message_bytes
        self._settings_read_at = time.monotonic()
        return self.max_bytes

    def _refresh_limit(self) -> None:
        if time.monotonic() - self._settings_read_at > SETTINGS_TTL_SECONDS:
            self._read_limit()

    def close(self) -> None:
        """Close the threads' database connections and stop the threads."""
        for executor in (self._executor, self._lookups):
            # A lambda: `connection.close` would be looked up here, on this thread's connection.
            executor.submit(lambda: connection.close()).result()
            executor.shutdown(wait=True)

    # --- SMTP hooks -----------------------------------------------------------------------------

    def _queue_of(self, address: str) -> int | None:
        self._refresh_limit()
        return (
            MailAddress.objects.filter(address=address.strip().lower())
            .values_list("queue_id", flat=True)
            .first()
        )

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        try:
            queue_id = await self._look_up(self._queue_of, address)
        except DatabaseError:
            log.exception("smtpd: could not look up the recipient %s", address)
            return "451 4.3.0 Temporary failure, please try again later"
        if queue_id is None:
            return "550 5.1.1 No such mailbox here"
        if self.max_bytes:
            server.data_size_limit = self.max_bytes
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    def _targets(
        self, recipients_of: list[list[str]]
    ) -> list[list[tuple[Queue | None, list[str]]]]:
        """For each message, the queues its recipients are bound to, each with its recipients: a
        message is stored once per queue (one look-up for all messages). A message none of
        whose recipients is bound any more (unbound since RCPT) is stored without a queue, for
        an admin to see."""
        every = {r.lower() for recipients in recipients_of for r in recipients}
        bound = dict(MailAddress.objects.filter(address__in=every).values_list("address", "queue"))
        by_id = Queue.objects.in_bulk(set(bound.values()))
        targets = []
        for recipients in recipients_of:
            queues: dict[int, list[str]] = {}
            for address in recipients:
                queue_id = bound.get(address.lower())
                if queue_id is not None:
                    queues.setdefault(queue_id, []).append(address)
            targets.append(
                [(by_id[queue_id], rcpts) for queue_id, rcpts in queues.items()]
                or [(None, recipients)]
            )
        return targets

    def _ingest(self, raw: bytes, recipients: list[str]) -> list[ingest.IngestResult]:
        """Store one message once for each queue its recipients are bound to, a transaction
        each (`ingest_message`)."""
        return [
            ingest.ingest_message(
                raw, source=InboundMail.Source.SMTP, queue=queue, envelope_recipients=rcpts
            )
            for queue, rcpts in self._targets([recipients])[0]
        ]

    def _ingest_together(
        self, messages: list[tuple[bytes, list[str]]]
    ) -> list[list[ingest.IngestResult] | Exception]:
        """Store several messages in one transaction; for each, its results, or the exception
        to answer 451 with (a message that could not be stored at all). Raises TemporaryFailure
        when nothing could be stored."""
        if len(messages) == 1:
            return [self._ingest(*messages[0])]
        results: list[list[ingest.IngestResult]] = [[] for _message in messages]
        failures: dict[int, Exception] = {}

        def done(index: int, result: ingest.IngestResult) -> None:
            if result.error is not None:
                failures[index] = ingest.TemporaryFailure(str(result.error))
            results[index].append(result)

        batch = ingest.Batch(source=InboundMail.Source.SMTP, done=done)
        targets = self._targets([recipients for _raw, recipients in messages])
        for index, ((raw, _recipients), queues) in enumerate(zip(messages, targets, strict=True)):
            for queue, rcpts in queues:
                batch.add(raw, tag=index, envelope_recipients=rcpts, queue=queue)
        batch.flush()
        return [failures.get(index, found) for index, found in enumerate(results)]

    async def _store(self, raw: bytes, recipients: list[str]) -> list[ingest.IngestResult]:
        """Store a message through the database thread; returns once it is committed."""
        delivery = _Delivery(raw, recipients, asyncio.get_running_loop().create_future())
        self._waiting.append(delivery)
        if self._storer is None or self._storer.done():
            self._storer = asyncio.create_task(self._store_waiting())
        return await delivery.stored

    async def _store_waiting(self) -> None:
        """Store what waits, up to a batch at a time, until nothing does (the group commit)."""
        while self._waiting:
            group = self._next_group()
            messages = [(delivery.raw, delivery.recipients) for delivery in group]
            try:
                outcomes = await self._db(self._ingest_together, messages)
            except Exception as exc:  # noqa: BLE001 — every sender of the group hears of it
                outcomes = [exc] * len(group)
            for delivery, outcome in zip(group, outcomes, strict=True):
                if delivery.stored.done():  # the client went away meanwhile
                    continue
                if isinstance(outcome, Exception):
                    delivery.stored.set_exception(outcome)
                else:
                    delivery.stored.set_result(outcome)

    def _next_group(self) -> list[_Delivery]:
        """The waiting messages to store together: as many as a batch holds (by count and by
        size, as `ingest.Batch` counts them), at least one."""
        size = 0
        for count, delivery in enumerate(self._waiting[: ingest.BATCH_MESSAGES]):
            size += len(delivery.raw)
            if count and size > ingest.BATCH_BYTES:
                break
        else:
            count = min(len(self._waiting), ingest.BATCH_MESSAGES)
        group = self._waiting[:count]
        del self._waiting[:count]
        return group

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or envelope.content or b""
        raw = content if isinstance(content, bytes) else content.encode("utf-8", "surrogateescape")
        if self.max_bytes and len(raw) > self.max_bytes:
            return "552 5.3.4 Message too big for this system"
        # We are the final delivery agent: record the envelope sender as delivery agents do, so
        # that the pipeline recognises bounces (Return-Path: <>) as Postfix's pipe would show it.
        sender = (envelope.mail_from or "").strip().strip("<>")  # aiosmtpd keeps "<>" as is
        raw = b"Return-Path: <%s>\r\n" % sender.encode("ascii", "replace") + raw
        try:
            results = await self._store(raw, list(envelope.rcpt_tos))
        except (ingest.TemporaryFailure, DatabaseError) as exc:
            log.warning("smtpd: temporary failure, the sender will retry: %s", exc)
            return "451 4.3.0 Temporary failure, please try again later"
        for result in results:
            if result.duplicate:
                log.info("smtpd: duplicate message from %s ignored", envelope.mail_from)
        return "250 2.0.0 Message accepted"


class HelpaController(Controller):
    """aiosmtpd's threaded controller, building each connection with the current size limit."""

    handler: HelpaHandler

    def factory(self) -> SMTP:
        if self.handler.max_bytes:
            self.SMTP_kwargs["data_size_limit"] = self.handler.max_bytes
        return super().factory()


def make_controller(host: str, port: int) -> HelpaController:
    """A receiver on host:port (not yet started); the size limit is read now."""
    handler = HelpaHandler()
    limit = handler.load_settings()
    return HelpaController(
        handler,
        hostname=host,
        port=port,
        data_size_limit=limit,
        server_hostname="helpa",
        # Bytes as received: the stored .eml must be exactly what the sender sent.
        decode_data=False,
    )
