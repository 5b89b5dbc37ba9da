"""Brands in outgoing mail (C3, M6): a reply on a brand's queue leaves from the brand's sender
with its greeting and signature; the signature order personal per brand → brand → personal →
general; auto-replies of a brand's queue carry its sender and signature; an agent's page for
their own signatures."""

from __future__ import annotations

import base64
from email import message_from_bytes, policy
from email.message import EmailMessage
from itertools import product

import pytest
from django.core.files.base import ContentFile
from django.test import Client
from django.urls import reverse

from helpa.accounts.models import User
from helpa.crm.models import Brand, Contact
from helpa.mail import ingest, outbound
from helpa.mail.models import (
    AgentBrandSignature,
    AgentSignature,
    InboundMail,
    MailAddress,
    MailSettings,
    OutgoingMail,
    Participant,
    QueueMail,
)
from helpa.portal.models import LoginLink, PortalSettings
from helpa.tickets import actions
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


@pytest.fixture
def acme() -> Brand:
    return Brand.objects.create(
        code="ACME",
        name="Acme",
        sender_address="Kundtjanst@Acme.example",
        sender_name="Acme kundtjänst",
        closing_greeting="Vänliga hälsningar,\n{agent}",
        signature="Acme AB · {queue}",
        primary_colour="#aa0000",
    )


@pytest.fixture
def acme_queue(support: Queue, acme: Brand) -> Queue:
    support.brand = acme
    support.save()
    QueueMail.objects.create(queue=support, auto_reply=False)
    return support


@pytest.fixture
def pia_ticket(alice: User, acme_queue: Queue) -> Ticket:
    pia = Contact.objects.create(name="Pia Persson", email="pia@kund.se")
    return actions.open_ticket(alice, queue=acme_queue, title="Printer is broken", contact=pia)


def _parsed(mail: OutgoingMail) -> EmailMessage:
    with mail.raw.open("rb") as f:
        return message_from_bytes(f.read(), policy=policy.default)  # type: ignore[return-value]


def _text(message: EmailMessage) -> str:
    return message.get_body(("plain",)).get_content().replace("\r\n", "\n")


def _reply_mail(alice: User, ticket: Ticket, django_capture_on_commit_callbacks) -> OutgoingMail:
    with django_capture_on_commit_callbacks(execute=False):
        reply = actions.add_reply(alice, ticket, "<p>We have fixed the printer.</p>")
    return OutgoingMail.objects.get(article=reply)


def test_a_reply_on_a_brands_queue_has_its_sender_greeting_and_signature(
    alice, pia_ticket, django_capture_on_commit_callbacks
):
    mail = _reply_mail(alice, pia_ticket, django_capture_on_commit_callbacks)
    assert mail.sender == "kundtjanst@acme.example"
    message = _parsed(mail)
    assert message["From"] == "Acme kundtjänst <kundtjanst@acme.example>"
    text = _text(message)
    assert text.startswith(
        "We have fixed the printer.\n\nVänliga hälsningar,\nAlice Agent\n\n-- \nAcme AB · Support"
    )
    html = message.get_body(("html",)).get_content()
    assert "border-top:4px solid #aa0000" in html and "Acme AB · Support" in html


def test_the_queues_own_sender_comes_before_the_brands(
    alice, pia_ticket, acme_queue, django_capture_on_commit_callbacks
):
    """Precedence queue → brand → installation: a queue's marked sender address and its own
    sender name win; an address only bound for receiving does not."""
    MailAddress.objects.create(queue=acme_queue, address="in@helpa.test")
    assert outbound.sender_for(acme_queue) == ("Acme kundtjänst", "kundtjanst@acme.example")
    MailAddress.objects.filter(address="in@helpa.test").update(is_sender=True)
    QueueMail.objects.filter(queue=acme_queue).update(sender_name="Support desk")
    assert outbound.sender_for(acme_queue) == ("Support desk", "in@helpa.test")
    Brand.objects.filter(pk=acme_queue.brand_id).update(sender_address="", sender_name="")
    MailAddress.objects.all().delete()
    QueueMail.objects.filter(queue=acme_queue).update(sender_name="")
    acme_queue.refresh_from_db()
    name, address = outbound.sender_for(acme_queue)
    assert name == "Support" and address  # the installation's address, the queue's name


