"""An agent's day in a real browser: the overview, a new ticket, the thread, statuses,
sub-tickets, two agents on one ticket, a rejected upload, and a phone-sized screen."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import HelpdeskSettings, Notification, Priority, Queue, Status, Ticket

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[..., Page]


def _owned(alice: User, support: Queue, title: str, **fields) -> Ticket:
    ticket = actions.open_ticket(alice, queue=support, title=title, **fields)
    return actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})


def _row(page: Page, ticket: Ticket):
    return page.locator(f"#row-{ticket.number}")


def test_overview_filters_tiles_and_quick_edit(
    open_page: OpenPage, alice: User, support: Queue
) -> None:
    mine = _owned(alice, support, "Printer jammed on floor 3")
    other = _owned(alice, support, "VPN drops every hour", priority=Priority.HIGH)
    unowned = actions.open_ticket(alice, queue=support, title="New request from web")

    page = open_page(alice)
    assert page.evaluate("typeof htmx") == "object"
    expect(page.locator("h1")).to_contain_text("My open tickets")
    expect(_row(page, mine)).to_be_visible()
    expect(_row(page, unowned)).to_have_count(0)

    with page.expect_navigation():
        page.click("[data-tile=new]")
    expect(_row(page, unowned)).to_be_visible()
    expect(_row(page, mine)).to_have_count(0)

    page.goto(page.url.split("?")[0])
    page.select_option("select[name=priority]", [str(Priority.HIGH.value)])
    with page.expect_navigation():
        page.click("#filter-form button[type=submit]")
    expect(_row(page, other)).to_be_visible()
    expect(_row(page, mine)).to_have_count(0)

    # Quick edit: the row is swapped in place and the change is stored.
    page.goto(page.url.split("?")[0])
    with page.expect_response(re.compile(r"/quick/$")):
        _row(page, mine).locator("select[aria-label=Priority]").select_option(
            str(Priority.HIGH.value)
        )
    expect(_row(page, mine).locator("select[aria-label=Priority]")).to_have_value(
        str(Priority.HIGH.value)
    )
    mine.refresh_from_db()
    assert mine.priority == Priority.HIGH
    page.reload()
    expect(_row(page, mine).locator("select[aria-label=Priority]")).to_have_value(
        str(Priority.HIGH.value)
    )

    # Leaving New without an owner is refused inside the row.
    with page.expect_navigation():
        page.click("[data-tile=new]")
    with page.expect_response(re.compile(r"/quick/$")):
        _row(page, unowned).locator("select[aria-label=Status]").select_option("open")
    expect(_row(page, unowned)).to_contain_text("needs an owner")
    unowned.refresh_from_db()
    assert unowned.status == Status.NEW


def test_create_reply_note_mention_and_status(
    open_page: OpenPage, alice: User, ada: User, support: Queue
) -> None:
    page = open_page(alice)
    page.click("text=+ New ticket")
    page.fill("input[name=title]", "Laptop will not start")
    page.click("text=Create ticket")
    expect(page.locator("h1")).to_contain_text("Laptop will not start")
    ticket = Ticket.objects.get(title="Laptop will not start")
    assert page.url.endswith(f"/t/{ticket.number}/")
    expect(page.locator("h1")).to_contain_text(f"#{ticket.number}")

    # A reply written in the HTML editor, with bold text.
    page.locator("#composer .editable").click()
    page.keyboard.type("Have you tried the power button? ")
    page.click("#composer [data-cmd=bold]")
    page.keyboard.type("Hold it 10 seconds.")
    page.click("#composer button[type=submit]")
    reply = page.locator("#conversation .msg.from-us")
    expect(reply).to_contain_text("Have you tried the power button?")
    expect(reply.locator(".body b, .body strong")).to_have_text("Hold it 10 seconds.")

    # An internal note with time spent.
    page.click("[data-tab=notes]")
    expect(page.locator("#composer button[type=submit]")).to_have_text("Add note")
    page.locator("#composer .editable").fill("Checked the warranty: valid until 2027.")
    page.fill("input[name=time_spent_minutes]", "15")
    page.click("#composer button[type=submit]")
    note = page.locator("#notes .msg.kind-note")
    expect(note).to_contain_text("Checked the warranty")
    expect(note).to_contain_text("15 min")

    # A mention in the discussion reaches the colleague.
    page.click("[data-tab=discussion]")
    page.locator("#composer .editable").fill("@ada could you order a replacement?")
    page.click("#composer button[type=submit]")
    expect(page.locator("#discussion .msg")).to_contain_text("could you order a replacement")
    ada_page = open_page(ada)
    expect(ada_page.locator("[data-testid=unread-count]")).to_have_text("1")
    ada_page.click("text=Notifications")
    expect(ada_page.locator(".notifications")).to_contain_text("Laptop will not start")
    assert Notification.objects.filter(user=ada, kind=Notification.Kind.MENTION).count() == 1

    # New → Open without an owner: a clear message, nothing lost.
    page.select_option("#fields-form select[name=status]", "open")
    page.fill("#fields-form input[name=title]", "Laptop will not start (HP)")
    page.click("#fields-form button[type=submit]")
    expect(page.locator("#fields-form .errors")).to_contain_text("needs an owner")
    expect(page.locator("#fields-form input[name=title]")).to_have_value(
        "Laptop will not start (HP)"
    )
    page.select_option("#fields-form select[name=owner]", str(alice.pk))
    page.click("#fields-form button[type=submit]")
    expect(page.locator("[data-testid=status]")).to_have_text("Open")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.owner, ticket.title) == (
        Status.OPEN,
        alice,
        "Laptop will not start (HP)",
    )


def test_sub_tickets_close_with_their_parent(
    open_page: OpenPage, alice: User, support: Queue
) -> None:
    parent = _owned(alice, support, "Mail server down")
    page = open_page(alice)
    page.goto(page.url.replace("/tickets/", f"/t/{parent.number}/"))
    page.click("text=+ New sub-ticket")
    expect(page.locator("h1")).to_contain_text(f"New sub-ticket of #{parent.number}")
    page.fill("input[name=title]", "Restore mailbox of sales")
    page.click("text=Create ticket")
    expect(page.locator(".ticket-head")).to_contain_text(f"Sub-ticket of #{parent.number}")
    child = Ticket.objects.get(title="Restore mailbox of sales")
    assert child.parent_id == parent.pk

    page.click(f"text=#{parent.number} Mail server down")
    expect(page.locator("#subtickets")).to_contain_text("Restore mailbox of sales")
    expect(page.locator("#close-form")).to_contain_text("Also close its 1 open sub-ticket")
    page.click("#close-form button[type=submit]")
    expect(page.locator("[data-testid=status]")).to_have_text("Closed")
    expect(page.locator("#subtickets")).to_contain_text("Closed")
    child.refresh_from_db()
    assert child.status == Status.CLOSED


def test_two_agents_on_one_ticket(
    open_page: OpenPage, alice: User, ada: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Invoice address wrong")
    url = f"/t/{ticket.number}/"
    alice_page = open_page(alice)
    ada_page = open_page(ada)
    alice_page.goto(alice_page.url.replace("/tickets/", url))
    ada_page.goto(ada_page.url.replace("/tickets/", url))

    # Each sees the other (the page polls every 5 seconds).
    expect(alice_page.locator(f"[data-testid=presence-{ada.pk}]")).to_contain_text(
        "Ada Admin is viewing", timeout=15_000
    )
    expect(ada_page.locator(f"[data-testid=presence-{alice.pk}]")).to_contain_text(
        "Alice Agent", timeout=15_000
    )

    # Ada saves first; Alice's save from the older version is refused, her text kept.
    ada_page.select_option("#fields-form select[name=priority]", str(Priority.HIGH.value))
    ada_page.click("#fields-form button[type=submit]")
    expect(ada_page.locator(".messages")).to_contain_text("Ticket saved")
    alice_page.fill("#fields-form input[name=title]", "Invoice address wrong (Acme)")
    alice_page.click("#fields-form button[type=submit]")
    warning = alice_page.locator("[data-testid=stale-warning]")
    expect(warning).to_contain_text("someone else changed this ticket")
    expect(warning).to_contain_text("Ada Admin")
    expect(warning).to_contain_text("High")
    expect(alice_page.locator("#fields-form input[name=title]")).to_have_value(
        "Invoice address wrong (Acme)"
    )
    ticket.refresh_from_db()
    assert ticket.title == "Invoice address wrong"

    # Saving again applies Alice's change on top of Ada's.
    alice_page.click("#fields-form button[type=submit]")
    expect(alice_page.locator("h1")).to_contain_text("Invoice address wrong (Acme)")
    ticket.refresh_from_db()
    assert (ticket.title, ticket.priority) == ("Invoice address wrong (Acme)", Priority.HIGH)


def test_an_oversize_file_is_refused_and_the_text_kept(
    open_page: OpenPage, alice: User, support: Queue
) -> None:
    settings = HelpdeskSettings.load()
    settings.max_attachment_mb = 1
    settings.save()
    ticket = _owned(alice, support, "Scan attached")
    page = open_page(alice)
    page.goto(page.url.replace("/tickets/", f"/t/{ticket.number}/"))
    page.locator("#composer .editable").fill("Here is the scan you asked for.")
    page.set_input_files(
        "#composer input[type=file]",
        [
            {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"x" * 1_500_000},
            {"name": "small.txt", "mimeType": "text/plain", "buffer": b"fine"},
        ],
    )
    expect(page.locator("#composer .file-errors")).to_contain_text(
        "“scan.pdf” is larger than the 1.0"
    )
    assert page.locator("#composer input[type=file]").evaluate(
        "i => Array.from(i.files).map(f => f.name)"
    ) == ["small.txt"]
    page.click("#composer button[type=submit]")
    reply = page.locator("#conversation .msg.from-us")
    expect(reply).to_contain_text("Here is the scan you asked for.")
    expect(reply).to_contain_text("small.txt")
    assert [a.filename for a in ticket.attachments.all()] == ["small.txt"]


def test_a_phone_sized_screen(open_page: OpenPage, alice: User, support: Queue) -> None:
    ticket = _owned(alice, support, "Phone check with a rather long title that must wrap nicely")
    actions.add_reply(alice, ticket, "<p>" + "A long reply line without breaks " * 20 + "</p>")
    page = open_page(alice, viewport={"width": 390, "height": 844})
    for url in ("/tickets/", f"/t/{ticket.number}/", "/tickets/new/"):
        page.goto(page.url.split("/tickets/")[0].split("/t/")[0] + url)
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{url} scrolls sideways by {overflow}px on a phone"
    expect(page.locator("h1")).to_be_visible()
