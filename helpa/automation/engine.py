"""The rule engine: what a ticket (or a mail) looks like to the rules, which rules match, and
what their actions do.

Evaluation is pure: `load_rules` reads the rules of an event once (three queries, whatever the
number of rules and lines), `facts_for_tickets`/`facts_for_mail` describe the ticket or mail,
and `evaluate` tries the rules in ascending weight (then name), the first match winning unless
it says "continue". `apply` then carries out the actions through `helpa.tickets.actions` with
the rule as the author, so the history says which rule changed what.

With a thousand rules, most of them about words a given mail does not contain, trying each rule
in turn costs more than the mail's whole way in. So the rules of an event are indexed by
words (`RuleIndex`): a rule is tried only when the mail has a word one of its word lines
needs, and a rule the index cannot judge is always tried.
"""

from __future__ import annotations

import contextvars
import logging
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from functools import cached_property
from html import escape
from typing import Any

from django.db.models import F, OuterRef, Prefetch, Subquery
from django.utils import timezone

from helpa.accounts.models import User
from helpa.crm.models import Contact
from helpa.lib import events
from helpa.lib.recent import RecentlyRead
from helpa.mail.models import Participant
from helpa.mail.parsing import ParsedMail
from helpa.tickets import actions
from helpa.tickets.models import Article, ArticleKind, Priority, Queue, Ticket

from .actions import apply_template
from .matching import (
    Mode,
    PatternError,
    check_value,
    compile_value,
    minutes_hold,
    normalise,
    plain_word,
    words,
)
from .models import MINUTE_FIELDS, ActionKind, Field, Rule, RuleAction, TicketTemplate

log = logging.getLogger(__name__)

PRIORITY_NAMES = {Priority.LOW: "low", Priority.MEDIUM: "medium", Priority.HIGH: "high"}
PRIORITY_BY_NAME = {name: code for code, name in PRIORITY_NAMES.items()}

# Set while a rule's actions run: the changes they make publish ticket events again, and those
# must not start the rules once more (a rule adding a note must not be its own trigger).
_running: contextvars.ContextVar[bool] = contextvars.ContextVar("rules_running", default=False)


def rules_running() -> bool:
    return _running.get()


@contextmanager
def running_rules() -> Iterator[None]:
    token = _running.set(True)
    try:
        yield
    finally:
        _running.reset(token)


def rule_actor(name: str) -> actions.Actor:
    return actions.Actor(name=f"Rule: {name}"[:200])


# --- What the rules look at -------------------------------------------------------------------


