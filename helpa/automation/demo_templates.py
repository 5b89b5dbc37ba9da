"""Demo templates and canned responses for `helpa demo_data` (it publishes `demo_data.loaded`;
subscribed in subscribers.py). Swedish, like the rest of the demo desk."""

from __future__ import annotations

from typing import Any

from helpa.tickets.models import Priority, Queue

from .models import CannedResponse, SubTicketTemplate, TicketTemplate


def load(**_payload: Any) -> None:
    queue = Queue.objects.filter(is_active=True).order_by("pk").first()
    onboarding = TicketTemplate.objects.create(
        name="Ny medarbetare",
        title="Ny medarbetare börjar",
        queue=queue,
        priority=Priority.HIGH,
        description="<p>Namn, startdatum och chef:</p>",
        instructions="Beställ dator och telefon\nSkapa konton\nBoka introduktion med chefen",
        solution="<p>Välkommen! Dina konton är klara och datorn väntar i receptionen.</p>",
    )
    for position, (name, title) in enumerate(
        [("Beställ dator", "Beställ dator och telefon"), ("Skapa konton", "Skapa konton")]
    ):
        sub = TicketTemplate.objects.create(name=name, title=title)
        SubTicketTemplate.objects.create(template=onboarding, sub_template=sub, position=position)
    TicketTemplate.objects.create(
        name="Återställ lösenord",
        title="Återställ lösenord",
        queue=queue,
        instructions="Kontrollera vem som frågar\nÅterställ lösenordet\nSkicka det nya via SMS",
        solution="<p>Ditt nya lösenord har skickats till din mobil.</p>",
    )
    CannedResponse.objects.bulk_create(
        [
            CannedResponse(
                name="Tack",
                body="Hej {{contact.first_name}}!\n\nTack för ditt meddelande. Vi har tagit "
                "emot ärende {{ticket.number}} och återkommer så snart vi kan.\n\n"
                "Vänliga hälsningar\n{{agent.name}}",
            ),
            CannedResponse(
                name="Mer information",
                body="Hej {{contact.first_name}}!\n\nFör att kunna hjälpa dig behöver vi "
                "veta lite mer: vilken enhet gäller det, och vad står det i felmeddelandet?"
                "\n\nVänliga hälsningar\n{{agent.name}}",
            ),
            CannedResponse(
                name="Löst",
                body="Hej {{contact.first_name}}!\n\nVi har löst ärendet och stänger det nu. "
                "Hör av dig om något fortfarande krånglar — du kan följa ärendet här: "
                "{{ticket.link}}\n\nVänliga hälsningar\n{{agent.name}}",
            ),
        ]
    )
