"""The word index that spares a mail the rules it cannot match: it must never leave out a rule
that holds (negated lines, stars, phrases, addresses, Nordic letters), and evaluating with it
gives the same outcome as trying every rule."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpa.automation import engine
from helpa.automation.engine import (
    FIELD_MODES,
    PART,
    PREFIX,
    SUFFIX,
    WORD,
    CompiledLine,
    CompiledRule,
    Facts,
    RuleIndex,
    RuleList,
    required_piece,
)
from helpa.automation.matching import Mode, PatternError, check_value, matches, normalise, words
from helpa.automation.models import Field
from helpa.automation.tests.test_matching import CASES


def has_piece(key: tuple[str, str], text_words: frozenset[str]) -> bool:
    kind, piece = key
    if kind == WORD:
        return piece in text_words
    if kind == PREFIX:
        return any(w.startswith(piece) for w in text_words)
    if kind == SUFFIX:
        return any(w.endswith(piece) for w in text_words)
    return any(piece in w for w in text_words)


def sound(value: str, text: str, mode: str) -> bool:
    """When the value matches the text, the text has the value's piece."""
    if not matches(value, text, mode):
        return True
    key = required_piece(value, mode)
    return key is None or has_piece(key, words(normalise(text), mode))


@pytest.mark.parametrize(("value", "text", "mode", "expected"), CASES)
def test_the_matching_table_has_its_pieces(
    value: str, text: str, mode: str, expected: bool
) -> None:
    if mode != Mode.NAME:
        assert sound(value, text, mode)


@pytest.mark.parametrize(
    ("value", "mode", "key"),
    [
        ("kapad", Mode.TEXT, (WORD, "kapad")),
        ("KAPAD", Mode.TEXT, (WORD, "kapad")),
        ("tomat*", Mode.TEXT, (PREFIX, "tomat")),
        ("*kapad", Mode.TEXT, (SUFFIX, "kapad")),
        ("*kapad*", Mode.TEXT, (PART, "kapad")),
        ("fak*ra", Mode.TEXT, (PREFIX, "fak")),
        ("kan inte logga in", Mode.TEXT, (WORD, "logga")),
        ("logga in*", Mode.TEXT, (WORD, "logga")),
        ("stäng!", Mode.TEXT, (WORD, "stäng")),
        ("e-post", Mode.TEXT, (WORD, "post")),
        ("+4670", Mode.TEXT, (WORD, "4670")),
        ("bla\u030abär", Mode.TEXT, (WORD, "blåbär")),
        ("Ærø*", Mode.TEXT, (PREFIX, "ærø")),
        ("*@klarna.se", Mode.ADDRESS, (WORD, "klarna.se")),
        ("*@klarna.se", Mode.TEXT, (WORD, "klarna")),
        ("*klarna.se", Mode.ADDRESS, (SUFFIX, "klarna.se")),
        ("kalle.anka@example.com", Mode.ADDRESS, (WORD, "example.com")),
        ("*", Mode.TEXT, None),
        ("!!", Mode.TEXT, None),
        ("fakt(ura)", Mode.TEXT, None),  # refused by the checks: matches nothing
    ],
)
def test_required_piece(value: str, mode: str, key: tuple[str, str] | None) -> None:
    assert required_piece(value, mode) == key


# Words and separators that make the matching's edge cases likely: Nordic letters composed and
# decomposed, prefixes of each other, punctuation inside words and addresses.
WORDS = [
    "kapad", "skapad", "kapade", "tomat", "tomatsoppa", "stomatol", "stäng", "blåbär",
    "bla\u030abär", "ØL", "øl", "Ærø", "e", "post", "klarna", "se", "kalle", "anka", "fak",
    "faktura", "example", "com", "logga", "in", "inte", "_x", "4670", "ß", "ss",
]  # fmt: skip
SEPARATORS = [" ", "  ", "-", ".", "@", "!", "\n", "_", "", "+", "(", ")"]
texts = st.lists(st.tuples(st.sampled_from(WORDS), st.sampled_from(SEPARATORS)), max_size=8).map(
    lambda parts: "".join(w + s for w, s in parts)
)


def _valid(value: str) -> bool:
    try:
        check_value(value)
    except PatternError:
        return False
    return True


