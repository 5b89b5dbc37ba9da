"""An agent's day in a real browser: logging in, the overview and its quick edits, a new ticket
and its thread, a mention, statuses, sub-tickets, two agents on one ticket, a refused upload,
and a phone-sized screen. Every page is watched by the `open_page` fixture (see conftest)."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from playwright.sync_api import Locator, Page, expect

from helpa.accounts.models import User
from helpa.tickets import actions
from helpa.tickets.models import (
    Article,
    ArticleKind,
    HelpdeskSettings,
    Notification,
    Priority,
    Queue,
    Status,
    Ticket,
)

from .conftest import PHONE, Watch, settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[..., Page]
QUICK = re.compile(r"/t/\d+/quick/$")
# The presence bar polls every 5 seconds.
PRESENCE_TIMEOUT = 12_000


def _owned(owner: User, support: Queue, title: str, **fields) -> Ticket:
    ticket = actions.open_ticket(owner, queue=support, title=title, **fields)
    return actions.update_ticket(owner, ticket, {"owner": owner, "status": Status.OPEN})


def _row(page: Page, ticket: Ticket) -> Locator:
    return page.locator(f"#row-{ticket.number}")


def _shown(page: Page) -> set[int]:
    """The ticket numbers of the overview's rows."""
    numbers = page.locator("table.tickets tbody tr[data-number]").evaluate_all(
        "rows => rows.map(row => row.dataset.number)"
    )
    return {int(n) for n in numbers}


def _numbers(*tickets: Ticket) -> set[int]:
    return {t.number for t in tickets}


def _quick_edit(page: Page, ticket: Ticket, label: str, value: str) -> Locator:
    """Change one select of an overview row; return the row once htmx has swapped it in."""
    with settled(page), page.expect_response(QUICK):
        _row(page, ticket).locator(f"select[aria-label={label}]").select_option(value)
    return _row(page, ticket)


def test_login_loads_the_scripts_and_nothing_leaves_the_machine(
    open_page: OpenPage, watch: Watch, alice: User
) -> None:
    page = open_page(alice)  # the fixture checks htmx and app.js arrived and ran
    expect(page.locator(".topbar .avatar")).to_have_text("AA")
    expect(page.locator("h1")).to_have_text("My open tickets")

    # The guard itself works: a request to another host is stopped and reported, and so is
    # an error in the console. (Then forgotten, so that this test passes.)
    assert watch.problems == []
    outcome = page.evaluate("fetch('http://192.0.2.1/beacon').then(() => 'sent', () => 'blocked')")
    assert outcome == "blocked"
    page.evaluate("console.error('probe')")
    expected = ["request to another host: http://192.0.2.1/beacon", "console error: probe"]
    assert set(expected) <= set(watch.problems)
    # Chromium also logs the blocked request itself ("net::ERR_BLOCKED_BY_CLIENT").
    others = [p for p in watch.problems if p not in expected]
    assert all("ERR_BLOCKED_BY_CLIENT" in p for p in others), others
    watch.problems.clear()


