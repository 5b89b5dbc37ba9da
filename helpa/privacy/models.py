"""The log of GDPR requests (exports and anonymisations). It must not itself become a place
where the person can be found: it keeps a salted hash of the identifier searched for (so a
later request about the same person can be recognised by whoever knows the identifier), the
admin who acted, when, and counts — never a name, an address or a number of the person."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


def identifier_hash(identifier: str) -> str:
    """Salted with the installation's secret key: the same identifier gives the same hash on
    this installation, and a list of guessed addresses cannot be checked against it elsewhere."""
    salted = f"helpa-gdpr:{settings.SECRET_KEY}:{identifier.strip().lower()}"
    return hashlib.sha256(salted.encode()).hexdigest()


class GdprRequest(models.Model):
    class Kind(models.TextChoices):
        EXPORT = "export", _("Export")
        ANONYMISE = "anonymise", _("Anonymisation")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices)
    created_at = models.DateTimeField(_("when"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("by"),
    )
    # "Command line" when run with `helpa gdpr`, or the admin's name kept after the user goes.
    actor_name = models.CharField(_("by"), max_length=150, blank=True)
    subject_hash = models.CharField(max_length=64, db_index=True)
    counts = models.JSONField(default=dict, blank=True)  # {"tickets": 3, ...}: numbers only

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("GDPR request")
        verbose_name_plural = _("GDPR requests")

    def __str__(self) -> str:
        return f"{self.kind} {self.created_at:%Y-%m-%d %H:%M}"
