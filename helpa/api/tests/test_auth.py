"""Tokens: made in the UI, shown once, stored hashed; what opens the API and what does not."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import Role
from helpa.api.models import ApiToken, Scope
from helpa.api.tokens import TokenRefused, create_token, revoke_token
from helpa.lib.tokens import token_hash

from .conftest import client_with

ME = "/api/v1/me/"


def _token(user, **kwargs):
    defaults = {"name": "t", "scope": Scope.WRITE, "expires_at": timezone.now() + timedelta(days=1)}
    return create_token(user, **{**defaults, **kwargs})


# --- The tokens page ---------------------------------------------------------------------------


def test_the_user_menu_links_to_the_tokens_page(agent_client):
    page = agent_client.get(reverse("tickets:overview"))
    assert reverse("api_tokens:list") in page.content.decode()


def test_a_new_token_is_shown_once_and_stored_only_as_its_hash(agent_client, alice):
    expires = (timezone.localdate() + timedelta(days=30)).isoformat()
    page = agent_client.post(
        reverse("api_tokens:list"), {"name": "Webshop", "scope": "read", "expires_on": expires}
    )
    assert page.status_code == 200
    raw = page.context["created"]["raw"]
    assert raw.startswith("hlp_") and raw in page.content.decode()
    token = ApiToken.objects.get(user=alice)
    assert token.name == "Webshop" and token.scope == Scope.READ
    assert token.token_hash == token_hash(raw) and raw not in token.token_hash
    assert raw.startswith(token.prefix) and len(token.prefix) < 12

    again = agent_client.get(reverse("api_tokens:list")).content.decode()
    assert raw not in again and f"{token.prefix}…" in again


def test_a_token_lives_at_most_a_year(agent_client, alice):
    too_late = (timezone.localdate() + timedelta(days=400)).isoformat()
    page = agent_client.post(
        reverse("api_tokens:list"), {"name": "x", "scope": "read", "expires_on": too_late}
    )
    assert page.status_code == 400 and not ApiToken.objects.exists()
    with pytest.raises(TokenRefused):
        _token(alice, expires_at=timezone.now() + timedelta(days=400))


def test_revoking_from_the_page_stops_the_token(agent_client, alice):
    token, raw = _token(alice)
    assert client_with(raw).get(ME).status_code == 200
    agent_client.post(reverse("api_tokens:revoke", args=[token.pk]))
    assert client_with(raw).get(ME).status_code == 401


def test_nobody_revokes_another_agents_token(agent_client, bob_agent):
    token, _raw = _token(bob_agent)
    assert agent_client.post(reverse("api_tokens:revoke", args=[token.pk])).status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_customers_have_no_tokens(customer):
    client = Client()
    client.force_login(customer)
    assert client.get(reverse("api_tokens:list")).status_code == 403
    with pytest.raises(TokenRefused):
        _token(customer)


# --- Authentication ------------------------------------------------------------------------------


def test_a_token_acts_as_its_user_and_records_its_use(alice):
    token, raw = _token(alice)
    response = client_with(raw).get(ME)
    assert response.status_code == 200
    assert response.json()["email"] == "alice@example.com"
    token.refresh_from_db()
    assert token.last_used_at is not None


@pytest.mark.parametrize("case", ["missing", "unknown", "revoked", "expired", "malformed"])
def test_no_usable_token_is_401_with_a_json_message(alice, case, time_machine):
    token, raw = _token(alice)
    headers = {
        "missing": {},
        "unknown": {"HTTP_AUTHORIZATION": "Bearer hlp_" + "x" * 43},
        "revoked": {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
        "expired": {"HTTP_AUTHORIZATION": f"Bearer {raw}"},
        "malformed": {"HTTP_AUTHORIZATION": "Bearer a b"},
    }[case]
    if case == "revoked":
        revoke_token(token)
    if case == "expired":
        time_machine.move_to(timezone.now() + timedelta(days=2))
    response = Client().get(ME, **headers)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    body = response.json()
    assert body["detail"] and body["code"] in ("not_authenticated", "authentication_failed")


def test_a_customer_gets_403(alice):
    _token_row, raw = _token(alice)
    alice.role = Role.CUSTOMER  # a former agent, now a portal user: the token no longer opens
    alice.save(update_fields=["role"])
    response = client_with(raw).get(ME)
    assert response.status_code == 403
    assert response.json()["code"] == "permission_denied"


def test_a_signed_in_customer_gets_403(customer):
    client = Client()
    client.force_login(customer)
    assert client.get("/api/v1/tickets/").status_code == 403


def test_a_deactivated_users_token_is_refused(alice):
    _token_row, raw = _token(alice)
    alice.is_active = False
    alice.save(update_fields=["is_active"])
    assert client_with(raw).get(ME).status_code == 401


def test_a_read_only_token_reads_but_cannot_write(alice, queue_support):
    _token_row, raw = _token(alice, scope=Scope.READ)
    client = client_with(raw)
    assert client.get("/api/v1/tickets/").status_code == 200
    response = client.post(
        "/api/v1/tickets/", {"title": "x", "queue": queue_support.pk}, format="json"
    )
    assert response.status_code == 403
    assert response.json()["detail"] == "This token is read-only."


def test_the_session_works_for_the_browsable_api_with_csrf(alice, queue_support):
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    assert client.get("/api/v1/tickets/", HTTP_ACCEPT="text/html").status_code == 200
    refused = client.post(
        "/api/v1/tickets/",
        {"title": "x", "queue": queue_support.pk},
        content_type="application/json",
    )
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]


# --- Rate limit ----------------------------------------------------------------------------------


def test_too_many_requests_get_429_with_retry_after(alice, settings):
    settings.HELPA_API_RATE = "3/min"
    _token_row, raw = _token(alice)
    client = client_with(raw)
    assert [client.get(ME).status_code for _i in range(3)] == [200, 200, 200]
    response = client.get(ME)
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 60
    assert response.json()["code"] == "throttled"
    # Counted per token: the same agent's other token has its own allowance.
    _other, raw2 = _token(alice)
    assert client_with(raw2).get(ME).status_code == 200
