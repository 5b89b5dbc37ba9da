"""API test helpers: a token for a persona and a client that sends it."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta

import pytest
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from helpa.accounts.models import User
from helpa.api.models import Scope
from helpa.api.tokens import create_token


@pytest.fixture(autouse=True)
def _fresh_rate_limits() -> Iterator[None]:
    """Request counts live in the cache: each test starts with none."""
    cache.clear()
    yield
    cache.clear()


def client_with(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


@pytest.fixture
def api_for() -> Callable[..., APIClient]:
    """`api_for(alice)`: a client with a fresh read-write token of alice's."""

    def make(user: User, scope: str = Scope.WRITE) -> APIClient:
        _token, raw = create_token(
            user, name="test", scope=scope, expires_at=timezone.now() + timedelta(days=30)
        )
        return client_with(raw)

    return make


@pytest.fixture
def alice_api(alice: User, api_for: Callable[..., APIClient]) -> APIClient:
    return api_for(alice)
