"""A mailed ticket in a real browser: remote images wait for the agent, quoted history is
folded, the threading reason is shown, and a reply that waits for confirmation is sent from
the page."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from playwright.sync_api import Page, expect

from helpa.accounts.models import User
from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, OutgoingMail, QueueMail
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status

from .conftest import settled

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[..., Page]


def _html_mail(image_url: str) -> bytes:
    return f"""From: Pia Persson <pia@kund.se>
To: support@helpa.test
Subject: Invoice layout
Message-ID: <layout-1@kund.se>
Content-Type: text/html; charset=utf-8

<p>The new invoice looks wrong.</p>
<img alt="logo" src="{image_url}">
<blockquote><p>Earlier: please send us the invoice again.</p></blockquote>
""".encode()


def test_remote_images_wait_and_quotes_fold(
    open_page: OpenPage, alice: User, support: Queue, live_server
) -> None:
    MailAddress.objects.create(queue=support, address="support@helpa.test")
    image_url = f"{live_server.url}/static/helpa/app.css?tracking-pixel=1"
    result = ingest.ingest_message(
        _html_mail(image_url), source=InboundMail.Source.PIPE, queue=support
    )
    page = open_page(alice)
    asked_for_image: list[str] = []
    page.on("request", lambda r: asked_for_image.append(r.url) if "tracking-pixel" in r.url else 0)
    page.goto(f"{live_server.url}/t/{result.ticket.number}/")

    expect(page.get_by_text(result.inbound.thread_reason)).to_be_visible()
    expect(page.get_by_text("The new invoice looks wrong.")).to_be_visible()
    quote = page.locator(".body blockquote")
    expect(quote).to_be_hidden()
    page.locator(".quote-toggle").click()
    expect(quote).to_be_visible()

    assert asked_for_image == []  # opening the ticket told the sender nothing
    with page.expect_request(lambda r: "tracking-pixel" in r.url):
        page.get_by_role("button", name="Show remote images").click()
    assert page.locator("img[alt=logo]").get_attribute("src") == image_url


def test_a_reply_waiting_for_confirmation_is_sent_from_the_page(
    open_page: OpenPage, alice: User, support: Queue, live_server
) -> None:
    MailAddress.objects.create(queue=support, address="support@helpa.test", is_sender=True)
    QueueMail.objects.create(queue=support, confirm_before_sending=True)
    result = ingest.ingest_message(
        _html_mail("https://tracker.example/p.gif"),
        source=InboundMail.Source.PIPE,
        queue=support,
    )
    ticket = actions.update_ticket(alice, result.ticket, {"owner": alice, "status": Status.OPEN})
    actions.add_reply(alice, ticket, "<p>Here is the corrected invoice.</p>")
    mail = OutgoingMail.objects.get(kind=OutgoingMail.Kind.REPLY)
    assert mail.state == OutgoingMail.State.DRAFT

    page = open_page(alice)
    page.goto(f"{live_server.url}/t/{ticket.number}/")
    state = page.get_by_test_id("mail-state")
    expect(state).to_have_attribute("data-state", "draft")
    with settled(page):
        page.get_by_test_id("mail-confirm").click()
    # No mail server is configured in the tests: confirmed, the mail waits in the outbox.
    expect(page.get_by_test_id("mail-state")).to_have_attribute("data-state", "queued")
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.QUEUED
