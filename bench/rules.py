"""Rules benchmark: 1,000 rules against a new mail (SQLite), and the every-minute time-rule scan
over 1,000,000 tickets (PostgreSQL).

    python -m bench.rules [--rules 1000] [--mails 200] [--runs 2000]
                          [--size 1000000] [--scans 5] [--keep] [--only mail|time]

Mail (issue 5, target: median under 5 ms): a fresh SQLite installation under var/bench/rules/
(deleted first) gets 1,000 active rules of the kinds admins write — words of Swedish and English
helpdesk topics on subject/body/from, phrases, `tomat*` prefixes and `*contains*` values,
`*@domain` senders, negated lines, status/priority/queue/channel lines, a third scoped to one
queue, some with "continue" — imported through `transfer.import_rules` like a rules file. Then
`subscribers.decide` is timed for 1 KB mails to the support queue: what the mail pipeline's
"mail.received" asks for every new mail (the rules from the per-process cache, the mail's
facts, evaluation, the outcome). The cache is refreshed outside the timing when it expires
(every few seconds in a real process); a cold load is reported on its own line.

Time scan (target: under 2 s): the PostgreSQL database `helpa_bench_<size>` that `python -m
bench` generates (made here if missing; `--keep` reuses a complete one, as `bench` does) gets
20 active time rules ("status New and 120 minutes since created", "waiting and 3 days since
the last change", …). One scan is `timed.run_time_rules`, what the worker calls every minute.
The episodes that already hold are recorded first (as earlier minutes would have), so the timed
scans are the steady state: the database's candidates, the engine's check, the episodes that
began or ended. Everything runs in one transaction that is rolled back: the generated database
stays as it was for the page benchmark.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "var" / "bench" / "rules"
TARGET_MAIL_MS = 5.0
TARGET_SCAN_S = 2.0
MAIL_QUEUE = "support"
QUEUES = ["support", "billing", "sales", "it", "hr", "logistik", "kassa", "webb", "mobil", "nordic"]

# --- The 1,000 mail rules --------------------------------------------------------------------

DOMAINS = [
    "klarna.se", "telia.se", "ikea.com", "volvo.com", "ica.se", "postnord.se", "sj.se",
    "skatteverket.se", "bjørn.no", "dnb.no", "danskebank.dk", "lego.com", "spotify.com",
    "ericsson.com", "hm.com", "abb.com", "scania.com", "saab.se", "vattenfall.se", "coop.se",
    "folksam.se", "nordea.se", "handelsbanken.se", "seb.se", "tele2.se", "telenor.no",
    "elgiganten.se", "clasohlson.se", "systembolaget.se", "apoteket.se", "1177.se", "kry.se",
    "bokus.com", "adlibris.com", "cdon.se", "blocket.se", "hemnet.se", "booking.com",
    "microsoft.com", "google.com", "apple.com", "amazon.de", "zalando.se", "åhlens.se",
    "örebro.se", "göteborg.se", "malmö.se", "umeå.se", "kommun.se", "region.se",
]  # fmt: skip
CUSTOMER_DOMAINS = ["example.se", "example.com", "gmail.com", "hotmail.com", "outlook.com"]
SPAM = ["reklam", "nyhetsbrev", "newsletter", "unsubscribe", "erbjudande", "kampanj", "rabatt*"]
PHRASES = [
    "kan inte logga in", "fungerar inte", "går inte att", "har inte fått", "vill avsluta",
    "cannot log in", "does not work", "password reset", "out of office", "ingen ström",
    "felaktig faktura", "dubbel debitering", "fel belopp", "saknar leverans", "trasig skärm",
]  # fmt: skip
NORDIC = ["*återbetal*", "ö*", "växel*", "*faktur*", "lösen*", "*ändring*", "bokför*", "søknad"]


def _words() -> tuple[list[list[str]], list[str]]:
    from bench.words import GENERAL, TOPICS

    return [t.split() for t in TOPICS], GENERAL


def _value(rng: random.Random, word: str, general: list[str]) -> str:
    """A topic word as an admin writes it: mostly whole, sometimes a prefix, a part or an
    ending — one that no general word has, so that the mails without the topic's words match
    no rule."""
    roll = rng.random()
    value, test = word, None
    if roll < 0.15 and len(word) > 5:
        value = word[: rng.randint(4, len(word) - 1)]
        test, value = str.startswith, value + "*"
    elif roll < 0.22 and len(word) > 6:
        start = rng.randint(1, len(word) - 5)
        value = word[start : start + 5]
        test, value = str.__contains__, "*" + value + "*"
    elif roll < 0.25 and len(word) > 8:
        value = word[-6:]
        test, value = str.endswith, "*" + value
    if test is not None and any(test(g, value.strip("*")) for g in general):
        return word
    return value


def mail_rules(count: int, seed: int = 5) -> list[dict[str, Any]]:
    """`count` active rules as in a rules file, a mix of what admins write."""
    rng = random.Random(seed)
    topics, general = _words()
    # A topic's own words (a rule on "service" would catch every mail that says it).
    topics = [[w for w in t if w not in general] for t in topics]
    actions = [
        [{"action": "set_priority", "value": "high"}],
        [{"action": "set_category", "value": "Billing"}],
        [{"action": "set_queue", "value": "billing"}],
        [{"action": "set_team", "value": "Ekonomi"}],
        [{"action": "add_note", "value": "Check the customer's contract first."}],
        [{"action": "suppress_auto_reply"}],
        [{"action": "send_auto_reply", "value": "Tack! Vi återkommer inom en arbetsdag."}],
        [{"action": "add_follower", "value": "chef@bench.test"}],
        [{"action": "raise_alarm", "value": "Viktig kund", "recipients": ["chef@bench.test"]}],
        [{"action": "set_type", "value": "Incident"}, {"action": "set_priority", "value": "low"}],
    ]
    rules = []
    for n in range(count):
        lines: list[dict[str, Any]] = []
        topic = rng.choice(topics)
        kind = rng.random()
        if kind < 0.40:  # topic words in subject/body, mostly with a sender or a second word
            fields = rng.choice([["subject"], ["subject", "body"], ["body"]])
            values = [_value(rng, w, general) for w in rng.sample(topic, rng.randint(1, 4))]
            lines.append({"fields": fields, "values": values})
            second = rng.random()
            if second < 0.5:
                domains = rng.sample(DOMAINS, rng.randint(1, 3))
                lines.append({"fields": ["from"], "values": [f"*@{d}" for d in domains]})
            elif second < 0.8:
                lines.append({"fields": ["subject", "body"], "values": rng.sample(general, 2)})
        elif kind < 0.65:  # a sender: a domain, an address, a name
            values = [f"*@{d}" for d in rng.sample(DOMAINS, rng.randint(1, 4))]
            if rng.random() < 0.3:
                values.append(f"ekonomi@{rng.choice(DOMAINS)}")
            if rng.random() < 0.2:
                values.append(rng.choice(["Ekonomi", "Kundtjänst", "noreply", "no-reply"]))
            lines.append({"fields": ["from"], "values": values})
            if rng.random() < 0.5:
                lines.append(
                    {"fields": ["subject"], "values": [_value(rng, rng.choice(topic), general)]}
                )
        elif kind < 0.80:  # phrases
            lines.append(
                {"fields": ["subject", "body"], "values": rng.sample(PHRASES, rng.randint(1, 2))}
            )
            if rng.random() < 0.6:
                lines.append({"fields": ["body"], "values": rng.sample(topic, 2)})
        elif kind < 0.90:  # status, priority, queue, channel with a word
            lines.append(
                {"fields": ["subject", "body"], "values": [_value(rng, rng.choice(topic), general)]}
            )
            extra = rng.choice(["status", "priority", "queue", "channel"])
            value = {
                "status": rng.choice(["new", "open"]),
                "priority": rng.choice(["high", "medium"]),
                "queue": rng.choice(QUEUES),
                "channel": rng.choice(["email", "portal"]),
            }[extra]
            lines.append({"fields": [extra], "values": [value]})
        else:  # stars and Nordic letters
            lines.append({"fields": ["subject", "body"], "values": rng.sample(NORDIC, 2)})
            lines.append({"fields": ["subject", "body"], "values": [rng.choice(topic)]})
        if rng.random() < 0.2:
            lines.append({"fields": ["subject"], "values": rng.sample(SPAM, 3), "negate": True})
        if rng.random() < 0.05:
            lines.append({"fields": ["priority"], "values": ["high"], "negate": True})
        rules.append(
            {
                "name": f"Rule {n:04d}",
                "weight": rng.randint(1, 100),
                "events": ["new"] if rng.random() < 0.7 else ["new", "reply"],
                "queue": rng.choice(QUEUES) if rng.random() < 0.3 else None,
                "continue": rng.random() < 0.15,
                "active": True,
                "lines": lines,
                "actions": rng.choice(actions),
            }
        )
    return rules


def mails(count: int, seed: int = 11, *, topical: bool = True) -> list[bytes]:
    """1 KB mails to the support queue: a subject with some of a topic's words, a body of
    general words with a few of the topic's; a third of them from a domain some rules name,
    the rest from customers' own addresses. Not `topical`: general words only, from customers'
    addresses, which no rule matches (every rule is tried)."""
    rng = random.Random(seed if topical else seed + 1)
    topics, general = _words()
    out = []
    for n in range(count):
        topic = rng.choice(topics)

        def text(words: int, share: float, topic: list[str] = topic) -> str:
            return " ".join(
                rng.choice(topic if rng.random() < share else general) for _ in range(words)
            )

        domain = rng.choice(DOMAINS if topical and rng.random() < 0.33 else CUSTOMER_DOMAINS)
        subject = text(rng.randint(3, 8), 0.3 * topical).capitalize()
        body = ""
        while len(body.encode()) < 900:
            body += text(12, 0.04 * topical).capitalize() + ". "
            if topical and rng.random() < 0.05:
                body += rng.choice(PHRASES) + ". "
        body += "\n\nMed vänliga hälsningar\nKund Karlsson"
        raw = (
            f"From: Kund {n} <kund{n}@{domain}>\r\nTo: support@bench.test\r\n"
            f"Subject: {subject}\r\nMessage-ID: <rules-{n}@bench.test>\r\nMIME-Version: 1.0\r\n"
            f"Content-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n"
        )
        out.append(raw.encode())
    return out


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


def measure_mail(rule_count: int, mail_count: int, runs: int) -> dict[str, Any]:
    """Runs inside the SQLite installation (HELPA_DATA_DIR set by `main`)."""
    import django

    django.setup()
    from helpa.accounts.models import Role, Team, User
    from helpa.automation import engine, subscribers, transfer
    from helpa.automation.models import Event, Rule
    from helpa.crm.models import Contact
    from helpa.mail.parsing import parse_message
    from helpa.tickets.models import Category, Queue, TicketType

    queues = {slug: Queue.objects.create(name=slug.title(), slug=slug) for slug in QUEUES}
    Category.objects.create(name="Billing")
    TicketType.objects.create(name="Incident")
    Team.objects.create(name="Ekonomi")
    User.objects.create(email="chef@bench.test", full_name="Chef", role=Role.AGENT)
    for n in range(0, mail_count, 4):  # some senders are known contacts
        Contact.objects.create(name=f"Kund {n}", email=f"kund{n}@example.se")
    created, _updated = transfer.import_rules(
        json.dumps({"version": 1, "rules": mail_rules(rule_count)})
    )
    assert created == rule_count == Rule.objects.filter(is_active=True).count()
    queue = queues[MAIL_QUEUE]

    started = time.perf_counter()
    engine.rule_cache.forget()
    loaded = engine.load_rules(Event.NEW)
    cold_ms = (time.perf_counter() - started) * 1000

    def timed(raws: list[bytes]) -> dict[str, Any]:
        parsed = [parse_message(raw) for raw in raws]
        for mail in parsed[:20]:  # warm-up
            subscribers.decide(mail, queue)
        timings, tried, matched = [], [], 0
        for run in range(runs):
            mail = parsed[run % len(parsed)]
            engine.load_rules(Event.NEW)  # reloads here, untimed, when the cache has expired
            started = time.perf_counter()
            evaluation, _outcome = subscribers.decide(mail, queue)
            timings.append((time.perf_counter() - started) * 1000)
            tried.append(len(evaluation.results))
            matched += bool(evaluation.applied)
        return {
            "median_ms": statistics.median(timings),
            "p90_ms": _percentile(timings, 0.9),
            "max_ms": max(timings),
            "tried_median": statistics.median(tried),
            "matched_share": matched / runs,
        }

    return {
        "rules": len(loaded),
        "for_queue": len(engine.load_rules(Event.NEW, queue.pk)),
        "mails": mail_count,
        "runs": runs,
        "cold_ms": cold_ms,
        "mix": timed(mails(mail_count)),
        "none": timed(mails(mail_count, topical=False)),
    }


# --- The time rules ----------------------------------------------------------------------------


def time_rules() -> list[dict[str, Any]]:
    """20 time rules as a helpdesk has them, on the generated database's queues, types,
    categories, teams and companies (bench/generate.py)."""
    alarm = {"action": "raise_alarm", "value": "Look at this", "recipients": ["chef@example.com"]}
    note = {"action": "add_note", "value": "Reminder from the rules."}

    def rule(name: str, weight: int, lines: list[Any], actions: list[Any], **more: Any) -> Any:
        return {
            "name": name,
            "weight": weight,
            "events": ["time"],
            "active": True,
            "lines": [{"fields": f, "values": v, "negate": neg} for f, v, neg in lines],
            "actions": actions,
            **more,
        }

    status, prio, chan = ["status"], ["priority"], ["channel"]
    created, changed = ["minutes_since_created"], ["minutes_since_changed"]
    customer = ["minutes_since_customer_message"]
    return [
        rule("New, 2 h unanswered", 10, [(status, ["new"], False), (created, ["120"], False)],
             [alarm], **{"continue": True}),
        rule("New and high, 30 min", 5,
             [(status, ["new"], False), (prio, ["high"], False), (created, ["30"], False)],
             [alarm]),
        rule("Kassa: new after 1 h to team 3", 20,
             [(status, ["new"], False), (created, [">=60"], False)],
             [{"action": "set_team", "value": "Team 3"}], queue="queue-0"),
        rule("Open and high, 4 h without change", 15,
             [(status, ["open"], False), (prio, ["high"], False), (changed, ["240"], False)],
             [alarm]),
        rule("Open, 2 days without change", 30, [(status, ["open"], False),
             (changed, ["2880"], False)], [note], **{"continue": True}),
        rule("Open and medium, a week without change", 35,
             [(status, ["open"], False), (prio, ["medium"], False), (changed, ["10080"], False)],
             [{"action": "set_priority", "value": "high"}]),
        rule("Waiting 3 days: remind", 40, [(status, ["waiting"], False),
             (changed, ["4320"], False)], [note]),
        rule("Waiting 14 days: resolve", 39, [(status, ["waiting"], False),
             (changed, ["20160"], False)], [{"action": "set_status", "value": "resolved"}]),
        rule("On hold 30 days", 45, [(status, ["on_hold"], False), (changed, ["43200"], False)],
             [note]),
        rule("Resolved a week: close", 50, [(status, ["resolved"], False),
             (changed, [">=10080"], False), (changed, ["<11520"], False)],
             [{"action": "set_status", "value": "closed"}]),
        rule("Phone tickets, a day", 25, [(status, ["new", "open"], False),
             (chan, ["phone"], False), (changed, ["1440"], False)], [note]),
        rule("Portal, new 4 h", 12, [(chan, ["portal"], False), (status, ["new"], False),
             (created, ["240"], False)], [alarm]),
        rule("Incidents open 8 h", 8, [(["type"], ["Incident"], False),
             (status, ["open"], False), (created, ["480"], False)],
             [{"action": "set_priority", "value": "high"}]),
        rule("Kategori 2 waiting, customer silent a day", 41,
             [(["category"], ["Kategori 2"], False), (status, ["waiting"], False),
              (customer, ["1440"], False)], [note]),
        rule("Waiting, customer silent 5 days", 42, [(status, ["waiting"], False),
             (customer, ["7200"], False)], [note]),
        rule("Urgent words, new 15 min", 3, [(["subject", "body"],
             ["brådskande", "akut*", "urgent", "*kritisk*"], False), (status, ["new"], False),
             (created, ["15"], False)], [{"action": "set_priority", "value": "high"}, alarm]),
        rule("Företag 1x: an hour without change", 9, [(["company"], ["Företag 1*"], False),
             (status, ["new", "open"], False), (changed, ["60"], False)],
             [{"action": "add_follower", "value": "agent1@example.com"}]),
        rule("Queue 5, open 3 days", 60, [(status, ["open"], False), (created, ["4320"], False)],
             [{"action": "set_team", "value": "Team 5"}], queue="queue-5"),
        rule("High outside queue 9, a day", 16, [(prio, ["high"], False),
             (["queue"], ["queue-9"], True), (status, ["new", "open"], False),
             (changed, ["1440"], False)], [alarm]),
        rule("Watch: created or changed 2 h, Kategori 5", 70,
             [(created + changed, ["120"], False), (["category"], ["Kategori 5"], False),
              (status, ["open", "waiting"], False)], [note], **{"continue": True}),
    ]  # fmt: skip


def measure_time(scans: int) -> dict[str, Any]:
    """Runs inside the PostgreSQL database's settings; changes nothing in the end."""
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "helpa.settings")
    django.setup()
    from django.db import connection, transaction
    from django.utils import timezone

    from helpa.automation import engine, timed, transfer
    from helpa.automation.models import Event, RuleFiring
    from helpa.tickets.models import Ticket

    assert connection.vendor == "postgresql"
    # What a scan reads into Python: the engine's facts (the database answers the rest).
    loaded = [0]
    facts_for_tickets = engine.facts_for_tickets

    def counting(ticket_ids: list[int], **kwargs: Any) -> Any:
        loaded[0] += len(ticket_ids)
        return facts_for_tickets(ticket_ids, **kwargs)

    result: dict[str, Any] = {"tickets": Ticket.objects.count()}
    with transaction.atomic():
        created, _updated = transfer.import_rules(json.dumps({"rules": time_rules()}))
        rules = engine.load_rules(Event.TIME)
        result["rules"] = len(rules)
        # The episodes that hold now fired in earlier minutes: record them without their
        # actions, so that the timed scans are the every-minute steady state.
        seeded: list[RuleFiring] = []
        now = timezone.now()

        def record(rules: list[engine.CompiledRule], ticket_id: int, now: Any) -> int:
            seeded.extend(RuleFiring(rule_id=r.id, ticket_id=ticket_id) for r in rules)
            return len(rules)

        fire = timed._fire
        timed._fire = record  # type: ignore[assignment]
        try:
            started = time.perf_counter()
            timed.run_time_rules(now)
            result["first_scan_s"] = time.perf_counter() - started
        finally:
            timed._fire = fire  # type: ignore[assignment]
        RuleFiring.objects.bulk_create(seeded, batch_size=5000)
        result["episodes"] = len(seeded)
        result["prefiltered"] = sum(
            Ticket.objects.filter(timed.prefilter(rule, now)).count() for rule in rules
        )
        timings, fired, looked = [], [], []
        engine.facts_for_tickets = counting  # type: ignore[assignment]
        try:
            for _ in range(scans):
                engine.load_rules(Event.TIME)  # the rule cache, untimed, as in a running worker
                loaded[0] = 0
                started = time.perf_counter()
                fired.append(timed.run_time_rules())
                timings.append(time.perf_counter() - started)
                looked.append(loaded[0])
        finally:
            engine.facts_for_tickets = facts_for_tickets  # type: ignore[assignment]
        transaction.set_rollback(True)
    result.update(
        scans=scans,
        median_s=statistics.median(timings),
        max_s=max(timings),
        loaded=statistics.median(looked),
        fired=sum(fired),
    )
    return result


