"""Full-text search over a ticket's title, description and whole thread.

PostgreSQL: a `tsvector` column on the ticket table with a GIN index (stemmed with
settings.SEARCH_CONFIG). SQLite: an FTS5 table whose rowid is the ticket id. Both are kept up to
date by the actions (`reindex_ticket`) and are created by migration 0002.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from .models import Article, Ticket

_WORD = re.compile(r"\w+", re.UNICODE)
_NUMBER = re.compile(r"^#?(\d{1,18})$")
# PostgreSQL refuses tsvectors over 1 MB; a thread's first 500,000 characters are plenty.
MAX_DOCUMENT_CHARS = 500_000


def _document_parts(ticket_id: int) -> tuple[str, str]:
    """The ticket's title and text, its thread in order (Article's ordering). Written out: every
    reply and every mail to a ticket reads them, and the ORM's building of the two statements
    costs several times their running."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT title, description_text FROM {Ticket._meta.db_table} WHERE id = %s",
            [ticket_id],
        )
        row = cursor.fetchone()
        if row is None:
            raise Ticket.DoesNotExist(f"no ticket {ticket_id}")
        title, description = row
        cursor.execute(
            f"SELECT body_text FROM {Article._meta.db_table} "
            "WHERE ticket_id = %s AND deleted_at IS NULL ORDER BY created_at, id",
            [ticket_id],
        )
        bodies = [body for (body,) in cursor.fetchall()]
    return title, document_text(description, bodies)


def reindex_ticket(ticket_id: int) -> None:
    index_document(ticket_id, *_document_parts(ticket_id))


def document_text(description_text: str, bodies: list[str]) -> str:
    """The indexed text besides the title: the description, then the thread's entries."""
    return "\n".join([description_text, *bodies])[:MAX_DOCUMENT_CHARS]


def index_document(ticket_id: int, title: str, rest: str, *, new: bool = False) -> None:
    """Write a ticket's index entry from text the caller has in hand (`document_text`): a
    caller that just wrote the ticket need not read it back. `new`: the ticket was created in
    this transaction, so it has no entry yet (SQLite never reuses a ticket id: AUTOINCREMENT)."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "UPDATE tickets_ticket SET search_document = "
                "setweight(to_tsvector(%s::regconfig, %s), 'A') || to_tsvector(%s::regconfig, %s) "
                "WHERE id = %s",
                [settings.SEARCH_CONFIG, title, settings.SEARCH_CONFIG, rest, ticket_id],
            )
        else:
            # OR REPLACE: the entry of an earlier version goes in the same statement. A "new"
            # ticket may meet a stale entry too: SQLite restarts the id sequence when a
            # migration rebuilds an empty ticket table, and the FTS5 table is no part of it.
            cursor.execute(
                "INSERT OR REPLACE INTO tickets_ticket_fts (rowid, title, body) VALUES (%s, %s, %s)",
                [ticket_id, title, rest],
            )


def forget_tickets(ticket_ids: list[int]) -> None:
    """Drop deleted tickets' entries (SQLite's FTS5 table is not tied to the ticket rows;
    PostgreSQL's column goes with the row)."""
    if connection.vendor == "postgresql" or not ticket_ids:
        return
    with connection.cursor() as cursor:
        marks = ", ".join(["%s"] * len(ticket_ids))
        cursor.execute(f"DELETE FROM tickets_ticket_fts WHERE rowid IN ({marks})", ticket_ids)


def _fts5_query(text: str) -> str:
    """Every word must occur, each also as a prefix ("faktur" finds "fakturan")."""
    words = _WORD.findall(text)
    return " ".join(f'"{w}"*' for w in words)


def is_number(text: str) -> bool:
    """Whether a search asks for one ticket by its number ("#10042" or "10042")."""
    return bool(_NUMBER.match(text.strip()))


def apply_search(
    queryset: QuerySet[Ticket], text: str, *, use_index: bool = True
) -> QuerySet[Ticket]:
    """Narrow `queryset` to the tickets whose text has every word of `text`.

    use_index=False when `queryset` is already narrow (the active tickets, a few percent): then
    the database checks the words on those rows. Through the index, a common word ("fungerar",
    in almost half of all tickets) would first collect every ticket that has it."""
    text = text.strip()
    if not text:
        return queryset
    number = _NUMBER.match(text)
    if number:  # "#10042" or "10042": the agent wants that ticket
        return queryset.filter(number=int(number.group(1)))
    if connection.vendor == "postgresql":
        # ts_match_vq is the function behind @@; called by name, no index can serve it.
        condition = (
            "tickets_ticket.search_document @@ websearch_to_tsquery(%s::regconfig, %s)"
            if use_index
            else "ts_match_vq(tickets_ticket.search_document, websearch_to_tsquery(%s::regconfig, %s))"
        )
        return queryset.extra(where=[condition], params=[settings.SEARCH_CONFIG, text])
    else:
        fts_query = _fts5_query(text)
        if not fts_query:
            return queryset.none()
        # Through the index, SQLite walks the matches and looks each ticket up by id (a common
        # word: 40,000 look-ups at 100,000 tickets, 37 ms). Otherwise the unary + keeps it from
        # driving by id: it walks the narrow set by its own index and checks each ticket
        # against the list of matches, built once (7 ms).
        column = "tickets_ticket.id" if use_index else "+tickets_ticket.id"
        return queryset.extra(
            where=[
                f"{column} IN (SELECT rowid FROM tickets_ticket_fts "
                "WHERE tickets_ticket_fts MATCH %s)"
            ],
            params=[fts_query],
        )
