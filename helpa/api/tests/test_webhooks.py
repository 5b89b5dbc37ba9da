"""Outgoing webhooks, delivered to a receiver the test starts on 127.0.0.1."""

from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import time_machine
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from helpa.accounts.models import User
from helpa.api import webhooks
from helpa.api.models_webhooks import (
    PAUSE_AFTER_FAILURES,
    TEST_EVENT,
    Webhook,
    WebhookDelivery,
    WebhookEvent,
)
from helpa.crm.models import Contact
from helpa.mail.models import OutgoingMail
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status, Ticket

Pending = WebhookDelivery.State.PENDING
Sent = WebhookDelivery.State.SENT
Failed = WebhookDelivery.State.FAILED


@dataclass
class Receiver:
    """An HTTP server on 127.0.0.1 that answers with `statuses` in turn (then 200) and keeps
    what it received."""

    url: str = ""
    statuses: list[int] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def answer(self, headers: dict[str, str], body: bytes) -> int:
        with self.lock:
            self.received.append({"headers": headers, "body": body})
            return self.statuses.pop(0) if self.statuses else 200


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802 — the name http.server calls
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            status = state.answer(dict(self.headers.items()), body)
            self.send_response(status)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *_args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/helpa?x=1"
    yield state
    server.shutdown()
    server.server_close()


def _hook(url: str, *, allow_private: bool = True, events: list[str] | None = None) -> Webhook:
    # The receiver listens on loopback: exactly the admin's "allow private addresses" override.
    return Webhook.objects.create(
        url=url,
        events=events if events is not None else list(WebhookEvent.values),
        allow_private=allow_private,
    )


@pytest.fixture
def hook(receiver: Receiver, db: None) -> Webhook:
    return _hook(receiver.url)


def _verify(secret: str, request: dict[str, Any]) -> bool:
    """What a receiver does: recompute the signature over "<timestamp>.<body>"."""
    headers = request["headers"]
    signed = headers["X-Helpa-Timestamp"].encode() + b"." + request["body"]
    expected = "sha256=" + hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, headers["X-Helpa-Signature"])


# --- Deliveries are written with the change -----------------------------------------------------


def test_a_new_ticket_arrives_signed(
    hook: Webhook, receiver: Receiver, alice: User, queue_support: Queue
) -> None:
    ticket = actions.open_ticket(alice, queue=queue_support, title="Printer jammed")
    delivery = WebhookDelivery.objects.get()
    assert (delivery.event, delivery.state) == ("ticket.created", Pending)

    assert webhooks.send_due() == 1

    [request] = receiver.received
    headers = request["headers"]
    assert headers["X-Helpa-Event"] == "ticket.created"
    assert headers["X-Helpa-Delivery"] == str(delivery.delivery_id)
    assert headers["Content-Type"] == "application/json"
    assert _verify(hook.secret, request)
    assert not _verify("another secret", request)
    body = json.loads(request["body"])
    assert body["event"] == "ticket.created"
    assert body["data"]["ticket"]["number"] == ticket.number
    assert body["data"]["ticket"]["title"] == "Printer jammed"
    assert body["data"]["actor"] == {"user": alice.pk, "name": str(alice)}
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (Sent, 1, 200)
    assert delivery.sent_at is not None


def test_each_event_is_written_for_the_webhooks_that_want_it(
    receiver: Receiver, alice: User, admin: User, ticket: Ticket
) -> None:
    everything = _hook(receiver.url)
    replies_only = _hook(receiver.url, events=["ticket.replied"])
    paused = _hook(receiver.url)
    Webhook.objects.filter(pk=paused.pk).update(is_active=False)
    webhooks.forget()

    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    actions.add_reply(alice, ticket, "<p>We are on it.</p>")
    actions.add_note(alice, ticket, "<p>Toner low.</p>")
    Contact.objects.create(name="Dora", email="dora@example.com")

    def events_of(hook: Webhook) -> list[str]:
        return sorted(hook.deliveries.values_list("event", flat=True))

    assert events_of(everything) == [
        "contact.created",
        "ticket.assigned",
        "ticket.note_added",
        "ticket.replied",
        "ticket.status_changed",
        "ticket.updated",
    ]
    assert events_of(replies_only) == ["ticket.replied"]
    assert events_of(paused) == []
    updated = everything.deliveries.get(event="ticket.updated")
    assert sorted(updated.payload["data"]["changes"]) == ["owner", "status"]
    reply = everything.deliveries.get(event="ticket.replied")
    assert "We are on it." in reply.payload["data"]["article"]["body_text"]
    contact = everything.deliveries.get(event="contact.created")
    assert contact.payload["data"]["contact"]["email"] == "dora@example.com"


