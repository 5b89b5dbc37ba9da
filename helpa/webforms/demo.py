"""A demo contact form for `helpa demo_data` (it publishes `demo_data.loaded`)."""

from __future__ import annotations

from typing import Any

from helpa.tickets.models import Queue

from .models import ContactForm


def load(**_payload: Any) -> None:
    queue = Queue.objects.filter(is_active=True).order_by("pk").first()
    if queue is None:
        return
    ContactForm.objects.create(
        name="Kontakta oss",
        slug="kontakt",
        queue=queue,
        thanks_sv="Tack! Vi har tagit emot ditt meddelande och svarar så snart vi kan.",
        thanks_en="Thank you! We have received your message and will answer as soon as we can.",
    )
