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
from helpa.automation.models import CannedResponse, TicketTemplate
from helpa.crm.models import Contact
from helpa.kb.actions import save_article
from helpa.reports.report import REPORTS
from helpa.tickets import actions
from helpa.tickets.actions import log_time_entry
from helpa.tickets.models import Queue, Ticket

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


@pytest.fixture
def known_ids(token: tuple[str, int], alice: User) -> dict[str, int]:
    """An object to read and change behind each `{id}` path (random ids would all be 404s)."""
    ticket = Ticket.objects.get(number=token[1])
    template = TicketTemplate.objects.create(name="Onboarding", title="New colleague")
    canned = CannedResponse.objects.create(name="Hello", body="Hi {{contact.first_name}}")
    article = save_article(
        alice, None, category=None, visibility="public", status="draft", texts={"en": ("A", "")}
    )
    return {
        "/api/v1/tickets/{number}/time-entries/{id}/": log_time_entry(alice, ticket, 5).pk,
        "/api/v1/templates/{id}/": template.pk,
        "/api/v1/canned-responses/{id}/": canned.pk,
        "/api/v1/kb/articles/{id}/": article.pk,
    }


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
def test_no_generated_input_makes_the_api_fail(wsgi_app, token, known_ids, mode):  # type: ignore[no-untyped-def]
    schema = schemathesis.openapi.from_wsgi("/api/v1/schema/", wsgi_app)
    raw, number = token
    headers = {"Authorization": f"Bearer {raw}"}
    failures: list[str] = []
    seen: dict[int, int] = {}
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 20
    assert set(known_ids) | {"/api/v1/reports/{name}/", "/api/v1/kb/categories/"} <= {
        operation.path for operation in operations
    }

    def path_parameters(path: str) -> list[dict[str, object] | None]:
        """Objects that exist: the ticket, the object behind `{id}`, every report by name."""
        known: dict[str, object] = {}
        if "{number}" in path:
            known["number"] = number
        if "{id}" in path and path in known_ids:
            known["id"] = known_ids[path]
        if "{name}" in path:
            return [{**known, "name": name} for name in sorted(REPORTS)]
        return [known or None]

    strategies = [
        operation.as_strategy(generation_mode=mode, path_parameters=known)
        for operation in operations
        for known in path_parameters(operation.path)
    ]
    for strategy in strategies:

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