@dataclass
class Facts:
    """One ticket or mail as the rules see it. Lists hold every value of a field; a line holds
    when one of its values matches one of them."""

    subject: str = ""
    body: str = ""
    from_addresses: list[str] = field(default_factory=list)
    from_names: list[str] = field(default_factory=list)
    to_cc: list[str] = field(default_factory=list)
    channel: str = ""
    status: str = ""
    priority: str = ""  # low, medium, high
    queue: list[str] = field(default_factory=list)  # slug and name
    type: str = ""
    category: str = ""
    company: str = ""
    created_at: datetime | None = None
    changed_at: datetime | None = None
    customer_at: datetime | None = None
    now: datetime = field(default_factory=timezone.now)
    # Filled on first use by `texts`: change no field after evaluating.
    _normalised: dict[str, list[tuple[str, str, frozenset[str]]]] = field(
        default_factory=dict, repr=False, compare=False
    )
    _vocabulary: frozenset[str] | None = field(default=None, repr=False, compare=False)

    def texts(self, name: str) -> list[tuple[str, str, frozenset[str]]]:
        """The field's values, normalised for matching, how words are matched in them, and
        their whole words — worked out once per facts and field."""
        if name not in self._normalised:
            self._normalised[name] = [
                (n, mode, words(n, mode))
                for n, mode in ((normalise(t), mode) for t, mode in self._texts(name))
            ]
        return self._normalised[name]

    def vocabulary(self) -> frozenset[str]:
        """Every word of every word field (subject, body, from, to/cc), in every way its
        values are matched: a word line can only hold when a word it needs is among them."""
        if self._vocabulary is None:
            found: set[str] = set()
            for name in FIELD_MODES:
                for _text, _mode, text_words in self.texts(name):
                    found |= text_words
            self._vocabulary = frozenset(found)
        return self._vocabulary

    def _texts(self, name: str) -> list[tuple[str, str]]:
        # The ways of matching each field uses are FIELD_MODES: change both together.
        if name == Field.SUBJECT:
            return [(self.subject, Mode.TEXT)]
        if name == Field.BODY:
            return [(self.body, Mode.TEXT)]
        if name == Field.FROM:
            return [(a, Mode.ADDRESS) for a in self.from_addresses] + [
                (n, Mode.TEXT) for n in self.from_names if n
            ]
        if name == Field.TO_CC:
            return [(a, Mode.ADDRESS) for a in self.to_cc]
        if name == Field.QUEUE:
            return [(v, Mode.NAME) for v in self.queue]
        if name in (Field.TYPE, Field.CATEGORY, Field.COMPANY):
            value = getattr(self, name)
            return [(value, Mode.NAME)] if value else []
        raise KeyError(name)

    def minutes(self, name: str) -> float | None:
        at = {
            Field.MINUTES_SINCE_CREATED: self.created_at,
            Field.MINUTES_SINCE_CHANGED: self.changed_at,
            Field.MINUTES_SINCE_CUSTOMER: self.customer_at,
        }[Field(name)]
        return None if at is None else (self.now - at).total_seconds() / 60


# The ways each word field's values are matched (see Facts._texts): from is the sender's address
# and name, to/cc addresses only.
FIELD_MODES: dict[str, tuple[str, ...]] = {
    Field.SUBJECT.value: (Mode.TEXT,),
    Field.BODY.value: (Mode.TEXT,),
    Field.FROM.value: (Mode.ADDRESS, Mode.TEXT),
    Field.TO_CC.value: (Mode.ADDRESS,),
}


def fields_used(rules: Iterable[CompiledRule]) -> set[str]:
    """The fields these rules look at: facts need no query for the others."""
    return {f for rule in rules for line in rule.lines for f in line.fields}


LATEST_CUSTOMER = Article.objects.filter(
    ticket=OuterRef("pk"), kind=ArticleKind.CUSTOMER, deleted_at__isnull=True
).order_by("-created_at", "-id")


_TICKET_COLUMNS = [
    "pk", "title", "description_text", "channel", "status", "priority", "queue__slug",
    "queue__name", "type__name", "category__name", "company__name", "contact__email",
    "contact__name", "created_at", "updated_at",
]  # fmt: skip


