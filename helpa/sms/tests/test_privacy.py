"""GDPR: a person's SMS are in their export, and after anonymisation nothing of their number
is left in any table, nor the provider's copy of their SMS."""

from __future__ import annotations

import io
import json
import zipfile
from typing import Any

from django.test import Client
from django.urls import reverse

from helpa.privacy import gdpr
from helpa.privacy.tests.test_gdpr import _database_hits
from helpa.sms.models import InboundSms, OutgoingSms

from .test_inbound import elks_body, post_elks

NUMBER = "+46706861004"
WORDS = "Min router heter Gulliver"


def test_an_sms_conversation_is_exported_and_then_forgotten(
    elks, fake_provider, admin, agent_client: Client, django_capture_on_commit_callbacks: Any
) -> None:
    _settings, secret = elks
    assert post_elks(secret, elks_body("s1", NUMBER, WORDS)).status_code == 200
    ticket = InboundSms.objects.get().ticket
    with django_capture_on_commit_callbacks(execute=True):
        agent_client.post(
            reverse("tickets:article", args=[ticket.number]),
            {"kind": "reply", "body": "Starta om Gulliver", "send_by": "sms"},
        )
    assert OutgoingSms.objects.get().state == OutgoingSms.State.SENT

    out = io.BytesIO()
    gdpr.export(gdpr.find_subject("070-686 10 04"), out, admin)
    with zipfile.ZipFile(io.BytesIO(out.getvalue())) as archive:
        data = json.loads(archive.read("data.json"))
    assert [(s["from"], s["text"]) for s in data["sms_received"]] == [(NUMBER, WORDS)]
    assert [(s["to"], s["text"]) for s in data["sms_sent"]] == [(NUMBER, "Starta om Gulliver")]

    numbers = [NUMBER, "706861004", "070-686 10 04"]
    assert _database_hits(numbers)  # the scan sees them before
    with django_capture_on_commit_callbacks(execute=True):
        gdpr.anonymise(gdpr.find_subject(NUMBER), admin)
    assert _database_hits(numbers) == []
    # The thread keeps the words (scrubbed of the person, as for mail); the provider's copies
    # of the SMS, like raw mails, are gone.
    assert not InboundSms.objects.filter(text__contains="Gulliver").exists()
    assert not OutgoingSms.objects.filter(text__contains="Gulliver").exists()
    assert InboundSms.objects.get().payload == {}
    ticket.refresh_from_db()
    assert ticket.articles.count() == 2  # the thread keeps its shape for the statistics
