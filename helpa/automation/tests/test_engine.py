"""Rules on real tickets: order, actions through the ticket actions, events, time episodes."""

from datetime import timedelta
from typing import Any

import pytest
import time_machine
from django.utils import timezone

from helpa.accounts.models import Team, User
from helpa.automation import engine
from helpa.automation.models import Rule, RuleFiring
from helpa.automation.tests.conftest import mail
from helpa.automation.timed import run_time_rules
from helpa.lib import events
from helpa.mail.parsing import parse_message
from helpa.tickets import actions
from helpa.tickets.models import (
    ArticleKind,
    Category,
    Channel,
    HistoryEntry,
    Priority,
    Status,
    Ticket,
    TicketType,
)

INVOICES = {
    "weight": 10,
    "events": ["new", "reply"],
    "lines": [
        {"fields": ["subject", "body"], "values": ["faktura", "betalning"]},
        {"fields": ["from"], "values": ["*@klarna.se"]},
    ],
    "actions": [
        {"action": "set_priority", "value": "high"},
        {"action": "set_category", "value": "Billing"},
    ],
}


@pytest.fixture
def billing_category(db: None) -> Category:
    return Category.objects.create(name="Billing")


def history(ticket: Ticket, field: str) -> list[tuple[str, str]]:
    return list(
        HistoryEntry.objects.filter(ticket=ticket, field=field).values_list(
            "actor_name", "new_value"
        )
    )


def customer_says(ticket: Ticket, text: str) -> None:
    actions.add_article(actions.Actor(name="Mail"), ticket, ArticleKind.CUSTOMER, f"<p>{text}</p>")


# --- The source's example, through the mail pipeline ------------------------------------------


def test_invoice_mail_from_klarna_gets_priority_and_category(
    make_rule, billing_category, deliver
) -> None:
    make_rule("Invoices", **INVOICES)
    ticket = deliver(mail())
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert ticket.category == billing_category
    assert history(ticket, "priority") == [("Rule: Invoices", "3")]
    assert history(ticket, "category") == [("Rule: Invoices", "Billing")]
    rule = Rule.objects.get(name="Invoices")
    assert rule.hit_count == 1 and rule.last_hit_at is not None


def test_the_same_words_from_another_sender_do_not_match(
    make_rule, billing_category, deliver
) -> None:
    make_rule("Invoices", **INVOICES)
    ticket = deliver(mail(sender="kalle@example.com"))
    ticket.refresh_from_db()
    assert ticket.priority == Priority.MEDIUM and ticket.category is None
    assert Rule.objects.get().hit_count == 0


def test_an_inactive_rule_does_nothing(make_rule, billing_category, deliver) -> None:
    make_rule("Invoices", **{**INVOICES, "active": False})
    ticket = deliver(mail())
    ticket.refresh_from_db()
    assert ticket.priority == Priority.MEDIUM


def test_a_rule_of_another_queue_does_nothing(
    make_rule, billing_category, deliver, queue_billing
) -> None:
    make_rule("Invoices", **{**INVOICES, "queue": "billing"})
    assert deliver(mail()).priority == Priority.MEDIUM
    make_rule("Invoices", **{**INVOICES, "queue": "support"})
    ticket = deliver(mail(subject="Ny faktura"))
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH


# --- Order, weights, continue, negation ------------------------------------------------------


def test_lowest_weight_wins_and_stops(make_rule, alice, queue_support) -> None:
    make_rule("Low", weight=10, actions=[{"action": "set_priority", "value": "low"}])
    make_rule("High", weight=1, actions=[{"action": "set_priority", "value": "high"}])
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH
    assert dict(Rule.objects.values_list("name", "hit_count")) == {"Low": 0, "High": 1}


def test_equal_weights_go_by_name(make_rule, alice, queue_support) -> None:
    make_rule("B rule", weight=5, actions=[{"action": "set_priority", "value": "low"}])
    make_rule("A rule", weight=5, actions=[{"action": "set_priority", "value": "high"}])
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH


def test_continue_applies_and_goes_on(make_rule, alice, queue_support, billing_category) -> None:
    make_rule(
        "First",
        weight=1,
        **{"continue": True},
        actions=[
            {"action": "set_priority", "value": "low"},
            {"action": "add_note", "value": "Closed today: special answer."},
        ],
    )
    make_rule(
        "Second",
        weight=2,
        actions=[
            {"action": "set_priority", "value": "high"},
            {"action": "set_category", "value": "Billing"},
        ],
    )
    make_rule("Third", weight=3, actions=[{"action": "set_priority", "value": "medium"}])
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket.refresh_from_db()
    assert ticket.priority == Priority.HIGH and ticket.category == billing_category
    assert history(ticket, "priority") == [("Rule: First", "1"), ("Rule: Second", "3")]
    assert dict(Rule.objects.values_list("name", "hit_count")) == {
        "First": 1,
        "Second": 1,
        "Third": 0,
    }


def test_negated_line(make_rule, alice, queue_support) -> None:
    make_rule(
        "Not spam",
        lines=[{"fields": ["subject"], "values": ["reklam", "erbjudande"], "negate": True}],
    )
    spam = actions.open_ticket(alice, queue=queue_support, title="Ett erbjudande")
    real = actions.open_ticket(alice, queue=queue_support, title="Skrivaren krånglar")
    spam.refresh_from_db()
    real.refresh_from_db()
    assert spam.priority == Priority.MEDIUM and real.priority == Priority.HIGH


def test_all_lines_must_hold(make_rule, alice, queue_support) -> None:
    make_rule(
        "Both",
        lines=[
            {"fields": ["subject"], "values": ["orderbekräftelse"]},
            {"fields": ["body"], "values": ["leverans", "frakt", "utkörning"]},
            {"fields": ["channel"], "values": ["agent"]},
        ],
    )
    one = actions.open_ticket(alice, queue=queue_support, title="Orderbekräftelse 123")
    both = actions.open_ticket(
        alice,
        queue=queue_support,
        title="Orderbekräftelse 124",
        description="<p>När sker utkörning?</p>",
    )
    assert Ticket.objects.get(pk=one.pk).priority == Priority.MEDIUM
    assert Ticket.objects.get(pk=both.pk).priority == Priority.HIGH


# --- Each action, with the rule as author -----------------------------------------------------


def test_every_field_action_goes_through_the_ticket_actions(
    make_rule, alice, bob, queue_support, queue_billing, billing_category
) -> None:
    TicketType.objects.create(name="Fault")
    team = Team.objects.create(name="Economy")
    make_rule(
        "Everything",
        actions=[
            {"action": "set_priority", "value": "High"},
            {"action": "set_type", "value": "fault"},
            {"action": "set_category", "value": "billing"},
            {"action": "set_queue", "value": "billing"},
            {"action": "set_team", "value": "Economy"},
            {"action": "set_owner", "value": "bob@example.com"},
            {"action": "set_status", "value": "open"},
            {"action": "add_follower", "value": "alice@example.com"},
            {"action": "add_note", "value": "Routed by a rule.\n\nSecond paragraph."},
        ],
    )
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.priority == Priority.HIGH
    assert ticket.type.name == "Fault" and ticket.category == billing_category
    assert ticket.queue == queue_billing and ticket.team == team
    assert ticket.owner == bob and ticket.status == Status.OPEN
    assert list(ticket.followers.all()) == [alice]
    note = ticket.articles.get(kind=ArticleKind.NOTE)
    assert note.author_name == "Rule: Everything"
    assert note.body_html == "<p>Routed by a rule.</p><p>Second paragraph.</p>"
    authors = set(
        HistoryEntry.objects.filter(ticket=ticket)
        .exclude(field="created")
        .values_list("actor_name", flat=True)
    )
    assert authors == {"Rule: Everything"}
    fields = set(HistoryEntry.objects.filter(ticket=ticket).values_list("field", flat=True))
    assert {"priority", "type", "category", "queue", "team", "owner", "status"} <= fields
    assert "follower_added" in fields