def test_overview_filters_tiles_and_quick_edit(
    open_page: OpenPage, live_server, alice: User, sam: User, support: Queue
) -> None:
    mine = _owned(alice, support, "Printer jammed on floor 3")
    urgent = _owned(alice, support, "VPN drops every hour", priority=Priority.HIGH)
    unowned = actions.open_ticket(alice, queue=support, title="New request from web")
    sams = _owned(sam, support, "Projector in room 2 flickers")

    page = open_page(alice)
    expect(page.locator("h1")).to_have_text("My open tickets")
    assert _shown(page) == _numbers(mine, urgent)

    # A tile filters the list.
    with page.expect_navigation():
        page.click("[data-tile=new]")
    expect(page.locator("h1")).to_have_text("New")
    expect(page.locator("[data-tile=new]")).to_have_class(re.compile(r"\bcurrent\b"))
    assert _shown(page) == _numbers(unowned)

    # The filter form: all active tickets of high priority.
    page.goto(f"{live_server.url}/tickets/")
    page.select_option("#filter-form select[name=view]", "active")
    page.select_option("#filter-form select[name=priority]", [str(Priority.HIGH.value)])
    with page.expect_navigation():
        page.click("#filter-form button[type=submit]")
    expect(page.locator("h1")).to_have_text("All active")
    expect(page.locator(".results-head")).to_contain_text("1 ticket")
    assert _shown(page) == _numbers(urgent)
    page.select_option("#filter-form select[name=priority]", [])
    with page.expect_navigation():
        page.click("#filter-form button[type=submit]")
    assert _shown(page) == _numbers(mine, urgent, unowned, sams)

    # Quick edit of the priority: htmx swaps the row, and the change is stored.
    row = _quick_edit(page, mine, "Priority", str(Priority.HIGH.value))
    expect(row.locator("select[aria-label=Priority]")).to_have_value(str(Priority.HIGH.value))
    expect(row).to_have_class(re.compile(r"\bprio-3\b"))  # the re-rendered row
    mine.refresh_from_db()
    assert mine.priority == Priority.HIGH

    # Leaving New without an owner is refused inside the row; nothing changes.
    row = _quick_edit(page, unowned, "Status", "open")
    expect(row.locator("[role=alert]")).to_contain_text(
        "A ticket needs an owner before it can leave the status New."
    )
    expect(row.locator("select[aria-label=Status]")).to_have_value("new")
    unowned.refresh_from_db()
    assert unowned.status == Status.NEW

    # Give it an owner from the row (the owner list is filled in by app.js), then open it.
    row = _quick_edit(page, unowned, "Owner", str(sam.pk))
    expect(row.locator("select[aria-label=Owner]")).to_have_value(str(sam.pk))
    expect(row.locator("[role=alert]")).to_have_count(0)
    row = _quick_edit(page, unowned, "Status", "open")
    expect(row.locator("select[aria-label=Status]")).to_have_value("open")
    unowned.refresh_from_db()
    assert (unowned.owner, unowned.status) == (sam, Status.OPEN)

    # After a reload the stored values show.
    page.reload()
    expect(_row(page, mine).locator("select[aria-label=Priority]")).to_have_value(
        str(Priority.HIGH.value)
    )
    expect(_row(page, unowned).locator("select[aria-label=Owner]")).to_have_value(str(sam.pk))
    expect(_row(page, unowned).locator("select[aria-label=Status]")).to_have_value("open")


def test_create_a_ticket_reply_and_add_a_note(
    open_page: OpenPage, alice: User, support: Queue
) -> None:
    page = open_page(alice)
    page.click("text=+ New ticket")
    expect(page.locator("h1")).to_have_text("New ticket")
    page.fill("input[name=title]", "Laptop will not start")
    page.click("text=Create ticket")
    # Only the title given: the ticket gets the next number of the series and opens.
    expect(page).to_have_url(re.compile(r"/t/100\d\d/$"))
    expect(page.locator("h1")).to_have_text(re.compile(r"^#100\d\d Laptop will not start$"))
    ticket = Ticket.objects.get(title="Laptop will not start")
    assert page.url.endswith(f"/t/{ticket.number}/")
    expect(page.locator(".messages")).to_contain_text(f"Ticket #{ticket.number} created.")
    assert (ticket.queue, ticket.status, ticket.owner, ticket.created_by) == (
        support,
        Status.NEW,
        None,
        alice,
    )

    # A reply written in the HTML editor, partly bold; it shows on our side of the thread.
    page.wait_for_load_state()  # app.js has set the editor up (it would clear early typing)
    expect(page.locator("#composer button[type=submit]")).to_have_text("Send reply")
    page.locator("#composer .editable").click()
    page.keyboard.type("Have you tried the power button? ")
    page.click("#composer [data-cmd=bold]")
    page.keyboard.type("Hold it 10 seconds.")
    page.click("#composer button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Reply added.")
    reply = page.locator("#conversation .msg")
    expect(reply).to_have_count(1)
    expect(reply).to_have_class(re.compile(r"\bfrom-us\b"))
    expect(reply).to_contain_text("Have you tried the power button?")
    expect(reply.locator(".body b, .body strong")).to_have_text("Hold it 10 seconds.")
    assert reply.evaluate("el => getComputedStyle(el).alignSelf") == "flex-end"
    thread_box = page.locator("#conversation").bounding_box()
    reply_box = reply.bounding_box()
    assert abs((thread_box["x"] + thread_box["width"]) - (reply_box["x"] + reply_box["width"])) < 2
    stored = Article.objects.get(ticket=ticket)
    assert stored.kind == ArticleKind.REPLY
    assert re.search(r"<(b|strong)>Hold it 10 seconds\.</\1>", stored.body_html)

    # An internal note with time spent.
    page.click("[data-tab=notes]")
    expect(page.locator("#composer button[type=submit]")).to_have_text("Add note")
    page.locator("#composer .editable").fill("Checked the warranty: valid until 2027.")
    page.fill("#composer input[name=time_spent_minutes]", "15")
    page.click("#composer button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Note added.")
    note = page.locator("#notes .msg.kind-note")
    expect(note).to_be_visible()
    expect(note).to_contain_text("Checked the warranty: valid until 2027.")
    expect(note).to_contain_text("15 min")
    expect(page.locator(".meta")).to_contain_text("Time spent: 15 min")
    expect(page.locator("#conversation .msg")).to_have_count(1)  # the note is not a reply


