"""Satisfaction surveys: who is invited and when, the public page (a GET records nothing, an
answer is recorded once), and the person's answers in GDPR exports and anonymisation."""

from __future__ import annotations

import email
import re
from datetime import timedelta
from email import policy

import pytest
import time_machine
from django.db.models import Q
from django.test import Client
from django.utils import timezone

from helpa.accounts.models import User
from helpa.automation.actions import open_from_template
from helpa.automation.models import TicketTemplate
from helpa.crm.models import Brand, Contact
from helpa.mail.models import OutgoingMail
from helpa.privacy import gdpr
from helpa.reports.models.surveys import (
    SurveyAnswer,
    SurveyBlock,
    SurveyInvitation,
    SurveyProfile,
)
from helpa.reports.surveys import invite, run_surveys
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status, Ticket

LATER = timedelta(hours=25)  # past the profiles' 24-hour delay


@pytest.fixture
def profile(db: None) -> SurveyProfile:
    """The general profile, created a year ago: CSAT, NPS and a comment, a day after closing."""
    made = SurveyProfile.objects.create(name="General", ask_nps=True, delay_hours=24)
    SurveyProfile.objects.filter(pk=made.pk).update(created_at=timezone.now() - timedelta(days=365))
    made.refresh_from_db()
    return made


def closed_ticket(
    alice: User, queue: Queue, contact: Contact | None, *, reply: bool = True, title: str = "Jam"
) -> Ticket:
    ticket = actions.open_ticket(alice, queue=queue, title=title, contact=contact, owner=alice)
    if reply:
        actions.add_reply(alice, ticket, "<p>Try the other tray.</p>")
    else:
        actions.add_note(alice, ticket, "<p>Spam.</p>")
    actions.set_status(alice, ticket, Status.CLOSED)
    ticket.refresh_from_db()
    return ticket


@pytest.fixture
def closed(alice: User, support: Queue, contact: Contact) -> Ticket:
    return closed_ticket(alice, support, contact)


def survey_mails() -> list[OutgoingMail]:
    """The invitations in the outbox: in the contact's language, Swedish unless set otherwise."""
    return list(
        OutgoingMail.objects.filter(kind=OutgoingMail.Kind.NOTICE).filter(
            Q(subject__contains="How did we") | Q(subject__contains="Hur gick det")
        )
    )


def link_in(mail: OutgoingMail) -> str:
    with mail.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    text = message.get_body(preferencelist=("plain",)).get_content()
    found = re.search(r"https?://\S+/survey/[\w-]+/", text)
    assert found, text
    return "/" + found.group(0).split("://", 1)[1].split("/", 1)[1]


# --- Inviting ---------------------------------------------------------------------------------


def test_one_invitation_through_the_outbox_even_when_the_job_runs_twice(
    profile, closed, contact
) -> None:
    now = timezone.now() + LATER
    assert run_surveys(now).invited == 1
    assert run_surveys(now).invited == 0
    assert run_surveys(now + timedelta(days=3)).invited == 0
    invitation = SurveyInvitation.objects.get()
    assert invitation.ticket == closed and invitation.address == "carl@example.com"
    assert invitation.queue == closed.queue
    [mail] = survey_mails()
    assert invitation.mail == mail
    assert mail.recipients == ["carl@example.com"] and mail.ticket == closed
    assert mail.state == OutgoingMail.State.QUEUED
    path = link_in(mail)
    # Only the hash is stored: the link's token is not in the database.
    token = path.split("/")[2]
    assert token not in invitation.token_hash and len(invitation.token_hash) == 64
    with mail.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"/survey/{token}/?csat=5" in html
    assert message["Auto-Submitted"] == "auto-generated"


def test_two_workers_claiming_one_ticket_invite_once(profile, closed) -> None:
    now = timezone.now() + LATER
    assert invite(profile, closed.pk, now) is not None
    assert invite(profile, closed.pk, now) is None
    assert SurveyInvitation.objects.count() == 1 and len(survey_mails()) == 1