def test_a_refused_change_is_a_note_not_a_failure(make_rule, alice, queue_support) -> None:
    make_rule("Open it", actions=[{"action": "set_status", "value": "open"}])
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.NEW
    note = ticket.articles.get(kind=ArticleKind.NOTE)
    assert "Open it" in note.body_text and "owner" in note.body_text


def test_an_alarm_is_published_for_mail_to_send(make_rule, alice, queue_support) -> None:
    heard: list[dict[str, Any]] = []

    @events.subscribe("automation.alarm", when="inside")
    def listen(**payload: Any) -> None:
        heard.append(payload)

    try:
        make_rule(
            "Alarm",
            actions=[
                {
                    "action": "raise_alarm",
                    "recipients": ["boss@example.com"],
                    "value": "Something burns",
                }
            ],
        )
        ticket = actions.open_ticket(alice, queue=queue_support, title="Fire")
    finally:
        events._subscribers["automation.alarm"].remove((listen, "inside"))
    assert heard == [
        {
            "ticket": ticket,
            "rule": "Alarm",
            "recipients": ["boss@example.com"],
            "text": "Something burns",
            "trigger": "new",
        }
    ]


# --- New, reply, time --------------------------------------------------------------------------


def test_reply_rules_run_on_customer_messages_only(make_rule, alice, queue_support) -> None:
    make_rule(
        "Close on request",
        events=["reply"],
        lines=[
            {"fields": ["status"], "values": ["Waiting on contact"]},
            {"fields": ["body"], "values": ["stäng!"]},
        ],
        actions=[{"action": "set_status", "value": "closed"}],
    )
    ticket = actions.open_ticket(
        alice, queue=queue_support, title="Stäng! det här", owner=alice, status=Status.WAITING
    )
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING  # not a new-ticket rule
    actions.add_note(alice, ticket, "<p>stäng! (an agent's note)</p>")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.WAITING
    customer_says(ticket, "Tack, det fungerar. Stäng!")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.status == Status.CLOSED
    assert history(ticket, "status")[-1] == ("Rule: Close on request", "closed")


def test_new_rules_wait_for_the_first_customer_message(make_rule, queue_support, contact) -> None:
    """Portal and mail open the ticket first and add the customer's text a moment later."""
    from helpa.portal.actions import create_ticket

    make_rule("Hacked", lines=[{"fields": ["body"], "values": ["kapad"]}])
    make_rule("Replies", events=["reply"], actions=[{"action": "set_priority", "value": "low"}])
    ticket = create_ticket(
        contact, queue=queue_support, title="Hjälp", body_html="<p>Mitt konto är kapad!</p>"
    )
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.priority == Priority.HIGH
    assert dict(Rule.objects.values_list("name", "hit_count")) == {"Hacked": 1, "Replies": 0}


def test_a_mail_reply_is_a_reply_event(make_rule, deliver, billing_category) -> None:
    make_rule(
        "Reply",
        events=["reply"],
        lines=[{"fields": ["subject"], "values": ["*"]}],
        actions=[{"action": "add_note", "value": "The customer answered."}],
    )
    ticket = deliver(mail())
    assert not ticket.articles.filter(kind=ArticleKind.NOTE).exists()
    deliver(mail(subject=f"Re: [#{ticket.number}] Fråga om faktura", body="Här är den."))
    assert ticket.articles.filter(kind=ArticleKind.NOTE).count() == 1


def test_rules_do_not_trigger_themselves(make_rule, alice, queue_support, queue_billing) -> None:
    make_rule(
        "Noter",
        events=["new", "reply"],
        actions=[
            {"action": "add_note", "value": "note"},
            {"action": "set_queue", "value": "billing"},
        ],
    )
    make_rule(
        "Billing new",
        weight=20,
        queue="billing",
        actions=[{"action": "set_priority", "value": "low"}],
    )
    ticket = actions.open_ticket(alice, queue=queue_support, title="Hello")
    ticket = Ticket.objects.get(pk=ticket.pk)
    assert ticket.queue == queue_billing and ticket.priority == Priority.MEDIUM
    assert ticket.articles.filter(kind=ArticleKind.NOTE).count() == 1
    assert dict(Rule.objects.values_list("name", "hit_count")) == {"Noter": 1, "Billing new": 0}


