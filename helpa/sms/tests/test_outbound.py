"""Outgoing SMS: agents' replies and rules' alarms through the outbox to a fake provider on
127.0.0.1 that speaks the 46elks and Twilio APIs; retries, failures and delivery reports."""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.api.models import Scope
from helpa.api.tokens import create_token
from helpa.automation import transfer
from helpa.crm.models import Contact, ContactPhone
from helpa.sms import outbox
from helpa.sms.models import OutgoingSms, SmsSettings
from helpa.sms.providers import twilio_signature
from helpa.tickets import actions
from helpa.tickets.models import Article, Channel, Queue, Ticket

from .conftest import ACCOUNT, SECRET, TWILIO_SID, TWILIO_TOKEN, FakeProvider

BASE = "http://helpa.example"


@pytest.fixture(autouse=True)
def _base_url(settings) -> None:
    settings.BASE_URL = BASE


@pytest.fixture
def sms_ticket(alice, queue_support: Queue, contact: Contact) -> Ticket:
    ContactPhone.objects.create(contact=contact, number="+46706861004")
    return actions.open_ticket(
        None, queue=queue_support, title="Skrivaren", channel=Channel.SMS, contact=contact
    )


def reply(client: Client, ticket: Ticket, body: str, send_by: str = "sms") -> Any:
    return client.post(
        reverse("tickets:article", args=[ticket.number]),
        {"kind": "reply", "body": body, "send_by": send_by},
    )