def _value(parts: list[tuple[str, str]], lead: bool, trail: bool) -> str:
    return ("*" if lead else "") + "".join(w + s for w, s in parts).strip() + ("*" if trail else "")


values = st.builds(
    _value,
    st.lists(
        st.tuples(st.sampled_from(WORDS), st.sampled_from([" ", "*", "", "-", ".", "@", "!"])),
        min_size=1,
        max_size=3,
    ),
    st.booleans(),
    st.booleans(),
)


FILLERS = ["", "s", "ö", "a\u030a", "tomat", "_", "-", ".", "@", " ", "!", "x y"]


@settings(max_examples=800, deadline=None)
@given(
    value=values.filter(lambda v: _valid(v)),
    text=texts,
    mode=st.sampled_from([Mode.TEXT, Mode.ADDRESS]),
)
def test_a_value_never_matches_a_text_without_its_piece(value: str, text: str, mode: str) -> None:
    assert sound(value, text, mode)


@settings(max_examples=800, deadline=None)
@given(
    value=values.filter(lambda v: _valid(v)),
    data=st.data(),
    mode=st.sampled_from([Mode.TEXT, Mode.ADDRESS]),
)
def test_texts_made_from_the_value_have_its_piece(value: str, data: Any, mode: str) -> None:
    """Texts made to match: the value with its stars filled in, in some context."""
    fill = [data.draw(st.sampled_from(FILLERS)) for _ in range(value.count("*") + 2)]
    inner = value.split("*")
    text = fill[0] + "".join(p + f for p, f in zip(inner, fill[1:], strict=False))
    text = data.draw(st.sampled_from(["", "x", " ", "-", "ä"])) + text
    assert sound(value, text, mode)


# --- Whole rules -------------------------------------------------------------------------------

WORD_FIELD_SETS = [
    ["subject"],
    ["body"],
    ["from"],
    ["to_cc"],
    ["subject", "body"],
    ["from", "to_cc"],
]


lines = st.one_of(
    st.builds(
        lambda fields, vals, negate: CompiledLine(fields, vals, negate),
        st.sampled_from(WORD_FIELD_SETS),
        st.lists(values.filter(_valid), min_size=1, max_size=3),
        st.booleans(),
    ),
    st.builds(
        lambda v, negate: CompiledLine([Field.STATUS], [v], negate),
        st.sampled_from(["new", "open"]),
        st.booleans(),
    ),
    st.builds(lambda: CompiledLine([Field.SUBJECT], ["*"])),
)


def _rules(rule_lines: list[list[CompiledLine]], go_on: list[bool]) -> list[CompiledRule]:
    return [
        CompiledRule(
            id=n, name=f"R{n}", weight=n, continue_matching=c, queue_id=None, lines=ls, actions=[]
        )
        for n, (ls, c) in enumerate(zip(rule_lines, go_on, strict=False))
    ]


def _facts(subject: str, body: str, sender: str, name: str, to: str) -> Facts:
    return Facts(
        subject=subject,
        body=body,
        from_addresses=[normalise(sender)] if sender else [],
        from_names=[name] if name else [],
        to_cc=[normalise(to)] if to else [],
        status="new",
    )


facts = st.builds(_facts, texts, texts, texts, texts, texts)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rule_lines=st.lists(st.lists(lines, min_size=1, max_size=3), min_size=1, max_size=8),
    go_on=st.lists(st.booleans(), min_size=8, max_size=8),
    facts=facts,
)
def test_the_index_never_leaves_out_a_rule_that_holds(
    rule_lines: list[list[CompiledLine]], go_on: list[bool], facts: Facts
) -> None:
    rules = _rules(rule_lines, go_on)
    candidates = set(RuleIndex(rules).candidates(facts))
    for position, rule in enumerate(rules):
        if all(line.holds for line in rule.evaluate(facts)):
            assert position in candidates, [(x.fields, x.values, x.negate) for x in rule.lines]
    with_index = engine.evaluate(RuleList(rules), facts)
    every_rule = engine.evaluate(list(rules), facts)
    assert with_index.names == every_rule.names


def line(fields: list[str], values: list[str], negate: bool = False) -> CompiledLine:
    return CompiledLine(fields, values, negate)


