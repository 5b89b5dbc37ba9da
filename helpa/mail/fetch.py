"""Fetching mail from IMAP and POP3 mailboxes: a thin adapter around `ingest.Batch`.

The order of events is what makes a poll safe to kill at any point:

1. download messages (IMAP: `BODY.PEEK[]` by UID, so they are not marked read; POP3: RETR);
2. `ingest.Batch` stores them, several to a transaction, each in its own savepoint, and
   commits (or recognises one as already stored);
3. only then act on the server, message by message — IMAP: flag \\Seen (keep), \\Deleted +
   expunge (delete) or move; POP3: DELE (applied by the server at QUIT);
4. remember the messages (`FetchedMessage`, IMAP `last_uid`) so a mailbox that keeps its mail
   is not downloaded again.

A crash between 2 and 4 means the messages are downloaded again next time and ingest answers
"duplicate": every message is stored exactly once; a crash before 2 commits stores none of the
batch, and leaves every message of it on the server. One message that cannot be stored never
holds up the others: it stays on the server, unremembered, and is tried again at the next
poll. A `TemporaryFailure` (the database is down) ends the poll without touching the messages
of the batch.

IMAP UIDs are only meaningful within one UIDVALIDITY. When the server changes it (the folder
was rebuilt), Helpa forgets `last_uid` and looks at every message again; de-duplication keeps
the ones already stored from becoming second articles.
"""

from __future__ import annotations

import base64
import imaplib
import ipaddress
import json
import logging
import os
import poplib
import socket
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlencode, urlsplit

from django.db import DatabaseError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from . import ingest
from .models import FetchedMessage, InboundMail, Mailbox

log = logging.getLogger(__name__)
# Seconds a connect, a read or a token request may take before the poll gives up.
SOCKET_TIMEOUT = 60
# An access token this close to its expiry is renewed first.
TOKEN_MARGIN = timedelta(seconds=60)
# Rows per `server_id__in` query when checking which messages were imported already.
CHUNK = 500
# Messages fetched per poll of one mailbox: a first poll of a mailbox holding 50,000 messages
# imports them over several polls, each short, instead of in one poll of hours.
MESSAGES_PER_POLL = 500
# How long a poll's claim on its mailbox lasts; renewed while the poll fetches.
POLL_CLAIM = timedelta(minutes=10)
RENEW_EVERY = 50  # messages


class MailboxError(Exception):
    """The mailbox cannot be polled; the message is for the admin (Mailbox.last_error)."""


@dataclass
class PollResult:
    fetched: int = 0  # messages downloaded
    stored: int = 0  # new messages stored (on a ticket, held, rejected, ignored …)
    duplicates: int = 0  # downloaded again, already stored before
    failed: int = 0  # stored raw as failed mail, or not stored at all (left on the server)
    error: str = ""  # why the poll stopped early or a message stayed on the server
    waiting: int = 0  # new messages left for the next poll (MESSAGES_PER_POLL reached)
    busy: bool = False  # another process was polling the mailbox: this poll did nothing

    def note(self, text: str) -> None:
        self.error = f"{self.error}\n{text}" if self.error else text


# --- Polling --------------------------------------------------------------------------------------


def poll_all() -> dict[int, PollResult]:
    """Poll every active mailbox once; one mailbox's trouble never stops the others."""
    results = {}
    for mailbox in Mailbox.objects.filter(is_active=True).select_related("queue").order_by("pk"):
        results[mailbox.pk] = poll_mailbox(mailbox)
    return results


def _holder() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _is_dead_here(holder: str) -> bool:
    """Whether `holder` ("host:pid") is a process of this machine that no longer runs."""
    host, _colon, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # it runs, as another user
        return False
    return False


def _claim(mailbox: Mailbox) -> bool:
    """Take the mailbox for one poll, unless another process (the worker, `helpa fetchmail`)
    has it: a conditional UPDATE, so two processes never both win. A claim ends with its poll;
    one left by a process that died is taken over at once when that process ran on this
    machine, else it expires after POLL_CLAIM."""
    now = timezone.now()
    claim = {"polling_until": now + POLL_CLAIM, "polled_by": _holder()}
    mine = Mailbox.objects.filter(pk=mailbox.pk)
    if mine.filter(Q(polling_until__isnull=True) | Q(polling_until__lt=now)).update(**claim):
        return True
    holder = mine.values_list("polled_by", flat=True).first() or ""
    if holder and _is_dead_here(holder):
        log.warning("mailbox %s: taking over the poll of %s, which died", mailbox.pk, holder)
        return bool(mine.filter(polled_by=holder).update(**claim))
    return False