def test_a_rollback_writes_no_delivery(hook: Webhook, alice: User, queue_support: Queue) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        actions.open_ticket(alice, queue=queue_support, title="Never happened")
        assert WebhookDelivery.objects.count() == 1  # written inside the transaction…
        raise RuntimeError
    assert WebhookDelivery.objects.count() == 0  # …and gone with it


def test_a_commit_wakes_the_worker_which_sends_at_once(
    hook: Webhook,
    receiver: Receiver,
    alice: User,
    queue_support: Queue,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        actions.open_ticket(alice, queue=queue_support, title="Printer jammed")
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().state == Sent


# --- Retries, duplicates, restarts ---------------------------------------------------------------


def test_retried_with_back_off_after_500s(hook: Webhook, receiver: Receiver) -> None:
    receiver.statuses = [500, 500]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        delivery = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
        assert webhooks.send_due() == 0
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts, delivery.last_status_code) == (Pending, 1, 500)
        assert delivery.next_attempt_at == start + timedelta(minutes=1)
        assert "HTTP 500" in delivery.last_error

        clock.shift(timedelta(seconds=59))
        assert webhooks.send_due() == 0  # not due yet
        assert len(receiver.received) == 1

        clock.shift(timedelta(seconds=1))
        assert webhooks.send_due() == 0
        delivery.refresh_from_db()
        assert (delivery.attempts, delivery.next_attempt_at) == (
            2,
            timezone.now() + timedelta(minutes=2),
        )

        clock.shift(timedelta(minutes=2))
        assert webhooks.send_due() == 1
        clock.shift(timedelta(hours=5))
        assert webhooks.send_due() == 0

    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts, delivery.last_status_code) == (Sent, 3, 200)
    assert [r["headers"]["X-Helpa-Delivery"] for r in receiver.received] == [
        str(delivery.delivery_id)
    ] * 3
    assert all(_verify(hook.secret, r) for r in receiver.received)


def test_failed_after_the_last_attempt_and_sent_again_with_the_same_id(
    hook: Webhook, receiver: Receiver, ada_client: Client
) -> None:
    receiver.statuses = [503] * webhooks.MAX_ATTEMPTS
    delivery = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    with time_machine.travel(timezone.now(), tick=False) as clock:
        for _attempt in range(webhooks.MAX_ATTEMPTS):
            webhooks.send_due()
            clock.shift(timedelta(hours=3))
        delivery.refresh_from_db()
        assert (delivery.state, delivery.attempts) == (Failed, webhooks.MAX_ATTEMPTS)
        assert webhooks.send_due() == 0

        response = ada_client.post(reverse("webhooks:again", args=[hook.pk, delivery.pk]))
        assert response.status_code == 302
        assert webhooks.send_due() == 1
    delivery.refresh_from_db()
    assert (delivery.state, delivery.attempts) == (Sent, 1)
    assert receiver.received[-1]["headers"]["X-Helpa-Delivery"] == str(delivery.delivery_id)
    assert len(receiver.received) == webhooks.MAX_ATTEMPTS + 1


