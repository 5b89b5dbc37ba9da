"""Requests per token and minute (settings.HELPA_API_RATE), answered with 429 and Retry-After."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.request import Request
from rest_framework.throttling import SimpleRateThrottle

from .models import ApiToken


class PerTokenThrottle(SimpleRateThrottle):
    scope = "api"

    def get_rate(self) -> str | None:
        # Read at each request, not at import as DRF does, so tests and settings can change it.
        return str(settings.HELPA_API_RATE) or None

    def get_cache_key(self, request: Request, view: Any) -> str | None:
        token = request.auth
        if isinstance(token, ApiToken):
            return f"helpa-api-throttle-token-{token.pk}"
        if request.user and request.user.is_authenticated:
            # The browsable API in a signed-in browser: counted per user.
            return f"helpa-api-throttle-user-{request.user.pk}"
        return None  # anonymous requests are refused before they cost anything
