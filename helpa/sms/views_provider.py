"""The addresses the SMS provider calls: incoming SMS and delivery reports.

    POST /sms/inbound/46elks/<secret>/    46elks (form-encoded or JSON); the secret is the
                                          address's proof, made under Settings → SMS
    POST /sms/inbound/twilio/             Twilio (form-encoded, or JSON with bodySHA256);
                                          proven by X-Twilio-Signature
    POST /sms/status/<provider>/<signed>/ a delivery report for one SMS we sent

Answers: 200 (46elks: empty, since a body would be sent back as an SMS; Twilio: an empty TwiML
<Response/>) when stored — also for a duplicate or an SMS that failed and waits for an admin;
403 for a missing or wrong secret or signature; 400 for a body that is no SMS; 404 when SMS is
off or the provider is not the one set up; 503 when the database is down, so the provider
retries (46elks keeps trying for six hours).
"""

from __future__ import annotations

import hmac
import logging

from django.conf import settings as django_settings
from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from helpa.lib.tokens import token_hash

from . import ingest, outbox, providers
from .models import Provider, SmsSettings

log = logging.getLogger(__name__)
TWIML_EMPTY = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'
# Compared against when no secret is set, so every refusal costs the same.
_NO_SECRET = "0" * 64


def _accepted(provider: str) -> HttpResponse:
    if provider == Provider.TWILIO:
        return HttpResponse(TWIML_EMPTY, content_type="text/xml; charset=utf-8")
    return HttpResponse(b"", content_type="text/plain")


def _refused(status: int, text: str) -> HttpResponse:
    return HttpResponse(text, status=status, content_type="text/plain; charset=utf-8")


def _called_url(request: HttpRequest) -> str:
    """The address the provider called, as Twilio signs it: our public base URL (never the
    Host header, which a forger chooses) and the path with its query."""
    return django_settings.BASE_URL + request.get_full_path()


def _check(request: HttpRequest, settings: SmsSettings, provider: str, secret: str) -> None:
    if provider == Provider.ELKS:
        expected = settings.inbound_token_hash or _NO_SECRET
        if not hmac.compare_digest(expected, token_hash(secret) if secret else ""):
            raise providers.Forged()
    else:
        providers.check_twilio(request, _called_url(request), settings.secret)


@csrf_exempt
@require_POST
def inbound(request: HttpRequest, provider: str, secret: str = "") -> HttpResponse:
    try:
        settings = SmsSettings.load()
    except DatabaseError:
        log.exception("SMS webhook: database unavailable")
        return _refused(503, "Try again later.")
    if not settings.provider or settings.provider != provider:
        return _refused(404, "No SMS provider here.")
    try:
        _check(request, settings, provider, secret)
    except providers.Forged:
        log.warning("SMS webhook: refused a request without a valid %s proof", provider)
        return _refused(403, "Signature or secret missing or wrong.")
    try:
        incoming = providers.parse_incoming(provider, providers.parameters(request))
    except providers.BadPayload as exc:
        return _refused(400, str(exc))
    try:
        ingest.receive(provider, incoming)
    except DatabaseError:
        log.exception("SMS webhook: could not store SMS %s", incoming.provider_id)
        return _refused(503, "Try again later.")
    return _accepted(provider)


@csrf_exempt
@require_POST
def status(request: HttpRequest, provider: str, signed: str) -> HttpResponse:
    sms_id = outbox.sms_id_from(signed)
    settings = SmsSettings.load()
    if sms_id is None or provider not in (Provider.ELKS, Provider.TWILIO):
        return _refused(403, "Unknown report address.")
    if provider == Provider.TWILIO:
        try:
            providers.check_twilio(request, _called_url(request), settings.secret)
        except providers.Forged:
            return _refused(403, "Signature missing or wrong.")
    try:
        report = providers.parse_status(provider, providers.parameters(request))
    except providers.BadPayload as exc:
        return _refused(400, str(exc))
    if not outbox.record_status(sms_id, provider, report):
        return _refused(404, "No such SMS.")
    return _accepted(provider) if provider == Provider.ELKS else HttpResponse(status=204)
