"""The mail settings pages: only admins get in; what they save is what the mail channel then does;
received mail that needs attention can be downloaded, re-processed, accepted or discarded.

Personas from helpa/conftest.py: `ada_client` (the admin), `alice_client` (an agent in the
Support team), `carl_client` (a customer).
"""

from __future__ import annotations

import pytest
from django.test import Client

from helpa.mail import ingest
from helpa.mail.models import InboundMail, MailAddress, Mailbox, MailSettings, QueueMail
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def raw_mail(subject: str = "Printer broken", message_id: str = "<a1@kund.test>") -> bytes:
    return (
        f"From: Pia <pia@kund.test>\nTo: support@helpa.test\nSubject: {subject}\n"
        f"Message-ID: {message_id}\n\nThe printer is broken.\n"
    ).encode()


@pytest.fixture
def mailbox(support: Queue) -> Mailbox:
    return Mailbox.objects.create(
        name="Support inbox",
        queue=support,
        host="imap.example.test",
        port=993,
        username="support",
        password="s3cret-stored",
        last_error="Login failed: AUTHENTICATIONFAILED",
    )


@pytest.fixture
def failed(db: None) -> InboundMail:
    """A mail to no known address: stored raw as failed."""
    result = ingest.ingest_message(raw_mail(), source=InboundMail.Source.PIPE)
    assert result.inbound.state == InboundMail.State.FAILED
    return result.inbound


@pytest.fixture
def held(support: Queue) -> InboundMail:
    queue_mail = QueueMail.for_queue(support)
    queue_mail.new_mail = QueueMail.NewMail.REVIEW
    queue_mail.save()
    result = ingest.ingest_message(
        raw_mail("Please review", "<h1@kund.test>"), source=InboundMail.Source.PIPE, queue=support
    )
    assert result.inbound.state == InboundMail.State.HELD
    return result.inbound


def admin_urls(support: Queue, mailbox: Mailbox) -> list[str]:
    return [
        "/mail/settings/received/",
        "/mail/settings/received/?state=held",
        "/mail/settings/queues/",
        f"/mail/settings/queues/{support.pk}/",
        "/mail/settings/mailboxes/",
        "/mail/settings/mailboxes/new/",
        f"/mail/settings/mailboxes/{mailbox.pk}/",
        "/mail/settings/general/",
    ]


# --- Who gets in -------------------------------------------------------------------------------


def test_only_admins_see_the_mail_settings(
    ada_client: Client,
    alice_client: Client,
    carl_client: Client,
    support: Queue,
    mailbox: Mailbox,
    failed: InboundMail,
) -> None:
    for url in admin_urls(support, mailbox):
        assert ada_client.get(url).status_code == 200, url
        assert alice_client.get(url).status_code == 403, url
        assert carl_client.get(url).status_code == 403, url
        assert Client().get(url).status_code == 302, url  # to the login page
    posts = [
        f"/mail/settings/received/{failed.pk}/reprocess/",
        f"/mail/settings/received/{failed.pk}/discard/",
        f"/mail/settings/mailboxes/{mailbox.pk}/delete/",
        f"/mail/settings/queues/{support.pk}/addresses/",
        "/mail/settings/general/",
    ]
    for client in (alice_client, carl_client):
        for url in posts:
            assert client.post(url, {"address": "x@helpa.test"}).status_code == 403, url
    assert Mailbox.objects.filter(pk=mailbox.pk).exists()
    assert not MailAddress.objects.exists()
    failed.refresh_from_db()
    assert failed.state == InboundMail.State.FAILED


def test_the_settings_navigation_links_the_mail_pages(ada_client: Client) -> None:
    page = ada_client.get("/settings/queues/").content.decode()
    for url in [
        "/mail/settings/received/",
        "/mail/settings/queues/",
        "/mail/settings/mailboxes/",
        "/mail/settings/general/",
    ]:
        assert f'href="{url}"' in page


# --- Received mail -----------------------------------------------------------------------------


