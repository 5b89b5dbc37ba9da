"""Schemathesis against the API's own schema, in-process through WSGI: whatever input it
generates from the schema, fitting it or not, the API never answers 500.

Driven through Hypothesis directly (`operation.as_strategy()`): schemathesis' pytest plugin
reaches into pytest internals that pytest 9 no longer has."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
import schemathesis
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode

from helpa.accounts.models import User
from helpa.api.tokens import create_token
from helpa.crm.models import Contact
from helpa.tickets import actions
from helpa.tickets.models import Queue

EXAMPLES = 6


@pytest.fixture
def wsgi_app(db: None, settings) -> Iterator[WSGIHandler]:  # type: ignore[no-untyped-def]
    settings.HELPA_API_RATE = "100000/min"
    # As Django's test client does: a request must not close the connection that holds the
    # test's transaction.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield WSGIHandler()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.fixture
def token(alice: User, queue_support: Queue, contact: Contact) -> tuple[str, int]:
    """A write token of alice's and a ticket of hers; a contact and a company to find."""
    ticket = actions.open_ticket(alice, queue=queue_support, title="Printer", contact=contact)
    actions.add_reply(alice, ticket, "<p>hello</p>")
    _row, raw = create_token(
        alice, name="fuzz", scope="write", expires_at=timezone.now() + timedelta(days=1)
    )
    return raw, ticket.number


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_input_makes_the_api_fail(wsgi_app, token, mode):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)
    raw, number = token
    headers = {"Authorization": f"Bearer {raw}"}
    failures: list[str] = []
    seen: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20

    for operation in operations:
        # Ticket operations on a ticket that exists (random numbers would all be 404s).
        known = {"number": number} if "{number}" in operation.path else None
        strategy = operation.as_strategy(generation_mode=mode, path_parameters=known)

        @given(case=strategy)
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def call(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(headers=headers)
            seen[response.status_code] = seen.get(response.status_code, 0) + 1
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.status_code}")

        call()
    print(mode, sorted(seen.items()))
    assert failures == []
    # The token works: most generated requests get past authentication.
    assert seen.get(401, 0) < sum(seen.values()) / 10
