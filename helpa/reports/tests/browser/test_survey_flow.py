"""A customer answers the survey from the mail in Chromium; the agent's report shows it."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail.models import OutgoingMail
from helpa.reports.models.surveys import SurveyAnswer, SurveyProfile
from helpa.reports.surveys import run_surveys
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _survey_link(mail: OutgoingMail) -> str:
    with mail.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()
    found = re.search(r'href="https?://[^/"]+(/survey/[\w-]+/\?csat=2)"', html)
    assert found, html
    return found.group(1)


def test_the_customer_answers_from_the_mail_and_the_agent_sees_it(
    visitor_page, open_page, live_server, alice: User, contact: Contact, support: Queue
) -> None:
    profile = SurveyProfile.objects.create(name="General", ask_nps=True, delay_hours=0)
    SurveyProfile.objects.filter(pk=profile.pk).update(
        created_at=timezone.now() - timedelta(days=1)
    )
    ticket = actions.open_ticket(
        alice, queue=support, title="Printer jam", contact=contact, owner=alice
    )
    actions.add_reply(alice, ticket, "<p>Try the other tray.</p>")
    actions.set_status(alice, ticket, Status.CLOSED)
    assert run_surveys(timezone.now() + timedelta(minutes=1)).invited == 1
    mail = OutgoingMail.objects.get(kind=OutgoingMail.Kind.NOTICE, ticket=ticket)

    # The customer clicks the face "2" in the mail, then changes their mind on the page.
    page = visitor_page()
    page.goto(live_server.url + _survey_link(mail))
    expect(page.get_by_role("heading", name="How did we do?")).to_be_visible()
    expect(page.locator("input[name=csat][value='2']")).to_be_checked()
    assert not SurveyAnswer.objects.exists()  # opening the link records nothing
    page.locator("input[name=csat][value='5']").check()
    page.locator("input[name=nps][value='9']").check()
    page.get_by_label("Anything you would like to tell us?").fill("Fixed within the hour!")
    page.get_by_role("button", name="Send my answer").click()
    expect(page.get_by_test_id("survey-thanks")).to_be_visible()
    answer = SurveyAnswer.objects.get()
    assert (answer.csat, answer.nps, answer.comment) == (5, 9, "Fixed within the hour!")

    agent = open_page(alice)
    agent.goto(f"{live_server.url}/reports/surveys/?period=today")
    comments = agent.get_by_test_id("survey-comments")
    expect(comments).to_contain_text("Fixed within the hour!")
    expect(comments).to_contain_text("Printer jam")
    expect(agent.locator(".report-tiles")).to_contain_text("100")