def test_the_list_shows_mail_that_needs_attention(
    ada_client: Client, failed: InboundMail, held: InboundMail, support: Queue
) -> None:
    queue_mail = QueueMail.for_queue(support)
    queue_mail.new_mail = QueueMail.NewMail.CREATE
    queue_mail.save()  # (save, not update: settings are cached for a few seconds per process)
    stored = ingest.ingest_message(
        raw_mail("All fine", "<ok@kund.test>"), source=InboundMail.Source.PIPE, queue=support
    ).inbound
    assert stored.state == InboundMail.State.STORED
    page = ada_client.get("/mail/settings/received/").content.decode()
    assert f'id="inbound-{failed.pk}"' in page and f'id="inbound-{held.pk}"' in page
    assert f'id="inbound-{stored.pk}"' not in page
    assert "No queue is bound to any recipient address." in page
    assert "pia@kund.test" in page and "Please review" in page
    only_held = ada_client.get("/mail/settings/received/?state=held").content.decode()
    assert f'id="inbound-{held.pk}"' in only_held and f'id="inbound-{failed.pk}"' not in only_held


def test_the_list_does_not_query_per_row(
    ada_client: Client, support: Queue, django_assert_max_num_queries
) -> None:
    for i in range(30):
        ingest.ingest_message(
            raw_mail(f"Lost {i}", f"<lost{i}@kund.test>"), source=InboundMail.Source.PIPE
        )
    with django_assert_max_num_queries(12):
        response = ada_client.get("/mail/settings/received/")
    assert response.content.decode().count('<tr id="inbound-') == 30


def test_the_raw_message_downloads_and_never_renders(
    ada_client: Client, failed: InboundMail
) -> None:
    response = ada_client.get(f"/mail/received/{failed.pk}/message.eml")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/octet-stream"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == raw_mail()


def test_an_agent_cannot_download_mail_of_no_ticket(
    alice_client: Client, failed: InboundMail
) -> None:
    assert alice_client.get(f"/mail/received/{failed.pk}/message.eml").status_code == 404