@pytest.mark.parametrize(
    "levels",
    list(product([True, False], repeat=4)),
    ids=lambda v: "".join("x" if b else "-" for b in v),
)
def test_the_signature_order(alice, acme, levels) -> None:
    """Every combination of the four levels: the first present one is used."""
    personal_brand, brand_level, personal, general = levels
    if personal_brand:
        AgentBrandSignature.objects.create(user=alice, brand=acme, signature="personal for Acme")
    acme.signature = "Acme's own" if brand_level else ""
    acme.save()
    if personal:
        AgentSignature.objects.create(user=alice, signature="Alice's own")
    settings = MailSettings.load()
    settings.signature = "the general one" if general else ""
    settings.save()
    expected = next(
        (
            text
            for present, text in zip(
                levels,
                ["personal for Acme", "Acme's own", "Alice's own", "the general one"],
                strict=True,
            )
            if present
        ),
        "",
    )
    assert outbound.signature_for(alice, MailSettings.load(), acme) == expected


def test_another_brands_personal_signature_is_not_used(alice, acme) -> None:
    other = Brand.objects.create(code="BETA", name="Beta")
    AgentBrandSignature.objects.create(user=alice, brand=other, signature="for Beta")
    AgentSignature.objects.create(user=alice, signature="Alice's own")
    acme.signature = ""
    acme.save()
    assert outbound.signature_for(alice, MailSettings.load(), acme) == "Alice's own"
    # An unbranded queue keeps the old order: personal → general.
    assert outbound.signature_for(alice, MailSettings.load(), None) == "Alice's own"


def test_an_auto_reply_of_a_brands_queue_has_its_sender_and_signature(acme_queue):
    QueueMail.objects.filter(queue=acme_queue).update(auto_reply=True)
    raw = (
        b"From: Pia <pia@kund.se>\r\nTo: support@helpa.test\r\nSubject: Help\r\n"
        b"Message-ID: <b1@kund.se>\r\nContent-Type: text/plain\r\n\r\nHello"
    )
    result = ingest.ingest_message(raw, source=InboundMail.Source.PIPE, queue=acme_queue)
    mail = OutgoingMail.objects.get(ticket=result.ticket, kind=OutgoingMail.Kind.AUTO_REPLY)
    message = _parsed(mail)
    assert message["From"] == "Acme kundtjänst <kundtjanst@acme.example>"
    assert _text(message).rstrip().endswith("-- \nAcme AB · Support")


def test_my_signatures_page(alice, acme) -> None:
    client = Client()
    client.force_login(alice)
    url = reverse("mail:my_signatures")
    assert "My signature for Acme" in client.get(url).content.decode()
    response = client.post(url, {"personal": "Alice", f"brand_{acme.pk}": "Alice at Acme"})
    assert response.status_code == 302
    assert AgentSignature.objects.get(user=alice).signature == "Alice"
    assert AgentBrandSignature.objects.get(user=alice, brand=acme).signature == "Alice at Acme"
    client.post(url, {"personal": "Alice", f"brand_{acme.pk}": ""})
    assert not AgentBrandSignature.objects.filter(user=alice).exists()
    # An agent limited to another brand is not offered this one.
    other = Brand.objects.create(code="BETA", name="Beta")
    other.limited_agents.add(alice)
    assert "My signature for Acme" not in client.get(url).content.decode()


# --- The brand's logo in its mail ----------------------------------------------------------------

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="
)


def _count_logo_reads(monkeypatch) -> list[str]:
    """The brands whose logo a test's mails read, one entry per read."""
    reads: list[str] = []
    real = outbound.brand_logo_part

    def counted(brand: Brand) -> outbound.Attachment | None:
        reads.append(brand.code)
        return real(brand)

    monkeypatch.setattr(outbound, "brand_logo_part", counted)
    return reads


def test_a_reply_of_a_brand_with_a_logo_shows_it_inline(
    alice, acme, pia_ticket, monkeypatch, django_capture_on_commit_callbacks
):
    """The logo travels in the message as multipart/related (the HTML part and the image),
    shown by its Content-ID with the brand's name as alt text; read once for the message, however
    many people it goes to."""
    acme.logo.save("acme-logo.png", ContentFile(PNG))
    Participant.objects.create(ticket=pia_ticket, address="olle@kund.se")
    reads = _count_logo_reads(monkeypatch)
    mail = _reply_mail(alice, pia_ticket, django_capture_on_commit_callbacks)
    assert reads == ["ACME"]
    assert mail.recipients == ["pia@kund.se", "olle@kund.se"]

    message = _parsed(mail)
    assert message.get_content_type() == "multipart/alternative"
    plain, related = message.get_payload()
    assert plain.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, image = related.get_payload()
    assert html_part.get_content_type() == "text/html"
    assert image.get_content_type() == "image/png"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG
    content_id = image["Content-ID"].strip("<>")
    html = html_part.get_content()
    assert f'<img src="cid:{content_id}" alt="Acme"' in html
    assert "border-top:4px solid #aa0000" in html  # the colour band stays
    assert "We have fixed the printer." in html
    # The logo is not offered as a file of the reply, and the text part is unchanged.
    assert [p.get_filename() for p in message.iter_attachments()] == []
    assert "acme-logo" not in _text(message)


