"""The JSON file: export → import round trip, and bad files refused whole with clear errors."""

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from helpa.automation import transfer
from helpa.automation.models import Rule, RuleAction
from helpa.tickets.models import Category, Queue, Ticket

MAIL = Path(__file__).parent / "fixtures" / "mail" / "klarna_invoice.eml"

FILE = {
    "rules": [
        {
            "name": "Invoices",
            "weight": 10,
            "events": ["new", "reply"],
            "queue": None,
            "continue": False,
            "lines": [
                {
                    "fields": ["subject", "body"],
                    "values": ["faktura", "betalning"],
                    "negate": False,
                },
                {"fields": ["from"], "values": ["*@klarna.se"], "negate": False},
            ],
            "actions": [
                {"action": "set_priority", "value": "high"},
                {"action": "set_category", "value": "Billing"},
            ],
        },
        {
            "name": "Watch new",
            "weight": 1,
            "events": ["time"],
            "queue": "support",
            "active": True,
            "continue": True,
            "lines": [
                {"fields": ["status"], "values": ["Nytt"]},
                {"fields": ["minutes_since_created"], "values": ["120"]},
            ],
            "actions": [
                {"action": "raise_alarm", "recipients": ["Lead@Example.com"], "value": "Look"},
                {"action": "add_follower", "value": "alice@example.com"},
            ],
        },
    ]
}


@pytest.fixture
def billing_category(db: None) -> Category:
    return Category.objects.create(name="Billing")


def test_import_then_export_round_trip(alice, queue_support, billing_category, tmp_path) -> None:
    path = tmp_path / "rules.json"
    path.write_text(json.dumps(FILE), encoding="utf-8")
    out = StringIO()
    call_command("rules", "import", str(path), stdout=out)
    assert out.getvalue().strip() == "2 created, 0 updated"
    watch = Rule.objects.get(name="Watch new")
    assert watch.on_time and not watch.on_new and watch.queue == queue_support
    assert watch.lines.first().values == ["new"]  # the Swedish status name, stored as its code

    out = StringIO()
    call_command("rules", "export", stdout=out)
    exported = json.loads(out.getvalue())
    assert [r["name"] for r in exported["rules"]] == ["Watch new", "Invoices"]
    assert exported["rules"][0]["actions"] == [
        {"action": "raise_alarm", "value": "Look", "recipients": ["lead@example.com"]},
        {"action": "add_follower", "value": "alice@example.com"},
    ]
    assert exported["rules"][1]["lines"] == FILE["rules"][0]["lines"]

    # Importing the export again updates, by name, and changes nothing.
    path.write_text(json.dumps(exported), encoding="utf-8")
    out = StringIO()
    call_command("rules", "import", str(path), stdout=out)
    assert out.getvalue().strip() == "0 created, 2 updated"
    assert Rule.objects.count() == 2 and RuleAction.objects.count() == 4
    again = StringIO()
    call_command("rules", "export", stdout=again)
    assert json.loads(again.getvalue()) == exported


def _errors(data: object) -> list[str]:
    with pytest.raises(transfer.RuleErrors) as caught:
        transfer.import_rules(json.dumps(data) if not isinstance(data, str) else data)
    return caught.value.messages


def _rule(**changes: object) -> dict:
    return {"rules": [{**FILE["rules"][0], **changes}]}


def test_invalid_json(db) -> None:
    assert _errors("{rules: [")[0].startswith("The file is not valid JSON")
    assert _errors({"rule": []}) == ['The file must be a JSON object with a list "rules".']


def test_bad_rules_are_named_with_every_problem(alice, queue_support, billing_category) -> None:
    messages = _errors(
        _rule(
            lines=[
                {"fields": ["sender_name"], "values": ["x"]},
                {"fields": ["subject"], "values": ["fakt(ura|ur)"]},
                {"fields": ["body"], "values": [""]},
                {"fields": ["status"], "values": ["pending"]},
                {"fields": ["status", "subject"], "values": ["new"]},
            ],
            actions=[
                {"action": "set_colour", "value": "red"},
                {"action": "apply_template", "value": "Invoice"},
                {"action": "set_owner", "value": "nobody@example.com"},
            ],
        )
    )
    assert messages == [
        "Rule 1 “Invoices”, line 1: unknown field “sender_name”; the fields are: subject, body, "
        "from, to_cc, channel, status, queue, priority, type, category, company, "
        "minutes_since_created, minutes_since_changed, minutes_since_customer_message.",
        "Rule 1 “Invoices”, line 2: “fakt(ura|ur)” looks like a regular expression. Values are "
        "words or phrases with * as the only wildcard, e.g. faktura, tomat* or *@klarna.se.",
        "Rule 1 “Invoices”, line 3: An empty value matches nothing; write * to match any text.",
        "Rule 1 “Invoices”, line 4: “pending” is not a status; choose one of: closed, new, "
        "on_hold, open, resolved, waiting.",
        "Rule 1 “Invoices”, line 5: only subject, body, from and to_cc may share a line (or "
        "the minutes with each other); put status in lines of their own.",
        "Rule 1 “Invoices”, action 1: unknown action “set_colour”; the actions are: "
        "set_priority, set_type, set_category, set_queue, set_team, set_owner, set_status, "
        "add_follower, add_note, send_auto_reply, suppress_auto_reply, force_new_ticket, "
        "raise_alarm, raise_sms_alarm, apply_template.",
        "Rule 1 “Invoices”, action 2: there is no template “Invoice”.",
        "Rule 1 “Invoices”, action 3: no active agent has the address “nobody@example.com”.",
    ]
    assert not Rule.objects.exists()


