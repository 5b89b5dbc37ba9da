"""A mail from any of a contact's addresses lands on that contact (contact_for)."""

from __future__ import annotations

import pytest

from helpa.crm.models import Contact, ContactEmail
from helpa.mail import ingest
from helpa.mail.models import InboundMail
from helpa.tickets.models import Queue, Ticket

pytestmark = pytest.mark.django_db


def _mail(sender: str) -> bytes:
    return (
        f"From: {sender}\nTo: support@helpa.test\nSubject: Invoice\nMessage-ID: <x1@kund.se>\n"
        'Content-Type: text/plain; charset="utf-8"\n\nHello\n'
    ).encode()


def test_a_mail_from_a_second_address_lands_on_the_contact(support: Queue) -> None:
    pia = Contact.objects.create(name="Pia Persson", email="pia@kund.se")
    ContactEmail.objects.create(contact=pia, address="Pia.Persson@Gmail.com")

    ingest.ingest_message(
        _mail("Pia P <PIA.PERSSON@gmail.com>"), source=InboundMail.Source.PIPE, queue=support
    )

    ticket = Ticket.objects.get()
    assert ticket.contact == pia
    assert Contact.objects.count() == 1


def test_the_lookup_is_one_query(support: Queue, django_assert_num_queries) -> None:
    pia = Contact.objects.create(name="Pia Persson", email="pia@kund.se")
    ContactEmail.objects.create(contact=pia, address="pia@gmail.com")
    with django_assert_num_queries(1):
        assert ingest.contact_for("pia@gmail.com", "") == pia
    with django_assert_num_queries(1):
        assert ingest.contact_for("pia@kund.se", "") == pia


def test_the_oldest_contact_with_the_address_wins(support: Queue) -> None:
    older = Contact.objects.create(name="Old", email="x@kund.se")
    newer = Contact.objects.create(name="New", email="y@kund.se")
    ContactEmail.objects.create(contact=newer, address="shared@kund.se")
    Contact.objects.filter(pk=older.pk).update(email="shared@kund.se")
    assert ingest.contact_for("shared@kund.se", "") == older