WATCH_NEW = {
    "events": ["time"],
    "lines": [
        {"fields": ["status"], "values": ["new"]},
        {"fields": ["minutes_since_created"], "values": ["120"]},
    ],
    "actions": [
        {"action": "set_priority", "value": "high"},
        {"action": "add_note", "value": "New for two hours."},
    ],
}


def test_time_rule_fires_once_per_episode(make_rule, alice, bob_agent, queue_support) -> None:
    start = timezone.now()
    make_rule("Watch new", **WATCH_NEW)
    with time_machine.travel(start, tick=False) as clock:
        ticket = actions.open_ticket(alice, queue=queue_support, title="Waiting")
        other = actions.open_ticket(
            alice, queue=queue_support, title="Taken", owner=alice, status=Status.OPEN
        )
        clock.move_to(start + timedelta(minutes=119))
        assert run_time_rules() == 0
        clock.move_to(start + timedelta(minutes=121))
        assert run_time_rules() == 1
        for minute in range(122, 130):
            clock.move_to(start + timedelta(minutes=minute))
            assert run_time_rules() == 0
        notes = ticket.articles.filter(kind=ArticleKind.NOTE)
        assert notes.count() == 1 and notes.get().author_name == "Rule: Watch new"
        assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH
        assert Ticket.objects.get(pk=other.pk).priority == Priority.MEDIUM
        # The condition breaks: the episode ends.
        actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.OPEN})
        clock.move_to(start + timedelta(minutes=131))
        assert run_time_rules() == 0
        assert not RuleFiring.objects.exists()
        # …and holds again: a new episode, one more firing.
        actions.update_ticket(alice, ticket, {"status": Status.NEW})
        clock.move_to(start + timedelta(minutes=132))
        assert run_time_rules() == 1
        clock.move_to(start + timedelta(minutes=133))
        assert run_time_rules() == 0
    assert ticket.articles.filter(kind=ArticleKind.NOTE).count() == 2
    assert Rule.objects.get().hit_count == 2


def test_time_rule_since_last_change(make_rule, alice, queue_support) -> None:
    start = timezone.now()
    make_rule(
        "Stale",
        events=["time"],
        lines=[{"fields": ["minutes_since_changed"], "values": [">=60"]}],
        actions=[{"action": "add_follower", "value": "alice@example.com"}],
    )
    with time_machine.travel(start, tick=False) as clock:
        ticket = actions.open_ticket(alice, queue=queue_support, title="Quiet")
        clock.move_to(start + timedelta(minutes=30))
        actions.update_ticket(alice, ticket, {"priority": Priority.LOW})
        clock.move_to(start + timedelta(minutes=80))
        assert run_time_rules() == 0
        clock.move_to(start + timedelta(minutes=91))
        assert run_time_rules() == 1
    assert list(Ticket.objects.get(pk=ticket.pk).followers.all()) == [alice]


def test_two_scans_at_once_fire_once(make_rule, alice, queue_support) -> None:
    """The unique firing row is the claim: a scan that finds it taken fires nothing."""
    start = timezone.now()
    rule = make_rule("Watch new", **WATCH_NEW)
    with time_machine.travel(start, tick=False) as clock:
        ticket = actions.open_ticket(alice, queue=queue_support, title="Waiting")
        clock.move_to(start + timedelta(minutes=121))
        compiled = engine.load_rules("time")
        from helpa.automation.timed import _fire

        RuleFiring.objects.create(rule=rule, ticket=ticket)  # the other worker, just now
        assert _fire(compiled, ticket.pk, timezone.now()) == 0
    assert not ticket.articles.filter(kind=ArticleKind.NOTE).exists()