def test_a_deleted_queue_stops_the_whole_import(queue_support, billing_category) -> None:
    good = FILE["rules"][0]
    bad = {**good, "name": "Moves", "actions": [{"action": "set_queue", "value": "sales"}]}
    scoped = {**good, "name": "Scoped", "queue": "gone"}
    messages = _errors({"rules": [good, bad, scoped]})
    assert messages == [
        "Rule 2 “Moves”, action 1: there is no queue “sales” (it may have been deleted).",
        "Rule 3 “Scoped”: there is no queue “gone” (it may have been deleted).",
    ]
    assert not Rule.objects.exists()  # not even the good one


def test_more_refusals(queue_support, billing_category) -> None:
    assert _errors(_rule(name=" ", events=["later"], brand="acme", lines=[], actions=[])) == [
        "Rule 1: the rule needs a name.",
        "Rule 1: events must be a list of one or more of: new, reply, time.",
        "Rule 1: there is no brand with the id “acme” (it may have been deleted).",
        "Rule 1: a rule needs at least one line (write the value * to match everything).",
        "Rule 1: a rule needs at least one action.",
    ]
    assert _errors(_rule(events=["time"], actions=[{"action": "suppress_auto_reply"}])) == [
        "Rule 1 “Invoices”, action 1: “suppress_auto_reply” acts on an incoming message: not "
        "for time rules."
    ]
    assert _errors({"rules": [FILE["rules"][0], FILE["rules"][0]]}) == [
        "The name “Invoices” is used by more than one rule in the file."
    ]
    assert _errors(
        _rule(actions=[{"action": "raise_alarm", "recipients": ["not an address"]}])
    ) == ["Rule 1 “Invoices”, action 1: “not an address” is not a mail address."]


def test_import_command_prints_the_errors(db, tmp_path) -> None:
    path = tmp_path / "rules.json"
    path.write_text("[1, 2", encoding="utf-8")
    with pytest.raises(CommandError, match="Nothing was imported:\n  The file is not valid JSON"):
        call_command("rules", "import", str(path))
    with pytest.raises(CommandError, match="No such file"):
        call_command("rules", "import", str(tmp_path / "missing.json"))


def test_simulate_a_mail(queue_support, billing_category, tmp_path) -> None:
    from helpa.mail.models import MailAddress

    MailAddress.objects.create(queue=queue_support, address="support@example.com")
    Queue.objects.create(name="Other", slug="other")
    transfer.import_rules(json.dumps({"rules": [{**FILE["rules"][0], "active": True}]}))
    out = StringIO()
    call_command("rules", "simulate", "--mail", str(MAIL), stdout=out)
    result = json.loads(out.getvalue())
    assert result == {
        "matched": ["Invoices"],
        "ticket": {
            "queue": "support",
            "status": "new",
            "priority": "high",
            "type": None,
            "category": "Billing",
            "team": None,
            "owner": None,
            "followers": [],
            "notes": [],
            "templates": [],
            "mail": {
                "suppress_auto_reply": False,
                "auto_reply_text": None,
                "force_new_ticket": False,
                "alarms": [],
            },
        },
    }
    out = StringIO()
    call_command("rules", "simulate", "--mail", str(MAIL), "--queue", "other", stdout=out)
    assert json.loads(out.getvalue())["ticket"]["queue"] == "other"
    with pytest.raises(CommandError, match="There is no queue “nope”"):
        call_command("rules", "simulate", "--mail", str(MAIL), "--queue", "nope")
    assert not Ticket.objects.exists()  # simulating changes nothing