def test_two_workers_never_send_one_delivery_twice(
    hook: Webhook, receiver: Receiver, ticket: Ticket
) -> None:
    assert WebhookDelivery.objects.count() == 1  # ticket.created
    # Worker B read the due rows, then worker A claimed and sent them before B got to claim.
    seen_by_b = list(WebhookDelivery.objects.filter(state=Pending))
    assert webhooks.send_due() == 1  # worker A
    assert [webhooks._claim(d, timezone.now()) for d in seen_by_b] == [False]
    assert webhooks.send_due() == 0  # the job running again
    assert len(receiver.received) == 1


def test_two_workers_at_once_send_each_delivery_once(
    hook: Webhook, receiver: Receiver, alice: User, queue_support: Queue
) -> None:
    for n in range(5):
        actions.open_ticket(alice, queue=queue_support, title=f"Ticket {n}")
    # Both workers see the same due rows; the claims decide who sends each.
    now = timezone.now()
    due = list(WebhookDelivery.objects.select_related("webhook").order_by("id"))
    stale = list(WebhookDelivery.objects.select_related("webhook").order_by("id"))
    sent = 0
    for mine, theirs in zip(due, stale, strict=True):
        for copy in (mine, theirs):
            if webhooks._claim(copy, now):
                sent += webhooks.send_one(copy, now) == Sent
    assert sent == 5
    ids = [r["headers"]["X-Helpa-Delivery"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 5


def test_nothing_is_lost_when_the_worker_stops(
    hook: Webhook, receiver: Receiver, alice: User, queue_support: Queue
) -> None:
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        actions.open_ticket(alice, queue=queue_support, title="Written, not yet sent")
        # The worker is down: the row waits in the database.
        assert receiver.received == []
        # A worker claims it and dies before sending: the claim runs out.
        delivery = WebhookDelivery.objects.get()
        assert webhooks._claim(delivery, timezone.now())
        assert webhooks.send_due() == 0
        clock.shift(webhooks.LEASE)
        # The worker is back: the periodic job finds what is due.
        assert webhooks.send_due() == 1
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.get().state == Sent


# --- SSRF ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["127.0.0.1", "10.1.2.3", "192.168.0.10", "172.16.5.5", "169.254.169.254", "::1",
     "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1", "fe80::1", "fd00::1", "100.64.0.1"],
)  # fmt: skip
def test_inside_addresses_are_refused(address: str) -> None:
    with pytest.raises(webhooks.Refused):
        webhooks.resolve(address, 80, allow_private=False)
    assert webhooks.resolve(address, 80, allow_private=True) == address


def test_a_public_address_is_allowed() -> None:
    assert webhooks.resolve("93.184.216.34", 443, allow_private=False) == "93.184.216.34"


def test_loopback_is_refused_without_the_admins_override(
    receiver: Receiver, alice: User, queue_support: Queue
) -> None:
    _hook(receiver.url, allow_private=False)
    actions.open_ticket(alice, queue=queue_support, title="Printer jammed")
    assert webhooks.send_due() == 0
    delivery = WebhookDelivery.objects.get()
    assert delivery.state == Failed  # not retried: waiting does not make the address public
    assert "127.0.0.1" in delivery.last_error and "not a public address" in delivery.last_error
    assert receiver.received == []


def test_only_http_and_https(hook: Webhook) -> None:
    with pytest.raises(webhooks.Refused):
        webhooks.post("file:///etc/passwd", b"{}", {}, allow_private=True)
    with pytest.raises(webhooks.Refused):
        webhooks.post("ftp://127.0.0.1/x", b"{}", {}, allow_private=True)


