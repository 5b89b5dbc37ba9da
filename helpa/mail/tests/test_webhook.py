"""The inbound webhook: a provider POSTs a raw message with the queue's secret."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.test import Client

from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailSettings, QueueMail
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db
URL = "/mail/inbound/support/"


def message(message_id: str = "<hook-1@kund.se>", body: str = "Our invoice is wrong.") -> bytes:
    return (
        "From: Pia Persson <pia@kund.se>\r\nTo: support@helpa.test\r\n"
        f"Subject: Invoice 4711\r\nMessage-ID: {message_id}\r\n"
        'Content-Type: text/plain; charset="utf-8"\r\n\r\n'
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def secret(support: Queue) -> str:
    out = StringIO()
    call_command("queue", "webhook-secret", "support", stdout=out, stderr=StringIO())
    return out.getvalue().strip()


def post(
    body: bytes,
    secret: str | None,
    *,
    url: str = URL,
    content_type: str = "message/rfc822",
    client: Client | None = None,
):
    headers = {"Authorization": f"Bearer {secret}"} if secret is not None else {}
    return (client or Client()).post(url, body, content_type=content_type, headers=headers)


def test_a_posted_message_becomes_a_ticket_with_the_raw_message_stored(
    support: Queue, secret: str
) -> None:
    response = post(message(), secret)

    assert response.status_code == 200
    ticket = Ticket.objects.get()
    assert response.json() == {
        "stored": True,
        "ticket": ticket.number,
        "duplicate": False,
        "state": "stored",
    }
    assert ticket.queue == support and ticket.title == "Invoice 4711"
    inbound = InboundMail.objects.get()
    assert inbound.source == InboundMail.Source.WEBHOOK
    with inbound.raw.open("rb") as f:
        assert f.read() == message()


def test_a_provider_retry_is_a_duplicate_not_a_second_ticket(secret: str) -> None:
    post(message(), secret)
    response = post(message(), secret, content_type="application/octet-stream")

    assert response.status_code == 200
    assert response.json() == {"stored": True, "ticket": None, "duplicate": True, "state": None}
    assert InboundMail.objects.count() == 1 and Ticket.objects.count() == 1


def test_no_csrf_token_is_needed(secret: str) -> None:
    response = post(message(), secret, client=Client(enforce_csrf_checks=True))
    assert response.status_code == 200


@pytest.mark.parametrize("given", [None, "", "wrong-secret", "Basic abc"])
def test_a_wrong_or_missing_secret_is_401_and_nothing_is_stored(
    secret: str, given: str | None
) -> None:
    response = post(message(), given)
    assert response.status_code == 401
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["stored"] is False
    assert not InboundMail.objects.exists()


def test_the_secret_of_another_queue_does_not_open_this_one(
    support: Queue, billing: Queue, secret: str
) -> None:
    response = post(message(), secret, url="/mail/inbound/billing/")
    assert response.status_code == 401
    assert not InboundMail.objects.exists()


def test_an_unknown_queue_answers_exactly_as_a_wrong_secret(secret: str) -> None:
    """A caller without the secret cannot find out which queues exist."""
    unknown = post(message(), secret, url="/mail/inbound/no-such-queue/")
    wrong = post(message(), "wrong-secret")
    assert unknown.status_code == wrong.status_code == 401
    assert unknown.content == wrong.content


def test_a_queue_without_a_secret_accepts_nothing(support: Queue) -> None:
    QueueMail.for_queue(support)
    assert post(message(), "").status_code == 401
    assert post(message(), "anything").status_code == 401


def test_a_new_secret_replaces_the_old_one(support: Queue, secret: str) -> None:
    out = StringIO()
    call_command("queue", "webhook-secret", "support", stdout=out, stderr=StringIO())
    assert post(message(), secret).status_code == 401
    assert post(message(), out.getvalue().strip()).status_code == 200


def test_only_post_is_allowed(secret: str) -> None:
    response = Client().get(URL, headers={"Authorization": f"Bearer {secret}"})
    assert response.status_code == 405


def test_another_content_type_is_415(secret: str) -> None:
    response = post(message(), secret, content_type="application/json")
    assert response.status_code == 415
    assert not InboundMail.objects.exists()


def test_an_empty_body_is_400(secret: str) -> None:
    response = post(b"\r\n", secret)
    assert response.status_code == 400
    assert not InboundMail.objects.exists()


def test_a_message_over_the_size_limit_is_413_and_not_stored(secret: str) -> None:
    settings = MailSettings.load()
    settings.max_message_mb = 1
    settings.save()
    big = message(body="x" * (1024 * 1024))

    response = post(big, secret)

    assert response.status_code == 413
    assert "1 MB" in response.json()["error"]
    assert not InboundMail.objects.exists()
    # Just under the limit is fine (and larger than Django's own request body limit would be).
    settings.max_message_mb = 12
    settings.save()
    response = post(message(body="y" * (11 * 1024 * 1024)), secret)
    assert response.status_code == 200 and response.json()["state"] == "stored"


def test_binary_garbage_is_stored_raw_not_refused(secret: str) -> None:
    garbage = bytes(range(256)) * 8
    response = post(garbage, secret, content_type="application/octet-stream")
    assert response.status_code == 200
    inbound = InboundMail.objects.get()
    with inbound.raw.open("rb") as f:
        assert f.read() == garbage


def test_a_temporary_failure_is_503_with_retry_after(
    secret: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def database_down(*args: object, **kwargs: object) -> ingest.IngestResult:
        raise ingest.TemporaryFailure("could not connect to server")

    monkeypatch.setattr(ingest, "ingest_message", database_down)
    response = post(message(), secret)
    assert response.status_code == 503
    assert response["Retry-After"] == "60"
    assert response.json()["stored"] is False