def _release(mailbox: Mailbox) -> None:
    try:
        Mailbox.objects.filter(pk=mailbox.pk, polled_by=_holder()).update(
            polling_until=None, polled_by=""
        )
    except DatabaseError:  # it expires by itself
        log.exception("could not release mailbox %s", mailbox.pk)


def poll_mailbox(mailbox: Mailbox) -> PollResult:
    """Fetch new mail of one mailbox, store it, then flag, delete or move it on the server.
    Connection and sign-in trouble ends up in `mailbox.last_error`, in words for the admin.
    At most MESSAGES_PER_POLL messages are fetched; the rest wait for the next poll."""
    result = PollResult()
    if not _claim(mailbox):
        result.busy = True
        return result
    try:
        _poll_claimed(mailbox, result)
    finally:
        _release(mailbox)
    return result


def _poll_claimed(mailbox: Mailbox, result: PollResult) -> None:
    try:
        if mailbox.protocol == Mailbox.Protocol.POP3:
            _poll_pop3(mailbox, result)
        else:
            _poll_imap(mailbox, result)
    except MailboxError as exc:
        result.note(str(exc))
    except ingest.TemporaryFailure as exc:
        result.note(
            _(
                "A message could not be stored now (%(error)s). It stays on the server and "
                "is fetched again at the next poll."
            )
            % {"error": exc}
        )
    except (OSError, imaplib.IMAP4.error, poplib.error_proto) as exc:
        result.note(_describe(exc, mailbox))
    except Exception as exc:  # noqa: BLE001 — a bug must show on the mailbox, not only in a log
        log.exception("polling mailbox %s failed", mailbox.pk)
        result.note(_("Polling failed unexpectedly: %(error)s") % {"error": exc})
    if result.error:
        log.warning("mailbox %s (%s): %s", mailbox.pk, mailbox.name, result.error)
    mailbox.last_polled_at = timezone.now()
    mailbox.last_error = result.error
    try:
        mailbox.save(update_fields=["last_polled_at", "last_error"])
    except DatabaseError:  # the database is down: the log line above is all we can leave
        log.exception("could not record the poll of mailbox %s", mailbox.pk)


def _renew_claim(mailbox: Mailbox, result: PollResult) -> None:
    if result.fetched % RENEW_EVERY == 0:  # a long poll keeps its claim on the mailbox
        Mailbox.objects.filter(pk=mailbox.pk).update(polling_until=timezone.now() + POLL_CLAIM)


def _counted(result: PollResult, what: str, outcome: ingest.IngestResult, mailbox: Mailbox) -> bool:
    """Count one stored message. True when it is safely stored (now or before), so the server
    copy may be flagged or removed."""
    if outcome.error is not None:  # not stored at all: the next message is not held up
        log.error("mailbox %s: %s could not be stored: %s", mailbox.pk, what, outcome.error)
        result.failed += 1
        result.note(
            _(
                "Message %(what)s could not be stored (%(error)s). It stays on the server and "
                "is tried again at the next poll."
            )
            % {"what": what, "error": outcome.error}
        )
        return False
    if outcome.duplicate:
        result.duplicates += 1
    elif outcome.inbound is not None and outcome.inbound.state == InboundMail.State.FAILED:
        result.failed += 1
    else:
        result.stored += 1
    return True


def _already_fetched(mailbox: Mailbox, server_ids: Iterable[str]) -> set[str]:
    ids = list(server_ids)
    known: set[str] = set()
    for start in range(0, len(ids), CHUNK):
        known.update(
            FetchedMessage.objects.filter(
                mailbox=mailbox, server_id__in=ids[start : start + CHUNK]
            ).values_list("server_id", flat=True)
        )
    return known


def _remember(mailbox: Mailbox, server_ids: list[str], *, last_uid: int | None = None) -> None:
    """Remember these messages as fetched (one transaction for a batch of them)."""
    if not server_ids and last_uid is None:
        return
    with transaction.atomic():
        FetchedMessage.objects.bulk_create(
            [FetchedMessage(mailbox=mailbox, server_id=server_id) for server_id in server_ids],
            ignore_conflicts=True,
        )
        if last_uid is not None and last_uid > mailbox.last_uid:
            mailbox.last_uid = last_uid
            mailbox.save(update_fields=["last_uid"])


