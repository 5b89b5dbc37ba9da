"""The form token: the anonymous form's protection, without cookies.

A browser drops SameSite=Lax cookies inside a cross-site iframe, so Django's CSRF cookie cannot
protect a form embedded in a customer's website. The form view is therefore `csrf_exempt`
(there is no session whose authority a forged post could borrow) and every rendered form
carries a signed token instead (django.core.signing, keyed by SECRET_KEY) holding:

- the form it belongs to,
- a one-time value: the accepted submission stores it (unique), so a replayed token — a
  double click, a reload, a bot posting one page many times — makes no second ticket,
- the time it was issued: a submission faster than the form's minimum fill time is refused,
  and a token older than a day is out of date,
- the values the page fixed: fields locked or hidden by web-address parameters. What the
  visitor posts for them is compared with these; editing the page cannot change them.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field

from django.core import signing

SALT = "helpa.webforms.token"
THANKS_SALT = "helpa.webforms.thanks"
MAX_AGE_SECONDS = 24 * 3600


class TokenExpired(Exception):
    pass


class TokenInvalid(Exception):
    pass


@dataclass(frozen=True)
class FormToken:
    form_id: int
    nonce: str
    issued_at: float
    fixed: dict[str, str] = field(default_factory=dict)

    @classmethod
    def new(cls, form_id: int, fixed: dict[str, str]) -> FormToken:
        return cls(form_id, secrets.token_urlsafe(18), time.time(), dict(fixed))

    def dumps(self) -> str:
        payload = {"f": self.form_id, "n": self.nonce, "t": self.issued_at, "v": self.fixed}
        return signing.dumps(payload, salt=SALT, compress=True)

    @classmethod
    def loads(cls, value: str, form_id: int) -> FormToken:
        try:
            payload = signing.loads(value or "", salt=SALT, max_age=MAX_AGE_SECONDS)
        except signing.SignatureExpired as exc:
            raise TokenExpired from exc
        except signing.BadSignature as exc:
            raise TokenInvalid from exc
        try:
            token = cls(
                int(payload["f"]),
                str(payload["n"]),
                float(payload["t"]),
                {str(k): str(v) for k, v in dict(payload["v"]).items()},
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise TokenInvalid from exc
        if token.form_id != form_id or not token.nonce:
            raise TokenInvalid
        return token

    def age(self) -> float:
        return time.time() - self.issued_at


def fixed_values_of_expired(value: str) -> dict[str, str]:
    """The fixed values of a token that is only too old (its signature is still checked)."""
    try:
        payload = signing.loads(value or "", salt=SALT)
        return {str(k): str(v) for k, v in dict(payload["v"]).items()}
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return {}


def thanks_value(ticket_number: int, language: str) -> str:
    return signing.dumps({"n": ticket_number, "l": language}, salt=THANKS_SALT)


def read_thanks(value: str) -> tuple[int, str] | None:
    try:
        payload = signing.loads(value or "", salt=THANKS_SALT, max_age=MAX_AGE_SECONDS)
        return int(payload["n"]), str(payload["l"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return None
