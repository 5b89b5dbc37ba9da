"""Incoming SMS: the providers' payloads replayed from fixtures through the real webhook
views — proofs checked, routed, matched to a contact, threaded, stored once, never lost."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlencode

import pytest
import time_machine
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.crm.models import Contact, ContactPhone
from helpa.sms.models import InboundSms, SmsKeyword, SmsSettings
from helpa.sms.providers import twilio_signature
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Channel, Queue, Status, Ticket

from .conftest import TWILIO_TOKEN

FIXTURES = Path(__file__).parent / "fixtures"
FORM = "application/x-www-form-urlencoded"
BASE = "http://helpa.example"


@pytest.fixture(autouse=True)
def _base_url(settings) -> None:
    settings.BASE_URL = BASE


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text().strip()


def post_elks(secret: str, body: str | None = None) -> object:
    url = reverse("sms:inbound_46elks", args=[secret])
    return Client().post(url, body or fixture("46elks_incoming.txt"), content_type=FORM)


def elks_body(sms_id: str, sender: str, text: str) -> str:
    return urlencode(
        {
            "direction": "incoming",
            "id": sms_id,
            "from": sender,
            "to": "+46766860000",
            "message": text,
        }
    )


def post_twilio(
    body: str, *, token: str = TWILIO_TOKEN, host: str = "", signature: str = ""
) -> object:
    path = reverse("sms:inbound_twilio")
    params = parse_qs(body, keep_blank_values=True)
    signature = signature or twilio_signature(token, BASE + path, params)
    extra = {"HTTP_X_TWILIO_SIGNATURE": signature}
    if host:
        extra["HTTP_HOST"] = host
    return Client().post(path, body, content_type=FORM, **extra)


# --- Twilio's signature, against the vectors of Twilio's own library -------------------------


def test_the_twilio_signature_is_computed_as_twilio_does() -> None:
    uri = "https://mycompany.com/myapp.php?foo=1&bar=2"
    params = {
        "CallSid": ["CA1234567890ABCDE"],
        "Digits": ["1234"],
        "From": ["+14158675309"],
        "To": ["+18005551212"],
        "Caller": ["+14158675309"],
    }
    assert twilio_signature("12345", uri, params) == "RSOYDt4T1cUTdK1PDd93/VVr8B8="
    repeated = {"Sid": ["CA123"], "SidAccount": ["AC123"], "Digits": ["5678", "1234"]}
    assert twilio_signature("12345", uri, repeated) == "IK+Dwps556ElfBT0I3Rgjkr1wJU="
    body = '{"property": "value", "boolean": true}'
    body_hash = hashlib.sha256(body.encode()).hexdigest()
    assert body_hash == "0a1ff7634d9ab3b95db5c9a2dfe9416e41502b283a80c7cf19632632f96e6620"
    assert twilio_signature("12345", f"{uri}&bodySHA256={body_hash}", {}) == (
        "a9nBmqA0ju/hNViExpshrM61xv4="
    )


# --- 46elks -----------------------------------------------------------------------------------


def test_an_sms_from_46elks_becomes_a_ticket(elks, queue_support: Queue) -> None:
    _settings, secret = elks
    response = post_elks(secret)
    # 200 with an empty body: 46elks would send any text we answer back as an SMS.
    assert response.status_code == 200 and response.content == b""
    ticket = Ticket.objects.get()
    assert ticket.channel == Channel.SMS and ticket.queue == queue_support
    assert ticket.title == "Hej! Skrivaren på plan 3 fungerar inte. Mvh Lisa"
    assert ticket.contact.phones.get().number == "+46706861004"
    article = ticket.articles.get()
    assert article.kind == ArticleKind.CUSTOMER and article.author_contact == ticket.contact
    assert article.body_html == "<p>Hej! Skrivaren på plan 3 fungerar inte.<br>Mvh Lisa</p>"
    inbound = InboundSms.objects.get()
    assert inbound.article == article and inbound.state == InboundSms.State.STORED
    assert inbound.payload["id"] == "sf8425555e5d8db61dda7a7b3f1b91bdb"
    assert inbound.decision.startswith("New ticket")


def test_46elks_delivering_the_same_sms_again_stores_it_once(elks) -> None:
    _settings, secret = elks
    assert post_elks(secret).status_code == 200
    assert post_elks(secret).status_code == 200
    assert (Ticket.objects.count(), Article.objects.count(), InboundSms.objects.count()) == (
        1,
        1,
        1,
    )


@pytest.mark.parametrize("secret", ["wrong", "x" * 43])
def test_a_46elks_request_without_the_secret_is_refused(elks, secret: str) -> None:
    assert post_elks(secret).status_code == 403
    assert not InboundSms.objects.exists() and not Ticket.objects.exists()


def test_46elks_is_refused_until_an_address_is_made(elks) -> None:
    settings, secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(inbound_token_hash="")
    assert post_elks(secret).status_code == 403
    assert not InboundSms.objects.exists()


def test_sms_off_or_another_provider_answers_404(elks) -> None:
    settings, secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(provider="twilio")
    assert post_elks(secret).status_code == 404
    SmsSettings.objects.filter(pk=settings.pk).update(provider="")
    assert post_elks(secret).status_code == 404
    assert not InboundSms.objects.exists()


@pytest.mark.parametrize(
    "body",
    ["direction=incoming&id=s1&message=Hej", "direction=incoming&from=%2B46701234567&message=x"],
)
def test_a_payload_without_sender_or_id_gets_400(elks, body: str) -> None:
    _settings, secret = elks
    response = post_elks(secret, body)
    assert response.status_code == 400 and b"missing" in response.content
    assert not InboundSms.objects.exists()


def test_a_broken_json_body_gets_400(elks) -> None:
    _settings, secret = elks
    url = reverse("sms:inbound_46elks", args=[secret])
    response = Client().post(url, "{not json", content_type="application/json")
    assert response.status_code == 400 and b"JSON" in response.content


# --- Twilio -----------------------------------------------------------------------------------


def test_a_signed_twilio_sms_is_routed_by_its_keyword_to_a_known_contact(
    twilio, queue_billing: Queue, contact: Contact
) -> None:
    SmsKeyword.objects.create(keyword="FAKTURA", queue=queue_billing)
    ContactPhone.objects.create(contact=contact, number="+46701234567")
    response = post_twilio(fixture("twilio_incoming.txt"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/xml")
    assert b"<Response></Response>" in response.content
    ticket = Ticket.objects.get()
    assert ticket.queue == queue_billing and ticket.contact == contact
    assert ticket.title == "Fakturan för november är fel"
    # The article keeps the whole SMS as written, keyword and all.
    assert "FAKTURA Fakturan för november är fel" in ticket.articles.get().body_text
    assert "Keyword FAKTURA: queue Billing" in InboundSms.objects.get().decision


def test_the_keyword_is_matched_in_any_case_with_or_without_a_colon(
    twilio, queue_billing: Queue
) -> None:
    SmsKeyword.objects.create(keyword="FAKTURA", queue=queue_billing)
    body = fixture("twilio_incoming.txt").replace("Body=FAKTURA+", "Body=faktura%3A+")
    assert post_twilio(body).status_code == 200
    assert Ticket.objects.get().queue == queue_billing


@pytest.mark.parametrize("case", ["wrong token", "no signature", "other host", "changed body"])
def test_a_forged_twilio_request_is_refused(twilio, case: str, settings) -> None:
    body = fixture("twilio_incoming.txt")
    if case == "wrong token":
        response = post_twilio(body, token="not-the-token")
    elif case == "no signature":
        response = Client().post(reverse("sms:inbound_twilio"), body, content_type=FORM)
    elif case == "other host":
        # Signed for the forger's own address: we check against our base URL, not the Host
        # header — even where every host name reaches Helpa (a catch-all proxy).
        settings.ALLOWED_HOSTS = ["*"]
        path = reverse("sms:inbound_twilio")
        signature = twilio_signature(TWILIO_TOKEN, "http://evil.example" + path, parse_qs(body))
        response = post_twilio(body, host="evil.example", signature=signature)
    else:
        path = reverse("sms:inbound_twilio")
        signature = twilio_signature(TWILIO_TOKEN, BASE + path, parse_qs(body))
        response = Client().post(
            path,
            body.replace("fel", "r%C3%A4tt"),
            content_type=FORM,
            HTTP_X_TWILIO_SIGNATURE=signature,
        )
    assert response.status_code == 403
    assert not InboundSms.objects.exists()


def test_a_twilio_json_body_is_checked_by_its_sha256(twilio) -> None:
    body = fixture("twilio_incoming.json").encode()
    path = reverse("sms:inbound_twilio") + f"?bodySHA256={hashlib.sha256(body).hexdigest()}"
    signature = twilio_signature(TWILIO_TOKEN, BASE + path, {})
    changed = body.replace(b"logget inn", b"logget ut!")
    refused = Client().post(
        path, changed, content_type="application/json", HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert refused.status_code == 403
    response = Client().post(
        path, body, content_type="application/json", HTTP_X_TWILIO_SIGNATURE=signature
    )
    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert ticket.contact.phones.get().number == "+4740012345"
    text = ticket.articles.get().body_text
    assert "jeg får ikke logget inn" in text and "1 picture(s) (MMS)" in text


# --- Threading --------------------------------------------------------------------------------


def _sms(secret: str, sms_id: str, text: str, sender: str = "+46706861004") -> Ticket:
    assert post_elks(secret, elks_body(sms_id, sender, text)).status_code == 200
    return InboundSms.objects.get(provider_id=sms_id).ticket


def test_an_sms_joins_the_senders_open_sms_ticket_and_reopens_a_resolved_one(elks, alice) -> None:
    _settings, secret = elks
    first = _sms(secret, "s1", "Skrivaren är trasig")
    assert _sms(secret, "s2", "Den blinkar rött också") == first
    assert "Joined #" in InboundSms.objects.get(provider_id="s2").decision
    actions.update_ticket(alice, first, {"owner": alice, "status": Status.RESOLVED})
    assert _sms(secret, "s3", "Nu är den trasig igen") == first
    first.refresh_from_db()
    assert first.status == Status.OPEN
    assert first.articles.filter(kind=ArticleKind.CUSTOMER).count() == 3


def test_an_sms_after_the_window_or_to_a_closed_ticket_starts_a_new_one(elks, alice) -> None:
    settings, secret = elks
    first = _sms(secret, "s1", "Fråga ett")
    with time_machine.travel(timezone.now() + timedelta(days=settings.thread_days, hours=1)):
        later = _sms(secret, "s2", "Fråga två")
        assert later != first
        actions.update_ticket(alice, later, {"owner": alice})
        actions.close_ticket(alice, later)
        assert _sms(secret, "s3", "Fråga tre") not in (first, later)


def test_a_mail_ticket_of_the_same_contact_is_not_joined(
    elks, contact: Contact, queue_support: Queue
) -> None:
    _settings, secret = elks
    ContactPhone.objects.create(contact=contact, number="+46706861004")
    mail_ticket = actions.open_ticket(
        None, queue=queue_support, title="By mail", channel=Channel.EMAIL, contact=contact
    )
    sms_ticket = _sms(secret, "s1", "Hej via SMS")
    assert sms_ticket != mail_ticket and sms_ticket.contact == contact


def test_with_no_window_every_sms_starts_a_ticket(elks) -> None:
    settings, secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(thread_days=0)
    assert _sms(secret, "s1", "Ett") != _sms(secret, "s2", "Två")
    assert "every SMS starts a new ticket" in InboundSms.objects.get(provider_id="s2").decision


def test_a_sender_name_instead_of_a_number_still_makes_a_ticket(elks) -> None:
    _settings, secret = elks
    ticket = _sms(secret, "s1", "Din kod är 1234", sender="Banken")
    assert ticket.contact.name == "Banken" and not ticket.contact.phones.exists()


# --- Nothing lost -----------------------------------------------------------------------------


def test_an_sms_no_queue_takes_is_kept_as_failed_and_can_be_processed_again(
    elks, admin, queue_support: Queue
) -> None:
    settings, secret = elks
    SmsSettings.objects.filter(pk=settings.pk).update(default_queue=None)
    assert post_elks(secret).status_code == 200  # stored: the provider must not retry for hours
    failed = InboundSms.objects.get()
    assert failed.state == InboundSms.State.FAILED and "No queue takes this SMS" in failed.error
    assert not Ticket.objects.exists()
    page = Client()
    page.force_login(admin)
    listing = page.get(reverse("sms_settings:index"))
    assert "No queue takes this SMS" in listing.content.decode()
    SmsSettings.objects.filter(pk=settings.pk).update(default_queue=queue_support)
    page.post(reverse("sms_settings:received_again", args=[failed.pk]))
    failed.refresh_from_db()
    assert failed.state == InboundSms.State.STORED and failed.ticket is not None
    assert "Skrivaren" in failed.ticket.articles.get().body_text


def test_an_empty_sms_is_kept_visibly(elks) -> None:
    _settings, secret = elks
    ticket = _sms(secret, "s1", "")
    assert ticket.title.startswith("SMS from")
    assert "(empty SMS)" in ticket.articles.get().body_text
