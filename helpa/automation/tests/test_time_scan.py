"""The time scan asks the database what it can answer exactly (status, priority, channel,
minutes — also since the last customer message —, queue, type, category, company) and the
engine the rest (words), and reads a ticket's texts again only when they changed: the tickets
it finds must be those on which the engine, looking at every line, finds the rule holds."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from helpa.accounts.models import User
from helpa.automation import engine, timed
from helpa.crm.models import Company, Contact
from helpa.tickets import actions
from helpa.tickets.models import ArticleKind, Category, Priority, Queue, Status, Ticket, TicketType


def engine_says(rule: engine.CompiledRule, now: Any) -> set[int]:
    """Every ticket in the rule's scope (not closed unless a line asks), every line by the
    engine: what the scan must find."""
    tickets = Ticket.objects.all()
    if rule.queue_id:
        tickets = tickets.filter(queue_id=rule.queue_id)
    if not any(
        x.fields == ["status"] and not x.negate and Status.CLOSED in x.values for x in rule.lines
    ):
        tickets = tickets.exclude(status=Status.CLOSED)
    ids = list(tickets.values_list("pk", flat=True))
    facts = engine.facts_for_tickets(ids, now=now)
    return {pk for pk, f in facts.items() if all(x.holds for x in rule.evaluate(f, explain=True))}


RULES: list[dict[str, Any]] = [
    {"lines": [{"fields": ["status"], "values": ["new"]}]},
    {"lines": [{"fields": ["status"], "values": ["new", "closed"]}]},
    {"lines": [{"fields": ["status"], "values": ["open"], "negate": True}]},
    {"lines": [{"fields": ["priority"], "values": ["high"]}]},
    {"lines": [{"fields": ["channel"], "values": ["email"], "negate": True}]},
    {"lines": [{"fields": ["minutes_since_created"], "values": ["120"]}]},
    {"lines": [{"fields": ["minutes_since_changed"], "values": ["<30"]}]},
    {"lines": [{"fields": ["minutes_since_changed"], "values": ["=0"]}]},
    {"lines": [{"fields": ["minutes_since_created", "minutes_since_changed"], "values": ["=45"]}]},
    {"lines": [{"fields": ["minutes_since_customer_message"], "values": ["60"]}]},
    {"lines": [{"fields": ["minutes_since_customer_message"], "values": [">60"], "negate": True}]},
    {"lines": [{"fields": ["minutes_since_customer_message"], "values": ["<=10", "=200"]}]},
    {
        "lines": [
            {
                "fields": ["minutes_since_customer_message", "minutes_since_created"],
                "values": ["90"],
            }
        ]
    },
    {"lines": [{"fields": ["type"], "values": ["Fault"]}]},
    {"lines": [{"fields": ["type"], "values": ["fault"], "negate": True}]},
    {"lines": [{"fields": ["category"], "values": ["Bill*"]}]},
    {"lines": [{"fields": ["company"], "values": ["*AB"]}]},
    {"lines": [{"fields": ["company"], "values": ["Acme AB"], "negate": True}]},
    {"lines": [{"fields": ["queue"], "values": ["billing"]}]},
    {"lines": [{"fields": ["queue"], "values": ["Support"], "negate": True}]},
    {"lines": [{"fields": ["subject", "body"], "values": ["faktura", "tomat*"]}]},
    {"lines": [{"fields": ["body"], "values": ["*kapad*"], "negate": True}]},
    {"lines": [{"fields": ["from"], "values": ["*@klarna.se", "Björn"]}]},
    {"lines": [{"fields": ["to_cc"], "values": ["*@example.com"]}]},
    {
        "queue": "support",
        "lines": [
            {"fields": ["status"], "values": ["new", "open"]},
            {"fields": ["subject"], "values": ["brådskande"]},
            {"fields": ["minutes_since_created"], "values": [">=30"]},
            {"fields": ["type"], "values": ["Fault"], "negate": True},
        ],
    },
]


@pytest.fixture
def desk(alice: User, queue_support: Queue, queue_billing: Queue) -> dict[str, Any]:
    """Tickets of every kind, made at `start`; then two hours pass."""
    fault = TicketType.objects.create(name="Fault")
    billing = Category.objects.create(name="Billing")
    acme = Company.objects.create(name="Acme AB")
    other = Company.objects.create(name="Other Oy")
    klarna = Contact.objects.create(name="Ekonomi", email="Ekonomi@Klarna.se", company=acme)
    bjorn = Contact.objects.create(name="Björn Ærø", email="bjorn@example.no", company=other)
    start = timezone.now()
    made = []
    with time_machine.travel(start, tick=False) as clock:
        specs = [
            ("Fråga om faktura", klarna, queue_support, {"type": fault}),
            ("Tomatsoppa", bjorn, queue_billing, {"category": billing}),
            ("Kontot är kapad", None, queue_support, {"priority": Priority.HIGH}),
            ("Brådskande", klarna, queue_support, {}),
            ("BRÅDSKANDE igen", bjorn, queue_support, {"type": fault}),
            ("Hej", None, queue_billing, {}),
        ]
        for n, (title, contact, queue, fields) in enumerate(specs):
            clock.move_to(start + timedelta(minutes=n))
            ticket = actions.open_ticket(alice, queue=queue, title=title, contact=contact)
            Ticket.objects.filter(pk=ticket.pk).update(
                channel="email" if n % 2 else "phone", company=contact and contact.company, **fields
            )
            made.append(ticket)
        clock.move_to(start + timedelta(minutes=10))
        actions.add_article(
            actions.Actor(name="Mail"), made[0], ArticleKind.CUSTOMER, "<p>Min betalning</p>"
        )
        clock.move_to(start + timedelta(minutes=70))
        actions.add_article(
            actions.Actor(name="Mail"), made[2], ArticleKind.CUSTOMER, "<p>Skapades igår</p>"
        )
        actions.update_ticket(
            alice, Ticket.objects.get(pk=made[1].pk), {"status": Status.OPEN, "owner": alice}
        )
        closed = Ticket.objects.get(pk=made[5].pk)
        Ticket.objects.filter(pk=closed.pk).update(status=Status.CLOSED)
    return {"start": start, "tickets": made}


def test_the_scan_finds_what_the_engine_finds(make_rule: Any, desk: dict[str, Any]) -> None:
    for n, data in enumerate(RULES):
        make_rule(f"Rule {n:02d}", events=["time"], **data)
    rules = engine.load_rules("time")
    for minutes in (0, 44, 45, 46, 60, 75, 119, 120, 121, 200, 270):
        now = desk["start"] + timedelta(minutes=minutes, seconds=30)
        for rule in rules:
            assert timed.holding(rule, now) == engine_says(rule, now), (rule.name, minutes)
    # and the same again, from what the scan remembers of each ticket's words
    for rule in rules:
        assert timed.holding(rule, now) == engine_says(rule, now), rule.name


def test_the_database_answers_every_line_but_words(make_rule: Any, desk: dict[str, Any]) -> None:
    for n, data in enumerate(RULES):
        make_rule(f"Rule {n:02d}", events=["time"], **data)
    now = timezone.now()
    left = {r.name: timed._split(r, now)[1] for r in engine.load_rules("time")}
    word_rules = {f"Rule {n:02d}" for n in (7, 20, 21, 22, 23, 24)}  # and "=0"
    assert {name for name, lines in left.items() if lines} == word_rules


def test_changed_texts_are_read_again(make_rule: Any, desk: dict[str, Any], alice: User) -> None:
    make_rule(
        "Invoices",
        events=["time"],
        lines=[{"fields": ["subject", "body", "from"], "values": ["faktura", "*@klarna.se"]}],
    )
    rule = engine.load_rules("time")[0]
    first, second, *_ = desk["tickets"]
    assert first.pk in timed.holding(rule, timezone.now())
    assert second.pk not in timed.holding(rule, timezone.now())
    # The customer's message changes the body; the contact's address changes without the
    # ticket changing at all: both are seen at the next scan.
    actions.add_article(
        actions.Actor(name="Mail"), second, ArticleKind.CUSTOMER, "<p>Ny faktura</p>"
    )
    assert second.pk in timed.holding(rule, timezone.now())
    Contact.objects.filter(email="Ekonomi@Klarna.se").update(email="ekonomi@example.com")
    Ticket.objects.filter(pk=first.pk).update(title="Fråga")
    assert first.pk not in timed.holding(rule, timezone.now())
    reads = []
    facts_for_tickets = engine.facts_for_tickets

    def counting(ids: list[int], **kwargs: Any) -> Any:
        reads.extend(ids)
        return facts_for_tickets(ids, **kwargs)

    engine.facts_for_tickets = counting  # type: ignore[assignment]
    try:
        timed.holding(rule, timezone.now())
        assert reads == []  # nothing changed since the last look
        Contact.objects.filter(name="Björn Ærø").update(name="Björn Faktura")
        assert second.pk in timed.holding(rule, timezone.now())
        assert set(reads) == {t.pk for t in desk["tickets"] if t.contact_id == second.contact_id}
    finally:
        engine.facts_for_tickets = facts_for_tickets  # type: ignore[assignment]
