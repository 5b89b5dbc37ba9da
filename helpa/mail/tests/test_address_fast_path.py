"""Plain `Name <address>` headers are read without `getaddresses`, to the same result."""

from __future__ import annotations

import email.utils

from hypothesis import given, settings
from hypothesis import strategies as st

from helpa.mail.parsing import _plain_addresses, parse_message

NAME = st.text(alphabet="Ab9 .-", max_size=12)
LOCAL = st.text(alphabet="ab9._+-", min_size=1, max_size=8)
DOMAIN = st.text(alphabet="ab9.-", min_size=1, max_size=8)
SPACE = st.sampled_from(["", " ", "  ", "\t"])


def _as_the_pipeline_reads(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """What `_addresses` keeps of a pair: the name's white space folded, the address
    lower-case."""
    return [(" ".join(name.split()), address.lower()) for name, address in pairs]


@settings(max_examples=500, deadline=None)
@given(NAME, LOCAL, DOMAIN, SPACE, SPACE, st.booleans())
def test_the_fast_path_reads_what_getaddresses_reads(
    name: str, local: str, domain: str, before: str, after: str, bare: bool
) -> None:
    address = f"{local}@{domain}"
    value = f"{before}{address}{after}" if bare else f"{before}{name} <{address}>{after}"
    fast = _plain_addresses([value])
    if fast is None:
        return  # not plain: getaddresses reads it
    assert _as_the_pipeline_reads(fast) == _as_the_pipeline_reads(
        email.utils.getaddresses([value])
    ), value


def test_anything_unusual_takes_the_full_parser() -> None:
    for value in [
        '"Persson, Pia" <pia@kund.se>',
        "Pia <pia@kund.se>, Per <per@kund.se>",
        "pia@kund.se (Pia Persson)",
        "=?utf-8?q?P=C3=ADa?= <pia@kund.se>",
        "Åsa Lind <asa@kund.se>",
        "<pia@kund.se>",
        "Pia <pia@kund.se",
    ]:
        assert _plain_addresses([value]) is None, value


def test_a_mail_reads_the_same_either_way() -> None:
    raw = (
        b"From: Kund 5 <Kund5@Example.se>\r\nTo: support@helpa.test\r\n"
        b'Cc: "Persson, Pia" <pia@kund.se>, per@kund.se\r\nSubject: Hi\r\n\r\nHello\r\n'
    )
    parsed = parse_message(raw)
    assert (parsed.from_name, parsed.from_address) == ("Kund 5", "kund5@example.se")
    assert parsed.to == [("", "support@helpa.test")]
    assert parsed.cc == [("Persson, Pia", "pia@kund.se"), ("", "per@kund.se")]
