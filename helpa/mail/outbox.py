"""Draining the outbox: send each queued message over SMTP, retry with back-off, never lose it.

A message is claimed before it is sent (its next attempt moved past a lease), so two workers
never send it at the same time. A message the server accepted is marked sent; a temporary
failure (connection refused, 4xx) is retried later; a permanent refusal (5xx for every
recipient) or too many attempts marks it failed, which agents see on the reply.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.utils import timezone

from .models import OutgoingMail, QueueMail

log = logging.getLogger(__name__)
LEASE = timedelta(minutes=5)
# Minutes to wait after the n-th failed attempt; after the last, the message is failed.
BACKOFF_MINUTES = [1, 2, 5, 10, 30, 60, 120, 240, 480, 720]
SMTP_TIMEOUT = 30


@dataclass
class SmtpServer:
    host: str
    port: int
    security: str  # "none" | "starttls" | "tls"
    username: str = ""
    password: str = ""


def server_for(queue_id: int | None) -> SmtpServer | None:
    """The queue's own server, else the installation's (HELPA_SMTP_URL), else none."""
    if queue_id is not None:
        own = QueueMail.objects.filter(queue_id=queue_id).exclude(smtp_host="").first()
        if own is not None:
            default_port = {"tls": 465, "starttls": 587}.get(own.smtp_security, 25)
            return SmtpServer(
                own.smtp_host,
                own.smtp_port or default_port,
                own.smtp_security,
                own.smtp_username,
                own.smtp_password,
            )
    return parse_smtp_url(settings.HELPA_SMTP_URL)


def parse_smtp_url(url: str) -> SmtpServer | None:
    """smtp://user:pass@host:587 (STARTTLS unless port 25 and ?plain), smtps://host (TLS)."""
    if not url:
        return None
    parts = urlsplit(url)
    if parts.scheme == "smtps":
        security, port = "tls", parts.port or 465
    else:
        port = parts.port or 587
        security = "none" if "plain" in parts.query or port == 25 else "starttls"
    return SmtpServer(
        parts.hostname or "localhost",
        port,
        security,
        unquote(parts.username or ""),
        unquote(parts.password or ""),
    )


class PermanentFailure(Exception):
    pass


def _connect(server: SmtpServer) -> smtplib.SMTP:
    context = ssl.create_default_context()
    if server.security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            server.host, server.port, timeout=SMTP_TIMEOUT, context=context
        )
    else:
        smtp = smtplib.SMTP(server.host, server.port, timeout=SMTP_TIMEOUT)
    try:
        if server.security == "starttls":
            smtp.starttls(context=context)
        if server.username:
            smtp.login(server.username, server.password)
    except BaseException:
        smtp.close()  # a refused STARTTLS or login must not leave the connection open
        raise
    return smtp


def deliver(mail: OutgoingMail, server: SmtpServer) -> str:
    """Hand one message to the server. Raises PermanentFailure for a 5xx refusal, other
    exceptions for what should be retried. Returns what the server refused when it accepted
    the message for some recipients only ("" when for all)."""
    with mail.raw.open("rb") as f:
        raw = f.read()
    smtp = _connect(server)
    try:
        refused = smtp.sendmail(mail.sender, list(mail.recipients), raw)
    except smtplib.SMTPRecipientsRefused as exc:
        codes = [code for code, _msg in exc.recipients.values()]
        if all(code >= 500 for code in codes):
            raise PermanentFailure(_describe(exc.recipients)) from exc
        raise
    except (smtplib.SMTPSenderRefused, smtplib.SMTPDataError) as exc:
        if exc.smtp_code >= 500:
            raise PermanentFailure(f"{exc.smtp_code} {_text(exc.smtp_error)}") from exc
        raise
    finally:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()
    if refused:
        log.warning("outgoing mail %s refused for %s", mail.pk, _describe(refused))
        return _describe(refused)
    return ""


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _describe(refused: dict) -> str:
    return "; ".join(f"{rcpt}: {code} {_text(msg)}" for rcpt, (code, msg) in refused.items())


def _claim(mail: OutgoingMail, now: datetime) -> bool:
    """Take this message for sending; False when another worker already did."""
    return bool(
        OutgoingMail.objects.filter(
            pk=mail.pk, state=OutgoingMail.State.QUEUED, next_attempt_at=mail.next_attempt_at
        ).update(next_attempt_at=now + LEASE)
    )


def send_one(mail: OutgoingMail, now: datetime | None = None) -> str:
    """Try to send one claimed message; returns its new state."""
    now = now or timezone.now()
    server = server_for(mail.queue_id)
    if server is None:
        # Not a failure of the message: nothing to send it with yet. Look again later.
        OutgoingMail.objects.filter(pk=mail.pk).update(
            next_attempt_at=now + timedelta(minutes=BACKOFF_MINUTES[2]),
            last_error="No outgoing mail server is configured (HELPA_SMTP_URL or the queue's).",
        )
        return OutgoingMail.State.QUEUED
    attempts = mail.attempts + 1
    try:
        refused = deliver(mail, server)
    except PermanentFailure as exc:
        _record(mail, OutgoingMail.State.FAILED, attempts, str(exc), now)
        return OutgoingMail.State.FAILED
    except (TimeoutError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
        if attempts >= len(BACKOFF_MINUTES):
            _record(mail, OutgoingMail.State.FAILED, attempts, _error(exc), now)
            return OutgoingMail.State.FAILED
        OutgoingMail.objects.filter(pk=mail.pk).update(
            attempts=attempts,
            last_error=_error(exc),
            next_attempt_at=now + timedelta(minutes=BACKOFF_MINUTES[attempts - 1]),
        )
        return OutgoingMail.State.QUEUED
    # Sent; the recipients the server refused are kept in last_error for the agents to see.
    _record(mail, OutgoingMail.State.SENT, attempts, refused, now)
    return OutgoingMail.State.SENT


def _error(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:2000]


def _record(mail: OutgoingMail, state: str, attempts: int, error: str, now: datetime) -> None:
    OutgoingMail.objects.filter(pk=mail.pk).update(
        state=state,
        attempts=attempts,
        last_error=error[:2000],
        sent_at=now if state == OutgoingMail.State.SENT else None,
    )


def send_due(now: datetime | None = None, limit: int = 200) -> int:
    """Send what is due; returns how many messages were sent."""
    now = now or timezone.now()
    due = list(
        OutgoingMail.objects.filter(
            state=OutgoingMail.State.QUEUED, next_attempt_at__lte=now
        ).order_by("next_attempt_at", "id")[:limit]
    )
    sent = 0
    for mail in due:
        if _claim(mail, now) and send_one(mail, now) == OutgoingMail.State.SENT:
            sent += 1
    return sent