def test_closed_tickets_are_left_alone_by_time_rules(make_rule, alice, queue_support) -> None:
    make_rule(
        "Old",
        events=["time"],
        lines=[{"fields": ["minutes_since_created"], "values": ["0"]}],
        actions=[{"action": "add_note", "value": "x"}],
    )
    ticket = actions.open_ticket(alice, queue=queue_support, title="Done", owner=alice)
    actions.close_ticket(alice, ticket)
    assert run_time_rules() == 0


# --- Loaded once per event --------------------------------------------------------------------


def _rules(make_rule, n: int) -> None:
    for i in range(n):
        make_rule(
            f"Rule {i:03}",
            weight=i,
            lines=[
                {"fields": ["subject", "body"], "values": [f"word{i}", f"other{i}*"]},
                {"fields": ["from", "to_cc"], "values": ["*@klarna.se"]},
                {"fields": ["status"], "values": ["new"]},
            ],
        )


@pytest.mark.parametrize("n", [1, 40])
def test_queries_do_not_grow_with_the_rules(
    make_rule, alice, queue_support, n, django_assert_max_num_queries
) -> None:
    _rules(make_rule, n)
    # Creating the ticket and indexing it: 9; the rules, their lines and actions: 3; the
    # ticket's facts and its To/Cc: 2 — whether there is one rule or forty.
    with django_assert_max_num_queries(14):
        actions.open_ticket(alice, queue=queue_support, title="Nothing matches here")


def test_queries_of_a_mail_with_rules(make_rule, deliver, django_assert_max_num_queries) -> None:
    _rules(make_rule, 30)
    with django_assert_max_num_queries(41) as captured:
        deliver(mail(subject="Nothing matches", body="at all"))
    rule_queries = [q for q in captured.captured_queries if "automation_rule" in q["sql"]]
    assert len(rule_queries) == 3  # rules, lines, actions: once for the event
    # …and kept for a few seconds: the next mail reads no rule at all.
    with django_assert_max_num_queries(41) as captured:
        deliver(mail(subject="Nothing matches either", body="at all"))
    assert not [q for q in captured.captured_queries if "automation_rule" in q["sql"]]


def test_without_rules_an_event_costs_no_query(
    alice, queue_support, django_assert_num_queries
) -> None:
    """The mail pipeline counts its statements: rules that are not there must add none."""
    from helpa.automation import subscribers

    ticket = actions.open_ticket(alice, queue=queue_support, title="Warm")  # rules read: none
    article = actions.add_note(alice, ticket, "<p>x</p>")
    article.kind = ArticleKind.CUSTOMER
    parsed = parse_message(mail())
    engine.load_rules("reply")  # read once; then kept for a few seconds
    with django_assert_num_queries(0):
        subscribers.rules_on_new_ticket(ticket, actions.as_actor(alice))
        subscribers.rules_on_customer_message(ticket, article)
        subscribers.rules_on_new_ticket(ticket, actions.Actor(name="Mail"))
        subscribers.rules_on_customer_message(ticket, article)
        subscribers.answer_the_mail_pipeline(parsed, queue_support, None, {})


# --- What the mail pipeline may ask ------------------------------------------------------------


def test_mail_received_answers_the_pipeline(make_rule, queue_support, billing_category) -> None:
    make_rule(
        "Closed today",
        weight=1,
        **{"continue": True},
        lines=[{"fields": ["to_cc"], "values": ["*@example.com"]}],
        actions=[{"action": "send_auto_reply", "value": "We are closed today."}],
    )
    make_rule(
        "Quiet",
        weight=2,
        lines=[{"fields": ["from"], "values": ["*@klarna.se"]}],
        actions=[{"action": "suppress_auto_reply"}],
    )
    parsed = parse_message(mail())
    decision: dict[str, Any] = {}
    events.publish(
        "mail.received", parsed=parsed, queue=queue_support, ticket=None, decision=decision
    )
    assert decision == {
        "matched": ["Closed today", "Quiet"],
        "suppress_auto_reply": True,
        "auto_reply_text": "",
        "force_new_ticket": False,
    }