def test_reprocess_a_failed_mail_into_a_chosen_queue(
    ada_client: Client, failed: InboundMail, support: Queue
) -> None:
    response = ada_client.post(
        f"/mail/settings/received/{failed.pk}/reprocess/", {"queue": support.pk}
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    assert failed.state == InboundMail.State.STORED and failed.ticket.queue == support
    assert failed.ticket.title == "Printer broken"


def test_reprocess_after_the_address_is_bound(
    ada_client: Client, failed: InboundMail, support: Queue
) -> None:
    MailAddress.objects.create(queue=support, address="support@helpa.test")
    # The queue was unknown when it came in: re-processing without a queue fails again, says so.
    ada_client.post(f"/mail/settings/received/{failed.pk}/reprocess/")
    failed.refresh_from_db()
    assert failed.state == InboundMail.State.FAILED
    ada_client.post(f"/mail/settings/received/{failed.pk}/reprocess/", {"queue": support.pk})
    failed.refresh_from_db()
    assert failed.state == InboundMail.State.STORED


def test_reprocess_needs_post(ada_client: Client, failed: InboundMail) -> None:
    assert ada_client.get(f"/mail/settings/received/{failed.pk}/reprocess/").status_code == 405


def test_csrf_is_required(admin, failed: InboundMail) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(admin)
    assert client.post(f"/mail/settings/received/{failed.pk}/discard/").status_code == 403
    failed.refresh_from_db()
    assert failed.state == InboundMail.State.FAILED


def test_accept_a_held_mail(ada_client: Client, held: InboundMail) -> None:
    response = ada_client.post(f"/mail/settings/received/{held.pk}/accept/")
    assert response.status_code == 302
    held.refresh_from_db()
    assert held.state == InboundMail.State.STORED and held.ticket.title == "Please review"


def test_discard_a_held_mail(ada_client: Client, held: InboundMail) -> None:
    ada_client.post(f"/mail/settings/received/{held.pk}/discard/", {"state": "held"})
    held.refresh_from_db()
    assert held.state == InboundMail.State.IGNORED and held.ticket is None
    assert not Ticket.objects.exists()
    assert held.raw.size > 0  # the raw message stays
    page = ada_client.get("/mail/settings/received/").content.decode()
    assert f'id="inbound-{held.pk}"' not in page


# --- Queue mail --------------------------------------------------------------------------------


def _queue_post(**overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "new_mail": "create",
        "auto_reply": "on",
        "auto_reply_subject": "We got it",
        "auto_reply_body": "Ticket {number}",
        "sender_name": "Support at Acme",
        "contact_notices": "link",
        "smtp_host": "smtp.example.test",
        "smtp_port": "587",
        "smtp_security": "starttls",
        "smtp_username": "mailer",
        "smtp_password": "",
    }
    data.update(overrides)
    return data


def test_queue_mail_settings_are_saved(ada_client: Client, support: Queue) -> None:
    response = ada_client.post(
        f"/mail/settings/queues/{support.pk}/",
        _queue_post(smtp_password="first-secret", confirm_before_sending="on"),
    )
    assert response.status_code == 302
    queue_mail = QueueMail.objects.get(queue=support)
    assert queue_mail.sender_name == "Support at Acme" and queue_mail.smtp_port == 587
    assert queue_mail.contact_notices == "link" and queue_mail.confirm_before_sending
    assert queue_mail.smtp_password == "first-secret"


def test_a_blank_smtp_password_keeps_the_stored_one_and_it_is_never_shown(
    ada_client: Client, support: Queue
) -> None:
    ada_client.post(f"/mail/settings/queues/{support.pk}/", _queue_post(smtp_password="keep-me"))
    page = ada_client.get(f"/mail/settings/queues/{support.pk}/").content.decode()
    assert "keep-me" not in page
    ada_client.post(f"/mail/settings/queues/{support.pk}/", _queue_post(sender_name="New"))
    queue_mail = QueueMail.objects.get(queue=support)
    assert queue_mail.sender_name == "New" and queue_mail.smtp_password == "keep-me"


def test_smtp_port_out_of_range_is_refused(ada_client: Client, support: Queue) -> None:
    for port in ("0", "65536", "-1"):
        response = ada_client.post(
            f"/mail/settings/queues/{support.pk}/", _queue_post(smtp_port=port)
        )
        assert response.status_code == 400
        assert 'class="errors"' in response.content.decode()
    assert QueueMail.objects.get(queue=support).smtp_port is None


def test_bind_addresses_and_choose_the_sender(ada_client: Client, support: Queue) -> None:
    url = f"/mail/settings/queues/{support.pk}/addresses/"
    assert ada_client.post(url, {"address": "Support@Helpa.test"}).status_code == 302
    assert ada_client.post(url, {"address": "help@helpa.test"}).status_code == 302
    first = MailAddress.objects.get(address="support@helpa.test")
    second = MailAddress.objects.get(address="help@helpa.test")
    assert first.is_sender and not second.is_sender  # the first address sends until changed
    ada_client.post(f"/mail/settings/addresses/{second.pk}/sender/")
    first.refresh_from_db()
    second.refresh_from_db()
    assert second.is_sender and not first.is_sender
    page = ada_client.get(f"/mail/settings/queues/{support.pk}/").content.decode()
    assert "support@helpa.test" in page and "help@helpa.test" in page
    # Removing the sender hands the role to the remaining address.
    ada_client.post(f"/mail/settings/addresses/{second.pk}/delete/")
    first.refresh_from_db()
    assert first.is_sender
    assert list(MailAddress.objects.values_list("address", flat=True)) == ["support@helpa.test"]


def test_an_invalid_address_is_refused(ada_client: Client, support: Queue) -> None:
    response = ada_client.post(
        f"/mail/settings/queues/{support.pk}/addresses/", {"address": "not an address"}
    )
    assert response.status_code == 400
    assert "Enter a valid email address." in response.content.decode()
    assert not MailAddress.objects.exists()


def test_an_address_of_another_queue_is_refused(
    ada_client: Client, support: Queue, billing: Queue
) -> None:
    MailAddress.objects.create(queue=billing, address="billing@helpa.test")
    response = ada_client.post(
        f"/mail/settings/queues/{support.pk}/addresses/", {"address": "BILLING@helpa.test"}
    )
    assert response.status_code == 400
    assert "already bound to the queue Billing" in response.content.decode()
    assert MailAddress.objects.get().queue == billing


# --- Mailboxes ---------------------------------------------------------------------------------


def _mailbox_post(support: Queue, **overrides: object) -> dict[str, object]:
    data: dict[str, object] = {
        "name": "Inbox",
        "queue": support.pk,
        "protocol": "imap",
        "host": "imap.example.test",
        "port": "993",
        "security": "tls",
        "verify_tls": "on",
        "username": "support",
        "password": "pw1",
        "folder": "INBOX",
        "after_import": "keep",
        "move_to_folder": "",
        "is_active": "on",
    }
    data.update(overrides)
    return data


def test_an_oauth_mailbox_needs_its_provider_details_and_keeps_its_secrets(
    ada_client: Client, support: Queue
) -> None:
    oauth = _mailbox_post(support, auth="xoauth2", password="")
    response = ada_client.post("/mail/settings/mailboxes/new/", oauth)
    assert response.status_code == 400 and not Mailbox.objects.exists()
    assert "Enter a refresh token for this mailbox." in response.content.decode()
    oauth.update(
        oauth_token_url="https://login.microsoftonline.com/common/oauth2/v2.0/token",
        oauth_client_id="client-1",
        oauth_client_secret="secret-1",
        oauth_refresh_token="refresh-1",
    )
    assert ada_client.post("/mail/settings/mailboxes/new/", oauth).status_code == 302
    mailbox = Mailbox.objects.get()
    page = ada_client.get(f"/mail/settings/mailboxes/{mailbox.pk}/").content.decode()
    assert "secret-1" not in page and "refresh-1" not in page  # never shown back
    blank = {**oauth, "oauth_client_secret": "", "oauth_refresh_token": "", "name": "Renamed"}
    assert ada_client.post(f"/mail/settings/mailboxes/{mailbox.pk}/", blank).status_code == 302
    mailbox.refresh_from_db()
    assert (mailbox.name, mailbox.oauth_client_secret, mailbox.oauth_refresh_token) == (
        "Renamed",
        "secret-1",
        "refresh-1",
    )
    assert mailbox.auth == Mailbox.Auth.XOAUTH2 and mailbox.verify_tls


def test_the_mailbox_list_shows_state_and_errors(ada_client: Client, mailbox: Mailbox) -> None:
    page = ada_client.get("/mail/settings/mailboxes/").content.decode()
    assert "Support inbox" in page and "AUTHENTICATIONFAILED" in page and "Never" in page


def test_add_edit_and_delete_a_mailbox(ada_client: Client, support: Queue, billing: Queue) -> None:
    assert (
        ada_client.post("/mail/settings/mailboxes/new/", _mailbox_post(support)).status_code == 302
    )
    mailbox = Mailbox.objects.get()
    assert mailbox.password == "pw1" and mailbox.port == 993
    page = ada_client.get(f"/mail/settings/mailboxes/{mailbox.pk}/").content.decode()
    assert "pw1" not in page
    response = ada_client.post(
        f"/mail/settings/mailboxes/{mailbox.pk}/",
        _mailbox_post(
            support,
            password="",
            queue=billing.pk,
            after_import="move",
            move_to_folder="Done",
            is_active="",
        ),
    )
    assert response.status_code == 302
    mailbox.refresh_from_db()
    assert mailbox.password == "pw1"  # blank kept it
    assert mailbox.queue == billing and mailbox.move_to_folder == "Done" and not mailbox.is_active
    ada_client.post(f"/mail/settings/mailboxes/{mailbox.pk}/delete/")
    assert not Mailbox.objects.exists()


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"port": "70000"}, "Ensure this value is less than or equal to 65535."),
        ({"port": "0"}, "Ensure this value is greater than or equal to 1."),
        ({"after_import": "move"}, "Name the folder to move imported mail to."),
        ({"protocol": "pop3", "after_import": "move", "move_to_folder": "X"}, "POP3 has no"),
        ({"password": ""}, "Enter the mailbox&#x27;s password."),
        ({"host": ""}, "This field is required."),
    ],
)
def test_a_wrong_mailbox_is_refused(
    ada_client: Client, support: Queue, overrides: dict[str, str], message: str
) -> None:
    response = ada_client.post("/mail/settings/mailboxes/new/", _mailbox_post(support, **overrides))
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Mailbox.objects.exists()


# --- Installation ------------------------------------------------------------------------------


def test_installation_mail_settings(ada_client: Client) -> None:
    response = ada_client.post(
        "/mail/settings/general/",
        {"max_message_mb": "25", "closing_greeting": "Kind regards", "signature": "Acme Support"},
    )
    assert response.status_code == 302
    settings = MailSettings.load()
    assert settings.max_message_mb == 25 and settings.signature == "Acme Support"
    assert settings.closing_greeting == "Kind regards"
    response = ada_client.post("/mail/settings/general/", {"max_message_mb": "0"})
    assert response.status_code == 400
    assert MailSettings.load().max_message_mb == 25