# --- Running and reporting ----------------------------------------------------------------------


def _mail_part(args: argparse.Namespace) -> dict[str, Any]:
    shutil.rmtree(DATA, ignore_errors=True)
    DATA.mkdir(parents=True)
    env = {
        **{k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")},
        "HELPA_DATA_DIR": str(DATA),
        "HELPA_DEBUG": "0",
        "DJANGO_SETTINGS_MODULE": "helpa.settings",
    }
    helpa = Path(sys.executable).with_name("helpa")
    subprocess.run([str(helpa), "migrate", "--noinput", "-v", "0"], env=env, check=True)
    command = [sys.executable, "-m", "bench.rules", "--inside", "mail"]
    command += ["--rules", str(args.rules), "--mails", str(args.mails), "--runs", str(args.runs)]
    out = subprocess.run(command, env=env, check=True, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _time_part(args: argparse.Namespace) -> dict[str, Any]:
    from bench.__main__ import DATA as BENCH_DATA
    from bench.__main__ import Postgres, _run

    BENCH_DATA.mkdir(parents=True, exist_ok=True)
    db = Postgres(args.size)
    db.prepare(args.keep)
    print(f"PostgreSQL {args.size:,}: scanning …", file=sys.stderr, flush=True)
    out = _run(
        [sys.executable, "-m", "bench.rules", "--inside", "time", "--scans", str(args.scans)],
        db.env,
    )
    return json.loads(out.strip().splitlines()[-1])


def _row(measure: str, result: str, target: str = "", ok: bool | None = None) -> None:
    verdict = "" if ok is None else ("ok" if ok else "FAIL")
    print(f"{measure:<52}{result:>14}{target:>10}  {verdict}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--mails", type=int, default=200)
    parser.add_argument("--runs", type=int, default=2000, help="timed mails")
    parser.add_argument("--size", type=int, default=1_000_000, help="PostgreSQL tickets")
    parser.add_argument("--scans", type=int, default=5, help="timed time-rule scans")
    parser.add_argument("--keep", action="store_true", help="reuse a complete database")
    parser.add_argument("--only", choices=["mail", "time"])
    parser.add_argument("--inside", choices=["mail", "time"], help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.inside == "mail":
        print(json.dumps(measure_mail(args.rules, args.mails, args.runs)))
        return
    if args.inside == "time":
        print(json.dumps(measure_time(args.scans)))
        return

    mail = _mail_part(args) if args.only != "time" else None
    scan = _time_part(args) if args.only != "mail" else None
    print()
    _row("measure", "result", "target", None)
    if mail:
        print(
            f"\nRules against a new mail on SQLite: {mail['rules']:,} active rules "
            f"({mail['for_queue']:,} for the mail's queue), {mail['mails']} mails of 1 KB "
            f"of each kind, {mail['runs']:,} runs of each"
        )
        for key, label in (("mix", "topical mails"), ("none", "mails no rule matches")):
            m = mail[key]
            print(
                f"{label}: median {m['tried_median']:.0f} rules tried, "
                f"{m['matched_share']:.0%} matched a rule"
            )
            _row(f"{label}: median ms", f"{m['median_ms']:.2f}", f"< {TARGET_MAIL_MS:.0f}",
                 m["median_ms"] < TARGET_MAIL_MS)  # fmt: skip
            _row(f"{label}: p90 ms", f"{m['p90_ms']:.2f}")
            _row(f"{label}: max ms", f"{m['max_ms']:.2f}")
        _row("loading and compiling the rules (cache miss) ms", f"{mail['cold_ms']:.1f}")
    if scan:
        print(
            f"\nTime-rule scan on PostgreSQL: {scan['tickets']:,} tickets, {scan['rules']} "
            f"active time rules, {scan['episodes']:,} episodes already fired, {scan['scans']} "
            f"scans (rolled back afterwards)"
        )
        _row("one scan (run_time_rules): median s", f"{scan['median_s']:.2f}",
             f"< {TARGET_SCAN_S:.0f}", scan["median_s"] < TARGET_SCAN_S)  # fmt: skip
        _row("one scan: max s", f"{scan['max_s']:.2f}")
        _row("tickets the rules' prefilters select", f"{scan['prefiltered']:,}")
        _row("tickets read into Python per scan (median)", f"{scan['loaded']:,.0f}")
        _row("firings during the timed scans", f"{scan['fired']:,}")
        _row("first scan, nothing fired yet: s", f"{scan['first_scan_s']:.2f}")


if __name__ == "__main__":
    main()