def test_force_new_ticket_for_replies(make_rule, deliver) -> None:
    ticket = deliver(mail())
    make_rule(
        "Always new",
        events=["reply"],
        lines=[{"fields": ["subject"], "values": ["ny fråga"]}],
        actions=[{"action": "force_new_ticket"}],
    )
    parsed = parse_message(mail(subject=f"Re: [#{ticket.number}] Ny fråga"))
    decision: dict[str, Any] = {}
    events.publish(
        "mail.received", parsed=parsed, queue=ticket.queue, ticket=ticket, decision=decision
    )
    assert decision["force_new_ticket"] is True


def test_the_mail_in_hand_gives_to_and_cc(make_rule, queue_support, contact) -> None:
    """When mail publishes mail.received, the new ticket's rules see the mail's To/Cc."""
    make_rule("CC boss", lines=[{"fields": ["to_cc"], "values": ["boss@example.com"]}])
    parsed = parse_message(mail(cc="Boss <boss@example.com>"))
    decision: dict[str, Any] = {}
    from django.db import transaction

    with transaction.atomic():
        events.publish(
            "mail.received", parsed=parsed, queue=queue_support, ticket=None, decision=decision
        )
        ticket = actions.open_ticket(
            actions.Actor(name="Mail"),
            queue=queue_support,
            title=parsed.subject,
            channel=Channel.EMAIL,
        )
        customer_says(ticket, parsed.text)
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH


def test_user_fixture_sanity(alice: User) -> None:
    assert alice.is_agent


CLOSE_ON_REQUEST = {
    "events": ["reply"],
    "lines": [
        {"fields": ["status"], "values": ["Hos kontakt"]},  # ServIT's name for it, in Swedish
        {"fields": ["body"], "values": ["stäng!"]},
    ],
    "actions": [{"action": "set_status", "value": "closed"}],
}


def test_a_portal_reply_closed_by_a_rule_stays_closed(
    make_rule, alice, queue_support, contact
) -> None:
    """The portal reopens a waiting ticket its customer answers, unless a rule closed it."""
    from helpa.portal.actions import add_message

    make_rule("Close on request", **CLOSE_ON_REQUEST)
    ticket = actions.open_ticket(
        alice, queue=queue_support, title="Q", owner=alice, status=Status.WAITING, contact=contact
    )
    add_message(contact, Ticket.objects.get(pk=ticket.pk), "<p>Tack! Stäng!</p>")
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED
    other = actions.open_ticket(
        alice, queue=queue_support, title="Q", owner=alice, status=Status.WAITING, contact=contact
    )
    add_message(contact, Ticket.objects.get(pk=other.pk), "<p>Det fungerar fortfarande inte</p>")
    assert Ticket.objects.get(pk=other.pk).status == Status.OPEN  # the portal's own reopening


def test_a_mail_reply_closed_by_a_rule_stays_closed(make_rule, deliver, alice) -> None:
    make_rule("Close on request", **CLOSE_ON_REQUEST)
    ticket = deliver(mail())
    actions.update_ticket(alice, ticket, {"owner": alice, "status": Status.WAITING})
    deliver(mail(subject=f"Re: [#{ticket.number}] Fråga om faktura", body="Tack, stäng!"))
    assert Ticket.objects.get(pk=ticket.pk).status == Status.CLOSED


def test_an_owner_set_by_a_rule_is_told_once(make_rule, alice, bob, queue_support) -> None:
    told: list[tuple[str, str]] = []

    @events.subscribe("ticket.assigned", when="inside")
    def listen(ticket: Ticket, actor: Any, owner: User, **_payload: Any) -> None:
        told.append((actor.label, owner.email))

    try:
        make_rule("To Bob", actions=[{"action": "set_owner", "value": "bob@example.com"}])
        actions.open_ticket(alice, queue=queue_support, title="Hello")
        actions.open_ticket(alice, queue=queue_support, title="Mine", owner=alice)
    finally:
        events._subscribers["ticket.assigned"].remove((listen, "inside"))
    assert told == [("Rule: To Bob", "bob@example.com"), ("Rule: To Bob", "bob@example.com")]


