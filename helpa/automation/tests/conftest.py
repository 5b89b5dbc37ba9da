"""Rules for the automation tests, written as they are in the JSON file."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from helpa.automation import transfer
from helpa.automation.engine import rule_cache
from helpa.automation.models import Rule
from helpa.crm.models import Contact
from helpa.mail.ingest import ingest_message
from helpa.mail.models import MailAddress
from helpa.tickets.models import Queue

MakeRule = Callable[..., Rule]


@pytest.fixture(autouse=True)
def _no_rules_from_an_earlier_test() -> Iterator[None]:
    """The engine keeps the rules for a few seconds; a test starts and ends without them."""
    rule_cache.forget()
    yield
    rule_cache.forget()


@pytest.fixture
def make_rule(db: None) -> MakeRule:
    def make(name: str = "Rule", **data: Any) -> Rule:
        data.setdefault("active", True)
        data.setdefault("lines", [{"fields": ["subject"], "values": ["*"]}])
        data.setdefault("actions", [{"action": "set_priority", "value": "high"}])
        return transfer.save_rule(transfer.check_rule({"name": name, **data}))

    return make


@pytest.fixture
def support_address(queue_support: Queue) -> str:
    MailAddress.objects.create(queue=queue_support, address="support@example.com")
    return "support@example.com"


def mail(
    subject: str = "Fråga om faktura",
    body: str = "Hej, min betalning har inte kommit fram.",
    sender: str = "ekonomi@klarna.se",
    to: str = "support@example.com",
    cc: str = "",
    extra: str = "",
) -> bytes:
    headers = f"From: Ekonomi <{sender}>\r\nTo: {to}\r\n"
    if cc:
        headers += f"Cc: {cc}\r\n"
    return (
        f"{headers}Subject: {subject}\r\nMessage-ID: <{abs(hash((subject, body, sender, extra)))}"
        f"@test>\r\n{extra}MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
        f"{body}\r\n"
    ).encode()


@pytest.fixture
def deliver(support_address: str) -> Callable[..., Any]:
    def deliver_(raw: bytes) -> Any:
        result = ingest_message(raw, source="pipe")
        assert result.inbound is not None and result.inbound.state == "stored", (
            result.inbound and result.inbound.error
        )
        return result.inbound.ticket

    return deliver_


@pytest.fixture
def klarna_contact(db: None) -> Contact:
    return Contact.objects.create(name="Klarna Ekonomi", email="ekonomi@klarna.se")
