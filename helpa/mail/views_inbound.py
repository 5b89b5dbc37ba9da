"""The inbound webhook: mail providers POST one raw MIME message per request.

    POST /mail/inbound/<queue-slug>/
    Authorization: Bearer <the queue's secret, from `helpa queue webhook-secret SLUG`>
    Content-Type: message/rfc822 (or application/octet-stream)
    <the message>

Answers, all JSON:
- 200 {"stored": true, "ticket": 10042 or null, "duplicate": false, "state": "stored"} once the
  message and its article are committed (a duplicate is 200 with "duplicate": true, so a
  provider's retry ends there);
- 401 when the secret is wrong or missing — also for a queue that does not exist, so a caller
  without a secret cannot learn which queues exist (a secret belongs to one queue, so no
  authenticated caller can ask for an unknown one);
- 413 when the message is over the installation's size limit (nothing stored; the provider
  reports it), 415 for another content type;
- 503 with Retry-After when it cannot be stored now (database down, disk full).
"""

from __future__ import annotations

import hashlib
import hmac

from django.db import DatabaseError
from django.http import HttpRequest, JsonResponse
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from . import ingest
from .models import InboundMail, MailSettings, QueueMail

ACCEPTED_TYPES = {"message/rfc822", "application/octet-stream"}
RETRY_AFTER_SECONDS = 60
CHUNK = 64 * 1024
# Compared against when the queue is unknown or has no secret, so that every refusal costs
# the same hashing and comparing.
_NO_SECRET = "0" * 64


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _bearer(request: HttpRequest) -> str:
    scheme, _space, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _error(status: int, message: str) -> JsonResponse:
    response = JsonResponse({"stored": False, "error": message}, status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="helpa-inbound-mail"'
    if status == 503:
        response["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _read_body(request: HttpRequest, limit: int) -> bytes | None:
    """The body, or None when it is larger than `limit` (read no further than that).
    Read from the stream: `request.body` refuses anything over DATA_UPLOAD_MAX_MEMORY_SIZE."""
    chunks, size = [], 0
    while chunk := request.read(CHUNK):
        size += len(chunk)
        if size > limit:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


@csrf_exempt
@require_POST
def inbound_webhook(request: HttpRequest, slug: str) -> JsonResponse:
    token = _bearer(request)
    try:
        queue_mail = QueueMail.objects.select_related("queue").filter(queue__slug=slug).first()
        settings = MailSettings.load()
    except DatabaseError:
        return _error(503, _("Mail cannot be stored right now; try again later."))
    expected = (queue_mail.webhook_secret_hash if queue_mail else "") or _NO_SECRET
    given = secret_hash(token) if token else ""
    if not hmac.compare_digest(given.encode(), expected.encode()) or expected == _NO_SECRET:
        return _error(401, _("A valid secret for this queue is needed."))
    assert queue_mail is not None

    content_type = request.content_type or ""
    if content_type.lower() not in ACCEPTED_TYPES:
        return _error(415, _("Send the raw message as message/rfc822 or application/octet-stream."))
    too_big = _("The message is larger than the limit of %(mb)s MB.") % {
        "mb": settings.max_message_mb
    }
    try:
        declared = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        declared = 0
    if declared > settings.max_message_bytes:
        return _error(413, too_big)
    raw = _read_body(request, settings.max_message_bytes)
    if raw is None:
        return _error(413, too_big)
    if not raw.strip():
        return _error(400, _("The request has no message."))

    try:
        result = ingest.ingest_message(
            raw, source=InboundMail.Source.WEBHOOK, queue=queue_mail.queue
        )
    except (ingest.TemporaryFailure, DatabaseError):
        return _error(503, _("Mail cannot be stored right now; try again later."))
    inbound = result.inbound
    ticket = result.ticket
    return JsonResponse(
        {
            "stored": True,
            "ticket": ticket.number if ticket else None,
            "duplicate": result.duplicate,
            "state": inbound.state if inbound else None,
        }
    )
