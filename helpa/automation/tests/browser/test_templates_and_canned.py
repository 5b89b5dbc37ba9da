"""In the browser: a canned response by "::" and by the list, a ticket from a template with
its steps and solution beside it."""

from __future__ import annotations

from playwright.sync_api import expect

from helpa.accounts.models import User
from helpa.automation.models import CannedResponse, SubTicketTemplate, TicketTemplate
from helpa.tickets.models import Article, ArticleKind, Queue, Ticket


def test_an_agent_types_colon_colon_and_a_canned_response_goes_in(
    open_page, live_server, alice: User, ticket: Ticket
) -> None:
    CannedResponse.objects.create(
        name="Thanks", body="Tack för ditt ärende {{ticket.number}}.\n\n{{agent.name}}"
    )
    CannedResponse.objects.create(name="Toner", body="Ny toner är beställd.")
    page = open_page(alice)
    page.goto(f"{live_server.url}/t/{ticket.number}/")
    editor = page.locator("#composer .editable")
    editor.click()
    page.keyboard.type("Hej! ::tha")
    suggest = page.get_by_test_id("canned-suggest")
    expect(suggest).to_be_visible()
    expect(suggest.get_by_test_id("canned-item")).to_have_count(1)
    page.keyboard.press("Enter")
    expect(suggest).to_be_hidden()
    expect(editor).to_contain_text(f"Tack för ditt ärende {ticket.display_number}.")
    expect(editor).to_contain_text("Alice Agent")
    expect(editor).not_to_contain_text("::tha")
    # Two clicks: the list under the editor.
    picker = page.get_by_test_id("canned-picker")
    picker.locator("summary").click()
    picker.get_by_role("button", name="Toner").click()
    expect(editor).to_contain_text("Ny toner är beställd.")
    page.get_by_role("button", name="Send reply").click()
    page.wait_for_url(f"**/t/{ticket.number}/**")
    reply = Article.objects.get(ticket=ticket, kind=ArticleKind.REPLY)
    assert "Hej!" in reply.body_text
    assert f"Tack för ditt ärende {ticket.display_number}." in reply.body_text
    assert "Ny toner är beställd." in reply.body_text
    assert "::" not in reply.body_text


def test_a_ticket_from_a_template_with_its_steps_and_solution(
    open_page, live_server, alice: User, support: Queue
) -> None:
    template = TicketTemplate.objects.create(
        name="Password reset",
        title="Reset a password",
        queue=support,
        instructions="Check who is asking\nReset the password",
        solution="<p>Your new password is in an SMS.</p>",
    )
    sub = TicketTemplate.objects.create(name="Log", title="Note it in the log")
    SubTicketTemplate.objects.create(template=template, sub_template=sub)
    page = open_page(alice)
    page.goto(f"{live_server.url}/tickets/new/")
    page.get_by_role("link", name="Password reset").click()
    expect(page.locator("#id_title")).to_have_value("Reset a password")
    expect(page.locator("#template-note")).to_contain_text("Note it in the log")
    page.get_by_role("button", name="Create ticket").click()
    page.wait_for_url("**/t/*/")
    ticket = Ticket.objects.get(title="Reset a password")
    assert ticket.children.get().title == "Note it in the log"
    steps = page.get_by_test_id("template-use")
    expect(steps).to_contain_text("Check who is asking")
    steps.locator("summary").click()
    steps.get_by_role("button", name="Insert into the reply").click()
    expect(page.locator("#composer .editable")).to_contain_text("Your new password is in an SMS.")
