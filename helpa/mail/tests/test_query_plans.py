"""The mail channel's frequent statements use their indexes on SQLite.

SQLite uses a partial index only when the statement repeats the index's condition: `state =
%s` matches `WHERE state = 'queued'` (it compares the bound value), but an IN list of parameters
matches nothing, and the statement then reads the whole table — unnoticed in a small test
database, a table scan per new ticket at a million outgoing mails. Each test captures the real
statement and its parameters as they are sent, and asks SQLite for its plan.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from helpa.mail import ingest, outbox
from helpa.mail.models import InboundMail
from helpa.tickets.models import Queue, Ticket

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's partial-index matching"),
]


@contextmanager
def statements_on(table: str) -> Iterator[list[tuple[str, list[Any]]]]:
    """The SELECTs sent while the block runs that read `table`, with their parameters."""
    captured: list[tuple[str, list[Any]]] = []

    def capture(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any):
        if sql.lstrip().upper().startswith("SELECT") and table in sql:
            captured.append((sql, list(params or [])))
        return execute(sql, params, many, context)

    with connection.execute_wrapper(capture):
        yield captured


def plan(sql: str, params: list[Any]) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
        return "\n".join(str(row[-1]) for row in cursor.fetchall())


def test_the_automatic_mail_caps_read_the_outbox_by_index(support: Queue) -> None:
    ticket = Ticket.objects.create(number=10001, title="Printer", queue=support)
    with statements_on("mail_outgoingmail") as sent:
        assert ingest.may_send_automatic_mail("pia@kund.test", ticket)
    assert sent, "the caps were not asked"
    for sql, params in sent:
        found = plan(sql, params)
        assert "outbox_automatic_idx" in found, found
        assert "SCAN mail_outgoingmail" not in found, found


def test_the_outbox_drain_reads_due_mail_by_index(db: None) -> None:
    with statements_on("mail_outgoingmail") as sent:
        outbox.send_due()
    assert sent
    for sql, params in sent:
        found = plan(sql, params)
        assert "outbox_due_idx" in found, found


def test_the_failed_mail_list_reads_by_index(ada_client: Client) -> None:
    ingest.ingest_message(
        b"From: pia@kund.test\nTo: nobody@helpa.test\nSubject: Lost\n\nHello\n",
        source=InboundMail.Source.PIPE,
    )
    with statements_on("mail_inboundmail") as sent:
        response = ada_client.get("/mail/settings/received/")
    assert response.status_code == 200 and b"Lost" in response.content
    assert sent
    for sql, params in sent:
        found = plan(sql, params)
        assert "SCAN mail_inboundmail" not in found, (sql, found)