def facts_for_tickets(
    ticket_ids: list[int], *, now: datetime | None = None, needs: set[str] | None = None
) -> dict[int, Facts]:
    """Facts of many tickets at once: one query, and one more for the To/Cc addresses when a
    rule looks at them. The body is the description and the newest customer message. Rows,
    not model instances: the time scan reads thousands of tickets a minute."""
    now = now or timezone.now()
    needs = set(Field.values) if needs is None else needs
    qs = Ticket.objects.filter(pk__in=ticket_ids)
    columns = list(_TICKET_COLUMNS)
    if Field.BODY in needs:
        qs = qs.annotate(_latest_text=Subquery(LATEST_CUSTOMER.values("body_text")[:1]))
        columns.append("_latest_text")
    if Field.MINUTES_SINCE_CUSTOMER in needs:
        qs = qs.annotate(_customer_at=Subquery(LATEST_CUSTOMER.values("created_at")[:1]))
        columns.append("_customer_at")
    to_cc: dict[int, list[str]] = {}
    if Field.TO_CC in needs:
        for ticket_id, address in Participant.objects.filter(ticket_id__in=ticket_ids).values_list(
            "ticket_id", "address"
        ):
            to_cc.setdefault(ticket_id, []).append(address)
    facts = {}
    for row in qs.order_by().values(*columns):
        pk = row["pk"]
        body = "\n".join(t for t in (row["description_text"], row.get("_latest_text") or "") if t)
        email, name = row["contact__email"], row["contact__name"]
        facts[pk] = Facts(
            subject=row["title"],
            body=body,
            from_addresses=[email.lower()] if email else [],
            from_names=[name] if name else [],
            to_cc=to_cc.get(pk, []),
            now=now,
            channel=row["channel"],
            status=row["status"],
            priority=PRIORITY_NAMES.get(row["priority"], ""),
            queue=[row["queue__slug"], row["queue__name"]],
            type=row["type__name"] or "",
            category=row["category__name"] or "",
            company=row["company__name"] or "",
            created_at=row["created_at"],
            changed_at=row["updated_at"],
            customer_at=row.get("_customer_at"),
        )
    return facts


def facts_for_mail(
    parsed: ParsedMail,
    queue: Queue,
    ticket: Ticket | None = None,
    *,
    now: datetime | None = None,
) -> Facts:
    """A mail as the rules see it: a new ticket in `queue` (no `ticket`), or a reply to
    `ticket`, whose fields (status, type, …) then count."""
    now = now or timezone.now()
    base = facts_for_tickets([ticket.pk], now=now)[ticket.pk] if ticket else None
    facts = base or Facts(
        channel="email",
        status="new",
        priority="medium",
        queue=[queue.slug, queue.name],
        created_at=now,
        changed_at=now,
        now=now,
    )
    if base is None:
        contact = (
            Contact.objects.filter(email=parsed.from_address).select_related("company").first()
            if parsed.from_address
            else None
        )
        facts.company = contact.company.name if contact and contact.company_id else ""
    facts.subject = parsed.subject
    facts.body = parsed.text
    facts.from_addresses = [parsed.from_address] if parsed.from_address else []
    facts.from_names = [parsed.from_name] if parsed.from_name else []
    facts.to_cc = [a for _n, a in [*parsed.to, *parsed.cc] if a]
    facts.customer_at = now
    return facts


# --- Rules, compiled ----------------------------------------------------------------------------


@dataclass
class LineResult:
    holds: bool
    hits: list[tuple[str, str]]  # (field, value) that matched


@dataclass
class CompiledLine:
    fields: list[str]
    values: list[str]
    negate: bool = False
    # Per way of matching, made once when the rule is loaded: the plain words among the
    # values (normalised → as written), looked up in the text's words; the others' matchers.
    _plain: dict[str, dict[str, str]] = field(default_factory=dict, repr=False, compare=False)
    _matchers: dict[str, list[tuple[str, Any]]] = field(
        default_factory=dict, repr=False, compare=False
    )

    def __post_init__(self) -> None:
        self.fields = [str(f) for f in self.fields]
        if any(f in _MINUTE_FIELDS or f in _CODE_FIELDS for f in self.fields):
            return
        for mode in Mode.ALL:
            plain: dict[str, str] = {}
            others = []
            for value in self.values:
                word = plain_word(value, mode)
                if word is not None:
                    plain.setdefault(word, value)
                else:
                    others.append((value, _matcher(value, mode)))
            self._plain[mode] = plain
            self._matchers[mode] = others

    def evaluate(self, facts: Facts, *, explain: bool = False) -> LineResult:
        hits: list[tuple[str, str]] = []
        for name in self.fields:
            if name in _MINUTE_FIELDS or name in _CODE_FIELDS:
                for value in self.values:
                    if _value_holds(name, value, facts):
                        hits.append((name, value))
                        if not explain:
                            return LineResult(not self.negate, hits)
                continue
            for text, mode, text_words in facts.texts(name):
                plain = self._plain[mode]
                found = [plain[w] for w in plain.keys() & text_words]
                found += [v for v, matcher in self._matchers[mode] if matcher(text)]
                for value in found:
                    if (name, value) not in hits:
                        hits.append((name, value))
                if hits and not explain:
                    return LineResult(not self.negate, hits)
        return LineResult(holds=bool(hits) != self.negate, hits=hits)


