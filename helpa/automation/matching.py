"""How a rule line's value matches a field: ServIT's filter semantics, exactly, as pure functions.

Case never matters (also Å/Ä/Ö/Ø/Æ, and composed or decomposed letters alike). A value is a
word or a phrase with optional `*` wildcards:

- `kapad` — the whole word only: "Kontot är kapad." yes; "skapad", "kapade" no.
- `*kapad*` — any text containing it: "skapades" yes.
- `tomat*` — words beginning with it: "tomatsoppa", "tomat-puré" yes; "stomatol" no.
- `*kapad` — words ending with it: "skapad" yes, "kapade" no.
- `fak*ra` — a star inside a word stands for any letters of that word: "faktura" yes.
- `kan inte logga in` — a phrase: the words in this order, any spacing between them.
- `*` alone — any non-empty value.

In text (subject, body) a word is a run of letters, digits and underscores; everything else
(spaces, punctuation, hyphens, @) separates words. In mail addresses (from, to/cc) dots and
hyphens belong to the word too, so `*@klarna.se` matches "faktura@klarna.se" but not
"x@klarna.se.example.com", and `kalle` matches "kalle@example.com" but not
"kalle.anka@example.com".

Names (queue, type, category, company) match as a whole, with `*` for any characters:
`Billing` matches the category "Billing" only, `Bill*` also "Billing 2".

Minutes (since created, since the last change, since the last customer message) take `120`
(at least 120 minutes), `>=120`, `>120`, `<30`, `<=30`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from functools import lru_cache

from django.utils.translation import gettext as _


class Mode:
    """How words are matched in a field (plain strings: they are dictionary keys in the
    engine's innermost loop, where an Enum's hash costs more than the match)."""

    TEXT = "text"
    ADDRESS = "address"
    NAME = "name"
    ALL = (TEXT, ADDRESS, NAME)


class PatternError(ValueError):
    """A value that cannot be a pattern; the message is for the admin."""


# Characters that only make sense in a regular expression: a value containing them was almost
# certainly written as one, and would silently never match as the words it spells.
REGEX_CHARACTERS = set("\\^$[](){}|")
_WORD = {Mode.TEXT: r"\w", Mode.ADDRESS: r"[\w.\-]"}
_MINUTES = re.compile(r"^\s*(>=|<=|>|<|=)?\s*(\d{1,9})\s*$")

Matcher = Callable[[str], bool]


def normalise(text: str) -> str:
    """The form both sides are compared in: composed Unicode, case folded."""
    return unicodedata.normalize("NFC", text or "").casefold()


def check_value(value: str) -> str:
    """The value as it will be matched (trimmed), or PatternError saying what is wrong."""
    value = (value or "").strip()
    if not value:
        raise PatternError(_("An empty value matches nothing; write * to match any text."))
    bad = sorted({c for c in value if c in REGEX_CHARACTERS})
    if bad or ".*" in value or ".+" in value:
        raise PatternError(
            _(
                "“%(value)s” looks like a regular expression. Values are words or phrases "
                "with * as the only wildcard, e.g. faktura, tomat* or *@klarna.se."
            )
            % {"value": value}
        )
    return value


@lru_cache(maxsize=20000)
def compile_value(value: str, mode: str) -> Matcher:
    """A function telling whether a field's text — already `normalise`d — matches the value.
    Compiled once per value and mode (rules are evaluated for every message; the patterns
    rarely change)."""
    value = normalise(check_value(value))
    if set(value) == {"*"}:
        return lambda text: bool(text.strip())
    # The longest literal piece of the value must occur in any text it matches: a substring
    # test, far cheaper than the expression, settles nearly every value that does not match.
    needle = max(re.split(r"[*\s]+", value), key=len)
    if mode == Mode.NAME:
        body = ".*".join(re.escape(part) for part in re.split(r"\*+", value))
        pattern = re.compile(rf"^{body}$", re.DOTALL)
        return lambda text: needle in text and pattern.match(text.strip()) is not None
    word = _WORD[mode]
    leading, trailing = value.startswith("*"), value.endswith("*")
    pieces: list[str] = []
    for token in re.findall(r"\*+|\s+|[^*\s]+", value.strip("*")):
        if token.startswith("*"):
            pieces.append(f"{word}*")
        elif token.isspace():
            pieces.append(r"\s+")
        else:
            pieces.append(re.escape(token))
    body = "".join(pieces)
    if not leading:
        body = f"(?<!{word}){body}"
    if not trailing:
        body = f"{body}(?!{word})"
    pattern = re.compile(body)
    return lambda text: needle in text and pattern.search(text) is not None


_PLAIN = {Mode.TEXT: re.compile(r"\w+"), Mode.ADDRESS: re.compile(r"[\w.\-]+")}


def plain_word(value: str, mode: str) -> str | None:
    """The normalised value when it is one whole word (or, for names, a whole name) without
    stars: it then matches exactly when it is one of the text's `words`, a set look-up
    instead of a search, which is what makes a thousand rules cheap."""
    value = normalise(value.strip())
    if "*" in value or not value:
        return None
    if mode == Mode.NAME:
        return value
    return value if _PLAIN[mode].fullmatch(value) else None


def words(text: str, mode: str) -> frozenset[str]:
    """The whole words of a normalised text (maximal runs of word characters), or for a
    name the whole name."""
    if mode == Mode.NAME:
        return frozenset([text.strip()])
    return frozenset(_PLAIN[mode].findall(text))


def matches(value: str, text: str, mode: str = Mode.TEXT) -> bool:
    return compile_value(value, mode)(normalise(text))


# --- Minutes --------------------------------------------------------------------------------


def parse_minutes(value: str) -> tuple[str, int]:
    """("<" | "<=" | ">" | ">=" | "=", minutes). A bare number means "at least": ServIT's
    "120 minutes have passed since the ticket was created"."""
    found = _MINUTES.match(value or "")
    if not found:
        raise PatternError(
            _("“%(value)s” is not a number of minutes; write e.g. 120, >=120 or <30.")
            % {"value": value}
        )
    return found.group(1) or ">=", int(found.group(2))


def minutes_hold(value: str, minutes: float | None) -> bool:
    if minutes is None:
        return False
    op, n = parse_minutes(value)
    return {
        ">=": minutes >= n,
        ">": minutes > n,
        "<=": minutes <= n,
        "<": minutes < n,
        "=": int(minutes) == n,
    }[op]