# --- TLS, errors ----------------------------------------------------------------------------------


def _tls_context(mailbox: Mailbox) -> ssl.SSLContext:
    context = ssl.create_default_context()
    if not mailbox.verify_tls:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _port(mailbox: Mailbox) -> int:
    if mailbox.port:
        return mailbox.port
    tls = mailbox.security == "tls"
    if mailbox.protocol == Mailbox.Protocol.POP3:
        return 995 if tls else 110
    return 993 if tls else 143


def _reason(exc: BaseException) -> str:
    """The server's words, without Python's b'…' around them."""
    if exc.args and isinstance(exc.args[0], bytes):
        return exc.args[0].decode("utf-8", "replace")
    return str(exc) or exc.__class__.__name__


def _describe(exc: BaseException, mailbox: Mailbox) -> str:
    server = f"{mailbox.host}:{_port(mailbox)}"
    values = {"server": server, "host": mailbox.host, "reason": _reason(exc)}
    if isinstance(exc, ssl.SSLCertVerificationError):
        return (
            _(
                "The TLS certificate of %(server)s is not trusted (%(reason)s). Use a "
                "certificate signed by a public authority, or switch off the certificate "
                "check for this mailbox if the server is on a network you trust."
            )
            % values
        )
    if isinstance(exc, ssl.SSLError):
        return _("The TLS connection to %(server)s failed: %(reason)s") % values
    if isinstance(exc, socket.gaierror):
        return _("The server name %(host)s could not be found.") % values
    if isinstance(exc, TimeoutError):
        return _("%(server)s did not answer within %(seconds)s seconds.") % {
            **values,
            "seconds": SOCKET_TIMEOUT,
        }
    if isinstance(exc, ConnectionRefusedError):
        return _("%(server)s refused the connection. Are the server and port right?") % values
    if isinstance(exc, OSError):
        return _("The connection to %(server)s failed: %(reason)s") % values
    return _("%(server)s answered with an error: %(reason)s") % values


def _sign_in_refused(mailbox: Mailbox, exc: BaseException) -> MailboxError:
    return MailboxError(
        _("The server refused the sign-in of %(user)s: %(reason)s")
        % {"user": mailbox.username, "reason": _reason(exc)}
    )


# --- OAuth 2 (XOAUTH2) ----------------------------------------------------------------------------


def xoauth2_string(username: str, access_token: str) -> bytes:
    """The SASL XOAUTH2 initial client response (before base64), as Google and Microsoft
    document it."""
    return f"user={username}\x01auth=Bearer {access_token}\x01\x01".encode()


