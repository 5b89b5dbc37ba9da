"""`helpa demo_data`: a small, realistic helpdesk to try Helpa with (only into an empty database).

Everything is created through the ticket actions, so numbers, history and the search index are
exactly what real use would produce.
"""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from helpa.accounts.models import Role, Team, User
from helpa.crm.models import Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import (
    ArticleKind,
    Category,
    Channel,
    HelpdeskSettings,
    Priority,
    Queue,
    Status,
    Ticket,
    TicketType,
)

PASSWORD = "demo"
TICKET_COUNT = 200

AGENTS = [
    ("admin@example.com", "Ada Admin", Role.ADMIN),
    ("agent@example.com", "Anna Agent", Role.AGENT),
    ("erik.lund@example.com", "Erik Lund", Role.AGENT),
    ("sara.berg@example.com", "Sara Berg", Role.AGENT),
    ("ola.nordmann@example.com", "Ola Nordmann", Role.AGENT),
]
COMPANIES = [
    ("Fjällbacka Bygg AB", "556677-8899"),
    ("Norrsken Energi AB", "556123-4567"),
    ("Bergen Fisk AS", "923 456 789"),
    ("Mälardalens Tandvård AB", "556987-6543"),
    ("Kiruna Transport AB", "556444-3322"),
]
FIRST_NAMES = ["Karin", "Lars", "Maria", "Johan", "Elin", "Per", "Ingrid", "Nils", "Astrid", "Mats"]
LAST_NAMES = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Hansen", "Olsen", "Lindqvist"]
SUBJECTS = [
    ("Skrivaren på kontoret skriver inte ut", "Fault"),
    ("Kan inte logga in i kundportalen", "Fault"),
    ("Fakturan för oktober verkar fel", "Other"),
    ("Beställning av ny laptop till nyanställd", "Order"),
    ("VPN-anslutningen bryts hela tiden", "Fault"),
    ("Invoice number missing on the PDF", "Other"),
    ("Please add a new user to the system", "Order"),
    ("E-posten kommer inte fram till kunder", "Fault"),
    ("Önskar byta abonnemang till Premium", "Order"),
    ("The mobile app crashes on start", "Fault"),
    ("Lösenordet har gått ut", "Fault"),
    ("Fråga om moms på fakturan", "Other"),
    ("Need access to the shared drive", "Order"),
    ("Telefonen visar fel nummer vid samtal", "Fault"),
    ("Kvitto saknas för betalning", "Other"),
]
CUSTOMER_LINES = [
    "Hej! Vi har problem sedan i morse och hela avdelningen påverkas.",
    "Hi, this started after yesterday's update. Could you have a look?",
    "Jag har redan provat att starta om datorn men det hjälper inte.",
    "Bifogar en skärmbild på felmeddelandet.",
    "Tack för snabbt svar! Tyvärr kvarstår felet.",
    "Det fungerar nu, tack så mycket för hjälpen!",
]
REPLY_LINES = [
    "Hej! Tack för att du hör av dig. Vi tittar på det direkt.",
    "Thanks, we have reproduced the problem and are working on a fix.",
    "Kan du skicka oss versionsnumret och en skärmbild?",
    "Vi har nu åtgärdat felet. Hör av dig om något fortfarande inte fungerar.",
    "Jag har skickat en beställning till leverantören, leverans inom en vecka.",
]
NOTE_LINES = [
    "Kollat loggarna, felet syns från kl 08:12.",
    "Called the customer, they will test again tomorrow.",
    "Samma problem som förra månaden, se tidigare ärende.",
]

# A 1x1 transparent PNG: a real image file for the attachment demo.
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000005000157e0b0a90000000049454e44ae426082"
)