def test_a_mention_reaches_the_colleague(
    open_page: OpenPage, alice: User, sam: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Laptop needs a new battery")
    alice_page = open_page(alice)
    alice_page.click(f"#row-{ticket.number} td.title a")
    alice_page.click("[data-tab=discussion]")
    expect(alice_page.locator("#composer button[type=submit]")).to_have_text("Post")
    expect(alice_page.locator("#composer .mention-hint")).to_contain_text("@sam")
    alice_page.locator("#composer .editable").fill("@sam could you order a replacement?")
    alice_page.click("#composer button[type=submit]")
    expect(alice_page.locator("#discussion .msg")).to_contain_text("could you order a replacement?")

    sam_page = open_page(sam)  # another browser: Sam at his own desk
    expect(sam_page.locator("[data-testid=unread-count]")).to_have_text("1")
    sam_page.click(".topbar .notif")
    item = sam_page.locator(".notifications li.unread")
    expect(item).to_have_count(1)
    expect(item).to_contain_text(f"#{ticket.number} Laptop needs a new battery")
    expect(item).to_contain_text("Mentioned you · Alice Agent")
    expect(item).to_contain_text("@sam could you order a replacement?")
    assert Notification.objects.filter(user=sam, kind=Notification.Kind.MENTION).count() == 1

    # Opening the ticket reads the notification.
    item.locator("a").click()
    expect(sam_page.locator("h1")).to_contain_text("Laptop needs a new battery")
    expect(sam_page.locator("[data-testid=unread-count]")).to_have_count(0)


def test_status_change_needs_an_owner(open_page: OpenPage, alice: User, support: Queue) -> None:
    ticket = actions.open_ticket(alice, queue=support, title="Laptop will not start")
    page = open_page(alice)
    page.click("[data-tile=new]")
    page.click(f"#row-{ticket.number} td.title a")
    expect(page.locator("[data-testid=status]")).to_have_text("New")

    # New → Open without an owner: a clear message, and nothing entered is lost.
    page.select_option("#fields-form select[name=status]", "open")
    page.fill("#fields-form input[name=title]", "Laptop will not start (HP)")
    page.click("#fields-form button[type=submit]")
    expect(page.locator("#fields-form .errors")).to_contain_text(
        "A ticket needs an owner before it can leave the status New."
    )
    expect(page.locator("#fields-form input[name=title]")).to_have_value(
        "Laptop will not start (HP)"
    )
    expect(page.locator("#fields-form select[name=status]")).to_have_value("open")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.title) == (Status.NEW, "Laptop will not start")

    # With an owner it works.
    page.select_option("#fields-form select[name=owner]", str(alice.pk))
    page.click("#fields-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Ticket saved.")
    expect(page.locator("[data-testid=status]")).to_have_text("Open")
    expect(page.locator("h1")).to_contain_text("Laptop will not start (HP)")
    expect(page.locator(".meta")).to_contain_text("Owner: Alice Agent")
    ticket.refresh_from_db()
    assert (ticket.status, ticket.owner, ticket.title) == (
        Status.OPEN,
        alice,
        "Laptop will not start (HP)",
    )


