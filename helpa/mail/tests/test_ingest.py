"""The inbound pipeline: one message in, one stored raw message, one ticket article — or a
clear record of why not."""

from __future__ import annotations

import pytest
from django.core import mail as django_mail
from django.test import Client

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail import ingest
from helpa.mail.models import (
    FailingAddress,
    InboundMail,
    MailAddress,
    MailSettings,
    OutgoingMail,
    Participant,
    QueueMail,
)
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Attachment, Queue, Status, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def support_address(support: Queue) -> MailAddress:
    return MailAddress.objects.create(queue=support, address="Support@Helpa.test", is_sender=True)


def message(
    *,
    subject: str = "Printer is broken",
    sender: str = "Pia Persson <pia@kund.se>",
    to: str = "support@helpa.test",
    message_id: str | None = "<m1@kund.se>",
    body: str = "Hello, the printer on floor 2 is broken.",
    headers: str = "",
) -> bytes:
    lines = [f"From: {sender}", f"To: {to}", f"Subject: {subject}"]
    if message_id:
        lines.append(f"Message-ID: {message_id}")
    text = "\n".join(lines) + ("\n" + headers.strip() if headers else "")
    text += '\nContent-Type: text/plain; charset="utf-8"\n\n' + body + "\n"
    return text.encode()


def ingest_raw(raw: bytes, queue: Queue | None = None) -> ingest.IngestResult:
    return ingest.ingest_message(raw, source=InboundMail.Source.PIPE, queue=queue)


def test_a_new_mail_becomes_a_ticket_with_the_raw_message_stored(
    support: Queue, support_address: MailAddress
) -> None:
    result = ingest_raw(message())
    inbound = result.inbound
    assert inbound is not None and inbound.state == InboundMail.State.STORED
    ticket = inbound.ticket
    assert ticket.title == "Printer is broken" and ticket.queue == support
    assert ticket.channel == "email"
    assert ticket.contact.email == "pia@kund.se" and ticket.contact.name == "Pia Persson"
    article = inbound.article
    assert article.kind == ArticleKind.CUSTOMER and "floor 2" in article.body_text
    with inbound.raw.open("rb") as f:
        assert f.read() == message()
    assert "names no earlier message" in inbound.thread_reason


def test_the_queue_is_found_by_the_recipient_address(
    support: Queue, support_address: MailAddress
) -> None:
    result = ingest_raw(message(to="Help <SUPPORT@helpa.test>"), queue=None)
    assert result.ticket.queue == support


def test_a_new_sender_joins_the_company_of_their_mail_domain(support: Queue) -> None:
    from helpa.crm.models import Company, CompanyDomain

    kund = Company.objects.create(name="Kund AB")
    CompanyDomain.objects.create(company=kund, domain="@Kund.SE")
    ticket = ingest_raw(message(), support).ticket
    assert ticket.contact.company == kund and ticket.company == kund
    stranger = ingest_raw(
        message(message_id="<m9@x>", sender="Sam <sam@gmail.com>", subject="Other"), support
    ).ticket
    assert stranger.contact.company is None and stranger.company is None


def test_the_same_message_twice_makes_one_article(support: Queue) -> None:
    first = ingest_raw(message(), support)
    second = ingest_raw(message(), support)
    assert not first.duplicate and second.duplicate
    assert InboundMail.objects.count() == 1 and Article.objects.count() == 1


def test_without_message_id_the_content_decides(support: Queue) -> None:
    ingest_raw(message(message_id=None), support)
    ingest_raw(message(message_id=None), support)
    ingest_raw(message(message_id=None, body="Another text"), support)
    assert Ticket.objects.count() == 2


def test_a_reply_by_references_joins_the_ticket_and_says_why(support: Queue) -> None:
    first = ingest_raw(message(), support)
    reply = message(
        subject="Re: Printer is broken",
        message_id="<m2@kund.se>",
        headers="In-Reply-To: <m1@kund.se>\nReferences: <m1@kund.se>",
        body="It works again.",
    )
    second = ingest_raw(reply, support)
    assert second.ticket == first.ticket
    assert "In-Reply-To <m1@kund.se>" in second.inbound.thread_reason
    assert first.ticket.articles.count() == 2


def test_a_reply_by_subject_tag_joins_the_ticket(support: Queue) -> None:
    first = ingest_raw(message(), support)
    number = first.ticket.number
    second = ingest_raw(
        message(subject=f"Re: [#{number}] broken", message_id="<m3@kund.se>"), support
    )
    assert second.ticket == first.ticket
    assert f"[#{number}]" in second.inbound.thread_reason


