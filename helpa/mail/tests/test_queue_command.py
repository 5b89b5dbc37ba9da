"""`helpa queue add|list|webhook-secret`: queues and their addresses set up from a script."""

from __future__ import annotations

import hashlib
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpa.accounts.models import User
from helpa.mail.models import MailAddress, QueueMail
from helpa.tickets import actions
from helpa.tickets.models import Queue, Status

pytestmark = pytest.mark.django_db


def queue_cmd(*args: str) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command("queue", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def bound(slug: str) -> list[tuple[str, bool]]:
    return list(
        MailAddress.objects.filter(queue__slug=slug)
        .order_by("address")
        .values_list("address", "is_sender")
    )


def test_add_creates_the_queue_and_binds_its_addresses_the_first_one_sends() -> None:
    out, _err = queue_cmd(
        "add", "helpdesk", "--address", "Help@Example.com", "--address", "it@example.com"
    )

    queue = Queue.objects.get(slug="helpdesk")
    assert queue.name == "Helpdesk"
    assert bound("helpdesk") == [("help@example.com", True), ("it@example.com", False)]
    assert QueueMail.objects.filter(queue=queue).exists()
    assert "Created the queue helpdesk: help@example.com (sender), it@example.com" in out


def test_add_again_changes_nothing_and_can_rename_and_add_an_address() -> None:
    queue_cmd("add", "helpdesk", "--address", "help@example.com", "--name", "Help desk")
    queue_cmd("add", "helpdesk", "--address", "help@example.com", "--name", "Help desk")
    assert Queue.objects.filter(slug="helpdesk").count() == 1
    assert bound("helpdesk") == [("help@example.com", True)]

    out, _err = queue_cmd("add", "helpdesk", "--name", "IT help")
    assert Queue.objects.get(slug="helpdesk").name == "IT help"
    assert "Updated the queue helpdesk" in out
    assert bound("helpdesk") == [("help@example.com", True)]  # no --address: sender kept

    queue_cmd("add", "helpdesk", "--address", "it@example.com")
    assert bound("helpdesk") == [("help@example.com", False), ("it@example.com", True)]


def test_an_existing_queue_made_elsewhere_gets_addresses(support: Queue) -> None:
    queue_cmd("add", "support", "--address", "support@example.com")
    assert Queue.objects.get(slug="support").name == "Support"  # not renamed
    assert bound("support") == [("support@example.com", True)]


def test_an_address_of_another_queue_is_refused_and_nothing_changes(support: Queue) -> None:
    MailAddress.objects.create(queue=support, address="support@example.com")
    with pytest.raises(CommandError, match="support@example.com is already bound to the queue"):
        queue_cmd(
            "add", "sales", "--address", "sales@example.com", "--address", "support@example.com"
        )
    assert not Queue.objects.filter(slug="sales").exists()
    assert not MailAddress.objects.filter(address="sales@example.com").exists()


@pytest.mark.parametrize("address", ["not-an-address", "two@@example.com", "a b@example.com"])
def test_an_invalid_address_is_refused(address: str) -> None:
    with pytest.raises(CommandError, match="is not a valid mail address"):
        queue_cmd("add", "sales", "--address", address)
    assert not Queue.objects.filter(slug="sales").exists()


def test_an_invalid_slug_or_a_taken_name_is_refused(support: Queue) -> None:
    with pytest.raises(CommandError, match="not a valid short name"):
        queue_cmd("add", "Sales Team", "--address", "sales@example.com")
    with pytest.raises(CommandError, match="The name Support is already used by the queue support"):
        queue_cmd("add", "support-2", "--name", "Support")


def test_list_shows_each_queue_its_addresses_and_open_and_total_tickets(
    support: Queue, billing: Queue, alice: User
) -> None:
    MailAddress.objects.create(queue=support, address="support@example.com", is_sender=True)
    MailAddress.objects.create(queue=support, address="help@example.com")
    for title in ["Printer", "Screen", "Mouse"]:
        actions.open_ticket(alice, queue=support, title=title)
    done = actions.open_ticket(alice, queue=support, title="Keyboard")
    actions.update_ticket(alice, done, {"owner": alice, "status": Status.CLOSED})

    out, _err = queue_cmd("list")

    lines = out.splitlines()
    assert lines[0].split() == ["Queue", "Name", "Addresses", "Open", "Total"]
    billing_row = next(line for line in lines if line.startswith("billing"))
    support_row = next(line for line in lines if line.startswith("support"))
    assert billing_row.split() == ["billing", "Billing", "-", "0", "0"]
    assert support_row.split() == [
        "support",
        "Support",
        "help@example.com,",
        "support@example.com",
        "(sender)",
        "3",
        "4",
    ]


def test_list_without_queues_says_how_to_add_one() -> None:
    out, _err = queue_cmd("list")
    assert "helpa queue add" in out


def test_webhook_secret_is_printed_once_and_only_its_hash_is_kept(support: Queue) -> None:
    out, err = queue_cmd("webhook-secret", "support")
    secret = out.strip()
    assert len(secret) >= 40 and "\n" not in secret
    assert "/mail/inbound/support/" in err
    stored = QueueMail.objects.get(queue=support).webhook_secret_hash
    assert stored == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in stored

    again, _err = queue_cmd("webhook-secret", "support")
    assert again.strip() != secret


def test_webhook_secret_for_an_unknown_queue_is_an_error() -> None:
    with pytest.raises(CommandError, match="There is no queue nope"):
        queue_cmd("webhook-secret", "nope")
