"""Phone numbers and organisation numbers as people type them, and as Helpa stores them.

Pure functions (no database): the forms, the data migration and later the SMS channel and the
import share them, so "070-123 45 67" is the same number everywhere.
"""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

# A number written without a country code is read as Swedish: most of our desks are Swedish, and
# Norwegian numbers are written with +47 or 0047 in practice (a Norwegian local number has no
# leading 0, so it cannot be told apart from a Swedish one).
DEFAULT_REGION = "SE"


def normalise_phone(raw: str, region: str = DEFAULT_REGION) -> str:
    """The number in E.164 (+46701234567), or ValidationError when it is not a phone number.

    Accepts local forms (070-123 45 67), international forms (+46 70…, 0046 70…, +47 …) and the
    usual separators (spaces, dashes, dots, parentheses)."""
    text = (raw or "").strip()
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is None or not phonenumbers.is_valid_number(number):
        raise ValidationError(
            _(
                "“%(value)s” is not a phone number we can read. Write it as 070-123 45 67 or +46 70 123 45 67."
            ),
            code="phone",
            params={"value": raw},
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def display_phone(e164: str) -> str:
    """An E.164 number written the way people read it (+46 70 123 45 67)."""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def _luhn_ok(digits: str) -> bool:
    total = 0
    for i, char in enumerate(reversed(digits)):
        n = int(char)
        if i % 2:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return total % 10 == 0


def _norwegian_ok(digits: str) -> bool:
    weights = [3, 2, 7, 6, 5, 4, 3, 2]
    remainder = sum(int(d) * w for d, w in zip(digits[:8], weights, strict=True)) % 11
    check = 0 if remainder == 0 else 11 - remainder
    return check != 10 and check == int(digits[8])


def normalise_org_number(raw: str) -> str:
    """A Swedish or Norwegian organisation number in its stored form, or ValidationError.

    Swedish: 10 digits with a Luhn check digit, stored NNNNNN-NNNN; a 12-digit form with the
    century (16, 19 or 20) in front is accepted and stored without it. Norwegian: 9 digits with
    the modulus 11 check digit (weights 3 2 7 6 5 4 3 2), stored as the 9 digits.
    Spaces, dashes and a leading "SE"/"NO" are ignored; the empty string stays empty."""
    text = (raw or "").strip().upper()
    if not text:
        return ""
    digits = re.sub(r"[\s\-.+]", "", text)
    digits = re.sub(r"^(SE|NO)", "", digits)
    if not digits.isdigit():
        raise ValidationError(
            _("“%(value)s” is not an organisation number: use digits only, e.g. 556036-0793."),
            code="org_number",
            params={"value": raw},
        )
    if len(digits) == 12 and digits[:2] in ("16", "19", "20"):
        digits = digits[2:]
    if len(digits) == 10:
        if not _luhn_ok(digits):
            raise ValidationError(
                _("The check digit of the Swedish organisation number “%(value)s” is wrong."),
                code="org_number_check",
                params={"value": raw},
            )
        return f"{digits[:6]}-{digits[6:]}"
    if len(digits) == 9:
        if not _norwegian_ok(digits):
            raise ValidationError(
                _("The check digit of the Norwegian organisation number “%(value)s” is wrong."),
                code="org_number_check",
                params={"value": raw},
            )
        return digits
    raise ValidationError(
        _(
            "“%(value)s” is not an organisation number: a Swedish one has 10 digits "
            "(NNNNNN-NNNN), a Norwegian one 9."
        ),
        code="org_number",
        params={"value": raw},
    )