def test_a_stranger_naming_a_ticket_gets_a_new_linked_ticket(support: Queue) -> None:
    first = ingest_raw(message(), support)
    number = first.ticket.number
    second = ingest_raw(
        message(
            subject=f"Re: [#{number}]",
            sender="mallory@evil.example",
            message_id="<x@evil.example>",
        ),
        support,
    )
    assert second.ticket != first.ticket
    assert "takes no part" in second.inbound.thread_reason
    assert second.ticket.articles.filter(
        kind=ArticleKind.SYSTEM, body_text__contains=f"#{number}"
    ).exists()


def test_a_cc_participant_may_answer(support: Queue) -> None:
    first = ingest_raw(message(headers="Cc: Boss <boss@kund.se>"), support)
    assert Participant.objects.filter(ticket=first.ticket, address="boss@kund.se").exists()
    answer = ingest_raw(
        message(
            sender="boss@kund.se",
            message_id="<b1@kund.se>",
            headers="In-Reply-To: <m1@kund.se>",
        ),
        support,
    )
    assert answer.ticket == first.ticket


def test_a_customer_reply_reopens_a_waiting_ticket(alice: User, support: Queue) -> None:
    first = ingest_raw(message(), support)
    actions.update_ticket(alice, first.ticket, {"owner": alice, "status": Status.WAITING})
    ingest_raw(message(message_id="<m2@kund.se>", headers="In-Reply-To: <m1@kund.se>"), support)
    first.ticket.refresh_from_db()
    assert first.ticket.status == Status.OPEN


def test_a_reply_to_a_closed_ticket_opens_a_new_one(alice: User, support: Queue) -> None:
    first = ingest_raw(message(), support)
    actions.update_ticket(alice, first.ticket, {"owner": alice, "status": Status.CLOSED})
    second = ingest_raw(
        message(message_id="<m2@kund.se>", headers="In-Reply-To: <m1@kund.se>"), support
    )
    assert second.ticket != first.ticket and "closed" in second.inbound.thread_reason


def test_an_agent_answering_by_mail_writes_an_internal_note(alice: User, support: Queue) -> None:
    first = ingest_raw(message(), support)
    note = ingest_raw(
        message(
            sender=alice.email, message_id="<a1@helpa.test>", headers="In-Reply-To: <m1@kund.se>"
        ),
        support,
    )
    assert note.ticket == first.ticket
    assert note.inbound.article.kind == ArticleKind.NOTE and note.inbound.article.author == alice


def test_a_new_ticket_gets_an_auto_reply_in_the_outbox(support: Queue) -> None:
    result = ingest_raw(message(), support)
    auto = OutgoingMail.objects.get()
    assert auto.kind == OutgoingMail.Kind.AUTO_REPLY and auto.recipients == ["pia@kund.se"]
    assert f"[#{result.ticket.number}]" in auto.subject
    with auto.raw.open("rb") as f:
        raw = f.read()
    assert b"Auto-Submitted: auto-replied" in raw and b"In-Reply-To: <m1@kund.se>" in raw


@pytest.mark.parametrize(
    "header",
    [
        "Auto-Submitted: auto-replied",
        "Precedence: bulk",
        "List-Id: <news.kund.se>",
        "X-Loop: kund.se",
        "Return-Path: <>",
    ],
)
def test_no_auto_reply_to_machines(support: Queue, header: str) -> None:
    result = ingest_raw(message(headers=header), support)
    assert result.inbound.is_automatic and result.ticket is not None
    assert not OutgoingMail.objects.exists()


def test_mailer_daemon_gets_no_auto_reply(support: Queue) -> None:
    ingest_raw(message(sender="MAILER-DAEMON@kund.se"), support)
    assert not OutgoingMail.objects.exists()


def test_auto_replies_are_capped_per_address(support: Queue) -> None:
    settings = MailSettings.load()
    for n in range(settings.auto_mails_per_day + 5):
        ingest_raw(message(message_id=f"<n{n}@kund.se>", subject=f"Question {n}"), support)
    assert OutgoingMail.objects.count() == settings.auto_mails_per_day


def test_our_own_mail_coming_back_is_ignored(support: Queue) -> None:
    first = ingest_raw(message(), support)
    auto = OutgoingMail.objects.get()
    with auto.raw.open("rb") as f:
        echoed = f.read()
    result = ingest_raw(echoed, support)
    assert result.inbound.state == InboundMail.State.IGNORED
    assert Ticket.objects.count() == 1 and first.ticket.articles.count() == 1


def test_held_for_review_until_released(support: Queue) -> None:
    QueueMail.objects.create(queue=support, new_mail=QueueMail.NewMail.REVIEW)
    result = ingest_raw(message(), support)
    assert result.inbound.state == InboundMail.State.HELD and not Ticket.objects.exists()
    ingest.release_held(result.inbound)
    result.inbound.refresh_from_db()
    assert result.inbound.state == InboundMail.State.STORED and Ticket.objects.count() == 1


