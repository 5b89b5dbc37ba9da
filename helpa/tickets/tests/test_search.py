"""Full-text search over title, description and the whole thread, as the overview runs it.

The same tests run on SQLite (an FTS5 table, tickets_ticket_fts) and on PostgreSQL (a tsvector
column stemmed with the Swedish configuration). The words searched for are ones both
databases reduce alike: the stemmer turns "scanner" into "scann" in the ticket and in the query.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.paginator import Paginator
from django.db import connection
from django.http import QueryDict
from django.utils import timezone

from helpa.accounts.models import User
from helpa.tickets import actions, overview
from helpa.tickets.models import Queue, Ticket
from helpa.tickets.overview import CappedPaginator, build_overview
from helpa.tickets.search import apply_search


def _found(user: User, text: str, view: str = "all") -> list[Ticket]:
    """What the overview lists when `user` types `text` into the search box."""
    params = QueryDict(mutable=True)
    params.update({"view": view, "q": text})
    return list(build_overview(user, params).queryset)


def test_a_word_is_found_in_the_title_the_description_and_deep_in_the_thread(
    alice: User, queue_support: Queue
) -> None:
    by_title = actions.open_ticket(alice, queue=queue_support, title="Scanner offline")
    by_description = actions.open_ticket(
        alice, queue=queue_support, title="Help", description="<p>The <b>router</b> blinks</p>"
    )
    by_thread = actions.open_ticket(alice, queue=queue_support, title="Other")
    for n in range(40):
        actions.add_reply(alice, by_thread, f"<p>Message {n}</p>")
    actions.add_reply(alice, by_thread, "<p>The customer mentions a faulty keyboard</p>")
    actions.add_note(alice, by_thread, "<p>Ordered a new one</p>")
    actions.open_ticket(alice, queue=queue_support, title="Unrelated")

    assert _found(alice, "scanner") == [by_title]
    assert _found(alice, "Router") == [by_description]
    assert _found(alice, "keyboard") == [by_thread]
    everything = Ticket.objects.all()
    assert list(apply_search(everything, "keyboard")) == [by_thread]
    assert list(apply_search(everything, "")) == list(everything)


def test_every_word_must_match(alice: User, queue_support: Queue) -> None:
    router = actions.open_ticket(
        alice, queue=queue_support, title="Router", description="<p>blinks red</p>"
    )
    actions.open_ticket(alice, queue=queue_support, title="Keyboard", description="<p>red</p>")
    assert _found(alice, "router red") == [router]
    assert _found(alice, "router keyboard") == []


def test_a_number_finds_that_ticket(alice: User, queue_support: Queue) -> None:
    first = actions.open_ticket(alice, queue=queue_support, title="Scanner offline")
    second = actions.open_ticket(alice, queue=queue_support, title="Mentions #10001 in passing")
    assert (first.number, second.number) == (10001, 10002)

    assert _found(alice, "#10001") == [first]
    assert _found(alice, "10002") == [second]
    assert _found(alice, " #10002 ") == [second]
    assert _found(alice, "#99999") == []
    assert list(apply_search(Ticket.objects.all(), "#10001")) == [first]


def test_changes_are_found_at_once(alice: User, queue_support: Queue) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Monitor flickers")
    actions.update_ticket(alice, ticket, {"title": "Screen flickers"})
    assert _found(alice, "monitor") == []
    assert _found(alice, "screen") == [ticket]

    actions.update_ticket(alice, ticket, {"description": "<p>Cable replaced</p>"})
    assert _found(alice, "cable") == [ticket]

    post = actions.add_discussion_post(alice, ticket, "<p>Perhaps the graphics driver</p>")
    assert _found(alice, "driver") == [ticket]
    actions.delete_discussion_post(alice, post)
    assert _found(alice, "driver") == []  # a deleted post is no longer searched


def test_swedish_text_is_found(alice: User, queue_support: Queue) -> None:
    ticket = actions.open_ticket(
        alice,
        queue=queue_support,
        title="Fakturan är fel",
        description="<p>Momsen saknas på fakturan</p>",
    )
    assert _found(alice, "fakturan") == [ticket]
    assert _found(alice, "momsen saknas") == [ticket]


def test_search_stays_within_what_the_user_may_see(
    alice: User, bob: User, bob_agent: User, queue_support: Queue, queue_billing: Queue
) -> None:
    payroll = actions.open_ticket(bob, queue=queue_billing, title="Payroll question")
    assert _found(alice, "payroll") == []
    assert _found(alice, payroll.display_number) == []
    assert _found(bob, "payroll") == [payroll]
    assert _found(bob_agent, "payroll") == []


def test_search_narrows_the_chosen_view(alice: User, queue_support: Queue) -> None:
    mine = actions.open_ticket(alice, queue=queue_support, title="Scanner A", owner=alice)
    actions.open_ticket(alice, queue=queue_support, title="Scanner B")
    assert _found(alice, "scanner", view="mine") == [mine]
    assert len(_found(alice, "scanner", view="all")) == 2


def test_odd_input_finds_nothing_and_breaks_nothing(alice: User, queue_support: Queue) -> None:
    actions.open_ticket(alice, queue=queue_support, title="Normal")
    for text in ['"', "*", "AND OR NOT", "(", "-", "'; DROP TABLE x; --", "ä" * 300, "NEAR(a b)"]:
        assert _found(alice, text) == []
    assert Ticket.objects.count() == 1


def _pages(paginator: Paginator) -> list[list[int]]:
    return [[t.number for t in paginator.page(n).object_list] for n in paginator.page_range]


def test_a_broad_search_pages_alike_through_the_recent_tickets(
    alice: User, queue_support: Queue, monkeypatch
) -> None:
    """Recently changed tickets are searched first (overview.RECENT_WINDOW); the pages and the
    count are those of searching everything, whether the recent ones fill a page or not."""
    tickets = [
        actions.open_ticket(alice, queue=queue_support, title=f"Scanner {n}") for n in range(9)
    ]
    for n in range(12):
        actions.open_ticket(alice, queue=queue_support, title=f"Other {n}")
    for n, ticket in enumerate(tickets):  # changed in a shuffled order, some at the same time
        Ticket.objects.filter(pk=ticket.pk).update(
            updated_at=timezone.now() - timedelta(hours=(n * 7) % 9 // 2)
        )
    params = QueryDict("view=all&q=scanner")
    expected = _pages(Paginator(build_overview(alice, params).queryset, 2))
    assert sum(len(p) for p in expected) == 9

    for window in (1, 4, 10, 100):
        monkeypatch.setattr(overview, "RECENT_WINDOW", window)
        result = build_overview(alice, params)
        assert (result.recent is not None) == (window < Ticket.objects.count())
        paginator = CappedPaginator(result.queryset, 2, result.recent, result.counted)
        assert (paginator.count, _pages(paginator)) == (9, expected), window

    monkeypatch.setattr(overview, "COUNT_LIMIT", 4)
    monkeypatch.setattr(overview, "RECENT_WINDOW", 12)
    result = build_overview(alice, params)
    paginator = CappedPaginator(result.queryset, 2, result.recent, result.counted)
    assert paginator.is_capped and paginator.count == 5
    assert [t.number for t in paginator.page(2).object_list] == expected[1]
    # Sorting by anything else, an active view or a number: no recent-first search.
    for query in ("view=all&q=scanner&sort=title", "view=active&q=scanner", "view=all&q=10001"):
        assert build_overview(alice, QueryDict(query)).recent is None


def test_search_in_the_active_views_finds_what_the_index_finds(
    alice: User, queue_support: Queue
) -> None:
    """Active views check the words on their few rows instead of asking the index (on
    PostgreSQL); the answer is the same."""
    active = actions.open_ticket(alice, queue=queue_support, title="Router blinks", owner=alice)
    done = actions.open_ticket(alice, queue=queue_support, title="Router replaced", owner=alice)
    actions.update_ticket(alice, done, {"status": "closed"})
    for view in ("active", "mine", "new"):
        assert _found(alice, "router", view=view) == [active]
        assert list(apply_search(Ticket.objects.active(), "router", use_index=False)) == [active]
    assert _found(alice, "router blinks", view="active") == [active]
    assert _found(alice, "router nothing", view="active") == []
    assert set(_found(alice, "router", view="all")) == {active, done}


# SQLite's statistics of the ticket table at 100,000 tickets (ANALYZE on the page benchmark's
# database): with them the planner weighs the plans as it does on a real desk.
STATISTICS_AT_100_000_TICKETS = {
    "ticket_tiles_idx": "2895 290 73 12 3",
    "ticket_queue_active_idx": "2895 290 1",
    "ticket_owner_active_idx": "2895 57 1",
    "ticket_status_idx": "100000 16667 1",
    "ticket_updated_idx": "100000 1",
    "tickets_ticket_queue_id_0d3cb9ef": "100000 10000",
    "tickets_ticket_owner_id_40236788": "100000 1961",
    "sqlite_autoindex_tickets_ticket_1": "100000 1",
}


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan (PostgreSQL: ts_match_vq)")
def test_an_active_view_on_sqlite_checks_its_own_rows_against_the_matches(
    alice: User, queue_support: Queue
) -> None:
    """SQLite, given `id IN (matches)`, walks the matches and looks every ticket up by id: for
    a word in half of 100,000 tickets that was most of the page's time (37 of 46 ms). In an
    active view it must walk the few active tickets by their index and check each against the
    matches."""
    actions.open_ticket(alice, queue=queue_support, title="Router blinks", owner=alice)
    params = QueryDict(mutable=True)
    params.update({"view": "active", "q": "router"})
    sql, sql_params = build_overview(alice, params).queryset.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")  # (inside the test's transaction: rolled back after it)
        cursor.execute("DELETE FROM sqlite_stat1 WHERE tbl = 'tickets_ticket'")
        for index, stat in STATISTICS_AT_100_000_TICKETS.items():
            cursor.execute(
                "INSERT INTO sqlite_stat1 (tbl, idx, stat) VALUES ('tickets_ticket', %s, %s)",
                [index, stat],
            )
        cursor.execute("ANALYZE sqlite_schema")  # load them
        try:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", sql_params)
            plan = [str(row[-1]) for row in cursor.fetchall()]
        finally:
            cursor.execute("DELETE FROM sqlite_stat1")
            cursor.execute("ANALYZE sqlite_schema")
    ticket_steps = [step for step in plan if "tickets_ticket " in f"{step} "]
    assert ticket_steps, plan
    assert not any("INTEGER PRIMARY KEY" in step for step in ticket_steps), plan