def test_from_is_who_wrote_the_message(make_rule, alice, queue_support, contact) -> None:
    from helpa.crm.models import Contact

    make_rule(
        "From Klarna",
        events=["reply"],
        lines=[{"fields": ["from"], "values": ["*@klarna.se"]}],
    )
    ticket = actions.open_ticket(alice, queue=queue_support, title="Q", contact=contact)
    actions.add_article(
        actions.Actor(name="Mail"), ticket, ArticleKind.CUSTOMER, "<p>Hej</p>", contact=contact
    )
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.MEDIUM
    colleague = Contact.objects.create(name="Eva", email="eva@klarna.se")
    actions.add_article(
        actions.Actor(name="Mail"), ticket, ArticleKind.CUSTOMER, "<p>Hej</p>", contact=colleague
    )
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH


def test_the_sources_watch_rule_with_created_or_changed_in_one_line(
    make_rule, alice, queue_support
) -> None:
    """ServIT: "Status Nytt" and "120 minutes since the ticket was created or changed"."""
    from helpa.automation.timed import prefilter

    rule = make_rule(
        "Unhandled",
        events=["time"],
        lines=[
            {"fields": ["status"], "values": ["Nytt"]},
            {"fields": ["minutes_since_created", "minutes_since_changed"], "values": ["120"]},
        ],
        actions=[{"action": "add_note", "value": "Nobody has taken this."}],
    )
    assert rule.lines.last().fields == ["minutes_since_created", "minutes_since_changed"]
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ticket = actions.open_ticket(alice, queue=queue_support, title="Waiting")
        clock.move_to(start + timedelta(minutes=121))
        compiled = engine.load_rules("time")[0]
        sql = str(Ticket.objects.filter(prefilter(compiled, timezone.now())).query)
        assert "created_at" in sql and "updated_at" in sql and "status" in sql
        assert run_time_rules() == 1
    assert ticket.articles.filter(kind=ArticleKind.NOTE).count() == 1


def test_minutes_since_the_last_customer_message(make_rule, alice, queue_support) -> None:
    make_rule(
        "Customer waits",
        events=["time"],
        lines=[
            {"fields": ["status"], "values": ["open"]},
            {"fields": ["minutes_since_customer_message"], "values": [">=30"]},
        ],
        actions=[{"action": "set_priority", "value": "high"}],
    )
    start = timezone.now()
    with time_machine.travel(start, tick=False) as clock:
        ticket = actions.open_ticket(
            alice, queue=queue_support, title="Q", owner=alice, status=Status.OPEN
        )
        silent = actions.open_ticket(
            alice, queue=queue_support, title="No message", owner=alice, status=Status.OPEN
        )
        clock.move_to(start + timedelta(minutes=10))
        customer_says(ticket, "Hallå?")
        clock.move_to(start + timedelta(minutes=39))
        assert run_time_rules() == 0
        clock.move_to(start + timedelta(minutes=41))
        assert run_time_rules() == 1
    assert Ticket.objects.get(pk=ticket.pk).priority == Priority.HIGH
    assert Ticket.objects.get(pk=silent.pk).priority == Priority.MEDIUM  # no message: no value


def test_applied_rules_are_published_with_what_they_ask_of_mail(
    make_rule, queue_support, contact
) -> None:
    from helpa.portal.actions import create_ticket

    heard: list[dict[str, Any]] = []

    @events.subscribe("automation.applied", when="inside")
    def listen(**payload: Any) -> None:
        heard.append(payload)

    try:
        make_rule("Quiet", actions=[{"action": "suppress_auto_reply"}])
        ticket = create_ticket(contact, queue=queue_support, title="Hej", body_html="<p>x</p>")
    finally:
        events._subscribers["automation.applied"].remove((listen, "inside"))
    assert heard == [
        {
            "ticket": ticket,
            "trigger": "new",
            "decision": {
                "matched": ["Quiet"],
                "suppress_auto_reply": True,
                "auto_reply_text": "",
                "force_new_ticket": False,
            },
        }
    ]