_CODE_FIELDS = {str(f.value) for f in (Field.STATUS, Field.CHANNEL, Field.PRIORITY)}
_MINUTE_FIELDS = {str(f.value) for f in MINUTE_FIELDS}


def _matcher(value: str, mode: str) -> Any:
    try:
        return compile_value(value, mode)
    except PatternError:
        # Stored before the checks knew better (or written into the database by hand):
        # such a value matches nothing rather than stopping every rule.
        log.warning("rule value %r cannot be matched", value)
        return lambda _text: False


def _value_holds(name: str, value: str, facts: Facts) -> bool:
    if name in MINUTE_FIELDS:
        try:
            return minutes_hold(value, facts.minutes(name))
        except PatternError:
            return False
    return value == getattr(facts, name)


@dataclass
class CompiledRule:
    id: int
    name: str
    weight: int
    continue_matching: bool
    queue_id: int | None
    lines: list[CompiledLine]
    actions: list[RuleAction]
    brand_id: int | None = None

    def evaluate(self, facts: Facts, *, explain: bool = False) -> list[LineResult]:
        results = []
        for line in self.lines:
            result = line.evaluate(facts, explain=explain)
            results.append(result)
            if not result.holds and not explain:
                break
        return results


def compile_rule(rule: Rule) -> CompiledRule:
    return CompiledRule(
        id=rule.pk,
        name=rule.name,
        weight=rule.weight,
        continue_matching=rule.continue_matching,
        queue_id=rule.queue_id,
        brand_id=rule.brand_id,
        lines=[CompiledLine(list(x.fields), list(x.values), x.negate) for x in rule.lines.all()],
        actions=list(rule.actions.all()),
    )


def with_parts(qs: Any) -> Any:
    return qs.prefetch_related(
        "lines",
        Prefetch(
            "actions",
            queryset=RuleAction.objects.select_related(
                "queue", "team", "user", "ticket_type", "category", "template"
            ),
        ),
    )


# --- Which rules can match: the word index -------------------------------------------------------

# What a line's value needs in the text, found from the value alone: a whole word, the beginning
# or the end of a word, or a part of one.
WORD, PREFIX, SUFFIX, PART = "word", "prefix", "suffix", "part"
_STRENGTH = {WORD: 3, PREFIX: 2, SUFFIX: 2, PART: 1}
_RUNS = {Mode.TEXT: re.compile(r"\w+"), Mode.ADDRESS: re.compile(r"[\w.\-]+")}
_TOKENS = re.compile(r"\*+|\s+|[^*\s]+")

Key = tuple[str, str]  # (WORD | PREFIX | SUFFIX | PART, normalised piece)


def required_piece(value: str, mode: str) -> Key | None:
    """A piece of a word that every text the value matches (in a text or address field) has
    among its `words`, or None when there is none to name (`*`, a value of punctuation only).

    It follows `matching.compile_value`: the value's literal parts sit between stars (any
    letters of the same word), spaces (which end a word) and the value's ends (which end a
    word unless a star stands there). A run of word letters in a literal part, with such an
    end or a non-word character on both sides, is a whole word of the text; with one on its
    left only, the beginning of a word; on its right only, the end; otherwise a part."""
    try:
        value = normalise(check_value(value))
    except PatternError:
        return None  # matches nothing; evaluating the rule says so
    leading, trailing = value.startswith("*"), value.endswith("*")
    tokens = _TOKENS.findall(value.strip("*"))
    best: Key | None = None
    for i, token in enumerate(tokens):
        if token.startswith("*") or token.isspace():
            continue
        left = tokens[i - 1].isspace() if i > 0 else not leading
        right = tokens[i + 1].isspace() if i + 1 < len(tokens) else not trailing
        for run in _RUNS[mode].finditer(token):
            starts = left if run.start() == 0 else True  # else after a non-word character
            ends = right if run.end() == len(token) else True
            kind = {(True, True): WORD, (True, False): PREFIX, (False, True): SUFFIX}.get(
                (starts, ends), PART
            )
            key = (kind, run.group())
            if best is None or (_STRENGTH[kind], len(key[1])) > (
                _STRENGTH[best[0]],
                len(best[1]),
            ):
                best = key
    return best