def rule(n: int, *rule_lines: CompiledLine, go_on: bool = False) -> CompiledRule:
    return CompiledRule(
        id=n,
        name=f"R{n}",
        weight=n,
        continue_matching=go_on,
        queue_id=None,
        lines=list(rule_lines),
        actions=[],
    )


MAIL = _facts(
    subject="Fråga om FAKTURAN",
    body="Hej! Kontot är kapad, jag KAN INTE logga in. Bla\u030abär-tomatsoppa.",
    sender="Ekonomi@Klarna.se",
    name="Björn Ærø",
    to="support@example.com",
)


@pytest.mark.parametrize(
    ("rule_lines", "holds"),
    [
        ([line(["subject"], ["faktura*"])], True),
        ([line(["subject"], ["faktura"])], False),
        ([line(["body"], ["*apad*"])], True),
        ([line(["body"], ["*apad"])], True),
        ([line(["body"], ["blåbär"])], True),
        ([line(["body"], ["tomat*"])], True),  # "blåbär-tomatsoppa": a hyphen ends a word
        ([line(["body"], ["soppa*"])], False),
        ([line(["body"], ["*soppa"])], True),
        ([line(["body"], ["kan inte logga in"])], True),
        ([line(["from"], ["*@klarna.se"])], True),
        ([line(["from"], ["*@klarna.com"])], False),
        ([line(["from"], ["ærø"])], True),
        ([line(["to_cc"], ["support"])], True),
        ([line(["subject"], ["reklam"], negate=True)], True),  # no piece: always tried
        ([line(["subject"], ["fråga"], negate=True)], False),
        ([line(["subject"], ["fråga"]), line(["body"], ["reklam"], negate=True)], True),
        ([line(["status"], ["new"])], True),
        ([line(["status"], ["new"]), line(["body"], ["virus"])], False),
        ([line(["subject"], ["*"])], True),
    ],
)
def test_rules_on_a_mail(rule_lines: list[CompiledLine], holds: bool) -> None:
    rules = [rule(1, *rule_lines)]
    assert engine.evaluate(RuleList(rules), MAIL).names == (["R1"] if holds else [])
    assert engine.evaluate(rules, MAIL).names == (["R1"] if holds else [])


def test_only_possible_rules_are_tried_and_order_and_continue_are_kept() -> None:
    rules = RuleList(
        [
            rule(1, line(["subject"], ["virus"])),
            rule(2, line(["body"], ["kapad"]), go_on=True),
            rule(3, line(["subject"], ["offert"]), line(["status"], ["new"])),
            rule(4, line(["status"], ["new"])),
            rule(5, line(["from"], ["*@klarna.se"])),
        ]
    )
    evaluation = engine.evaluate(rules, MAIL)
    assert [r.rule.name for r in evaluation.results] == ["R2", "R4"]
    assert evaluation.names == ["R2", "R4"]
    explained = engine.evaluate(rules, MAIL, explain=True)
    assert [r.rule.name for r in explained.results] == ["R1", "R2", "R3", "R4", "R5"]
    assert explained.names == ["R2", "R4"]


def test_field_modes_are_the_ways_facts_give_their_texts() -> None:
    full = _facts("s", "b", "a@b.se", "Name", "c@d.se")
    for name, modes in FIELD_MODES.items():
        assert {mode for _text, mode, _words in full.texts(name)} == set(modes)
    assert set(FIELD_MODES) == {"subject", "body", "from", "to_cc"}


@pytest.mark.django_db
def test_the_cached_lists_keep_their_index(
    make_rule: Any, queue_support: Any, queue_billing: Any
) -> None:
    make_rule("Everywhere", lines=[{"fields": ["subject"], "values": ["faktura"]}])
    make_rule("Billing only", queue="billing", lines=[{"fields": ["body"], "values": ["moms"]}])
    every = engine.load_rules("new")
    assert engine.load_rules("new") is every
    assert [r.name for r in every] == ["Billing only", "Everywhere"]
    support = engine.load_rules("new", queue_support.pk)
    assert [r.name for r in support] == ["Everywhere"]
    assert engine.load_rules("new", queue_support.pk).index is support.index
    make_rule("Another", lines=[{"fields": ["subject"], "values": ["moms"]}])
    assert [r.name for r in engine.load_rules("new", queue_support.pk)] == [
        "Another",
        "Everywhere",
    ]
