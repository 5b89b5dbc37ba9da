"""A customer's whole visit in Chromium: sign in by a mailed one-time link, ask with a file,
read the agent's answer, answer back, close; and a visitor with a mailed ticket link."""

from __future__ import annotations

import email
import re
from email import policy

import pytest
from playwright.sync_api import expect

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail.models import OutgoingMail
from helpa.portal import links
from helpa.tickets import actions
from helpa.tickets.models import ArticleKind, Queue, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _link_in(mail: OutgoingMail) -> str:
    with mail.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+/portal/\S+/", text)
    assert found, text
    return found.group(0)


def _path(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


def test_a_customer_signs_in_by_link_asks_reads_answers_and_closes(
    visitor_page,
    live_server,
    customer: User,
    contact: Contact,
    alice: User,
    support: Queue,
    tmp_path,
) -> None:
    page = visitor_page()
    page.goto(f"{live_server.url}/portal/")
    page.get_by_role("link", name="Log in").first.click()
    page.get_by_label("Your e-mail address").fill(customer.email)
    page.get_by_test_id("send-link").click()
    expect(page.get_by_test_id("link-sent")).to_be_visible()

    link = _link_in(OutgoingMail.objects.get(first_recipient=customer.email))
    page.goto(live_server.url + _path(link))
    page.get_by_test_id("use-link").click()
    page.wait_for_url(f"{live_server.url}/portal/tickets/")

    page.get_by_role("link", name="New request").first.click()
    page.get_by_label("Subject").fill("The printer jams")
    page.get_by_label("Describe your request").fill("Every second page jams.")
    photo = tmp_path / "jam.txt"
    photo.write_text("paper jam log")
    page.get_by_label("Attachments").set_input_files(str(photo))
    page.get_by_role("button", name="Send request").click()
    expect(page.get_by_test_id("thread")).to_contain_text("Every second page jams.")
    expect(page.get_by_role("link", name=re.compile("jam.txt"))).to_be_visible()

    ticket = Ticket.objects.get(contact=contact)
    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    actions.add_reply(alice, ticket, "<p>Please try the other tray.</p>")
    actions.add_note(alice, ticket, "<p>Internal: the tray is broken too</p>")
    actions.set_status(alice, ticket, Status.WAITING)

    page.reload()
    expect(page.get_by_test_id("thread")).to_contain_text("Please try the other tray.")
    expect(page.get_by_test_id("thread")).not_to_contain_text("Internal")
    expect(page.get_by_test_id("ticket-status")).to_have_text("Waiting on contact")
    page.get_by_label("Your message").fill("The other tray works, thanks!")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_test_id("thread")).to_contain_text("The other tray works")
    expect(page.get_by_test_id("ticket-status")).to_have_text("Open")

    page.get_by_test_id("close").click()
    expect(page.get_by_test_id("ticket-status")).to_have_text("Closed")
    ticket.refresh_from_db()
    assert ticket.status == Status.CLOSED
    assert ticket.articles.filter(kind=ArticleKind.CUSTOMER).count() == 2


def test_a_visitor_with_a_ticket_link_reads_and_adds_information(
    visitor_page, live_server, contact: Contact, alice: User, support: Queue
) -> None:
    ticket = actions.open_ticket(alice, queue=support, title="VPN", contact=contact, owner=alice)
    actions.add_reply(alice, ticket, "<p>Which version do you run?</p>")
    actions.add_note(alice, ticket, "<p>Internal: old client</p>")
    raw = links.issue_ticket_link(ticket, contact)

    page = visitor_page()
    page.goto(f"{live_server.url}/portal/l/{raw}/")
    expect(page.get_by_test_id("thread")).to_contain_text("Which version do you run?")
    expect(page.get_by_test_id("thread")).not_to_contain_text("Internal")
    assert page.locator("meta[name=robots]").get_attribute("content").startswith("noindex")
    page.get_by_label("Your message").fill("Version 5.1")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_test_id("thread")).to_contain_text("Version 5.1")
    assert ticket.articles.filter(kind=ArticleKind.CUSTOMER, author_contact=contact).exists()

    links.revoke_ticket_links(ticket)
    response = page.goto(f"{live_server.url}/portal/l/{raw}/")
    assert response is not None and response.status == 404
