"""Outgoing mail end to end: an agent's reply leaves through a real SMTP server (aiosmtpd on
127.0.0.1) with the headers a mail client threads by, and the customer's answer to it comes
back into the same ticket. Notices to contacts and colleagues, confirmation before sending,
and headers nobody can inject into."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.test import Client
from django.urls import reverse

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail import ingest, outbox
from helpa.mail.models import (
    AgentSignature,
    FailingAddress,
    InboundMail,
    MailAddress,
    MailSettings,
    OutgoingMail,
    Participant,
    QueueMail,
)
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Queue, Ticket

pytestmark = pytest.mark.django_db


# --- Personas and helpers -----------------------------------------------------------------------


@pytest.fixture
def support_mail(support: Queue) -> QueueMail:
    """Support mails from support@helpa.test as "Helpa Support"; no auto-replies to keep the
    server's inbox about the replies."""
    MailAddress.objects.create(queue=support, address="support@helpa.test", is_sender=True)
    MailAddress.objects.create(queue=support, address="help@helpa.test")
    return QueueMail.objects.create(queue=support, sender_name="Helpa Support", auto_reply=False)


@pytest.fixture
def signatures(alice: User) -> None:
    settings = MailSettings.load()
    settings.closing_greeting = "Kind regards,\n{agent}"
    settings.signature = "The {queue} team"
    settings.save()
    AgentSignature.objects.create(user=alice, signature="Alice Agent\nSecond-line support")


def customer_mail(
    *,
    subject: str = "Printer is broken",
    sender: str = "Pia Persson <pia@kund.se>",
    cc: str = "",
    message_id: str = "<m1@kund.se>",
    body: str = "Hello, the printer on floor 2 is broken.",
    headers: str = "",
) -> bytes:
    lines = [f"From: {sender}", "To: support@helpa.test", f"Subject: {subject}"]
    if cc:
        lines.append(f"Cc: {cc}")
    lines.append(f"Message-ID: {message_id}")
    if headers:
        lines.append(headers.strip())
    return (
        "\r\n".join(lines) + '\r\nContent-Type: text/plain; charset="utf-8"\r\n\r\n' + body
    ).encode()


def receive(raw: bytes, queue: Queue) -> ingest.IngestResult:
    return ingest.ingest_message(raw, source=InboundMail.Source.PIPE, queue=queue)


def parsed(mail: OutgoingMail) -> EmailMessage:
    with mail.raw.open("rb") as f:
        return message_from_bytes(f.read(), policy=policy.default)  # type: ignore[return-value]