def test_an_agent_replies_by_sms_through_46elks(
    elks,
    fake_provider: FakeProvider,
    sms_ticket: Ticket,
    agent_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    settings, _secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(signature="/Support")
    with django_capture_on_commit_callbacks(execute=True):
        response = reply(agent_client, sms_ticket, "Starta om skrivaren, så löser det sig.")
    assert response.status_code == 302
    [sent] = fake_provider.sent
    assert sent.path == "/a1/sms" and (sent.user, sent.password) == (ACCOUNT, SECRET)
    assert sent.form["to"] == "+46706861004" and sent.form["from"] == "+46766860000"
    assert sent.form["message"] == "Starta om skrivaren, så löser det sig.\n/Support"
    assert sent.form["whendelivered"].startswith(f"{BASE}/sms/status/46elks/")
    sms = OutgoingSms.objects.get()
    assert sms.state == OutgoingSms.State.SENT and sms.provider_id.startswith("s")
    assert sms.article.ticket == sms_ticket
    # The thread shows how it went, and no "not sent by mail" beside it.
    page = agent_client.get(reverse("tickets:detail", args=[sms_ticket.number])).content.decode()
    assert 'data-testid="sms-delivery"' in page and 'data-state="sent"' in page
    assert "Not sent by mail" not in page


def test_an_agent_replies_by_sms_through_twilio(
    twilio,
    fake_provider: FakeProvider,
    sms_ticket: Ticket,
    agent_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reply(agent_client, sms_ticket, "Hej!")
    [sent] = fake_provider.sent
    assert sent.path == f"/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"
    assert (sent.user, sent.password) == (TWILIO_SID, TWILIO_TOKEN)
    assert sent.form["To"] == "+46706861004" and sent.form["Body"] == "Hej!"
    assert sent.form["StatusCallback"].startswith(f"{BASE}/sms/status/twilio/")
    assert OutgoingSms.objects.get().provider_id.startswith("SM")


def test_a_reply_by_mail_on_an_sms_ticket_sends_no_sms(
    elks,
    fake_provider: FakeProvider,
    sms_ticket: Ticket,
    agent_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        reply(agent_client, sms_ticket, "Per mail", send_by="mail")
    assert not OutgoingSms.objects.exists() and not fake_provider.sent
    assert Article.objects.filter(ticket=sms_ticket, body_text__contains="Per mail").exists()


def test_a_reply_with_files_is_not_sent_by_sms(
    elks, sms_ticket: Ticket, agent_client: Client
) -> None:
    response = agent_client.post(
        reverse("tickets:article", args=[sms_ticket.number]),
        {
            "kind": "reply",
            "body": "Här är manualen",
            "send_by": "sms",
            "attachments": SimpleUploadedFile("manual.pdf", b"%PDF-1.4 x", "application/pdf"),
        },
    )
    assert response.status_code == 400
    assert "An SMS cannot carry files" in response.content.decode()
    assert not Article.objects.filter(ticket=sms_ticket, kind="reply").exists()
    assert not OutgoingSms.objects.exists()


@pytest.mark.parametrize("problem", ["too long", "no number", "sms off"])
def test_a_reply_that_cannot_go_by_sms_is_refused_and_the_text_kept(
    elks, sms_ticket: Ticket, agent_client: Client, problem: str
) -> None:
    settings, _secret = elks
    text = "Hej! " * 400 if problem == "too long" else "Kort svar"
    if problem == "no number":
        ContactPhone.objects.all().delete()
    if problem == "sms off":
        SmsSettings.objects.filter(pk=settings.pk).update(provider="")
    response = reply(agent_client, sms_ticket, text)
    assert response.status_code == 400
    page = response.content.decode()
    expected = {
        "too long": "An SMS can hold at most 1600 characters",
        "no number": "has no phone number",
        "sms off": "SMS is not set up",
    }[problem]
    assert expected in page and text.strip()[:50] in page
    assert not Article.objects.filter(ticket=sms_ticket, kind="reply").exists()
    assert not OutgoingSms.objects.exists()


def test_the_composer_offers_sms_and_chooses_it_for_an_sms_conversation(
    elks, sms_ticket: Ticket, agent_client: Client
) -> None:
    page = agent_client.get(reverse("tickets:detail", args=[sms_ticket.number])).content.decode()
    assert 'data-testid="send-by"' in page and "SMS to +46706861004" in page
    # The contact has a mail address, but this ticket came by SMS and nothing else since.
    assert 'value="sms" checked' in page


def test_no_sms_choice_when_sms_is_off(sms_ticket: Ticket, agent_client: Client) -> None:
    page = agent_client.get(reverse("tickets:detail", args=[sms_ticket.number])).content.decode()
    assert 'data-testid="send-by"' not in page


# --- Retries, failures, restarts --------------------------------------------------------------


def _queued(sms_ticket: Ticket, text: str = "Hej") -> OutgoingSms:
    return OutgoingSms.objects.create(
        kind=OutgoingSms.Kind.REPLY, recipient="+46706861004", text=text, ticket=sms_ticket
    )


def test_a_provider_outage_delays_the_sms_and_it_is_sent_once(
    elks, fake_provider: FakeProvider, sms_ticket: Ticket
) -> None:
    fake_provider.failures = [500, 503]
    sms = _queued(sms_ticket)
    now = timezone.now()
    assert outbox.send_due(now) == 0
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.QUEUED and sms.attempts == 1
    assert "HTTP 500" in sms.last_error and sms.next_attempt_at == now + timedelta(minutes=1)
    assert outbox.send_due(now + timedelta(seconds=30)) == 0  # not due yet: nothing sent
    assert outbox.send_due(now + timedelta(minutes=1)) == 0  # 503
    assert outbox.send_due(now + timedelta(minutes=4)) == 1
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.SENT and sms.attempts == 3
    assert len(fake_provider.sent) == 1
    assert outbox.send_due(now + timedelta(hours=1)) == 0 and len(fake_provider.sent) == 1


@pytest.mark.parametrize("provider", ["46elks", "twilio"])
def test_a_refused_number_fails_at_once_with_the_providers_reason(
    request, fake_provider: FakeProvider, sms_ticket: Ticket, provider: str
) -> None:
    request.getfixturevalue("elks" if provider == "46elks" else "twilio")
    fake_provider.failures = [400]
    sms = _queued(sms_ticket)
    outbox.send_due()
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.FAILED and sms.attempts == 1
    reason = (
        "Invalid to number" if provider == "46elks" else "The 'To' number is not valid. (21211)"
    )
    assert sms.last_error == f"HTTP 400: {reason}"


def test_after_a_worker_died_mid_send_the_sms_waits_for_its_lease_then_goes_once(
    elks, fake_provider: FakeProvider, sms_ticket: Ticket
) -> None:
    sms = _queued(sms_ticket)
    now = timezone.now()
    # A worker claimed it and died before sending: the claim is a lease, not a loss.
    assert outbox._claim(sms, now)
    assert outbox.send_due(now + timedelta(minutes=1)) == 0 and not fake_provider.sent
    assert outbox.send_due(now + outbox.LEASE + timedelta(seconds=1)) == 1
    assert outbox.send_due(now + timedelta(hours=1)) == 0
    assert len(fake_provider.sent) == 1


def test_an_unreachable_provider_is_retried(elks, sms_ticket: Ticket) -> None:
    settings, _secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(api_url="http://127.0.0.1:9/a1")
    sms = _queued(sms_ticket)
    outbox.send_due()
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.QUEUED and sms.attempts == 1
    assert "Error" in sms.last_error


# --- Delivery reports -------------------------------------------------------------------------


def _sent_sms(sms_ticket: Ticket) -> OutgoingSms:
    sms = _queued(sms_ticket)
    assert outbox.send_due() == 1
    sms.refresh_from_db()
    return sms


def test_a_46elks_delivery_report_marks_the_sms_delivered(
    elks, fake_provider: FakeProvider, sms_ticket: Ticket
) -> None:
    sms = _sent_sms(sms_ticket)
    path = urlsplit(fake_provider.sent[0].form["whendelivered"]).path
    response = Client().post(
        path, {"id": sms.provider_id, "status": "delivered", "delivered": "2026-12-06T10:00:00"}
    )
    assert response.status_code == 200
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.DELIVERED and sms.delivered_at is not None
    # A late "sent" never moves it back.
    Client().post(path, {"id": sms.provider_id, "status": "sent"})
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.DELIVERED


def test_a_report_with_a_forged_address_or_another_sms_is_refused(
    elks, fake_provider: FakeProvider, sms_ticket: Ticket
) -> None:
    sms = _sent_sms(sms_ticket)
    forged = reverse("sms:status", args=["46elks", f"{sms.pk}:forged"])
    assert Client().post(forged, {"id": sms.provider_id, "status": "failed"}).status_code == 403
    path = urlsplit(fake_provider.sent[0].form["whendelivered"]).path
    other = Client().post(path, {"id": "s-someone-elses", "status": "failed"})
    assert other.status_code == 404
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.SENT


def test_a_twilio_report_must_be_signed(
    twilio, fake_provider: FakeProvider, sms_ticket: Ticket
) -> None:
    sms = _sent_sms(sms_ticket)
    url = fake_provider.sent[0].form["StatusCallback"]
    path = urlsplit(url).path
    params = {"MessageSid": sms.provider_id, "MessageStatus": "undelivered", "ErrorCode": "30005"}
    unsigned = Client().post(path, params)
    assert unsigned.status_code == 403
    signature = twilio_signature(TWILIO_TOKEN, url, {k: [v] for k, v in params.items()})
    assert Client().post(path, params, HTTP_X_TWILIO_SIGNATURE=signature).status_code == 204
    sms.refresh_from_db()
    assert sms.state == OutgoingSms.State.FAILED and sms.last_error == "Twilio error 30005"


# --- Rules ------------------------------------------------------------------------------------


def test_a_rule_raises_an_alarm_by_sms(
    elks, fake_provider: FakeProvider, queue_support: Queue, django_capture_on_commit_callbacks: Any
) -> None:
    rule = transfer.check_rule(
        {
            "name": "Brand",
            "active": True,
            "lines": [{"fields": ["channel"], "values": ["sms"]}],
            "actions": [
                {
                    "action": "raise_sms_alarm",
                    "recipients": "070-111 22 33, +47 400 12 345",
                    "value": "Ring kunden",
                }
            ],
        }
    )
    transfer.save_rule(rule)
    with django_capture_on_commit_callbacks(execute=True):
        ticket = actions.open_ticket(
            None, queue=queue_support, title="Det brinner", channel=Channel.SMS
        )
    alarms = OutgoingSms.objects.filter(kind=OutgoingSms.Kind.ALARM).order_by("recipient")
    assert [a.recipient for a in alarms] == ["+46701112233", "+4740012345"]
    assert alarms[0].text == f"Brand: #{ticket.number} Det brinner\nRing kunden"
    assert sorted(s.form["to"] for s in fake_provider.sent) == ["+46701112233", "+4740012345"]


def test_an_sms_alarm_with_a_bad_number_is_refused_when_saved(db) -> None:
    with pytest.raises(transfer.RuleErrors) as caught:
        transfer.check_rule(
            {
                "name": "Bad",
                "lines": [{"fields": ["channel"], "values": ["sms"]}],
                "actions": [{"action": "raise_sms_alarm", "recipients": "ring mig"}],
            }
        )
    assert "is not a phone number" in str(caught.value)


def test_the_api_replies_by_sms_and_refuses_when_it_cannot(
    elks,
    fake_provider: FakeProvider,
    sms_ticket: Ticket,
    alice,
    django_capture_on_commit_callbacks: Any,
) -> None:
    _token, raw = create_token(
        alice, name="bot", scope=Scope.WRITE, expires_at=timezone.now() + timedelta(days=1)
    )
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    url = reverse("api:ticket_reply", args=[sms_ticket.number])
    with django_capture_on_commit_callbacks(execute=True):
        created = api.post(
            url, {"body": "Svar via API", "send_by": "sms"}, content_type="application/json"
        )
    assert created.status_code == 201
    assert [s.form["message"] for s in fake_provider.sent] == ["Svar via API"]
    ContactPhone.objects.all().delete()
    refused = api.post(url, {"body": "Igen", "send_by": "sms"}, content_type="application/json")
    assert refused.status_code == 400 and "no phone number" in refused.content.decode()
    bad = api.post(url, {"body": "Igen", "send_by": "pigeon"}, content_type="application/json")
    assert bad.status_code == 400 and "send_by" in bad.content.decode()
