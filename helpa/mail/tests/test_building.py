"""Building outgoing mail without the email policy's header parsing (issue 3's speed): every
header is composed as printable ASCII, and a reader decodes exactly the text we meant."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from helpa.mail import outbound
from helpa.mail.models import OutgoingMail, save_raw

TEXTS = [
    "Printer is broken [#10042]",
    "Skrivaren på plan 2 fungerar inte [#10042]",
    "Åsa Öberg",
    'Kund, "Ett" (AB) <x>',
    "=?utf-8?q?=3D=3Futf-8=3Fq=3Fhidden=3F=3D?=",  # decodes to an encoded word: kept as text
    "ö" * 120 + " and a long tail of plain words " * 10,
    "Broken\r\nBcc: evil@attacker.test",
    "Broken\u2028Bcc: evil@attacker.test",
    "tab\tand\x01control",
]


def build(text: str, body: str = "Hello,\nthanks.") -> outbound._Composed:
    return outbound._compose(
        sender=(text, "support@helpa.test"),
        to=[(text, "pia@kund.se"), "olle@kund.se"],
        cc=[(text, "maria@kund.se")],
        subject=text,
        text=body,
        in_reply_to="<m1@kund.se>",
        references=["<m0@kund.se>", "<m1@kund.se>"],
        automatic=True,
    )


@pytest.mark.parametrize("text", TEXTS)
def test_names_and_subjects_reach_the_reader_as_written(text: str) -> None:
    composed = build(text)
    raw = composed.as_bytes()
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert all(32 <= b < 127 for line in head.split(b"\r\n") for b in line), head
    message = message_from_bytes(raw, policy=policy.default)
    expected = outbound._text_header(text)
    assert str(message["Subject"]) == expected == composed.subject
    assert message["From"].addresses[0].display_name == expected
    assert [a.display_name for a in message["To"].addresses] == [expected, ""]
    assert [a.addr_spec for a in message["To"].addresses] == ["pia@kund.se", "olle@kund.se"]
    assert message["Cc"].addresses[0].addr_spec == "maria@kund.se"
    assert message["Message-ID"] == composed.message_id
    assert message["References"] == "<m0@kund.se> <m1@kund.se>"
    assert "bcc" not in {k.lower() for k in message.keys()}


@pytest.mark.parametrize(
    "body", ["Hello,\nthanks.", "Hej på dig\r\nvi återkommer\r", "", "x" * 1200, "å" * 600]
)
def test_the_bytes_are_what_the_generator_writes(body: str) -> None:
    composed = build("Åsa Öberg", body)
    assert composed.as_bytes() == composed.message.as_bytes()
    message = message_from_bytes(composed.as_bytes(), policy=policy.default)
    content = message.get_content().replace("\r\n", "\n")
    assert content == "\n".join((body or " ").splitlines()) + "\n"


@pytest.mark.django_db
def test_a_raw_message_is_written_under_a_fresh_name(settings, tmp_path) -> None:
    settings.MEDIA_ROOT = tmp_path / "elsewhere"  # the directory does not exist yet
    first, second = OutgoingMail(), OutgoingMail()
    save_raw(first.raw, b"one")
    save_raw(second.raw, b"two")
    assert first.raw.name != second.raw.name
    assert first.raw.name.startswith("mail/") and first.raw.name.endswith(".eml")
    with first.raw.open("rb") as f:
        assert f.read() == b"one"
    with second.raw.open("rb") as f:
        assert f.read() == b"two"
