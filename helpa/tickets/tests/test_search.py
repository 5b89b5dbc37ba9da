"""Full-text search over title, description and the whole thread, on SQLite and PostgreSQL."""

from __future__ import annotations

from django.http import QueryDict

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket
from helpa.tickets.overview import build_overview


def _search(user: User, text: str) -> list[Ticket]:
    params = QueryDict(mutable=True)
    params.update({"view": "all", "q": text})
    return list(build_overview(user, params).queryset)


def test_finds_words_in_title_description_and_deep_in_the_thread(
    alice: User, support: Queue
) -> None:
    by_title = actions.open_ticket(alice, queue=support, title="Scanner offline")
    by_description = actions.open_ticket(
        alice, queue=support, title="Help", description="<p>The router blinks red</p>"
    )
    by_thread = actions.open_ticket(alice, queue=support, title="Other")
    for n in range(30):
        actions.add_reply(alice, by_thread, f"<p>Message {n}</p>")
    actions.add_note(alice, by_thread, "<p>Customer mentioned a faulty keyboard</p>")
    actions.open_ticket(alice, queue=support, title="Unrelated")

    assert _search(alice, "scanner") == [by_title]
    assert _search(alice, "router") == [by_description]
    assert _search(alice, "keyboard") == [by_thread]
    assert _search(alice, "router red") == [by_description]  # every word must match
    assert _search(alice, "router keyboard") == []
    assert _search(alice, f"#{by_thread.number}") == [by_thread]
    assert _search(alice, str(by_title.number)) == [by_title]


def test_changes_are_reindexed(alice: User, support: Queue) -> None:
    ticket = actions.open_ticket(alice, queue=support, title="Monitor flickers")
    actions.update_ticket(alice, ticket, {"title": "Screen flickers"})
    assert _search(alice, "monitor") == []
    assert _search(alice, "screen") == [ticket]


def test_swedish_text_is_found(alice: User, support: Queue) -> None:
    ticket = actions.open_ticket(
        alice,
        queue=support,
        title="Fakturan är fel",
        description="<p>Momsen saknas på fakturan</p>",
    )
    assert _search(alice, "fakturan") == [ticket]
    assert _search(alice, "momsen") == [ticket]


def test_search_respects_visibility(alice: User, bob: User, support: Queue, billing: Queue) -> None:
    actions.open_ticket(bob, queue=billing, title="Secret payroll question")
    assert _search(alice, "payroll") == []
    assert len(_search(bob, "payroll")) == 1


def test_odd_input_does_not_break_search(alice: User, support: Queue) -> None:
    actions.open_ticket(alice, queue=support, title="Normal")
    for text in ['"', "*", "AND OR NOT", "(", "-", "'; DROP TABLE x; --", "ä" * 300, "NEAR(a b)"]:
        assert _search(alice, text) == []
