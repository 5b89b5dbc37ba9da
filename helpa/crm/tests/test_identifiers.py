"""Organisation numbers and phone numbers as people type them, and as Helpa stores them."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from helpa.crm.identifiers import display_phone, normalise_org_number, normalise_phone


@pytest.mark.parametrize(
    ("typed", "stored"),
    [
        ("556036-0793", "556036-0793"),  # Swedish, 10 digits, Luhn
        ("5560360793", "556036-0793"),
        (" 556036 0793 ", "556036-0793"),
        ("16556036-0793", "556036-0793"),  # with the century prefix 16
        ("19556036-0793", "556036-0793"),
        ("202100-5489", "202100-5489"),
        ("20202100-5489", "202100-5489"),
        ("SE556036-0793", "556036-0793"),
        ("923609016", "923609016"),  # Norwegian, 9 digits, modulus 11
        ("923 609 016", "923609016"),
        ("NO 974 760 673", "974760673"),
        ("", ""),
    ],
)
def test_valid_organisation_numbers_are_stored_normalised(typed: str, stored: str) -> None:
    assert normalise_org_number(typed) == stored


@pytest.mark.parametrize(
    ("typed", "message"),
    [
        ("556036-0794", "check digit of the Swedish"),
        ("5560360790", "check digit of the Swedish"),
        ("17556036-0793", "a Swedish one has 10 digits"),  # 17 is no century
        ("923609017", "check digit of the Norwegian"),
        ("974760670", "check digit of the Norwegian"),
        ("12345", "a Swedish one has 10 digits"),
        ("55603607930", "a Swedish one has 10 digits"),
        ("ABC123", "use digits only"),
    ],
)
def test_invalid_organisation_numbers_are_refused_with_a_reason(typed: str, message: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalise_org_number(typed)
    assert message in refused.value.messages[0]


@pytest.mark.parametrize(
    ("typed", "e164"),
    [
        ("070-123 45 67", "+46701234567"),
        ("0701234567", "+46701234567"),
        ("0046 70 123 45 67", "+46701234567"),
        ("+46 (0)70-123 45 67", "+46701234567"),
        ("+46701234567", "+46701234567"),
        ("08-123 456 00", "+46812345600"),
        ("+47 912 34 567", "+4791234567"),
        ("0047 22 12 34 56", "+4722123456"),
        ("+358 40 1234567", "+358401234567"),
    ],
)
def test_phone_numbers_are_stored_as_e164(typed: str, e164: str) -> None:
    assert normalise_phone(typed) == e164


@pytest.mark.parametrize("typed", ["abc", "12", "070 123", "+46", "", "call me"])
def test_unreadable_phone_numbers_are_refused(typed: str) -> None:
    with pytest.raises(ValidationError) as refused:
        normalise_phone(typed)
    assert "is not a phone number we can read" in refused.value.messages[0]


def test_numbers_are_shown_grouped() -> None:
    assert display_phone("+46701234567") == "+46 70 123 45 67"