def line_keys(line: CompiledLine) -> set[Key] | None:
    """The pieces of which a text must have one for this line to hold, or None when the line
    cannot be judged so (a negated line, a line on other fields, a value without a piece)."""
    if line.negate or not line.fields or any(f not in FIELD_MODES for f in line.fields):
        return None
    keys: set[Key] = set()
    modes = {mode for f in line.fields for mode in FIELD_MODES[f]}
    for value in line.values:
        for mode in modes:
            key = required_piece(value, mode)
            if key is None:
                return None
            keys.add(key)
    return keys


def _selectivity(keys: frozenset[Key]) -> tuple[int, int, int]:
    """Lower is better: fewer parts, fewer beginnings and ends, fewer pieces."""
    return (
        sum(kind == PART for kind, _ in keys),
        sum(kind in (PREFIX, SUFFIX) for kind, _ in keys),
        len(keys),
    )


class RuleIndex:
    """Which of the rules (by position) may hold for some facts, found from the facts' words.

    A rule can only hold when each of its word lines (not negated) holds, so when the facts'
    words have one of the pieces each such line needs (`line_keys`). A rule is filed under
    the pieces of its most selective word line; `candidates` takes the rules filed under the
    pieces present, keeps those whose other word lines have a piece present too, and adds the
    rules without a word line to judge them by."""

    def __init__(self, rules: list[CompiledRule]) -> None:
        self.always: list[int] = []
        self.filed: dict[Key, list[int]] = {}
        self.other_lines: dict[int, list[frozenset[Key]]] = {}
        self.known: dict[str, set[str]] = {WORD: set(), PREFIX: set(), SUFFIX: set(), PART: set()}
        for position, rule in enumerate(rules):
            usable = [frozenset(k) for k in map(line_keys, rule.lines) if k is not None]
            if not usable:
                self.always.append(position)
                continue
            anchor = min(usable, key=_selectivity)
            for key in anchor:
                self.filed.setdefault(key, []).append(position)
            others = [keys for keys in usable if keys is not anchor]
            if others:
                self.other_lines[position] = others
            for keys in usable:
                for kind, piece in keys:
                    self.known[kind].add(piece)
        self.prefix_lengths = sorted({len(p) for p in self.known[PREFIX]})
        self.suffix_lengths = sorted({len(p) for p in self.known[SUFFIX]})

    def present(self, vocabulary: frozenset[str]) -> set[Key]:
        """The pieces of the rules that the words have."""
        found = {(WORD, w) for w in self.known[WORD] & vocabulary}
        for n in self.prefix_lengths:
            beginnings = {w[:n] for w in vocabulary if len(w) >= n}
            found.update((PREFIX, p) for p in self.known[PREFIX] & beginnings)
        for n in self.suffix_lengths:
            ends = {w[-n:] for w in vocabulary if len(w) >= n}
            found.update((SUFFIX, p) for p in self.known[SUFFIX] & ends)
        if self.known[PART]:
            joined = " ".join(vocabulary)  # no piece holds a space
            found.update((PART, p) for p in self.known[PART] if p in joined)
        return found

    def candidates(self, facts: Facts) -> list[int]:
        present = self.present(facts.vocabulary())
        found = set(self.always)
        for key in present:
            found.update(self.filed.get(key, ()))
        other_lines = self.other_lines
        return sorted(
            position
            for position in found
            if position not in other_lines
            or all(not keys.isdisjoint(present) for keys in other_lines[position])
        )


