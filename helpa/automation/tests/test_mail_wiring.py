"""The rules' mail outcomes, end to end through the real mail pipeline and the portal."""

from __future__ import annotations

import email
from email import policy
from typing import Any

from django.test import Client
from django.urls import reverse

from helpa.crm.models import Contact
from helpa.mail.models import InboundMail, OutgoingMail
from helpa.tickets.models import Queue, Ticket

from .conftest import mail


def _text(outgoing: OutgoingMail) -> str:
    with outgoing.raw.open("rb") as handle:
        message = email.message_from_binary_file(handle, policy=policy.default)
    return message.get_body(preferencelist=("plain",)).get_content()


def test_a_rule_suppresses_the_auto_reply(make_rule, deliver) -> None:
    make_rule(
        "Quiet",
        lines=[{"fields": ["from"], "values": ["*@klarna.se"]}],
        actions=[{"action": "suppress_auto_reply"}],
    )
    ticket = deliver(mail())
    assert ticket is not None
    assert not OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AUTO_REPLY).exists()
    ticket_from_elsewhere = deliver(mail(sender="kund@example.se", subject="Annat"))
    assert OutgoingMail.objects.get(kind=OutgoingMail.Kind.AUTO_REPLY).ticket == (
        ticket_from_elsewhere
    )


def test_a_rule_chooses_the_auto_reply_text(make_rule, deliver) -> None:
    make_rule(
        "Closed today",
        events=["new", "reply"],
        actions=[{"action": "send_auto_reply", "value": "We are closed today. {number}"}],
    )
    ticket = deliver(mail())
    reply = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AUTO_REPLY)
    assert f"We are closed today. #{ticket.number}" in _text(reply)
    # On a reply too (ServIT's "we are closed today"), under the same caps.
    deliver(mail(subject=f"Re: [#{ticket.number}] Fråga om faktura", extra="X-Seq: 2\r\n"))
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AUTO_REPLY).count() == 2


def test_a_rule_starts_a_new_ticket_for_a_reply(make_rule, deliver) -> None:
    first = deliver(mail())
    make_rule(
        "Always new",
        events=["reply"],
        lines=[{"fields": ["subject"], "values": ["ny fråga"]}],
        actions=[{"action": "force_new_ticket"}],
    )
    second = deliver(mail(subject=f"Re: [#{first.number}] Ny fråga"))
    assert second != first
    inbound = InboundMail.objects.get(ticket=second)
    assert "Always new" in inbound.thread_reason
    assert second.articles.filter(body_text__contains=first.display_number).exists()


def test_an_alarm_is_mailed_with_the_change(make_rule, deliver) -> None:
    make_rule(
        "Fire",
        actions=[
            {
                "action": "raise_alarm",
                "recipients": ["boss@example.com"],
                "value": "A big customer writes",
            }
        ],
    )
    ticket = deliver(mail())
    alarm = OutgoingMail.objects.get(
        kind=OutgoingMail.Kind.AGENT, first_recipient="boss@example.com"
    )
    assert alarm.ticket == ticket and "A big customer writes" in _text(alarm)
    assert f"/t/{ticket.number}/" in _text(alarm)


def test_a_portal_request_follows_the_rules_for_its_confirmation(
    make_rule,
    carl_client: Client,
    contact: Contact,
    queue_support: Queue,
    django_capture_on_commit_callbacks: Any,
) -> None:
    make_rule(
        "Quiet portal",
        lines=[{"fields": ["channel"], "values": ["portal"]}],
        actions=[{"action": "suppress_auto_reply"}],
    )
    with django_capture_on_commit_callbacks(execute=True):
        carl_client.post(reverse("portal:new"), {"title": "Hej", "body": "x"})
    assert Ticket.objects.filter(contact=contact).exists()
    assert not OutgoingMail.objects.exists()
