"""What 46elks and Twilio send us and expect from us, spoken exactly as they do.

Incoming SMS and delivery reports arrive as HTTP POSTs from the provider (form-encoded; Twilio
also JSON). 46elks signs nothing, so its requests prove themselves by a secret in the address
we gave it (checked in the view); Twilio signs each request with X-Twilio-Signature, an
HMAC-SHA1 with the account's Auth Token over the full URL and the sorted parameters (for a JSON
body: over the URL, whose `bodySHA256` parameter must be the SHA-256 of the body).
Sending is one POST to the provider's REST API with HTTP Basic authentication.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _

from .models import Provider, SmsSettings

TIMEOUT = 10  # seconds, for connecting and for the answer
ERROR_LENGTH = 500


class BadPayload(ValueError):
    """The request is not an SMS or report we can read (a missing field, broken JSON)."""


class Forged(Exception):
    """The request does not prove it comes from the provider."""


@dataclass
class Incoming:
    provider_id: str
    sender: str
    recipient: str
    text: str
    payload: dict[str, Any] = field(default_factory=dict)
    media_count: int = 0


@dataclass
class StatusReport:
    provider_id: str
    state: str  # "sent", "delivered", "failed", or "" for a step we do not show
    error: str = ""


@dataclass
class SendResult:
    ok: bool
    provider_id: str = ""
    error: str = ""
    retry: bool = False  # worth trying again later (network trouble, 5xx, 429)


# --- Reading requests ------------------------------------------------------------------------


def parameters(request: HttpRequest) -> dict[str, list[str]]:
    """The request's parameters, form-encoded or a JSON object, as lists of strings."""
    content_type = request.content_type or ""
    if content_type == "application/json":
        try:
            data = json.loads(request.body or b"{}")
        except (ValueError, UnicodeDecodeError) as exc:
            raise BadPayload(_("The body is not valid JSON.")) from exc
        if not isinstance(data, dict):
            raise BadPayload(_("The body must be a JSON object."))
        return {
            str(k): [str(x) for x in v] if isinstance(v, list) else [_as_text(v)]
            for k, v in data.items()
        }
    return {k: request.POST.getlist(k) for k in request.POST}


def _as_text(value: Any) -> str:
    return "" if value is None else str(value)


def _one(params: dict[str, list[str]], *names: str, required: bool = True) -> str:
    for name in names:
        values = params.get(name)
        if values:
            return values[0]
    if required:
        raise BadPayload(_("The field “%(name)s” is missing.") % {"name": names[0]})
    return ""


def flat(params: dict[str, list[str]]) -> dict[str, Any]:
    """For storing: one value where there is one."""
    return {k: v[0] if len(v) == 1 else v for k, v in params.items()}


def parse_incoming(provider: str, params: dict[str, list[str]]) -> Incoming:
    if provider == Provider.ELKS:
        return Incoming(
            provider_id=_one(params, "id"),
            sender=_one(params, "from"),
            recipient=_one(params, "to", required=False),
            text=_one(params, "message", required=False),
            payload=flat(params),
            media_count=len(params.get("image", [])),
        )
    try:
        media = int(_one(params, "NumMedia", required=False) or 0)
    except ValueError:
        media = 0
    return Incoming(
        provider_id=_one(params, "MessageSid", "SmsSid"),
        sender=_one(params, "From"),
        recipient=_one(params, "To", required=False),
        text=_one(params, "Body", required=False),
        payload=flat(params),
        media_count=max(media, 0),
    )


ELKS_STATES = {"sent": "sent", "delivered": "delivered", "failed": "failed"}
TWILIO_STATES = {
    "sent": "sent",
    "delivered": "delivered",
    "undelivered": "failed",
    "failed": "failed",
}


def parse_status(provider: str, params: dict[str, list[str]]) -> StatusReport:
    if provider == Provider.ELKS:
        state = _one(params, "status")
        return StatusReport(_one(params, "id"), ELKS_STATES.get(state, ""), "")
    state = _one(params, "MessageStatus", "SmsStatus")
    code = _one(params, "ErrorCode", required=False)
    error = _("Twilio error %(code)s") % {"code": code} if code else ""
    return StatusReport(_one(params, "MessageSid", "SmsSid"), TWILIO_STATES.get(state, ""), error)


# --- Twilio's signature ----------------------------------------------------------------------