def test_sub_tickets_close_with_their_parent(
    open_page: OpenPage, live_server, alice: User, support: Queue
) -> None:
    parent = _owned(alice, support, "Mail server down")
    page = open_page(alice)
    page.goto(f"{live_server.url}/t/{parent.number}/")
    expect(page.locator("#subtickets")).to_contain_text("None.")
    page.click("#subtickets >> text=+ New sub-ticket")
    expect(page.locator("h1")).to_have_text(f"New sub-ticket of #{parent.number}")
    page.fill("input[name=title]", "Restore mailbox of sales")
    page.click("text=Create ticket")
    expect(page.locator(".ticket-head")).to_contain_text(
        f"Sub-ticket of #{parent.number} Mail server down"
    )
    child = Ticket.objects.get(title="Restore mailbox of sales")
    assert child.parent_id == parent.pk

    page.click(f"text=#{parent.number} Mail server down")
    expect(page.locator("#subtickets li")).to_have_text(
        re.compile(rf"#{child.number} Restore mailbox of sales\s+New")
    )
    also = page.locator("#close-form input[name=close_children]")
    expect(page.locator("#close-form")).to_contain_text("Also close its 1 open sub-ticket")
    also.check()
    page.click("#close-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Ticket closed.")
    expect(page.locator("[data-testid=status]")).to_have_text("Closed")
    expect(page.locator("#subtickets li")).to_have_text(
        re.compile(rf"#{child.number} Restore mailbox of sales\s+Closed")
    )
    child.refresh_from_db()
    assert (child.status, child.owner) == (Status.CLOSED, alice)

    page.click(f"#subtickets >> text=#{child.number} Restore mailbox of sales")
    expect(page.locator("[data-testid=status]")).to_have_text("Closed")
    page.click("[data-tab=history]")
    expect(page.locator("#history")).to_contain_text("Closed together with parent")