class RuleList(list[CompiledRule]):
    """The compiled rules of an event (or of an event and queue), in order, with their word
    index made on first use. `load_rules` hands out the same list while it is cached."""

    @cached_property
    def index(self) -> RuleIndex:
        return RuleIndex(self)


class _RuleCache:
    """The compiled active rules of each event, kept for a few seconds per process: every mail
    and every customer message asks, and most installations have no rule for most events.
    A change saved in this process is seen at once (signals in subscribers.py); other
    processes see it within RecentlyRead.SECONDS, as the mail pipeline sees its settings.
    The rules of one queue are kept too, each list with its word index."""

    def __init__(self) -> None:
        self._recent = RecentlyRead()

    def get(self, event: str, queue_id: int | None = None) -> RuleList:
        if queue_id is None:
            return self._recent.get(
                event,
                lambda: RuleList(
                    compile_rule(r) for r in with_parts(Rule.objects.for_event(event))
                ),
            )
        return self._recent.get((event, queue_id), lambda: self._of_queue(event, queue_id))

    def _of_queue(self, event: str, queue_id: int) -> RuleList:
        """The event's rules for one queue: of every queue or this one, of every brand or the
        queue's. The queue's brand is asked only when some rule has a brand scope (one small
        query, cached with the list): most installations pay nothing for brands."""
        rules = [r for r in self.get(event) if r.queue_id is None or r.queue_id == queue_id]
        brand_id = None
        if any(r.brand_id is not None for r in rules):
            brand_id = Queue.objects.filter(pk=queue_id).values_list("brand_id", flat=True).first()
        return RuleList(r for r in rules if r.brand_id is None or r.brand_id == brand_id)

    def forget(self) -> None:
        self._recent.forget()


rule_cache = _RuleCache()


def load_rules(event: str, queue_id: int | None = None) -> RuleList:
    """The active rules of an event for a queue (None: of every queue), in order, the rules
    scoped to another brand than the queue's left out. Three queries for all of them when not
    cached (a fourth for the queue's brand when a rule has a brand scope), none when cached."""
    return rule_cache.get(event, queue_id)


# --- Evaluating ---------------------------------------------------------------------------------


@dataclass
class RuleResult:
    rule: CompiledRule
    lines: list[LineResult]
    matched: bool
    applied: bool  # matched, and no rule before it stopped the matching

    @property
    def pairs(self) -> list[tuple[CompiledLine, LineResult]]:
        return list(zip(self.rule.lines, self.lines, strict=False))


@dataclass
class Evaluation:
    results: list[RuleResult]

    @property
    def applied(self) -> list[CompiledRule]:
        return [r.rule for r in self.results if r.applied]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.applied]


def evaluate(rules: list[CompiledRule], facts: Facts, *, explain: bool = False) -> Evaluation:
    """Try the rules in order. `explain`: every rule and every value is looked at (the tester
    shows them all); otherwise evaluation stops as soon as the outcome is known, and of a
    `RuleList` only the rules its word index finds possible are tried (and listed in the
    results): the others cannot hold."""
    results = []
    stopped = False
    if explain or not isinstance(rules, RuleList):
        tried: Iterable[CompiledRule] = rules
    else:
        tried = [rules[i] for i in rules.index.candidates(facts)]
    for rule in tried:
        lines = rule.evaluate(facts, explain=explain)
        matched = all(line.holds for line in lines)
        results.append(RuleResult(rule, lines, matched, matched and not stopped))
        if matched and not rule.continue_matching:
            stopped = True
            if not explain:
                break
    return Evaluation(results)