class Command(BaseCommand):
    help = "Load demo data (queues, teams, agents, contacts, ~200 tickets) into an empty database."

    def handle(self, *args: Any, **options: Any) -> None:
        if Ticket.objects.exists():
            self.stdout.write("Demo data already present (the database has tickets).")
            return
        with transaction.atomic():
            created = self._load(random.Random(2026))
        self.stdout.write(self.style.SUCCESS(f"Demo data loaded: {created} tickets."))

    def _load(self, rng: random.Random) -> int:
        HelpdeskSettings.load()
        agents = {}
        for email, name, role in AGENTS:
            user = User.objects.create_user(email, PASSWORD, full_name=name, role=role)
            if role == Role.ADMIN:
                user.is_staff = user.is_superuser = True
                user.save(update_fields=["is_staff", "is_superuser"])
            agents[email] = user
        everyone = list(agents.values())

        support = Team.objects.create(name="Support")
        finance = Team.objects.create(name="Ekonomi")
        support.members.set(
            [
                agents["agent@example.com"],
                agents["erik.lund@example.com"],
                agents["ola.nordmann@example.com"],
                agents["admin@example.com"],
            ]
        )
        finance.members.set([agents["sara.berg@example.com"], agents["agent@example.com"]])
        queues = [
            Queue.objects.create(name="Support", slug="support"),
            Queue.objects.create(name="Faktura", slug="faktura"),
            Queue.objects.create(name="IT", slug="it"),
        ]
        queues[0].teams.set([support])
        queues[1].teams.set([finance])
        queues[2].teams.set([support])
        team_of = {queues[0].pk: support, queues[1].pk: finance, queues[2].pk: support}

        types = {
            "Fault": TicketType.objects.create(
                name="Fel", instructions="Fråga efter skärmbild och när felet började."
            ),
            "Order": TicketType.objects.create(
                name="Beställning", instructions="Kontrollera att beställaren har attesträtt."
            ),
            "Other": TicketType.objects.create(
                name="Övrigt", instructions="Sätt kategori innan ärendet stängs."
            ),
        }
        categories = [
            Category.objects.create(name=name)
            for name in (
                "Hårdvara",
                "Programvara",
                "Konto och behörighet",
                "Fakturering",
                "Nätverk",
            )
        ]

        companies = [Company.objects.create(name=n, organisation_number=o) for n, o in COMPANIES]
        contacts = []
        for i in range(20):
            first, last = FIRST_NAMES[i % len(FIRST_NAMES)], LAST_NAMES[i % len(LAST_NAMES)]
            company = companies[i % len(companies)]
            contacts.append(
                Contact.objects.create(
                    name=f"{first} {last}",
                    email=f"{first}.{last}{i}@example.com".lower(),
                    phone=f"+4670{i:07d}",
                    company=company,
                )
            )
        customer_user = User.objects.create_user(
            "customer@example.com", PASSWORD, full_name="Carl Customer", role=Role.CUSTOMER
        )
        contacts[0].user = customer_user
        contacts[0].save(update_fields=["user"])

        statuses = (
            [Status.NEW] * 25
            + [Status.OPEN] * 55
            + [Status.WAITING] * 25
            + [Status.ON_HOLD] * 15
            + [Status.RESOLVED] * 20
            + [Status.CLOSED] * 60
        )
        now = timezone.now()
        tickets = []
        for i in range(TICKET_COUNT):
            title, kind = SUBJECTS[i % len(SUBJECTS)]
            queue = queues[i % 3] if kind != "Other" else queues[1]
            members = list(team_of[queue.pk].members.all())
            contact = contacts[rng.randrange(len(contacts))]
            status = statuses[i % len(statuses)]
            owner = None
            if status != Status.NEW:
                owner = agents["agent@example.com"] if i % 3 == 0 else rng.choice(members)
            due_at = now + timedelta(days=rng.randint(-10, 20)) if i % 4 == 0 else None
            ticket = actions.open_ticket(
                rng.choice(everyone),
                queue=queue,
                title=title,
                description=f"<p>{rng.choice(CUSTOMER_LINES)}</p>",
                channel=rng.choice([Channel.EMAIL, Channel.EMAIL, Channel.PHONE, Channel.PORTAL]),
                contact=contact,
                priority=rng.choice(Priority.values),
                type=types[kind],
                category=rng.choice(categories),
                team=team_of[queue.pk],
                due_at=due_at,
            )
            self._thread(rng, ticket, contact, owner or rng.choice(members), long=(i == 7))
            if owner:
                changes: dict[str, Any] = {"owner": owner, "status": Status.OPEN}
                actions.update_ticket(owner, ticket, changes)
                if status == Status.ON_HOLD:
                    until = now + timedelta(days=rng.randint(1, 14)) if i % 2 else None
                    actions.set_status(owner, ticket, Status.ON_HOLD, on_hold_until=until)
                elif status == Status.CLOSED:
                    actions.close_ticket(owner, ticket)
                elif status not in (Status.NEW, Status.OPEN):
                    actions.set_status(owner, ticket, status)
            if i % 9 == 0 and owner:
                actions.follow(owner, ticket, rng.choice(everyone))
            tickets.append(ticket)

        self._sub_tickets(rng, tickets, agents)
        self._spread_dates(rng, tickets, now)
        return Ticket.objects.count()

    def _thread(
        self, rng: random.Random, ticket: Ticket, contact: Contact, agent: User, long: bool
    ) -> None:
        rounds = 15 if long else rng.randint(0, 3)
        for r in range(rounds):
            attachments = []
            if rng.random() < 0.04 or (long and r == 2):
                attachments = [SimpleUploadedFile("skarmbild.png", PNG, content_type="image/png")]
            actions.add_article(
                None,
                ticket,
                ArticleKind.CUSTOMER,
                f"<p>{rng.choice(CUSTOMER_LINES)}</p>",
                contact=contact,
                author_name=contact.name,
                attachments=attachments,
            )
            log = SimpleUploadedFile("logg.txt", b"08:12 error 500\n", content_type="text/plain")
            actions.add_reply(
                agent,
                ticket,
                f"<p>{rng.choice(REPLY_LINES)}</p>",
                time_spent_minutes=rng.choice([0, 5, 10, 15]),
                attachments=[log] if rng.random() < 0.03 else [],
            )
        if rng.random() < 0.3:
            actions.add_note(
                agent,
                ticket,
                f"<p>{rng.choice(NOTE_LINES)}</p>",
                time_spent_minutes=rng.choice([10, 20, 30]),
            )
        if rng.random() < 0.1:
            actions.add_discussion_post(
                agent, ticket, "<p>@agent kan du ta en titt på detta? Kunden är viktig.</p>"
            )

    def _sub_tickets(
        self, rng: random.Random, tickets: list[Ticket], agents: dict[str, User]
    ) -> None:
        anna = agents["agent@example.com"]
        parents = list(
            Ticket.objects.filter(pk__in=[t.pk for t in tickets], status=Status.OPEN).order_by(
                "id"
            )[:3]
        )
        for parent in parents:
            actions.update_ticket(anna, parent, {"title": f"Driftstörning: {parent.title}"})
            for n in range(1, 4 if parent is not parents[0] else 5):
                child = actions.open_ticket(
                    anna,
                    queue=parent.queue,
                    title=f"Delproblem {n}: {parent.title}",
                    parent=parent,
                    contact=parent.contact,
                )
                if n % 2:
                    actions.update_ticket(anna, child, {"owner": anna, "status": Status.OPEN})

    def _spread_dates(self, rng: random.Random, tickets: list[Ticket], now: Any) -> None:
        """Demo tickets look like three months of work, not one second of it."""
        for ticket in tickets:
            created = now - timedelta(days=rng.randint(1, 90), minutes=rng.randint(0, 600))
            updated = created + (now - created) * rng.random()
            Ticket.objects.filter(pk=ticket.pk).update(created_at=created, updated_at=updated)
            step = (updated - created) / max(ticket.articles.count(), 1)
            for n, article in enumerate(ticket.articles.order_by("id")):
                article.created_at = created + step * n + timedelta(minutes=5)
                article.save(update_fields=["created_at"])