def access_token(mailbox: Mailbox, *, renew: bool = False) -> tuple[str, bool]:
    """A valid access token for the mailbox and whether it was just issued. Renews it with the
    refresh-token grant when it is missing or about to expire, and keeps a rotated refresh
    token."""
    now = timezone.now()
    if (
        not renew
        and mailbox.oauth_access_token
        and mailbox.oauth_expires_at
        and mailbox.oauth_expires_at > now + TOKEN_MARGIN
    ):
        return mailbox.oauth_access_token, False
    url = mailbox.oauth_token_url
    if not url or not mailbox.oauth_refresh_token:
        raise MailboxError(_("OAuth 2 sign-in needs the provider's token URL and a refresh token."))
    parts = urlsplit(url)
    if parts.scheme != "https" and not _is_loopback(parts.hostname or ""):
        raise MailboxError(_("The OAuth token URL must start with https://."))
    form = {
        "grant_type": "refresh_token",
        "client_id": mailbox.oauth_client_id,
        "refresh_token": mailbox.oauth_refresh_token,
    }
    if mailbox.oauth_client_secret:
        form["client_secret"] = mailbox.oauth_client_secret
    if mailbox.oauth_scope:
        form["scope"] = mailbox.oauth_scope
    request = urllib.request.Request(
        url,
        data=urlencode(form).encode(),
        headers={
            "Accept": "application/json",
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=SOCKET_TIMEOUT) as response:
            answer = json.load(response)
    except urllib.error.HTTPError as exc:
        raise MailboxError(
            _(
                "The OAuth provider refused to renew the access (%(reason)s). Connect the "
                "mailbox again to give Helpa a new refresh token."
            )
            % {"reason": _oauth_error(exc)}
        ) from exc
    except (OSError, ValueError) as exc:  # URLError is an OSError; ValueError: not JSON
        raise MailboxError(
            _("The OAuth token URL %(url)s could not be used: %(reason)s")
            % {"url": url, "reason": _reason(exc)}
        ) from exc
    token = answer.get("access_token") if isinstance(answer, dict) else None
    if not token:
        raise MailboxError(_("The OAuth provider's answer carries no access token."))
    mailbox.oauth_access_token = token
    mailbox.oauth_expires_at = now + timedelta(seconds=int(answer.get("expires_in") or 3600))
    fields = ["oauth_access_token", "oauth_expires_at"]
    if answer.get("refresh_token"):  # providers that rotate refresh tokens
        mailbox.oauth_refresh_token = answer["refresh_token"]
        fields.append("oauth_refresh_token")
    mailbox.save(update_fields=fields)
    return token, True


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _oauth_error(exc: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(exc.read() or b"{}")
    except ValueError:
        body = {}
    if isinstance(body, dict) and body.get("error"):
        described = body.get("error_description")
        return f"{body['error']}: {described}" if described else str(body["error"])
    return f"HTTP {exc.code}"


def _sign_in_with_token(mailbox: Mailbox, attempt: Callable[[str], None]) -> None:
    """Sign in with the stored access token; if the server refuses it (revoked, expired early),
    renew it once and try again."""
    token, fresh = access_token(mailbox)
    try:
        attempt(token)
    except (imaplib.IMAP4.error, poplib.error_proto) as exc:
        if fresh:
            raise _sign_in_refused(mailbox, exc) from exc
        token, _fresh = access_token(mailbox, renew=True)
        try:
            attempt(token)
        except (imaplib.IMAP4.error, poplib.error_proto) as exc2:
            raise _sign_in_refused(mailbox, exc2) from exc2


# --- IMAP ---------------------------------------------------------------------------------------


def imap_folder_name(name: str) -> bytes:
    """A folder name as IMAP wants it on the wire: modified UTF-7 (RFC 3501 5.1.3), quoted."""
    out: list[bytes] = []
    pending: list[str] = []

    def flush() -> None:
        if pending:
            encoded = base64.b64encode("".join(pending).encode("utf-16-be"))
            out.append(b"&" + encoded.rstrip(b"=").replace(b"/", b",") + b"-")
            pending.clear()

    for char in name:
        if 0x20 <= ord(char) <= 0x7E:
            flush()
            out.append(b"&-" if char == "&" else char.encode())
        else:
            pending.append(char)
    flush()
    wire = b"".join(out)
    return b'"' + wire.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def _imap_connect(mailbox: Mailbox) -> imaplib.IMAP4:
    port = _port(mailbox)
    if mailbox.security == "tls":
        return imaplib.IMAP4_SSL(
            mailbox.host, port, ssl_context=_tls_context(mailbox), timeout=SOCKET_TIMEOUT
        )
    conn = imaplib.IMAP4(mailbox.host, port, timeout=SOCKET_TIMEOUT)
    if mailbox.security == "starttls":
        if "STARTTLS" not in conn.capabilities:
            _imap_close(conn)
            raise MailboxError(
                _("%(server)s does not offer STARTTLS.") % {"server": f"{mailbox.host}:{port}"}
            )
        conn.starttls(ssl_context=_tls_context(mailbox))
    return conn


def _imap_close(conn: imaplib.IMAP4) -> None:
    try:
        conn.logout()
    except (OSError, imaplib.IMAP4.error):
        pass


def _imap_sign_in(conn: imaplib.IMAP4, mailbox: Mailbox) -> set[str]:
    """Sign in; the capabilities the server offers once signed in (MOVE, UIDPLUS …)."""
    if mailbox.auth == Mailbox.Auth.XOAUTH2:

        def attempt(token: str) -> None:
            initial = xoauth2_string(mailbox.username, token)
            answered = False

            def respond(challenge: bytes) -> bytes:
                # The first challenge is empty; a second one carries the server's error details
                # (JSON), to which the client must send an empty line.
                nonlocal answered
                if answered:
                    return b""
                answered = True
                return initial

            conn.authenticate("XOAUTH2", respond)

        _sign_in_with_token(mailbox, attempt)
    else:
        try:
            if mailbox.password.isascii():
                conn.login(mailbox.username, mailbox.password)
            else:  # LOGIN is ASCII-only; SASL PLAIN carries UTF-8
                plain = f"\0{mailbox.username}\0{mailbox.password}".encode()
                conn.authenticate("PLAIN", lambda _challenge: plain)
        except imaplib.IMAP4.error as exc:
            raise _sign_in_refused(mailbox, exc) from exc
    typ, data = conn.capability()
    return set(data[0].decode().upper().split()) if typ == "OK" and data[0] else set()


def _imap_new_uids(conn: imaplib.IMAP4, mailbox: Mailbox) -> tuple[int, list[int]]:
    """Select the folder; the UIDVALIDITY and the UIDs above last_uid, oldest first."""
    typ, data = conn.select(imap_folder_name(mailbox.folder))  # type: ignore[arg-type]
    if typ != "OK":
        raise MailboxError(
            _("The folder %(folder)s could not be opened: %(reason)s")
            % {"folder": mailbox.folder, "reason": _reason(Exception(*data))}
        )
    _typ, values = conn.response("UIDVALIDITY")
    uidvalidity = int(values[0]) if values and values[0] else 0
    if uidvalidity != mailbox.uidvalidity:
        if mailbox.uidvalidity is not None:
            log.warning(
                "mailbox %s: UIDVALIDITY changed from %s to %s; every message is looked at again",
                mailbox.pk,
                mailbox.uidvalidity,
                uidvalidity,
            )
        with transaction.atomic():
            mailbox.fetched.exclude(server_id__startswith=f"{uidvalidity}:").delete()
            mailbox.uidvalidity = uidvalidity
            mailbox.last_uid = 0
            mailbox.save(update_fields=["uidvalidity", "last_uid"])
    typ, data = conn.uid("SEARCH", f"UID {mailbox.last_uid + 1}:*")
    if typ != "OK":
        raise MailboxError(
            _("%(server)s answered with an error: %(reason)s")
            % {"server": mailbox.host, "reason": _reason(Exception(*data))}
        )
    # "n:*" always includes the newest message, even when its UID is below n.
    uids = sorted({int(u) for u in (data[0] or b"").split()} - {0})
    uids = [uid for uid in uids if uid > mailbox.last_uid]
    return uidvalidity, uids


def _imap_body(data: list) -> bytes | None:
    for item in data:
        if isinstance(item, tuple) and len(item) == 2 and b"BODY[]" in item[0].upper():
            return item[1]
    return None


def _poll_imap(mailbox: Mailbox, result: PollResult) -> None:
    if mailbox.after_import == Mailbox.AfterImport.MOVE and not mailbox.move_to_folder:
        raise MailboxError(_("Choose the folder to move imported messages to."))
    conn = _imap_connect(mailbox)
    try:
        capabilities = _imap_sign_in(conn, mailbox)
        uidvalidity, uids = _imap_new_uids(conn, mailbox)
        known = _already_fetched(mailbox, (f"{uidvalidity}:{uid}" for uid in uids))
        # last_uid only moves over messages that are done, so one left on the server is
        # searched for again next time; those after it are skipped through FetchedMessage.
        progress = _ImapProgress(mailbox, conn, capabilities, result)
        batch = ingest.Batch(source=InboundMail.Source.IMAP, mailbox=mailbox, done=progress.stored)
        for uid in uids:
            server_id = f"{uidvalidity}:{uid}"
            if server_id in known:
                _flush(batch, progress)  # in UID order: what comes before is done first
                progress.done(server_id, uid)
                continue
            if result.fetched >= MESSAGES_PER_POLL:
                result.waiting = sum(f"{uidvalidity}:{u}" not in known for u in uids if u >= uid)
                break
            _renew_claim(mailbox, result)
            typ, data = conn.uid("FETCH", str(uid), "(BODY.PEEK[])")
            raw = _imap_body(data) if typ == "OK" else None
            if raw is None:  # removed meanwhile (another client); nothing to import
                _flush(batch, progress)
                progress.done(server_id, uid)
                continue
            result.fetched += 1
            batch.add(raw, tag=(server_id, uid))
            if batch.full:
                _flush(batch, progress)
        _flush(batch, progress)
    finally:
        _imap_close(conn)


def _flush(batch: ingest.Batch, progress: _ImapProgress | _Pop3Progress) -> None:
    """Store the batch (the server copies are then flagged, deleted or moved one by one) and
    remember what is done."""
    try:
        batch.flush()
    finally:
        progress.remember()


class _ImapProgress:
    """What becomes of each message of an IMAP poll once its batch is committed."""

    def __init__(
        self, mailbox: Mailbox, conn: imaplib.IMAP4, capabilities: set[str], result: PollResult
    ) -> None:
        self.mailbox = mailbox
        self.conn = conn
        self.capabilities = capabilities
        self.result = result
        self.all_done_so_far = True
        self.server_ids: list[str] = []
        self.last_uid: int | None = None

    def stored(self, tag: tuple[str, int], outcome: ingest.IngestResult) -> None:
        server_id, uid = tag
        if not _counted(self.result, f"UID {uid}", outcome, self.mailbox):
            self.all_done_so_far = False
            return
        _imap_after_import(self.conn, self.mailbox, uid, self.capabilities, self.result)
        self.done(server_id, uid)

    def done(self, server_id: str, uid: int) -> None:
        self.server_ids.append(server_id)
        if self.all_done_so_far:
            self.last_uid = uid

    def remember(self) -> None:
        _remember(self.mailbox, self.server_ids, last_uid=self.last_uid)
        self.server_ids, self.last_uid = [], None


class _Pop3Progress:
    """What becomes of each message of a POP3 poll once its batch is committed."""

    def __init__(
        self, mailbox: Mailbox, conn: poplib.POP3, delete: bool, result: PollResult
    ) -> None:
        self.mailbox = mailbox
        self.conn = conn
        self.delete = delete
        self.result = result
        self.server_ids: list[str] = []

    def stored(self, tag: tuple[int, str], outcome: ingest.IngestResult) -> None:
        number, uidl = tag
        if not _counted(self.result, f"UIDL {uidl}", outcome, self.mailbox):
            return
        if self.delete:
            self.conn.dele(number)
        self.server_ids.append(uidl)

    def remember(self) -> None:
        _remember(self.mailbox, self.server_ids)
        self.server_ids = []


class _Refused(Exception):
    pass


def _imap_ok(answer: tuple[str, list]) -> None:
    typ, data = answer
    if typ != "OK":
        raise _Refused(_reason(Exception(*data)) if data else typ)


def _imap_after_import(
    conn: imaplib.IMAP4, mailbox: Mailbox, uid: int, capabilities: set[str], result: PollResult
) -> None:
    """Keep (flag read), delete or move one stored message. A refusal is noted, not fatal:
    the message is stored, and remembered, whatever the server does with its copy."""
    uid_text = str(uid)
    try:
        _imap_ok(conn.uid("STORE", uid_text, "+FLAGS.SILENT", r"(\Seen)"))
        if mailbox.after_import == Mailbox.AfterImport.MOVE:
            target = imap_folder_name(mailbox.move_to_folder)
            command = "MOVE" if "MOVE" in capabilities else "COPY"
            typ, data = conn.uid(command, uid_text, target)  # type: ignore[arg-type]
            if typ != "OK" and data and b"TRYCREATE" in (data[0] or b""):
                conn.create(target)  # type: ignore[arg-type]  # the folder is new: make it
                typ, data = conn.uid(command, uid_text, target)  # type: ignore[arg-type]
            _imap_ok((typ, data))
            if command == "COPY":
                _imap_delete(conn, uid_text, capabilities)
        elif mailbox.after_import == Mailbox.AfterImport.DELETE:
            _imap_delete(conn, uid_text, capabilities)
    except _Refused as exc:
        result.note(
            _("The server refused to flag, delete or move message UID %(uid)s: %(reason)s")
            % {"uid": uid, "reason": exc}
        )


def _imap_delete(conn: imaplib.IMAP4, uid_text: str, capabilities: set[str]) -> None:
    _imap_ok(conn.uid("STORE", uid_text, "+FLAGS.SILENT", r"(\Deleted)"))
    if "UIDPLUS" in capabilities:  # expunge exactly this message
        _imap_ok(conn.uid("EXPUNGE", uid_text))
    else:  # without UIDPLUS, EXPUNGE removes every message flagged \Deleted in the folder
        _imap_ok(conn.expunge())


# --- POP3 ---------------------------------------------------------------------------------------


def _pop3_connect(mailbox: Mailbox) -> poplib.POP3:
    port = _port(mailbox)
    if mailbox.security == "tls":
        return poplib.POP3_SSL(
            mailbox.host, port, context=_tls_context(mailbox), timeout=SOCKET_TIMEOUT
        )
    conn = poplib.POP3(mailbox.host, port, timeout=SOCKET_TIMEOUT)
    if mailbox.security == "starttls":
        try:
            conn.stls(context=_tls_context(mailbox))
        except poplib.error_proto as exc:
            _pop3_close(conn)
            raise MailboxError(
                _("%(server)s does not offer STARTTLS.") % {"server": f"{mailbox.host}:{port}"}
            ) from exc
    return conn


def _pop3_close(conn: poplib.POP3) -> None:
    try:
        conn.close()
    except OSError:
        pass


def _pop3_sign_in(conn: poplib.POP3, mailbox: Mailbox) -> None:
    if mailbox.auth == Mailbox.Auth.XOAUTH2:

        def attempt(token: str) -> None:
            # RFC 5034 AUTH with an initial response. poplib has no AUTH command, so this
            # uses its line helpers. A failure may first come as a "+ <details>" challenge,
            # which the client answers with an empty line before the final -ERR.
            initial = base64.b64encode(xoauth2_string(mailbox.username, token)).decode()
            answer = conn._shortcmd(f"AUTH XOAUTH2 {initial}")  # raises on -ERR
            if not answer.startswith(b"+OK"):
                conn._putcmd("")
                answer = conn._getresp()
                if not answer.startswith(b"+OK"):
                    raise poplib.error_proto(answer)

        _sign_in_with_token(mailbox, attempt)
        return
    try:
        conn.user(mailbox.username)
        conn.pass_(mailbox.password)
    except poplib.error_proto as exc:
        raise _sign_in_refused(mailbox, exc) from exc


def _pop3_listing(conn: poplib.POP3, mailbox: Mailbox) -> list[tuple[int, str]]:
    try:
        _resp, lines, _octets = conn.uidl()
    except poplib.error_proto as exc:
        raise MailboxError(
            _(
                "%(server)s does not support UIDL, which Helpa needs to know which messages "
                "it imported already: %(reason)s"
            )
            % {"server": mailbox.host, "reason": _reason(exc)}
        ) from exc
    listing = []
    for line in lines:
        number, _space, uidl = line.decode("ascii", "replace").strip().partition(" ")
        listing.append((int(number), uidl.strip()))
    return sorted(listing)


def _poll_pop3(mailbox: Mailbox, result: PollResult) -> None:
    if mailbox.after_import == Mailbox.AfterImport.MOVE:
        raise MailboxError(
            _("POP3 has no folders to move messages to; keep or delete them instead.")
        )
    delete = mailbox.after_import == Mailbox.AfterImport.DELETE
    conn = _pop3_connect(mailbox)
    signed_in = False
    try:
        _pop3_sign_in(conn, mailbox)
        signed_in = True
        listing = _pop3_listing(conn, mailbox)
        known = _already_fetched(mailbox, (uidl for _n, uidl in listing))
        progress = _Pop3Progress(mailbox, conn, delete, result)
        batch = ingest.Batch(source=InboundMail.Source.POP3, mailbox=mailbox, done=progress.stored)
        for number, uidl in listing:
            if uidl in known:
                if delete:  # stored before; the last session ended before its QUIT
                    conn.dele(number)
                continue
            if result.fetched >= MESSAGES_PER_POLL:
                result.waiting = sum(u not in known for n, u in listing if n >= number)
                break
            _renew_claim(mailbox, result)
            _resp, lines, _octets = conn.retr(number)
            result.fetched += 1
            batch.add(b"\r\n".join(lines) + b"\r\n", tag=(number, uidl))
            if batch.full:
                _flush(batch, progress)
        _flush(batch, progress)
    finally:
        # QUIT makes the server apply the DELEs, all of them of stored messages; without it
        # (a crash, a dropped line) they are undone and the messages come again as duplicates.
        if signed_in:
            try:
                conn.quit()
            except (OSError, poplib.error_proto):
                _pop3_close(conn)
        else:
            _pop3_close(conn)