# --- What the actions do ------------------------------------------------------------------------


@dataclass
class Outcome:
    """What the matched rules' actions amount to, without doing any of it."""

    changes: dict[str, Any] = field(default_factory=dict)  # update_ticket's field → value
    followers: list[User] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    auto_reply_text: str = ""
    suppress_auto_reply: bool = False
    force_new_ticket: bool = False
    alarms: list[dict[str, Any]] = field(default_factory=list)
    templates: list[TicketTemplate] = field(default_factory=list)

    def decision(self, matched: list[str]) -> dict[str, Any]:
        """What the mail pipeline asks for (see README, "Rules")."""
        return {
            "matched": matched,
            "suppress_auto_reply": self.suppress_auto_reply,
            "auto_reply_text": self.auto_reply_text,
            "force_new_ticket": self.force_new_ticket,
        }


def _field_change(action: RuleAction) -> tuple[str, Any] | None:
    kind = action.action
    if kind == ActionKind.SET_PRIORITY:
        return "priority", PRIORITY_BY_NAME[action.value]
    if kind == ActionKind.SET_STATUS:
        return "status", action.value
    if kind == ActionKind.SET_TYPE:
        return "type", action.ticket_type
    if kind == ActionKind.SET_CATEGORY:
        return "category", action.category
    if kind == ActionKind.SET_QUEUE:
        return "queue", action.queue
    if kind == ActionKind.SET_TEAM:
        return "team", action.team
    if kind == ActionKind.SET_OWNER:
        return "owner", action.user
    return None


def rule_outcome(rule: CompiledRule, outcome: Outcome | None = None) -> Outcome:
    outcome = outcome or Outcome()
    for action in rule.actions:
        change = _field_change(action)
        if change:
            outcome.changes[change[0]] = change[1]
        elif action.action == ActionKind.ADD_FOLLOWER and action.user:
            outcome.followers.append(action.user)
        elif action.action == ActionKind.ADD_NOTE:
            outcome.notes.append(action.value)
        elif action.action == ActionKind.AUTO_REPLY:
            outcome.auto_reply_text = action.value
            outcome.suppress_auto_reply = False
        elif action.action == ActionKind.SUPPRESS_AUTO_REPLY:
            outcome.suppress_auto_reply = True
            outcome.auto_reply_text = ""
        elif action.action == ActionKind.FORCE_NEW_TICKET:
            outcome.force_new_ticket = True
        elif action.action == ActionKind.APPLY_TEMPLATE and action.template:
            outcome.templates.append(action.template)
        elif action.action in (ActionKind.ALARM, ActionKind.SMS_ALARM):
            outcome.alarms.append(
                {
                    "rule": rule.name,
                    "recipients": list(action.recipients),
                    "text": action.value,
                    "by_sms": action.action == ActionKind.SMS_ALARM,
                }
            )
    return outcome


def outcome_of(evaluation: Evaluation) -> Outcome:
    outcome = Outcome()
    for rule in evaluation.applied:
        rule_outcome(rule, outcome)
    return outcome


def _paragraphs(text: str) -> str:
    return "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n") if p.strip()) or "<p></p>"