def test_a_brand_without_a_logo_and_an_unbranded_queue_read_no_logo(
    alice, acme, pia_ticket, billing, monkeypatch, django_capture_on_commit_callbacks
):
    reads = _count_logo_reads(monkeypatch)
    html = _parsed(_reply_mail(alice, pia_ticket, django_capture_on_commit_callbacks))
    body = html.get_body(("html",))
    assert body.get_content_type() == "text/html"  # no related part
    assert "<img" not in body.get_content()
    assert ">Acme</div>" in body.get_content()  # the name in the band, as before
    assert reads == ["ACME"]  # asked, and found no logo (no file read)

    # An unbranded queue's reply does not even ask, however many brands have logos.
    acme.logo.save("acme-logo.png", ContentFile(PNG))
    reads.clear()
    billing.teams.add(*pia_ticket.queue.teams.all())
    plain = actions.open_ticket(alice, queue=billing, title="Invoice", contact=pia_ticket.contact)
    message = _parsed(_reply_mail(alice, plain, django_capture_on_commit_callbacks))
    assert reads == []
    assert "cid:" not in message.get_body(("html",)).get_content()


def test_a_logo_that_cannot_be_read_does_not_stop_the_reply(
    alice, acme, pia_ticket, django_capture_on_commit_callbacks
):
    acme.logo.save("acme-logo.png", ContentFile(PNG))
    acme.logo.storage.delete(acme.logo.name)
    message = _parsed(_reply_mail(alice, pia_ticket, django_capture_on_commit_callbacks))
    html = message.get_body(("html",)).get_content()
    assert "We have fixed the printer." in html and "cid:" not in html and ">Acme</div>" in html


# --- The sender of what goes to customers -------------------------------------------------------


def _sign_in_mail(email_address: str) -> EmailMessage:
    Client().post(reverse("portal:login_link_request"), {"email": email_address})
    newest = OutgoingMail.objects.filter(first_recipient=email_address).latest("pk")
    return _parsed(newest)


def test_the_sign_in_link_of_a_brands_customer_comes_from_the_brand(
    acme, acme_queue, billing, customer, company
):
    """The portal's new tickets go to an unbranded queue, yet Carl's company is Acme's: his
    link comes from Acme's sender, through Acme's queue. A customer of no brand hears from the
    portal's queue, as before."""
    PortalSettings.objects.update_or_create(pk=1, defaults={"default_queue": billing})
    company.brand = acme
    company.save()
    message = _sign_in_mail(customer.email)
    assert message["From"] == "Acme kundtjänst <kundtjanst@acme.example>"
    assert OutgoingMail.objects.get(first_recipient=customer.email).queue == acme_queue
    LoginLink.objects.all().delete()  # asking again at once would be refused as too often

    # A brand with no queue of its own still lends its sender (through the portal's queue).
    beta = Brand.objects.create(code="BETA", name="Beta", sender_address="Hej@Beta.example")
    company.brand = beta
    company.save()
    message = _sign_in_mail(customer.email)
    assert message["From"] == "Beta <hej@beta.example>"

    Contact.objects.create(name="Nils Neutral", email="nils@example.org")
    message = _sign_in_mail("nils@example.org")
    assert "acme" not in message["From"].lower()
    assert message["From"].startswith("Billing <")


def test_the_sign_in_link_follows_the_brand_of_the_customers_tickets(
    alice, acme, acme_queue, billing, pia_ticket
):
    """Pia has no company; she wrote to Acme's queue, so Acme's sender is the one she knows."""
    PortalSettings.objects.update_or_create(pk=1, defaults={"default_queue": billing})
    message = _sign_in_mail("pia@kund.se")
    assert message["From"] == "Acme kundtjänst <kundtjanst@acme.example>"


def test_notices_to_agents_on_a_brands_ticket_keep_the_queue_sender(alice, pia_ticket):
    """Unchanged on purpose: a notice to a colleague goes out like the queue's other mail."""
    colleague = User.objects.create_user("sam@example.com", "pw", full_name="Sam", role="agent")
    notice = outbound.queue_agent_notice(pia_ticket, colleague, "Assigned", "You have it.")
    assert notice is not None and notice.sender == "kundtjanst@acme.example"
