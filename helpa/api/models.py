"""Personal API tokens: an agent's key to the REST API, acting as that agent.

Only the SHA-256 of a token is stored (helpa/lib/tokens.py); the agent sees the token once,
when it is made. Its first characters (`prefix`) are kept in clear so the agent can tell their
tokens apart in the list, and a token found in a log or a repository can be traced to its row.
"""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# How long a token may live at most: a forgotten token stops working within a year.
MAX_LIFETIME = timedelta(days=366)
# Written before each token so it reads as Helpa's (and secret scanners can match it).
TOKEN_PREFIX = "hlp_"
# Characters shown in the list: the marker and a few of the random part.
PREFIX_LENGTH = len(TOKEN_PREFIX) + 6


class Scope(models.TextChoices):
    READ = "read", _("Read only")
    WRITE = "write", _("Read and write")


class ApiTokenQuerySet(models.QuerySet["ApiToken"]):
    def usable(self) -> ApiTokenQuerySet:
        """Tokens that open the API now: neither revoked nor expired."""
        return self.filter(revoked_at__isnull=True, expires_at__gt=timezone.now())


class ApiToken(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(_("name"), max_length=100)
    scope = models.CharField(_("access"), max_length=8, choices=Scope.choices, default=Scope.READ)
    prefix = models.CharField(max_length=PREFIX_LENGTH)
    token_hash = models.CharField(max_length=64, unique=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"))
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    objects = ApiTokenQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def may_write(self) -> bool:
        return self.scope == Scope.WRITE


from .models_webhooks import Webhook, WebhookDelivery, WebhookEvent  # noqa: E402, F401