def test_connects_to_the_address_it_checked(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A host name resolved once: the connection goes to the checked address and the name
    travels in the Host header (a second, different DNS answer is never asked for)."""
    port = int(receiver.url.split(":")[2].split("/")[0])
    answers = iter(["127.0.0.1", "10.9.9.9"])
    real = socket.getaddrinfo

    def fake_getaddrinfo(host: str, *args: Any, **kwargs: Any) -> Any:
        if host == "hooks.example.test":
            return real(next(answers), *args, **kwargs)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", fake_getaddrinfo)
    response = webhooks.post(
        f"http://hooks.example.test:{port}/in", b"{}", {"X-Test": "1"}, allow_private=True
    )
    assert response.status == 200
    assert receiver.received[0]["headers"]["Host"] == f"hooks.example.test:{port}"
    # The second answer, an inside address, is refused when private addresses are not allowed.
    with pytest.raises(webhooks.Refused):
        webhooks.post(f"http://hooks.example.test:{port}/in", b"{}", {}, allow_private=False)


def test_redirects_are_not_followed(monkeypatch: pytest.MonkeyPatch, hook: Webhook) -> None:
    """A 3xx is a failed attempt, never a second request to where it points."""
    calls: list[str] = []

    def fake_post(url: str, *_args: Any, **_kwargs: Any) -> webhooks.Response:
        calls.append(url)
        return webhooks.Response(302, "")

    monkeypatch.setattr(webhooks, "post", fake_post)
    WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    webhooks.send_due()
    assert calls == [hook.url]
    assert WebhookDelivery.objects.get().last_status_code == 302


# --- Pausing -------------------------------------------------------------------------------------


def test_paused_after_repeated_failures_and_the_admins_are_told(
    hook: Webhook, receiver: Receiver, admin: User
) -> None:
    receiver.statuses = [500] * 100
    for _n in range(PAUSE_AFTER_FAILURES + 1):
        WebhookDelivery.objects.create(
            webhook=hook,
            event="ticket.created",
            payload={},
            attempts=webhooks.MAX_ATTEMPTS - 1,  # their last attempt
        )
    webhooks.send_due()

    hook.refresh_from_db()
    assert not hook.is_active and hook.paused_at is not None
    assert hook.consecutive_failures == PAUSE_AFTER_FAILURES
    # The one left waits for the webhook to be resumed; it is not sent to a paused endpoint.
    assert WebhookDelivery.objects.filter(state=Failed).count() == PAUSE_AFTER_FAILURES
    assert WebhookDelivery.objects.filter(state=Pending).count() == 1
    assert len(receiver.received) == PAUSE_AFTER_FAILURES
    [notice] = [m for m in OutgoingMail.objects.all() if admin.email in m.recipients]
    assert "Webhook paused" in notice.subject
    # Paused webhooks get no new deliveries.
    webhooks.queue_event(WebhookEvent.TICKET_CREATED, data={})
    assert WebhookDelivery.objects.count() == PAUSE_AFTER_FAILURES + 1


def test_a_success_resets_the_failure_count(hook: Webhook, receiver: Receiver) -> None:
    Webhook.objects.filter(pk=hook.pk).update(consecutive_failures=PAUSE_AFTER_FAILURES - 1)
    WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    webhooks.send_due()
    hook.refresh_from_db()
    assert (hook.consecutive_failures, hook.is_active) == (0, True)


# --- Settings pages ------------------------------------------------------------------------------


def test_agents_may_not_see_the_webhook_pages(
    hook: Webhook, alice_client: Client, ada_client: Client
) -> None:
    delivery = WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    pages = [
        ("get", reverse("webhooks:list")),
        ("get", reverse("webhooks:deliveries", args=[hook.pk])),
        ("post", reverse("webhooks:pause", args=[hook.pk])),
        ("post", reverse("webhooks:resume", args=[hook.pk])),
        ("post", reverse("webhooks:test", args=[hook.pk])),
        ("post", reverse("webhooks:again", args=[hook.pk, delivery.pk])),
        ("post", reverse("webhooks:delete", args=[hook.pk])),
    ]
    for method, url in pages:
        assert getattr(alice_client, method)(url).status_code == 403, url
    assert Webhook.objects.filter(pk=hook.pk, is_active=True).exists()
    assert ada_client.get(reverse("webhooks:list")).status_code == 200


def test_the_secret_is_shown_once(ada_client: Client, admin: User) -> None:
    response = ada_client.post(
        reverse("webhooks:list"),
        {"url": "https://crm.example.com/helpa", "events": ["ticket.created", "contact.created"]},
    )
    assert response.status_code == 200
    hook = Webhook.objects.get()
    assert (hook.events, hook.allow_private, hook.created_by) == (
        ["ticket.created", "contact.created"],
        False,
        admin,
    )
    assert hook.secret in response.content.decode()
    assert hook.secret not in ada_client.get(reverse("webhooks:list")).content.decode()
    assert (
        hook.secret
        not in ada_client.get(reverse("webhooks:deliveries", args=[hook.pk])).content.decode()
    )


def test_a_webhook_needs_an_http_url_and_events(ada_client: Client) -> None:
    response = ada_client.post(reverse("webhooks:list"), {"url": "ftp://example.com/x"})
    assert response.status_code == 400
    assert not Webhook.objects.exists()


def test_pause_resume_delete(hook: Webhook, ada_client: Client) -> None:
    ada_client.post(reverse("webhooks:pause", args=[hook.pk]))
    hook.refresh_from_db()
    assert not hook.is_active and hook.paused_at is not None
    ada_client.post(reverse("webhooks:resume", args=[hook.pk]))
    hook.refresh_from_db()
    assert hook.is_active and hook.paused_at is None
    ada_client.post(reverse("webhooks:delete", args=[hook.pk]))
    assert not Webhook.objects.exists()


def test_send_test_event_and_the_delivery_log(
    hook: Webhook,
    receiver: Receiver,
    ada_client: Client,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        response = ada_client.post(reverse("webhooks:test", args=[hook.pk]))
    assert response.status_code == 302
    [request] = receiver.received
    assert request["headers"]["X-Helpa-Event"] == TEST_EVENT
    assert _verify(hook.secret, request)

    receiver.statuses = [500]
    WebhookDelivery.objects.create(webhook=hook, event="ticket.created", payload={})
    webhooks.send_due()
    page = ada_client.get(reverse("webhooks:deliveries", args=[hook.pk])).content.decode()
    rows = page.split('data-testid="delivery"')[1:]
    assert len(rows) == 2
    assert "ticket.created" in rows[0] and "500" in rows[0]  # newest first
    assert TEST_EVENT in rows[1] and "200" in rows[1]


@pytest.mark.django_db(transaction=True)
def test_two_worker_threads_send_each_delivery_once(receiver: Receiver) -> None:
    """The job started twice at the same moment (two consumers): every delivery leaves once."""
    hook = _hook(receiver.url)
    WebhookDelivery.objects.bulk_create(
        WebhookDelivery(webhook=hook, event="ticket.created", payload={"n": n}) for n in range(10)
    )
    start = threading.Barrier(2)
    sent: list[int] = []

    def worker() -> None:
        from django.db import connection

        try:
            start.wait()
            sent.append(webhooks.send_due())
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sum(sent) == 10
    ids = [r["headers"]["X-Helpa-Delivery"] for r in receiver.received]
    assert len(ids) == len(set(ids)) == 10
    assert set(WebhookDelivery.objects.values_list("state", flat=True)) == {Sent}


def test_contacts_made_by_an_import_are_announced_once_each(receiver: Receiver, db: None) -> None:
    """The import writes contacts in bulk (no post_save); each still makes one event, with
    the number the same row gave it; a contact the row only updates makes none."""
    from helpa.crm.importing import Importer

    hook = _hook(receiver.url, events=["contact.created"])
    Contact.objects.create(name="Old Olle", email="olle@example.se")
    hook.deliveries.all().delete()
    rows = [
        (2, ["Dora Dahl", "dora@example.se", "070-111 22 33"]),
        (3, ["Olle Ny", "olle@example.se", ""]),
        (4, ["Eva Ek", "eva@example.se", ""]),
    ]
    Importer(["name", "email", "phone"]).run(rows)
    payloads = [d.payload["data"]["contact"] for d in hook.deliveries.order_by("pk")]
    assert [p["email"] for p in payloads] == ["dora@example.se", "eva@example.se"]
    assert "+46701112233" in json.dumps(payloads[0])