def test_two_agents_on_one_ticket(
    open_page: OpenPage, live_server, alice: User, sam: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Invoice address wrong")
    url = f"{live_server.url}/t/{ticket.number}/"
    sam_page = open_page(sam)
    alice_page = open_page(alice)
    sam_page.goto(url)
    alice_page.goto(url)

    # Each sees the other (the presence bar polls every 5 seconds).
    expect(alice_page.locator(f"[data-testid=presence-{sam.pk}]")).to_have_text(
        re.compile(r"Sam Support is viewing"), timeout=PRESENCE_TIMEOUT
    )
    expect(sam_page.locator(f"[data-testid=presence-{alice.pk}]")).to_have_text(
        re.compile(r"Alice Agent is viewing"), timeout=PRESENCE_TIMEOUT
    )

    # Sam saves a priority change first; Alice's save from the older version is refused, the
    # warning lists Sam's change, and Alice's typed title is still in the field.
    sam_page.select_option("#fields-form select[name=priority]", str(Priority.HIGH.value))
    sam_page.click("#fields-form button[type=submit]")
    expect(sam_page.locator(".messages")).to_contain_text("Ticket saved.")
    alice_page.fill("#fields-form input[name=title]", "Invoice address wrong (Acme)")
    alice_page.click("#fields-form button[type=submit]")
    warning = alice_page.locator("[data-testid=stale-warning]")
    expect(warning).to_contain_text("Not saved: someone else changed this ticket")
    expect(warning.locator("li")).to_have_text(["Sam Support: Priority “Medium” → “High”"])
    expect(alice_page.locator("#fields-form input[name=title]")).to_have_value(
        "Invoice address wrong (Acme)"
    )
    # The field Alice did not touch shows Sam's value, so saving again keeps it.
    expect(alice_page.locator("#fields-form select[name=priority]")).to_have_value(
        str(Priority.HIGH.value)
    )
    ticket.refresh_from_db()
    assert (ticket.title, ticket.priority) == ("Invoice address wrong", Priority.HIGH)

    alice_page.click("#fields-form button[type=submit]")
    expect(alice_page.locator(".messages")).to_contain_text("Ticket saved.")
    expect(alice_page.locator("h1")).to_contain_text("Invoice address wrong (Acme)")
    ticket.refresh_from_db()
    assert (ticket.title, ticket.priority) == ("Invoice address wrong (Acme)", Priority.HIGH)


def test_an_oversize_file_is_refused_and_the_text_kept(
    open_page: OpenPage, live_server, alice: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Scan attached")
    page = open_page(alice)
    page.goto(f"{live_server.url}/t/{ticket.number}/")
    scan = {"name": "scan.pdf", "mimeType": "application/pdf", "buffer": b"x" * 1_500_000}
    small = {"name": "small.txt", "mimeType": "text/plain", "buffer": b"fine"}
    editor = page.locator("#composer .editable")
    files = page.locator("#composer input[type=file]")

    # The admin lowers the limit while the page is open: the browser still allows 5 MB, the
    # server refuses, says why, and keeps the text.
    settings = HelpdeskSettings.load()
    settings.max_attachment_mb = 1
    settings.save()
    editor.fill("Here is the scan you asked for.")
    files.set_input_files([scan])
    expect(page.locator("#composer .file-errors")).to_have_text("")
    page.click("#composer button[type=submit]")
    expect(page.locator("#composer .file-errors")).to_contain_text(
        "“scan.pdf” is 1.4\xa0MB; the largest file allowed is 1.0\xa0MB."
    )
    expect(page.locator("#composer")).to_contain_text("Your text was kept.")
    expect(editor).to_have_text("Here is the scan you asked for.")
    assert not Article.objects.filter(ticket=ticket).exists()

    # Now the page knows the limit: the big file is refused at once, the small one kept.
    files.set_input_files([scan, small])
    expect(page.locator("#composer .file-errors")).to_have_text(
        "“scan.pdf” is larger than the 1.0\xa0MB allowed."
    )
    assert files.evaluate("i => Array.from(i.files).map(f => f.name)") == ["small.txt"]
    expect(editor).to_have_text("Here is the scan you asked for.")
    page.click("#composer button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Reply added.")
    reply = page.locator("#conversation .msg.from-us")
    expect(reply).to_contain_text("Here is the scan you asked for.")
    expect(reply.locator(".files")).to_contain_text("small.txt")
    assert [a.filename for a in ticket.attachments.all()] == ["small.txt"]


def test_a_phone_sized_screen(
    open_page: OpenPage, live_server, alice: User, support: Queue
) -> None:
    ticket = _owned(alice, support, "Phone check with a rather long title that must wrap nicely")
    _owned(alice, support, "A second ticket so the list has rows")
    link = "https://example.com/" + "a-very-long-path-without-spaces/" * 6
    actions.add_reply(
        alice, ticket, "<p>" + "A long reply line without breaks " * 20 + f"</p><p>{link}</p>"
    )
    page = open_page(alice, viewport=PHONE)
    for path in ("/tickets/", f"/t/{ticket.number}/", "/tickets/new/", "/notifications/"):
        page.goto(f"{live_server.url}{path}")
        expect(page.locator("h1").first).to_be_visible()
        overflow = page.evaluate("document.scrollingElement.scrollWidth - window.innerWidth")
        assert overflow <= 1, f"{path} scrolls sideways by {overflow}px on a phone"


def test_choosing_a_contact_by_searching_and_reading_a_long_thread(
    open_page: OpenPage, alice: User, support: Queue
) -> None:
    from helpa.crm.models import Contact

    for n in range(40):
        Contact.objects.create(name=f"Person {n:02}", email=f"person{n}@example.com")
    dora = Contact.objects.create(name="Dora Different", email="dora@example.com")
    ticket = _owned(alice, support, "Who called?")
    for n in range(55):
        actions.add_reply(alice, ticket, f"<p>Reply number {n:02}</p>")

    page = open_page(alice)
    page.goto(page.url.split("/tickets/")[0] + f"/t/{ticket.number}/")
    contact = page.locator("#fields-form select[name=contact]")
    expect(contact.locator("option")).to_have_count(1)  # only the empty choice
    with settled(page), page.expect_response(re.compile(r"/tickets/choices/contacts/")):
        page.locator("#fields-form .lookup input[type=search]").first.fill("dora")
    expect(contact.locator("option")).to_have_count(2)
    contact.select_option(str(dora.pk))
    page.click("#fields-form button[type=submit]")
    expect(page.locator(".messages")).to_contain_text("Ticket saved.")
    expect(page.locator(".meta")).to_contain_text("Dora Different")
    ticket.refresh_from_db()
    assert ticket.contact == dora

    # The newest 50 replies are shown; one click brings the 5 older ones into place.
    thread = page.locator("#conversation .msg")
    expect(thread).to_have_count(50)
    expect(page.locator("#conversation")).not_to_contain_text("Reply number 04")
    with settled(page), page.expect_response(re.compile(r"/thread/\?tab=conversation")):
        page.click("#conversation [data-testid=show-older]")
    expect(thread).to_have_count(55)
    expect(thread.first).to_contain_text("Reply number 00")
    expect(page.locator("#conversation [data-testid=show-older]")).to_have_count(0)
