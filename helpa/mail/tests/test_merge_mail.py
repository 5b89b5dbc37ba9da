"""A merged ticket's received mail and CC participants follow it to the target."""

from __future__ import annotations

import pytest

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.mail.models import InboundMail, Participant
from helpa.mail.tests.test_move_split import ingest_file
from helpa.tickets import actions
from helpa.tickets.models import Attachment, Queue

pytestmark = pytest.mark.django_db


def test_mail_files_and_participants_move_with_the_merge(alice: User, support: Queue) -> None:
    inbound = ingest_file("related_cid.eml", support)
    source = inbound.ticket
    actions.update_ticket(alice, source, {"owner": alice})
    Participant.objects.create(ticket=source, address="cc@example.com")
    target_contact = Contact.objects.create(name="Dora", email="dora@example.com")
    target = actions.open_ticket(alice, queue=support, title="Original", contact=target_contact)
    Participant.objects.create(ticket=target, address="cc@example.com")  # already there
    before = set(Participant.objects.filter(ticket=source).values_list("address", flat=True))

    actions.merge_tickets(alice, source, target)

    inbound.refresh_from_db()
    assert inbound.ticket == target and inbound.article.ticket == target
    logo = Attachment.objects.get(article=inbound.article)
    assert logo.ticket == target
    assert f"/t/{target.number}/attachments/{logo.pk}/" in inbound.article.body_html
    assert f"/t/{source.number}/" not in inbound.article.body_html
    # The duplicate's sender hears the answers on the target too; nobody twice.
    addresses = sorted(Participant.objects.filter(ticket=target).values_list("address", flat=True))
    assert addresses == sorted(before | {source.contact.email.lower()})
    assert "cc@example.com" in before
    assert not Participant.objects.filter(ticket=source).exists()
    assert not InboundMail.objects.filter(ticket=source).exists()
