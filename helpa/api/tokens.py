"""Making, using and revoking API tokens: the only code that writes ApiToken rows."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.accounts.models import User
from helpa.lib.tokens import new_token, token_hash

from .models import MAX_LIFETIME, PREFIX_LENGTH, TOKEN_PREFIX, ApiToken

# `last_used_at` is written at most this often per token: not one UPDATE per API request.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class TokenRefused(Exception):
    """A token that cannot be made as asked; the message is for the user."""


@transaction.atomic
def create_token(
    user: User, *, name: str, scope: str, expires_at: datetime
) -> tuple[ApiToken, str]:
    """A new token for `user`: the row, and the raw token to show once (never stored)."""
    now = timezone.now()
    if not user.is_agent:
        raise TokenRefused(_("Only agents may have API tokens."))
    if expires_at <= now:
        raise TokenRefused(_("The expiry date must be in the future."))
    if expires_at > now + MAX_LIFETIME:
        raise TokenRefused(_("A token may live for at most a year."))
    random_part, _hash = new_token()
    raw = TOKEN_PREFIX + random_part
    token = ApiToken.objects.create(
        user=user,
        name=name.strip()[:100],
        scope=scope,
        prefix=raw[:PREFIX_LENGTH],
        token_hash=token_hash(raw),
        created_at=now,
        expires_at=expires_at,
    )
    return token, raw


def revoke_token(token: ApiToken) -> None:
    """Stop a token for good. Revoking twice keeps the first time."""
    ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())


def token_for(raw: str) -> ApiToken | None:
    """The usable token behind a raw value (with its user), or None: unknown, revoked, expired."""
    if not raw.startswith(TOKEN_PREFIX) or len(raw) > 200:
        return None
    return (
        ApiToken.objects.usable().select_related("user").filter(token_hash=token_hash(raw)).first()
    )


def mark_used(token: ApiToken) -> None:
    now = timezone.now()
    if token.last_used_at and now - token.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