def test_an_oversize_message_is_rejected_and_answered_once(support: Queue) -> None:
    MailSettings.objects.update_or_create(pk=1, defaults={"max_message_mb": 1})
    big = message(body="x" * (1024 * 1024 + 10))
    result = ingest_raw(big, support)
    assert result.inbound.state == InboundMail.State.REJECTED and not Ticket.objects.exists()
    assert "limit is 1 MB" in result.inbound.thread_reason
    assert ingest_raw(big, support).duplicate
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.REJECTION).count() == 1


def test_a_bounce_of_our_mail_lands_on_its_ticket_and_marks_the_address(support: Queue) -> None:
    first = ingest_raw(message(), support)
    auto = OutgoingMail.objects.get()
    bounce = f"""From: MAILER-DAEMON@mx.kund.se
To: support@helpa.test
Subject: Undelivered Mail Returned to Sender
Message-ID: <bounce1@mx.kund.se>
Auto-Submitted: auto-replied
Content-Type: multipart/report; report-type=delivery-status; boundary="B"

--B
Content-Type: text/plain

The mail could not be delivered.
--B
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.kund.se

Final-Recipient: rfc822; pia@kund.se
Action: failed
Status: 5.1.1

--B
Content-Type: text/rfc822-headers

Message-ID: {auto.message_id}
Subject: {auto.subject}

--B--
""".encode()
    result = ingest_raw(bounce, support)
    assert result.inbound.state == InboundMail.State.BOUNCE
    assert result.ticket == first.ticket and Ticket.objects.count() == 1
    assert FailingAddress.objects.filter(address="pia@kund.se").exists()
    assert first.ticket.articles.filter(kind=ArticleKind.SYSTEM).exists()


def test_a_processing_error_keeps_the_raw_message_as_failed(
    support: Queue, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(ingest, "_open_ticket", broken)
    result = ingest_raw(message(), support)
    assert result.inbound.state == InboundMail.State.FAILED
    assert "disk on fire" in result.inbound.error
    assert not Ticket.objects.exists() and not Contact.objects.exists()
    monkeypatch.undo()
    again = ingest.reprocess(result.inbound)
    assert again.state == InboundMail.State.STORED and Ticket.objects.count() == 1


def test_inline_images_and_attachments_are_stored(support: Queue) -> None:
    raw = b"""From: pia@kund.se
To: support@helpa.test
Subject: Screenshot
Message-ID: <img1@kund.se>
Content-Type: multipart/related; boundary="R"

--R
Content-Type: text/html; charset=utf-8

<p>See <img src="cid:shot@kund"> and <script>alert(1)</script></p>
--R
Content-Type: image/png
Content-ID: <shot@kund>
Content-Disposition: inline; filename="image.png"
Content-Transfer-Encoding: base64

iVBORw0KGgo=
--R--
"""
    result = ingest_raw(raw, support)
    article = result.inbound.article
    image = Attachment.objects.get(article=article)
    assert image.is_inline and image.filename == "image.png"
    assert f"/attachments/{image.pk}/" in article.body_html
    assert "<script" not in article.body_html
    assert django_mail.outbox == []  # nothing is sent synchronously


def test_the_ticket_page_shows_how_the_mail_came_and_its_reply_went(
    support: Queue, support_address: MailAddress, alice: User, alice_client: Client
) -> None:
    first = ingest_raw(message(body='<img src="https://tracker.example/p.gif">'), support)
    ticket = first.ticket
    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
    actions.add_reply(alice, ticket, "<p>We are on it.</p>")
    page = alice_client.get(f"/t/{ticket.number}/").content.decode()
    assert first.inbound.thread_reason in page
    assert "Original message (.eml)" in page
    assert "mail/mail.js" in page
    assert OutgoingMail.objects.filter(kind=OutgoingMail.Kind.REPLY, ticket=ticket).exists()
    assert 'data-testid="mail-state" data-state="queued"' in page  # no SMTP server set up here


def test_a_new_mail_takes_a_bounded_number_of_queries(
    support: Queue, support_address: MailAddress, django_assert_max_num_queries
) -> None:
    """Every mail pays for each statement of its way in (issue 3's benchmark): a new ticket
    with its contact (and the company of its mail domain), article, history, search entry,
    auto-reply (and the ticket link it carries) and stored message."""
    ingest_raw(message(), support)  # the settings the pipeline keeps for a few seconds
    with django_assert_max_num_queries(20):
        result = ingest_raw(
            message(message_id="<m2@kund.se>", sender="Olle Ek <olle@kund.se>"), support
        )
    assert result.ticket is not None and result.ticket.contact.email == "olle@kund.se"
    assert OutgoingMail.objects.filter(ticket=result.ticket).count() == 1