def test_not_before_the_delay_and_not_for_resolved_tickets(
    profile, alice, support, contact
) -> None:
    ticket = closed_ticket(alice, support, contact)
    assert run_surveys(timezone.now() + timedelta(hours=23)).invited == 0
    resolved = actions.open_ticket(alice, queue=support, title="R", contact=contact, owner=alice)
    actions.add_reply(alice, resolved, "<p>Done.</p>")
    actions.set_status(alice, resolved, Status.RESOLVED)
    run_surveys(timezone.now() + LATER)
    assert list(SurveyInvitation.objects.values_list("ticket", flat=True)) == [ticket.pk]


def test_no_invitation_without_an_agent_reply_or_for_a_merged_ticket(
    profile, alice, support, contact
) -> None:
    closed_ticket(alice, support, contact, reply=False)
    merged = closed_ticket(alice, support, contact, title="Duplicate")
    target = actions.open_ticket(alice, queue=support, title="Main", contact=contact)
    Ticket.objects.filter(pk=merged.pk).update(merged_into=target)
    assert run_surveys(timezone.now() + LATER).invited == 0
    assert not SurveyInvitation.objects.exists() and not survey_mails()


def test_no_invitation_for_tickets_closed_before_the_profile_existed(
    alice, support, contact, closed
) -> None:
    SurveyProfile.objects.create(name="New", delay_hours=0)
    assert run_surveys(timezone.now() + LATER).invited == 0


def test_no_invitation_without_an_address(profile, alice, support) -> None:
    nameless = Contact.objects.create(name="Phone only")
    closed_ticket(alice, support, nameless)
    assert run_surveys(timezone.now() + LATER).invited == 0
    assert not survey_mails()


@pytest.mark.parametrize("entry", ["carl@example.com", "example.com", "@EXAMPLE.com"])
def test_the_block_list_holds_for_an_address_and_a_domain(profile, closed, admin, entry) -> None:
    client = Client()
    client.force_login(admin)
    response = client.post("/reports/surveys/blocked/", {"value": entry})
    assert response.status_code == 302
    outcome = run_surveys(timezone.now() + LATER)
    assert (outcome.invited, outcome.skipped) == (0, 1)
    assert SurveyInvitation.objects.get().skipped == "blocked"
    assert not survey_mails()


def test_a_blocked_domain_does_not_block_its_subdomains_or_others(
    profile, closed, alice, support
) -> None:
    SurveyBlock.objects.create(value="other.example.com")
    assert run_surveys(timezone.now() + LATER).invited == 1


def test_the_frequency_cap_per_address(profile, alice, support, contact) -> None:
    start = timezone.now()
    first = closed_ticket(alice, support, contact, title="First")
    second = closed_ticket(alice, support, contact, title="Second")
    outcome = run_surveys(start + LATER)
    assert (outcome.invited, outcome.skipped) == (1, 1)
    skipped = SurveyInvitation.objects.get(skipped="recent")
    assert skipped.ticket in (first, second) and len(survey_mails()) == 1
    # Ten days later: still within the 30 days (the profile's cap) since the invitation.
    with time_machine.travel(start + timedelta(days=10)):
        soon = closed_ticket(alice, support, contact, title="Soon")
    assert run_surveys(start + timedelta(days=10) + LATER).invited == 0
    assert SurveyInvitation.objects.get(ticket=soon).skipped == "recent"
    # Thirty days after the invitation the address may be asked again.
    with time_machine.travel(start + LATER + timedelta(days=30)):
        later = closed_ticket(alice, support, contact, title="Later")
    assert run_surveys(start + LATER + timedelta(days=30) + LATER).invited == 1
    assert SurveyInvitation.objects.get(ticket=later).skipped == ""
    assert len(survey_mails()) == 2


def test_a_profile_tied_to_a_template_wins_over_the_general_one(
    profile, alice, support, contact
) -> None:
    template = TicketTemplate.objects.create(name="Password reset", title="Password")
    tied = SurveyProfile.objects.create(name="Passwords", delay_hours=1, ask_comment=False)
    SurveyProfile.objects.filter(pk=tied.pk).update(created_at=profile.created_at)
    tied.templates.add(template)
    from_template = open_from_template(alice, template, queue=support, contact=contact, owner=alice)
    actions.add_reply(alice, from_template, "<p>New password sent.</p>")
    actions.set_status(alice, from_template, Status.CLOSED)
    other = closed_ticket(alice, support, Contact.objects.create(name="D", email="d@e.se"))
    run_surveys(timezone.now() + LATER)
    assert SurveyInvitation.objects.get(ticket=from_template).profile == tied
    assert SurveyInvitation.objects.get(ticket=other).profile == profile