def text_of(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def delivery(article: Article) -> str:
    """What the reply's delivery part shows agents."""
    article = (
        Article.objects.select_related("ticket__contact", "ticket__queue")
        .prefetch_related(Prefetch("outgoing_mails", to_attr="mails_sent"))
        .get(pk=article.pk)
    )
    return " ".join(render_to_string("mail/article_delivery.html", {"article": article}).split())


@pytest.fixture
def mailed_ticket(support: Queue, support_mail: QueueMail) -> Ticket:
    """Pia's mail, with her colleague Maria in Cc, made a ticket."""
    result = receive(customer_mail(cc="Maria <maria@kund.se>, support@helpa.test"), support)
    return result.ticket


# --- The full loop ------------------------------------------------------------------------------


def test_a_reply_reaches_the_server_once_and_the_answer_threads_back(
    alice, mailed_ticket, signatures, smtp_server, django_capture_on_commit_callbacks
):
    ticket = mailed_ticket
    with django_capture_on_commit_callbacks(execute=True):
        reply = actions.add_reply(alice, ticket, "<p>We have <b>fixed</b> the printer.</p>")

    assert len(smtp_server.received) == 1
    got = smtp_server.received[0]
    assert got.mail_from == "support@helpa.test"
    assert got.rcpt_tos == ["pia@kund.se", "maria@kund.se"]  # our own address is no Cc
    message = got.message
    assert message["From"] == "Helpa Support <support@helpa.test>"
    assert message["To"] == "Pia Persson <pia@kund.se>"
    assert message["Cc"] == "maria@kund.se"
    assert message["Subject"] == f"Re: Printer is broken [#{ticket.number}]"
    assert message["In-Reply-To"] == "<m1@kund.se>"
    assert message["References"] == "<m1@kund.se>"
    assert "Auto-Submitted" not in message
    text = text_of(message)
    assert text.startswith("We have fixed the printer.")
    assert "Kind regards,\nAlice Agent" in text
    assert "\n-- \nAlice Agent\nSecond-line support" in text  # personal beats general
    html = message.get_body(("html",)).get_content()
    assert "<b>fixed</b>" in html and "Second-line support" in html

    mail = OutgoingMail.objects.get(article=reply)
    assert mail.kind == OutgoingMail.Kind.REPLY and mail.state == OutgoingMail.State.SENT
    assert mail.attempts == 1 and mail.message_id == message["Message-ID"]
    with mail.raw.open("rb") as f:  # the .eml on the ticket is what went out
        assert f.read().rstrip(b"\r\n") == got.data.rstrip(b"\r\n")
    assert outbox.send_due() == 0 and len(smtp_server.received) == 1  # never twice
    assert "sent" in delivery(reply)

    # Our own message coming back (a list, a forward) makes no article.
    echo = receive(got.data, ticket.queue)
    assert echo.inbound.state == InboundMail.State.IGNORED

    # Pia answers from her mail client: threaded by In-Reply-To, even without the tag.
    answer = customer_mail(
        subject="Re: Printer is broken",
        message_id="<m2@kund.se>",
        body="Thanks, it works!",
        headers=f"In-Reply-To: {message['Message-ID']}\r\n"
        f"References: <m1@kund.se> {message['Message-ID']}",
    )
    result = receive(answer, ticket.queue)
    assert result.ticket == ticket
    assert f"In-Reply-To {message['Message-ID']}" in result.inbound.thread_reason
    assert ticket.articles.filter(kind=ArticleKind.CUSTOMER).count() == 2

    # The next reply answers her newest mail and names the whole chain.
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_reply(alice, ticket, "<p>Glad to hear.</p>")
    second = smtp_server.received[1].message
    assert second["In-Reply-To"] == "<m2@kund.se>"
    assert second["References"] == f"<m1@kund.se> {message['Message-ID']} <m2@kund.se>"


def test_a_reply_on_a_phone_ticket_has_the_tag_but_no_re(alice, support, support_mail, contact):
    ticket = actions.open_ticket(alice, queue=support, title="Call me back", contact=contact)
    reply = actions.add_reply(alice, ticket, "<p>Calling you at three.</p>")
    message = parsed(reply.outgoing_mails.get())
    assert message["Subject"] == f"Call me back [#{ticket.number}]"
    assert "In-Reply-To" not in message and "References" not in message
    assert message["To"] == "Carl Customer <carl@example.com>"

    follow_up = actions.add_reply(alice, ticket, "<p>Tried, no answer.</p>")
    first_id = reply.outgoing_mails.get().message_id
    assert parsed(follow_up.outgoing_mails.get())["In-Reply-To"] == first_id


def without_ticket_link(text: str) -> str:
    """A reply's text without the ticket link every mail to a contact ends with."""
    body, link_line = text.rsplit("\n\n", 1)
    assert link_line.startswith("Follow your request #") and "/portal/l/" in link_line
    return body + "\n"


def test_the_general_signature_when_the_agent_has_none(bob_agent, support, support_mail, contact):
    MailSettings.objects.update_or_create(
        pk=1, defaults={"closing_greeting": "Best wishes", "signature": "Helpa {queue}"}
    )
    ticket = actions.open_ticket(bob_agent, queue=support, title="Hi", contact=contact)
    reply = actions.add_reply(bob_agent, ticket, "<p>Hello</p>")
    text = text_of(parsed(reply.outgoing_mails.get()))
    assert without_ticket_link(text) == "Hello\n\nBest wishes\n\n-- \nHelpa Support\n"


def test_no_signature_at_all_adds_nothing(alice, support, support_mail, contact):
    ticket = actions.open_ticket(alice, queue=support, title="Hi", contact=contact)
    reply = actions.add_reply(alice, ticket, "<p>Hello</p>")
    assert without_ticket_link(text_of(parsed(reply.outgoing_mails.get()))) == "Hello\n"


def test_files_and_pasted_images_travel_with_the_reply(alice, mailed_ticket):
    png = b"\x89PNG\r\n\x1a\n" + b"0" * 64
    reply = actions.add_reply(
        alice,
        mailed_ticket,
        '<p>See the picture:</p><p><img src="cid:screen.png" alt="screen"></p>',
        attachments=[
            SimpleUploadedFile("screen.png", png, content_type="image/png"),
            SimpleUploadedFile("manual.pdf", b"%PDF-1.4 manual", content_type="application/pdf"),
        ],
    )
    assert f"/t/{mailed_ticket.number}/attachments/" in reply.body_html  # stored as a link
    message = parsed(reply.outgoing_mails.get())
    assert message.get_content_type() == "multipart/mixed"
    html_part = message.get_body(("html",))
    related = next(p for p in message.walk() if p.get_content_type() == "multipart/related")
    image = next(p for p in related.iter_parts() if p.get_content_type() == "image/png")
    cid = image["Content-ID"].strip("<>")
    assert f'src="cid:{cid}"' in html_part.get_content()
    assert "/attachments/" not in html_part.get_content()
    assert image.get_content() == png
    files = {p.get_filename(): p.get_content() for p in message.iter_attachments()}
    assert files == {"manual.pdf": b"%PDF-1.4 manual"}


def test_a_note_or_a_customer_message_sends_nothing(alice, mailed_ticket):
    actions.add_note(alice, mailed_ticket, "<p>internal</p>")
    actions.add_discussion_post(alice, mailed_ticket, "<p>talk</p>")
    assert not OutgoingMail.objects.filter(kind=OutgoingMail.Kind.REPLY).exists()


def test_a_reply_that_rolls_back_leaves_no_mail(alice, mailed_ticket):
    with pytest.raises(RuntimeError):
        with transaction.atomic():
            actions.add_reply(alice, mailed_ticket, "<p>Oops</p>")
            raise RuntimeError
    assert not OutgoingMail.objects.exists()


# --- Notification policy, confirmation, failing addresses, no address ---------------------------


def test_policy_never_sends_nothing_and_says_why(alice, mailed_ticket, support_mail):
    support_mail.contact_notices = QueueMail.ContactNotices.NEVER
    support_mail.save()
    reply = actions.add_reply(alice, mailed_ticket, "<p>Done.</p>")
    assert not OutgoingMail.objects.exists()
    assert "this queue does not mail contacts" in delivery(reply)


def test_policy_link_sends_a_short_notice_without_the_text(alice, mailed_ticket, support_mail):
    support_mail.contact_notices = QueueMail.ContactNotices.LINK
    support_mail.save()
    reply = actions.add_reply(alice, mailed_ticket, "<p>The secret answer is blue-sky-zebra.</p>")
    mail = reply.outgoing_mails.get()
    assert mail.kind == OutgoingMail.Kind.NOTICE and mail.state == OutgoingMail.State.QUEUED
    message = parsed(mail)
    text = text_of(message)
    assert "zebra" not in message.as_string()
    assert "http://127.0.0.1:8000/portal/l/" in text  # a ticket link: opens without login
    assert f"#{mailed_ticket.number}" in text
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["In-Reply-To"] == "<m1@kund.se>"
    assert "Link to the ticket mailed to pia@kund.se, maria@kund.se: queued" in delivery(reply)


def test_policy_full_is_the_default(alice, mailed_ticket):
    reply = actions.add_reply(alice, mailed_ticket, "<p>The answer is 42.</p>")
    mail = reply.outgoing_mails.get()
    assert mail.kind == OutgoingMail.Kind.REPLY
    assert "The answer is 42." in text_of(parsed(mail))


def test_confirm_before_sending(
    alice, bob, mailed_ticket, support_mail, smtp_server, django_capture_on_commit_callbacks
):
    support_mail.confirm_before_sending = True
    support_mail.save()
    with django_capture_on_commit_callbacks(execute=True):
        reply = actions.add_reply(alice, mailed_ticket, "<p>Please check.</p>")
    mail = reply.outgoing_mails.get()
    assert mail.state == OutgoingMail.State.DRAFT and smtp_server.received == []
    assert outbox.send_due() == 0
    shown = delivery(reply)
    assert "waiting for confirmation" in shown
    assert reverse("mail:outgoing_confirm", args=[mail.pk]) in shown

    # A colleague who cannot open the ticket cannot confirm, discard or download it.
    bob_client = Client()
    bob_client.force_login(bob)
    assert bob_client.post(reverse("mail:outgoing_confirm", args=[mail.pk])).status_code == 404
    assert bob_client.post(reverse("mail:outgoing_discard", args=[mail.pk])).status_code == 404
    assert bob_client.get(reverse("mail:outgoing_eml", args=[mail.pk])).status_code == 404

    client = Client()
    client.force_login(alice)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("mail:outgoing_confirm", args=[mail.pk]))
    assert response.status_code == 302
    assert response["Location"].endswith(f"/t/{mailed_ticket.number}/#article-{reply.pk}")
    mail.refresh_from_db()
    assert mail.state == OutgoingMail.State.SENT and len(smtp_server.received) == 1
    # Confirming again sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("mail:outgoing_confirm", args=[mail.pk]))
    assert len(smtp_server.received) == 1


