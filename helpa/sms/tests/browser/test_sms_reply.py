"""An SMS conversation in a real browser: a customer's SMS (46elks's webhook) opens a ticket;
the agent sees where it came from, answers by SMS with the composer counting the parts; the
fake provider on 127.0.0.1 gets it; its delivery report shows on the page."""

from __future__ import annotations

import re
from collections.abc import Callable
from urllib.parse import urlsplit

import pytest
from django.test import Client
from playwright.sync_api import Page, expect

from helpa.accounts.models import User
from helpa.sms.models import InboundSms, OutgoingSms
from helpa.tickets.models import Queue

from ..test_inbound import elks_body, post_elks

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OpenPage = Callable[..., Page]


def test_an_agent_answers_an_sms_by_sms(
    open_page: OpenPage, alice: User, support: Queue, elks, fake_provider
) -> None:
    _settings, secret = elks
    body = elks_body("s100", "+46706861004", "Hej! Wifi på kontoret är nere sedan i morse.")
    assert post_elks(secret, body).status_code == 200
    ticket = InboundSms.objects.get().ticket

    page = open_page(alice)
    origin = re.match(r"https?://[^/]+", page.url).group(0)  # type: ignore[union-attr]
    page.goto(f"{origin}/t/{ticket.number}/")
    expect(page.get_by_test_id("sms-inbound")).to_contain_text("SMS from +46706861004")
    send_by = page.get_by_test_id("send-by")
    expect(send_by.locator("input[value=sms]")).to_be_checked()
    page.locator("#composer .editable").fill("Vi startar om routern nu. Prova igen om fem minuter.")
    expect(send_by).to_contain_text("52 characters, 1 SMS")
    page.locator("#composer .editable").fill("Lång text. " * 20)
    expect(send_by).to_contain_text("219 characters, 2 SMS")
    page.locator("#composer .editable").fill("Vi startar om routern nu. Prova igen om fem minuter.")
    page.get_by_role("button", name="Send reply").click()

    delivery = page.get_by_test_id("sms-delivery")
    expect(delivery).to_contain_text("SMS to +46706861004")
    expect(delivery.get_by_test_id("sms-state")).to_have_attribute("data-state", "sent")
    [sent] = fake_provider.sent
    assert sent.form["message"] == "Vi startar om routern nu. Prova igen om fem minuter."
    # The mail line does not claim the reply went nowhere.
    expect(page.get_by_text("Not sent by mail")).to_have_count(0)

    sms = OutgoingSms.objects.get()
    report = urlsplit(sent.form["whendelivered"]).path
    assert Client().post(report, {"id": sms.provider_id, "status": "delivered"}).status_code == 200
    page.reload()
    expect(page.get_by_test_id("sms-delivery").get_by_test_id("sms-state")).to_have_attribute(
        "data-state", "delivered"
    )