def apply(
    evaluation: Evaluation,
    ticket: Ticket,
    *,
    event: str,
    now: datetime | None = None,
    update_caller: bool = True,
) -> Outcome:
    """Carry out the applied rules' actions on the ticket, each rule as its own author, and
    count their hits.

    `update_caller`: afterwards, the caller's `ticket` instance shows what was stored. A
    caller that goes on with its instance needs that: the mail pipeline and the portal reopen
    a ticket a customer answered unless they see that a rule closed it. Not for `open_ticket`,
    which after its event tells the owner it was given (a rule's owner is told by the rule's
    own change)."""
    applied = evaluation.applied
    total = Outcome()
    if not applied:
        return total
    current = ticket
    with running_rules():
        for rule in applied:
            outcome = rule_outcome(rule)
            rule_outcome(rule, total)
            actor = rule_actor(rule.name)
            if outcome.changes:
                try:
                    current = actions.update_ticket(actor, current, outcome.changes)
                except actions.TicketError as exc:
                    # The rule asked for what the ticket's rules refuse (leaving New without an
                    # owner): say so on the ticket rather than failing the mail or the reply.
                    actions.add_note(actor, current, _paragraphs(_refused(rule.name, str(exc))))
            for template in outcome.templates:
                try:
                    current = apply_template(actor, current, template)
                except actions.TicketError as exc:
                    actions.add_note(actor, current, _paragraphs(_refused(rule.name, str(exc))))
            for user in outcome.followers:
                actions.follow(actor, current, user)
            for text in outcome.notes:
                actions.add_note(actor, current, _paragraphs(text))
            for alarm in outcome.alarms:
                events.publish(
                    "automation.sms_alarm" if alarm.get("by_sms") else "automation.alarm",
                    ticket=current,
                    rule=rule.name,
                    recipients=alarm["recipients"],
                    text=alarm["text"],
                    trigger=event,
                )
    if total.followers:
        # open_ticket told the instance it has no followers (saving the notices a query).
        getattr(ticket, "_prefetched_objects_cache", {}).pop("followers", None)
    if update_caller:
        _copy_fields(current, ticket)
    Rule.objects.filter(pk__in=[r.id for r in applied]).update(
        hit_count=F("hit_count") + 1, last_hit_at=now or timezone.now()
    )
    # What the rules ask of the channels (no auto-reply, another text): for a portal or form
    # request, whose confirmation mail is sent after the commit, this is the only word of it.
    names = [r.name for r in applied]
    events.publish(
        "automation.applied", ticket=ticket, trigger=event, decision=total.decision(names)
    )
    return total


def _refused(name: str, reason: str) -> str:
    from django.utils.translation import gettext as _  # noqa: PLC0415

    return _("The rule “%(rule)s” could not change this ticket: %(reason)s") % {
        "rule": name,
        "reason": reason,
    }


def _copy_fields(fresh: Ticket, ticket: Ticket) -> None:
    if fresh is ticket:
        return
    for f in Ticket._meta.concrete_fields:
        setattr(ticket, f.attname, getattr(fresh, f.attname))
    for name in ("type", "category", "queue", "team", "owner", "contact", "company", "parent"):
        relation = Ticket._meta.get_field(name)
        if relation.is_cached(fresh):
            relation.set_cached_value(ticket, relation.get_cached_value(fresh))
        elif relation.is_cached(ticket):
            relation.delete_cached_value(ticket)


# --- Describing the outcome (tester, simulate) --------------------------------------------------


def describe(outcome: Outcome, facts: Facts) -> dict[str, Any]:
    """The ticket fields that would result, as JSON-ready values (codes, slugs, names)."""
    c = outcome.changes

    def name(key: str, current: str | None) -> str | None:
        if key in c:
            value = c[key]
            if value is None:
                return None
            return value.slug if key == "queue" else str(value)
        return current or None

    priority = c.get("priority")
    return {
        "queue": name("queue", facts.queue[0] if facts.queue else None),
        "status": c.get("status", facts.status) or None,
        "priority": PRIORITY_NAMES[priority] if priority else (facts.priority or None),
        "type": name("type", facts.type),
        "category": name("category", facts.category),
        "team": name("team", None),
        "owner": c["owner"].email if c.get("owner") else None,
        "followers": [u.email for u in outcome.followers],
        "notes": outcome.notes,
        "templates": [t.name for t in outcome.templates],
        "mail": {
            "suppress_auto_reply": outcome.suppress_auto_reply,
            "auto_reply_text": outcome.auto_reply_text or None,
            "force_new_ticket": outcome.force_new_ticket,
            "alarms": outcome.alarms,
        },
    }
