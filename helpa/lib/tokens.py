"""Secret tokens handed out in links (ticket links, login links, form secrets).

The raw value goes to the recipient once; only its SHA-256 is stored, so a copy of the
database opens nothing. 32 random bytes leave nothing to guess, so a plain hash suffices
(no salt or slow hash needed, unlike passwords).
"""

from __future__ import annotations

import hashlib
import secrets


def new_token() -> tuple[str, str]:
    """A fresh token: (the raw value to send, its hash to store)."""
    raw = secrets.token_urlsafe(32)
    return raw, token_hash(raw)


def token_hash(raw: str) -> str:
    return hashlib.sha256(raw.encode("utf-8", "surrogatepass")).hexdigest()
