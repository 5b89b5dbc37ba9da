"""A customer types a new request's title, is offered an article, reads it and says it solved
the problem: the request is never sent, and the article is credited with the deflection."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from helpa.accounts.models import User
from helpa.kb import deflection
from helpa.kb.models import Article, SuggestionVisit
from helpa.tickets.models import Queue, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_suggested_article_solves_the_customers_problem(
    visitor_page, live_server, customer: User, alice: User, support: Queue, make_article
) -> None:
    article = make_article(
        ("Skrivarna på plan 3", "<p>Papperstrassel: öppna luckan och dra ut arket.</p>"),
        ("The printers on floor 3", "<p>Paper jam: open the front door, pull the sheet.</p>"),
    )
    make_article(
        ("Intern rutin för skrivare", "<p>Ring service.</p>"),
        visibility=Article.Visibility.INTERNAL,
    )

    page = visitor_page()
    page.goto(f"{live_server.url}/portal/login/")
    page.fill("input[name=username]", customer.email)
    page.fill("input[name=password]", "pw")
    page.get_by_role("button", name="Log in", exact=True).click()
    page.wait_for_url(f"{live_server.url}/portal/tickets/")

    page.get_by_role("link", name="New request").first.click()
    suggestions = page.get_by_test_id("kb-suggestions")
    expect(suggestions).to_be_hidden()
    page.locator("#id_title").press_sequentially("My printers jam", delay=30)
    expect(suggestions).to_be_visible()
    offered = suggestions.get_by_test_id("kb-suggestion")
    expect(offered).to_have_count(1)
    expect(offered).to_have_text("The printers on floor 3")

    with page.context.expect_page() as opened:
        offered.click()
    article_page = opened.value
    article_page.wait_for_load_state()
    expect(article_page.get_by_test_id("kb-article")).to_contain_text("open the front door")
    # The article page wears the portal's look and the knowledge base's nav link.
    expect(article_page.locator(".portal-top")).to_be_visible()
    article_page.get_by_role("button", name="This solved my problem").click()
    expect(article_page.get_by_test_id("kb-solved")).to_be_visible()
    article_page.close()

    assert not Ticket.objects.exists()
    visit = SuggestionVisit.objects.get()
    assert visit.solved_article_id == article.pk and visit.contact_id == customer.contact.pk
    assert deflection.counts([article.pk])[article.pk] == {
        "opened": 1,
        "solved": 1,
        "confirmed": 1,
    }


def test_an_agent_inserts_an_article_into_a_reply(
    open_page, live_server, alice: User, ticket: Ticket, make_article
) -> None:
    article = make_article(
        ("Skrivarna på plan 3", "<p>Öppna luckan och dra ut arket.</p>"),
        ("The printers on floor 3", "<p>Open the front door, pull the sheet.</p>"),
    )
    page = open_page(alice)
    page.goto(f"{live_server.url}/t/{ticket.number}/")
    picker = page.get_by_test_id("kb-picker")
    picker.locator("summary").click()
    picker.get_by_role("searchbox").fill("skrivaren")
    rows = picker.get_by_test_id("kb-pick-result")
    expect(rows).to_have_count(2)  # one per language
    english = rows.filter(has_text="(EN)")
    english.get_by_role("button", name="Insert link").click()
    editor = page.locator("#composer .editable")
    expect(editor.get_by_role("link", name="The printers on floor 3")).to_have_attribute(
        "href", re.compile(rf"/kb/a/{article.pk}/\?lang=en$")
    )
    picker.locator("summary").click()
    rows.filter(has_text="(SV)").get_by_role("button", name="Insert text").click()
    expect(editor).to_contain_text("Öppna luckan och dra ut arket.")
    # The editor's text is what the reply form sends.
    assert "dra ut arket" in page.locator("#id_body").input_value()