def twilio_signature(auth_token: str, url: str, params: dict[str, list[str]]) -> str:
    """Base64 of HMAC-SHA1 over the URL followed by each parameter name and value, names
    sorted (the distinct values of a repeated name sorted too), as Twilio computes it."""
    text = url
    for name in sorted(params):
        for value in sorted(set(params[name])):
            text += name + value
    digest = hmac.new(auth_token.encode(), text.encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def check_twilio(request: HttpRequest, url: str, auth_token: str) -> None:
    """Raises Forged unless the request carries Twilio's signature for `url` (the address
    Twilio called: our HELPA_BASE_URL and the path with its query, never the Host header)."""
    given = request.headers.get("X-Twilio-Signature", "")
    if not given or not auth_token:
        raise Forged()
    if (request.content_type or "") == "application/json":
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
        body_hash = (query.get("bodySHA256") or [""])[0]
        if not hmac.compare_digest(body_hash, hashlib.sha256(request.body).hexdigest()):
            raise Forged()
        signed: dict[str, list[str]] = {}
    else:
        signed = {k: request.POST.getlist(k) for k in request.POST}
    if not any(
        hmac.compare_digest(twilio_signature(auth_token, candidate, signed), given)
        for candidate in _with_and_without_port(url)
    ):
        raise Forged()


def _with_and_without_port(url: str) -> list[str]:
    """Twilio signs the URL as configured, which may or may not name the scheme's usual port
    (:443, :80); both spellings are the same address."""
    parts = urllib.parse.urlsplit(url)
    default = {"https": 443, "http": 80}.get(parts.scheme)
    host = parts.hostname or ""
    if parts.port is None and default:
        other = parts._replace(netloc=f"{host}:{default}")
    elif parts.port == default:
        other = parts._replace(netloc=host)
    else:
        return [url]
    return [url, urllib.parse.urlunsplit(other)]


# --- Sending ---------------------------------------------------------------------------------


def send(settings: SmsSettings, to: str, text: str, status_url: str) -> SendResult:
    """One SMS through the provider's API; `status_url` receives its delivery reports."""
    if settings.provider == Provider.ELKS:
        url = f"{settings.base_api_url}/sms"
        form = {"from": settings.sender, "to": to, "message": text, "whendelivered": status_url}
        id_field = "id"
    elif settings.provider == Provider.TWILIO:
        account = urllib.parse.quote(settings.account, safe="")
        url = f"{settings.base_api_url}/Accounts/{account}/Messages.json"
        form = {"From": settings.sender, "To": to, "Body": text, "StatusCallback": status_url}
        id_field = "sid"
    else:
        return SendResult(ok=False, error=_("SMS is not set up."))
    credentials = base64.b64encode(f"{settings.account}:{settings.secret}".encode()).decode()
    request = urllib.request.Request(
        url,
        data=urllib.parse.urlencode(form).encode(),
        headers={
            "Authorization": f"Basic {credentials}",
            "Content-Type": "application/x-www-form-urlencoded",
            "Accept": "application/json",
            "User-Agent": "Helpa-SMS/1",
        },
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT) as response:  # noqa: S310 — admin's http(s) URL
            body = response.read(64 * 1024)
    except urllib.error.HTTPError as exc:
        status = exc.code
        detail = _error_text(exc.read(4096))
        retry = status >= 500 or status in (408, 429)
        return SendResult(ok=False, error=f"HTTP {status}: {detail}"[:ERROR_LENGTH], retry=retry)
    except (OSError, ValueError) as exc:
        return SendResult(ok=False, error=f"{type(exc).__name__}: {exc}"[:ERROR_LENGTH], retry=True)
    try:
        provider_id = str(json.loads(body)[id_field])
    except (ValueError, KeyError, TypeError):
        # Accepted (2xx) but unreadable: it may well be on its way, so never send it again.
        return SendResult(ok=True, error=_("The provider's answer had no message id."))
    return SendResult(ok=True, provider_id=provider_id[:64])


def _error_text(body: bytes) -> str:
    """Twilio answers errors as JSON with a message; 46elks as plain text."""
    text = body.decode("utf-8", "replace").strip()
    try:
        data = json.loads(text)
    except ValueError:
        return text
    if isinstance(data, dict) and data.get("message"):
        code = f" ({data['code']})" if data.get("code") else ""
        return f"{data['message']}{code}"
    return text