def test_a_brand_profile_for_its_brand_the_general_one_for_the_rest(
    profile, alice, support, billing, contact
) -> None:
    brand = Brand.objects.create(code="ACME", name="Acme", sender_address="help@acme.test")
    billing.brand = brand
    billing.save()
    billing.teams.add(*support.teams.all())
    branded = SurveyProfile.objects.create(name="Acme", brand=brand, delay_hours=1)
    SurveyProfile.objects.filter(pk=branded.pk).update(created_at=profile.created_at)
    acme_ticket = closed_ticket(alice, billing, contact)
    plain = closed_ticket(alice, support, Contact.objects.create(name="D", email="d@e.se"))
    run_surveys(timezone.now() + LATER)
    invitation = SurveyInvitation.objects.get(ticket=acme_ticket)
    assert invitation.profile == branded
    assert invitation.mail.sender == "help@acme.test"  # the brand's sender
    assert SurveyInvitation.objects.get(ticket=plain).profile == profile


# --- The customer's page ----------------------------------------------------------------------


@pytest.fixture
def link(profile, closed) -> str:
    run_surveys(timezone.now() + LATER)
    return link_in(survey_mails()[0])


def test_a_get_records_nothing_even_with_a_score_in_the_link(link) -> None:
    client = Client()
    page = client.get(link)
    assert page.status_code == 200
    assert b"How satisfied are you" in page.content
    assert page["X-Robots-Tag"] == "noindex, nofollow"
    assert page["Referrer-Policy"] == "same-origin"
    preselected = client.get(link + "?csat=5")
    assert re.search(rb'<input[^>]*value="5"[^>]*checked', preselected.content)
    client.get(link + "?csat=4")
    client.head(link + "?csat=1")
    assert not SurveyAnswer.objects.exists()
    assert SurveyInvitation.objects.get().answered_at is None


def test_the_answer_is_recorded_once_with_who_and_where(link, closed, alice, team_support) -> None:
    Ticket.objects.filter(pk=closed.pk).update(team=team_support)
    client = Client(enforce_csrf_checks=True)
    page = client.get(link)
    token = page.cookies["csrftoken"].value
    form = {"csrfmiddlewaretoken": token, "csat": "4", "nps": "9", "comment": "Quick help!"}
    done = client.post(link, form)
    assert done.status_code == 200 and b"Thank you for your answer" in done.content
    again = client.post(link, {**form, "csat": "1", "comment": "Changed my mind"})
    assert b"already been answered" in again.content
    assert b"already been answered" in client.get(link).content
    answer = SurveyAnswer.objects.get()
    assert (answer.csat, answer.nps, answer.comment) == (4, 9, "Quick help!")
    assert (answer.agent, answer.team_id, answer.queue_id) == (
        alice,
        team_support.pk,
        closed.queue_id,
    )
    assert SurveyInvitation.objects.get().answered_at == answer.answered_at


def test_a_post_without_the_csrf_token_is_refused(link) -> None:
    client = Client(enforce_csrf_checks=True)
    assert client.post(link, {"csat": "5", "nps": "10"}).status_code == 403
    assert not SurveyAnswer.objects.exists()


@pytest.mark.parametrize(
    "values, field",
    [
        ({"csat": "6", "nps": "5"}, "csat"),
        ({"csat": "0", "nps": "5"}, "csat"),
        ({"csat": "3", "nps": "-1"}, "nps"),
        ({"csat": "3", "nps": "11"}, "nps"),
        ({"csat": "x", "nps": "5"}, "csat"),
        ({"nps": "5"}, "csat"),
        ({"csat": "3", "nps": "5", "comment": "a" * 2001}, "comment"),
    ],
)
def test_invalid_answers_get_a_form_error_and_nothing_is_stored(link, values, field) -> None:
    response = Client().post(link, values)
    assert response.status_code == 400
    assert field in response.context["form"].errors
    assert b'role="alert"' in response.content
    assert not SurveyAnswer.objects.exists()
    assert SurveyInvitation.objects.get().answered_at is None