def test_a_draft_can_be_discarded(alice, mailed_ticket, support_mail):
    support_mail.confirm_before_sending = True
    support_mail.save()
    reply = actions.add_reply(alice, mailed_ticket, "<p>Please check.</p>")
    mail = reply.outgoing_mails.get()
    client = Client()
    client.force_login(alice)
    response = client.post(
        reverse("mail:outgoing_discard", args=[mail.pk]), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    assert "Not sent by mail." in " ".join(response.content.decode().split())
    assert not OutgoingMail.objects.exists()
    assert Article.objects.filter(pk=reply.pk).exists()  # the reply stays


def test_the_sent_message_can_be_downloaded(alice, mailed_ticket):
    reply = actions.add_reply(alice, mailed_ticket, "<p>Here.</p>")
    mail = reply.outgoing_mails.get()
    client = Client()
    client.force_login(alice)
    response = client.get(reverse("mail:outgoing_eml", args=[mail.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "message/rfc822"
    assert "attachment" in response["Content-Disposition"]
    with mail.raw.open("rb") as f:
        assert b"".join(response.streaming_content) == f.read()
    assert Client().get(reverse("mail:outgoing_eml", args=[mail.pk])).status_code == 302


def test_an_address_that_bounced_waits_for_an_agent(alice, mailed_ticket):
    FailingAddress.objects.create(address="maria@kund.se", reason="550 No such user")
    reply = actions.add_reply(alice, mailed_ticket, "<p>Done.</p>")
    mail = reply.outgoing_mails.get()
    assert mail.state == OutgoingMail.State.DRAFT
    shown = delivery(reply)
    assert "waiting for confirmation" in shown
    assert "maria@kund.se bounced on" in shown and "550 No such user" in shown


def test_no_contact_address_means_no_mail_and_the_agent_sees_why(alice, support, support_mail):
    ticket = actions.open_ticket(alice, queue=support, title="Internal")
    reply = actions.add_reply(alice, ticket, "<p>Done.</p>")
    assert not OutgoingMail.objects.exists()
    assert "the ticket has no contact with an e-mail address" in delivery(reply)

    nameless = Contact.objects.create(name="Walk-in")
    ticket = actions.open_ticket(alice, queue=support, title="At the desk", contact=nameless)
    reply = actions.add_reply(alice, ticket, "<p>Done.</p>")
    assert "the ticket has no contact with an e-mail address" in delivery(reply)


def test_the_delivery_part_costs_no_query_per_reply(
    alice, mailed_ticket, django_assert_max_num_queries
):
    for n in range(5):
        actions.add_reply(alice, mailed_ticket, f"<p>Reply {n}</p>")
    ticket = Ticket.objects.select_related("contact", "queue").get(pk=mailed_ticket.pk)
    with django_assert_max_num_queries(2):
        articles = list(
            ticket.articles.prefetch_related(Prefetch("outgoing_mails", to_attr="mails_sent"))
        )
        html = "".join(
            render_to_string("mail/article_delivery.html", {"article": a}) for a in articles
        )
    assert html.count('data-state="queued"') == 5


# --- Mail to colleagues -------------------------------------------------------------------------


def test_an_agent_gets_a_mail_when_a_colleague_assigns_a_ticket(
    alice, ada, mailed_ticket, django_capture_on_commit_callbacks
):
    ada.language = "sv"
    ada.save()
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_ticket(alice, mailed_ticket, {"owner": ada})
    mail = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AGENT)
    assert mail.recipients == ["ada@example.com"]
    message = parsed(mail)
    assert message["To"] == "Ada Admin <ada@example.com>"
    assert message["Subject"] == f"Tilldelat dig: Printer is broken [#{mailed_ticket.number}]"
    assert "Alice Agent har tilldelat dig ärende" in text_of(message)
    assert message["Auto-Submitted"] == "auto-generated"


def test_no_mail_when_agents_take_a_ticket_themselves(
    alice, mailed_ticket, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        actions.update_ticket(alice, mailed_ticket, {"owner": alice})
    assert not OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AGENT).exists()


def test_an_agent_gets_a_mail_when_mentioned(
    alice, bob_agent, team_support, mailed_ticket, django_capture_on_commit_callbacks
):
    team_support.members.add(bob_agent)  # a mention reaches colleagues who may open the ticket
    with django_capture_on_commit_callbacks(execute=True):
        actions.add_discussion_post(
            alice, mailed_ticket, "<p>@bob.agent could you look? @alice noted.</p>"
        )
    mail = OutgoingMail.objects.get(kind=OutgoingMail.Kind.AGENT)  # not to alice herself
    assert mail.recipients == ["bob.agent@example.com"]
    message = parsed(mail)
    assert message["Subject"] == (
        f"Alice Agent mentioned you: Printer is broken [#{mailed_ticket.number}]"
    )
    assert "@bob.agent could you look?" in text_of(message)


def test_agent_mails_are_sent_after_the_commit(alice, ada, mailed_ticket):
    # Without running the on-commit callbacks there is no agent mail yet.
    actions.update_ticket(alice, mailed_ticket, {"owner": ada})
    assert not OutgoingMail.objects.filter(kind=OutgoingMail.Kind.AGENT).exists()


# --- Header injection ---------------------------------------------------------------------------

INJECTIONS = [
    "Broken\r\nBcc: evil@attacker.test",
    "Broken\nBcc: evil@attacker.test",
    "Broken\rBcc: evil@attacker.test",
    "=?utf-8?q?Broken=0D=0ABcc:_evil@attacker.test?=",
    "=?utf-8?b?QnJva2VuDQpCY2M6IGV2aWxAYXR0YWNrZXIudGVzdA==?=",
    "Broken\u2028Bcc: evil@attacker.test",
    "Broken\x85Bcc: evil@attacker.test",
]
EXPECTED_HEADERS = {
    "message-id",
    "date",
    "from",
    "to",
    "subject",
    "in-reply-to",
    "references",
    "x-helpa-ticket",
    "content-type",
    "mime-version",
}


def assert_no_injected_header(raw: bytes) -> None:
    for parse_policy in (policy.default, policy.compat32):
        message = message_from_bytes(raw, policy=parse_policy)
        keys = {k.lower() for k in message.keys()}
        assert keys <= EXPECTED_HEADERS | {"cc"}, keys
        assert "bcc" not in keys
    head = raw.split(b"\r\n\r\n", 1)[0]
    for line in head.split(b"\r\n"):
        assert not line.lower().startswith(b"bcc"), line
    assert all(b"\r" not in line and b"\n" not in line for line in head.split(b"\r\n"))


@pytest.mark.parametrize("evil", INJECTIONS)
def test_no_header_injection_through_subject_names_or_addresses(alice, support, support_mail, evil):
    support_mail.sender_name = evil
    support_mail.save()
    contact = Contact.objects.create(name=evil, email="pia@kund.se")
    ticket = actions.open_ticket(alice, queue=support, title=evil, contact=contact)
    reply = actions.add_reply(alice, ticket, "<p>Answer</p>")
    mail = reply.outgoing_mails.get()
    with mail.raw.open("rb") as f:
        raw = f.read()
    assert_no_injected_header(raw)
    assert mail.recipients == ["pia@kund.se"]
    message = message_from_bytes(raw, policy=policy.default)
    assert message["To"].addresses[0].addr_spec == "pia@kund.se"
    assert message["From"].addresses[0].addr_spec == "support@helpa.test"
    # Even decoded, no value holds a line break (a mail client shows one line).
    for header in ("Subject", "From", "To"):
        assert not any(ch in str(message[header]) for ch in "\r\n\u2028\x85"), header


@pytest.mark.parametrize(
    "address",
    [
        "pia@kund.se\r\nBcc: evil@attacker.test",
        "pia@kund.se\nRCPT TO:<evil@attacker.test>",
        "pia@kund.se, evil@attacker.test",
        "Pia <pia@kund.se>",
        "pia@kund.se\x7f",
        "pia\t@kund.se",
    ],
)
def test_a_broken_contact_address_gets_no_mail(alice, support, support_mail, address):
    contact = Contact.objects.create(name="Pia", email=address)
    ticket = actions.open_ticket(alice, queue=support, title="Hi", contact=contact)
    reply = actions.add_reply(alice, ticket, "<p>Answer</p>")
    assert not OutgoingMail.objects.exists()
    assert "Not sent by mail" in delivery(reply)


def test_a_participant_address_with_line_breaks_is_left_out(alice, mailed_ticket):
    Participant.objects.create(ticket=mailed_ticket, address="x@kund.se\r\nBcc: evil@a.test")
    reply = actions.add_reply(alice, mailed_ticket, "<p>Answer</p>")
    mail = reply.outgoing_mails.get()
    assert mail.recipients == ["pia@kund.se", "maria@kund.se"]
    with mail.raw.open("rb") as f:
        assert_no_injected_header(f.read())
