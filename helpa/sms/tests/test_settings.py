"""Settings → SMS: admins only; the stored secret never shown back; the 46elks address shown
once; keywords checked."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from helpa.lib.tokens import token_hash
from helpa.sms.models import SmsKeyword, SmsSettings
from helpa.tickets.models import Queue


@pytest.fixture
def admin_client(admin) -> Client:
    client = Client()
    client.force_login(admin)
    return client


def settings_form(queue: Queue, **changes: str) -> dict[str, str]:
    data = {
        "provider": "46elks",
        "account": "u123",
        "secret": "pw-1",
        "sender": "Helpa",
        "api_url": "",
        "default_queue": str(queue.pk),
        "thread_days": "7",
        "signature": "/Support",
    }
    return {**data, **changes}


@pytest.mark.parametrize("who", ["anonymous", "agent"])
def test_only_admins_reach_the_sms_settings(who: str, agent_client: Client) -> None:
    client = Client() if who == "anonymous" else agent_client
    response = client.get(reverse("sms_settings:index"))
    assert response.status_code in (302, 403)
    response = client.post(reverse("sms_settings:inbound_address"))
    assert response.status_code in (302, 403)
    assert not SmsSettings.objects.exclude(inbound_token_hash="").exists()


def test_the_secret_is_kept_when_left_empty_and_never_shown(
    admin_client: Client, queue_support: Queue
) -> None:
    admin_client.post(reverse("sms_settings:index"), settings_form(queue_support))
    assert SmsSettings.load().secret == "pw-1"
    page = admin_client.get(reverse("sms_settings:index")).content.decode()
    assert "pw-1" not in page
    admin_client.post(reverse("sms_settings:index"), settings_form(queue_support, secret=""))
    saved = SmsSettings.load()
    assert saved.secret == "pw-1" and saved.is_on


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"sender": "Helpa Support AB"}, "at most 11 letters"),
        ({"sender": "+46 12"}, "is not a phone number"),
        ({"account": ""}, "To send SMS, fill in"),
        ({"api_url": "ftp://example.com"}, "must begin with https://"),
        ({"thread_days": "900"}, "At most 365 days"),
    ],
)
def test_bad_settings_are_refused_with_a_message(
    admin_client: Client, queue_support: Queue, changes: dict[str, str], message: str
) -> None:
    response = admin_client.post(
        reverse("sms_settings:index"), settings_form(queue_support, **changes)
    )
    assert response.status_code == 400 and message in response.content.decode()
    assert not SmsSettings.load().provider


def test_the_46elks_address_is_shown_once_and_replaces_the_old_one(
    admin_client: Client, queue_support: Queue, settings
) -> None:
    settings.BASE_URL = "https://help.example.se"
    admin_client.post(reverse("sms_settings:index"), settings_form(queue_support))
    first = admin_client.post(reverse("sms_settings:inbound_address")).content.decode()
    prefix = "https://help.example.se/sms/inbound/46elks/"
    assert prefix in first
    secret = first.split(prefix, 1)[1].split("/", 1)[0]
    assert SmsSettings.load().inbound_token_hash == token_hash(secret)
    assert prefix not in admin_client.get(reverse("sms_settings:index")).content.decode()
    admin_client.post(reverse("sms_settings:inbound_address"))
    assert SmsSettings.load().inbound_token_hash != token_hash(secret)


def test_keywords_are_one_word_and_unique(admin_client: Client, queue_billing: Queue) -> None:
    url = reverse("sms_settings:keyword_add")
    assert (
        admin_client.post(url, {"keyword": "faktura", "queue": queue_billing.pk}).status_code == 302
    )
    assert SmsKeyword.objects.get().keyword == "FAKTURA"
    taken = admin_client.post(url, {"keyword": "Faktura", "queue": queue_billing.pk})
    assert taken.status_code == 400 and "That keyword is taken" in taken.content.decode()
    spaced = admin_client.post(url, {"keyword": "två ord", "queue": queue_billing.pk})
    assert spaced.status_code == 400 and "one word" in spaced.content.decode()
    assert SmsKeyword.objects.count() == 1


def test_a_test_sms_goes_through_the_outbox(
    admin_client: Client, queue_support: Queue, fake_provider, django_capture_on_commit_callbacks
) -> None:
    admin_client.post(
        reverse("sms_settings:index"),
        settings_form(queue_support, api_url=f"{fake_provider.url}/a1"),
    )
    with django_capture_on_commit_callbacks(execute=True):
        admin_client.post(reverse("sms_settings:test"), {"number": "070-123 45 67"})
    [sent] = fake_provider.sent
    assert sent.form["to"] == "+46701234567" and "test SMS from Helpa" in sent.form["message"]
    page = admin_client.get(reverse("sms_settings:index")).content.decode()
    assert 'data-state="sent"' in page
