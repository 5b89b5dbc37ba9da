"""A demo brand for `helpa demo_data` (it publishes `demo_data.loaded`; see MailConfig.ready):
the demo's first queue answers as "Helpa Demo", with its own greeting and signature."""

from __future__ import annotations

from typing import Any

from helpa.crm.models import Brand
from helpa.tickets.models import Queue


def load(**_payload: Any) -> None:
    queue = Queue.objects.filter(is_active=True).order_by("pk").first()
    if queue is None:
        return
    brand = Brand.objects.create(
        code="DEMO",
        name="Helpa Demo",
        sender_name="Helpa Demo kundservice",
        closing_greeting="Med vänliga hälsningar,\n{agent}",
        signature="Helpa Demo kundservice\n{queue} · 08-123 456 00",
        agent_instructions="Svara på svenska och du-tilltala kunden. Ärenden om fakturor: "
        "hänvisa till Ekonomi.",
        primary_colour="#0f766e",
        accent_colour="#e6f4f1",
    )
    queue.brand = brand
    queue.save(update_fields=["brand"])