def test_unknown_and_expired_links_say_so(link) -> None:
    unknown = Client().get("/survey/not-a-token/")
    assert unknown.status_code == 404 and b"not valid" in unknown.content
    SurveyInvitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    expired = Client().get(link)
    assert expired.status_code == 410 and b"expired" in expired.content
    assert Client().post(link, {"csat": "5", "nps": "10"}).status_code == 410
    assert not SurveyAnswer.objects.exists()


def test_the_page_has_the_brand_of_the_ticket(profile, alice, support, contact) -> None:
    brand = Brand.objects.create(code="ACME", name="Acme Care", primary_colour="#123456")
    support.brand = brand
    support.save()
    closed_ticket(alice, support, contact)
    run_surveys(timezone.now() + LATER)
    page = Client().get(link_in(survey_mails()[0]))
    assert b"Acme Care" in page.content and b"#123456" in page.content


# --- Admin pages ------------------------------------------------------------------------------


def test_profiles_are_for_admins_only(agent_client, admin) -> None:
    assert agent_client.get("/reports/surveys/profiles/").status_code == 403
    assert agent_client.post("/reports/surveys/profiles/new/", {"name": "x"}).status_code == 403
    assert agent_client.post("/reports/surveys/blocked/", {"value": "x.se"}).status_code == 403
    block = SurveyBlock.objects.create(value="x.se")
    assert agent_client.post(f"/reports/surveys/blocked/{block.pk}/delete/").status_code == 403
    assert Client().get("/reports/surveys/profiles/").status_code == 302
    assert SurveyBlock.objects.count() == 1


def test_an_admin_makes_a_profile_with_at_least_one_question(admin) -> None:
    client = Client()
    client.force_login(admin)
    base = {"name": "After sales", "delay_hours": "48", "min_days_between": "60"}
    refused = client.post("/reports/surveys/profiles/new/", base)
    assert refused.status_code == 200 and b"Choose at least one question" in refused.content
    saved = client.post(
        "/reports/surveys/profiles/new/", {**base, "ask_nps": "on", "is_active": "on"}
    )
    assert saved.status_code == 302
    profile = SurveyProfile.objects.get()
    assert (profile.ask_csat, profile.ask_nps, profile.delay_hours) == (False, True, 48)
    assert b"After sales" in client.get("/reports/surveys/profiles/").content


def test_the_block_list_in_the_ui(admin) -> None:
    client = Client()
    client.force_login(admin)
    assert client.post("/reports/surveys/blocked/", {"value": "not an address"}).status_code == 200
    client.post("/reports/surveys/blocked/", {"value": "Spam@Example.com"})
    again = client.post("/reports/surveys/blocked/", {"value": "spam@example.com"})
    assert b"already" in again.content
    assert list(SurveyBlock.objects.values_list("value", flat=True)) == ["spam@example.com"]
    block = SurveyBlock.objects.get()
    client.post(f"/reports/surveys/blocked/{block.pk}/delete/")
    assert not SurveyBlock.objects.exists()


# --- Privacy ----------------------------------------------------------------------------------


def test_privacy_export_and_anonymise_cover_the_answers(link, admin, closed) -> None:
    Client().post(link, {"csat": "2", "nps": "3", "comment": "Carl here: too slow"})
    subject = gdpr.find_subject("carl@example.com")
    data, _files = gdpr.export_data(subject)
    assert data["satisfaction_surveys"] == [
        {
            "ticket": closed.number,
            "answered": SurveyAnswer.objects.get().answered_at.isoformat(),
            "csat": 2,
            "nps": 3,
            "comment": "Carl here: too slow",
        }
    ]
    SurveyBlock.objects.create(value="carl@example.com")
    request = gdpr.anonymise(gdpr.find_subject("carl@example.com"), admin)
    answer = SurveyAnswer.objects.get()
    assert answer.comment == "" and (answer.csat, answer.nps) == (2, 3)
    assert SurveyInvitation.objects.get().address == ""
    assert not SurveyBlock.objects.exists()
    assert request.counts["survey_comments_removed"] == 1
