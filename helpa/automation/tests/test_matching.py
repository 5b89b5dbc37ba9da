"""The source's word semantics, as a table (ServIT eHelpdesk, "Filtrering")."""

import pytest

from helpa.automation.matching import (
    Mode,
    PatternError,
    check_value,
    matches,
    minutes_hold,
    normalise,
    parse_minutes,
    plain_word,
    words,
)

T, A, N = Mode.TEXT, Mode.ADDRESS, Mode.NAME

CASES = [
    # The source's own examples.
    ("kapad", "Mitt konto är kapad", T, True),
    ("kapad", "Kontot blev skapad igår", T, False),
    ("kapad", "Vi kapade kabeln", T, False),
    ("*kapad*", "Ärendet skapades igår", T, True),
    ("*kapad*", "kapad", T, True),
    ("tomat*", "tomat", T, True),
    ("tomat*", "Jag vill ha tomatsoppa", T, True),
    ("tomat*", "en burk tomat-puré", T, True),
    ("tomat*", "Stomatol är tandkräm", T, False),
    ("*@klarna.se", "faktura@klarna.se", A, True),
    ("faktura", "Fråga om FAKTURA", T, True),
    ("betalning", "Betalning saknas", T, True),
    ("stäng!", "Ni kan stäng! tack", T, True),
    ("stäng!", "Ni kan stänga nu", T, False),
    ("stäng!", "stäng", T, False),
    # Case, including the Nordic letters; composed and decomposed forms.
    ("ÅTERBETALNING", "återbetalning", T, True),
    ("øl", "ØL og brød", T, True),
    ("Æble", "æble", T, True),
    ("blåbär", "BLÅBÄR", T, True),
    ("blåbär", "bla\u030abär", T, True),  # å written as a + combining ring
    ("smörgås", "SMÖRGÅS", T, True),
    ("över", "Överbokad", T, False),
    ("över*", "Överbokad", T, True),
    # Words are whole words: punctuation, hyphens and line ends separate them.
    ("kapad", "kapad.", T, True),
    ("kapad", "(kapad)", T, True),
    ("kapad", '"kapad"', T, True),
    ("kapad", "konto-kapad", T, True),
    ("kapad", "kapad-konto", T, True),
    ("kapad", "rad ett\nkapad\nrad tre", T, True),
    ("kapad", "kapad_konto", T, False),  # underscore joins, as in identifiers
    ("kapad", "kapad2", T, False),
    ("e-post", "Min e-post fungerar inte", T, True),
    ("e-post", "Min epost fungerar inte", T, False),
    ("post", "Min e-post", T, True),
    # Stars: suffixes, inner stars, several stars.
    ("*kapad", "skapad", T, True),
    ("*kapad", "kapade", T, False),
    ("fak*ra", "faktura", T, True),
    ("fak*ra", "fak ra", T, False),  # an inner star stays within the word
    ("**kapad**", "skapades", T, True),
    ("t*m*t", "tomat", T, True),
    ("*", "anything", T, True),
    ("*", "", T, False),
    ("*", "   ", T, False),
    # Phrases: the words in order, any spacing.
    ("kan inte logga in", "Jag KAN  INTE\nlogga in.", T, True),
    ("kan inte logga in", "Jag kan logga in", T, False),
    ("kan inte logga in", "jag kan inte logga ingenting", T, False),
    ("logga in*", "kan inte logga ingenting", T, True),
    # Empty fields match nothing.
    ("kapad", "", T, False),
    # Mail addresses: dots and hyphens belong to the word.
    ("*@klarna.se", "X@Klarna.SE", A, True),
    ("*@klarna.se", "x@klarna.se.example.com", A, False),
    ("*@klarna.se", "x@sub.klarna.se", A, False),
    ("*klarna.se", "x@sub.klarna.se", A, True),
    ("klarna.se", "x@klarna.se", A, True),
    ("kalle", "kalle@example.com", A, True),
    ("kalle", "kalle.anka@example.com", A, False),
    ("kalle.anka@example.com", "Kalle.Anka@Example.com", A, True),
    ("kalle+tag@example.com", "kalle+tag@example.com", A, True),
    ("*@bjørn.no", "ole@bjørn.no", A, True),
    # Names (queue, type, category, company) match as a whole.
    ("Billing", "billing", N, True),
    ("Billing", "Billing 2", N, False),
    ("Bill*", "Billing 2", N, True),
    ("*AB", "Acme AB", N, True),
    ("Acme", "Acme AB", N, False),
    ("Åkeri*", "åkeriet i Norr", N, True),
]


@pytest.mark.parametrize(("value", "text", "mode", "expected"), CASES)
def test_matching_table(value: str, text: str, mode: str, expected: bool) -> None:
    assert matches(value, text, mode) is expected


@pytest.mark.parametrize(
    "value", ["", "   ", "fakt(ura|ur)", "^faktura$", "\\d+", "fak.*", "[Ff]aktura", "a{2}"]
)
def test_regex_looking_and_empty_values_are_refused(value: str) -> None:
    with pytest.raises(PatternError):
        check_value(value)


@pytest.mark.parametrize("value", ["stäng!", "hjälp?", "+4670", "#10042", "50%"])
def test_punctuation_is_a_value_of_its_own(value: str) -> None:
    assert check_value(value) == value


@pytest.mark.parametrize(
    ("value", "minutes", "expected"),
    [
        ("120", 120, True),
        ("120", 119.9, False),
        (">=120", 500, True),
        (">120", 120, False),
        ("<30", 29, True),
        ("<30", 30, False),
        ("<=30", 30, True),
        ("=5", 5.5, True),
        ("120", None, False),
    ],
)
def test_minutes(value: str, minutes: float | None, expected: bool) -> None:
    assert minutes_hold(value, minutes) is expected


@pytest.mark.parametrize("value", ["", "abc", "-5", "1.5", ">> 3"])
def test_bad_minutes(value: str) -> None:
    with pytest.raises(PatternError):
        parse_minutes(value)


@pytest.mark.parametrize(("value", "text", "mode", "expected"), CASES)
def test_the_word_lookup_agrees_with_the_search(
    value: str, text: str, mode: str, expected: bool
) -> None:
    """Plain words are looked up in the text's words instead of searched: the same answer."""
    word = plain_word(value, mode)
    if word is not None:
        assert (word in words(normalise(text), mode)) is expected
