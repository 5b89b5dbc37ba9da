"""`parsing.read_message` builds the same `Message` tree as the stdlib parser (compat32), only
faster for MIME mail: for every corpus message, the benchmark's mix, and generated MIME trees
full of traps (boundaries inside bodies, nested multiparts, lone CRs, missing or doubled
boundaries, preambles and epilogues, 8-bit bytes, broken headers)."""

from __future__ import annotations

import email
from email.message import Message
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bench.mail import generate
from helpa.mail import parsing

CORPUS = Path(__file__).parent / "corpus"


def tree(message: Message) -> tuple:
    payload = message._payload
    return (
        type(message),
        message._headers,
        message._unixfrom,
        message.preamble,
        message.epilogue,
        message._default_type,
        message._charset,
        [(type(d), str(d)) for d in message.defects],
        [tree(part) for part in payload] if isinstance(payload, list) else payload,
    )


def same_tree(raw: bytes) -> None:
    assert tree(parsing.read_message(raw)) == tree(email.message_from_bytes(raw))


@pytest.mark.parametrize("path", sorted(CORPUS.glob("*.eml")), ids=lambda p: p.name)
def test_every_corpus_message_reads_as_the_stdlib_reads_it(path: Path) -> None:
    same_tree(path.read_bytes())


def test_the_benchmark_mix_reads_the_same_and_without_the_stdlib_reading_it_all(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    messages = generate(300)
    for raw in messages:
        same_tree(raw)

    def slow(text: str) -> Message:
        raise AssertionError("the fast reading gave up on a plain MIME message")

    monkeypatch.setattr(parsing.email, "message_from_string", slow)
    for raw in messages:
        parsing.read_message(raw)


NESTED = b"""From: a@b.se
Subject: =?utf-8?q?Hall=C3=A5?=
Content-Type: multipart/mixed; boundary="outer"

This is a preamble.
--outer
Content-Type: multipart/alternative; boundary="inner"

--inner
Content-Type: text/plain; charset=utf-8

Hej \xc3\xa5\xc3\xa4\xc3\xb6
--outer-not-a-boundary
--inner
Content-Type: text/html

<p>Hej</p>

--inner--
inner epilogue
--outer
Content-Type: application/pdf
Content-Transfer-Encoding: base64
Content-Disposition: attachment; filename="a.pdf"

JVBERi0xLjQK
--outer--  \t
The end.
"""


@pytest.mark.parametrize("line_end", [b"\n", b"\r\n"])
def test_a_nested_message_with_traps_reads_the_same(line_end: bytes) -> None:
    raw = NESTED.replace(b"\n", line_end)
    same_tree(raw)
    message = parsing.read_message(raw)
    assert message.preamble == "This is a preamble."
    assert [p.get_content_type() for p in message.walk()] == [
        "multipart/mixed",
        "multipart/alternative",
        "text/plain",
        "text/html",
        "application/pdf",
    ]


# --- Generated MIME trees -------------------------------------------------------------------------

BOUNDARIES = st.sampled_from(["b", "b1", "==_x", "b--", "outer", "inner", "a b", "-"])
LINE_ENDS = st.sampled_from(["\n", "\r\n"])
# Mostly well-formed, so that the fast reading is tried; now and then a trap that sends it back
# to the stdlib parser (a lone CR, a header line without a colon, a unix From line …).
MOSTLY = st.sampled_from([True] * 6 + [False])
BODY_LINES = st.lists(
    st.one_of(
        st.sampled_from(
            [
                "",
                "Hello",
                "--b",
                "--b--",
                "--b1 ",
                "--outer",
                "--inner--",
                "--bx",
                "From me",
                " indented",
                "Subject: not a header",
                "\xe5\xe4\xf6",
                "--",
                "--==_x\t",
                "--a b",
            ]
        ),
        st.text(alphabet="ab-= \t:\xff", max_size=8),
    ),
    max_size=6,
)
# Lines a well-formed body may hold: none is a boundary line of the trees below.
CLEAN_LINES = st.lists(
    st.one_of(
        st.sampled_from(["", "Hello", "--bx", "--", "-- b", "From me", " x", "\xe5\xe4"]),
        st.text(alphabet="ac= \t:\xff", max_size=8),
    ),
    max_size=4,
)
GOOD_HEADERS = [
    "X-A: 1",
    "X-B: folded",
    "  continued",
    "Content-Disposition: attachment; filename=x.bin",
    "Content-Transfer-Encoding: base64",
]
# (A header name of 8-bit bytes is no header name: the body starts there.)
BAD_HEADERS = ["From nobody", "no colon here", ": no name", "X-C: a\rb", "X-\xe5: 8bit"]


@st.composite
def headers(draw: st.DrawFn, clean: bool = False) -> list[str]:
    found = draw(st.lists(st.sampled_from(GOOD_HEADERS), max_size=3))
    if not clean and not draw(MOSTLY):
        found.insert(draw(st.integers(0, len(found))), draw(st.sampled_from(BAD_HEADERS)))
    return found


@st.composite
def parts(draw: st.DrawFn, depth: int = 0, clean: bool = False) -> str:
    """A body part (or message), its headers first. `clean`: well-formed, with only the traps
    the fast reading must get right itself (boundary-like lines, white space after boundaries,
    preambles and epilogues, 8-bit text)."""
    end = draw(LINE_ENDS)
    head = draw(headers(clean))
    kind = draw(
        st.sampled_from(
            ["text/plain", "text/html", "application/pdf"]
            + ([] if clean else ["message/rfc822"])
            + ["multipart"] * 3
            if depth < 2
            else ["text/plain", "application/octet-stream"]
        )
    )
    if kind != "multipart":
        lines = [*head, f"Content-Type: {kind}"]
        if clean or draw(MOSTLY):
            lines.append("")  # the empty line after the headers (or not)
        lines += draw(CLEAN_LINES if clean else BODY_LINES)
        return end.join(lines)
    # A well-formed tree gives each level its own boundary: "b" inside "b--" is no tree.
    boundary = draw(BOUNDARIES) + (str(depth) if clean else "")
    if clean:
        head = [h for h in head if not h.startswith("Content-Transfer-Encoding")]
    subtypes = ["mixed", "alternative", "related"] + ([] if clean else ["digest"])
    subtype = draw(st.sampled_from(subtypes))
    lines = [*head, f'Content-Type: multipart/{subtype}; boundary="{boundary}"', ""]
    lines += draw(CLEAN_LINES if clean else BODY_LINES)  # the preamble
    for _n in range(draw(st.integers(1 if clean else 0, 3))):
        ends = ["", " ", "\t "] if clean else ["", "", " ", "\t ", "--"]
        lines.append(f"--{boundary}" + draw(st.sampled_from(ends)))
        lines.append(draw(parts(depth + 1, clean)))
    if clean or draw(MOSTLY):
        lines.append(f"--{boundary}--" + draw(st.sampled_from(["", "", "  "])))
    lines += draw(CLEAN_LINES if clean else BODY_LINES)  # the epilogue
    return end.join(lines) + draw(st.sampled_from(["", end]))


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts())
def test_generated_mime_trees_read_as_the_stdlib_reads_them(text: str) -> None:
    same_tree(("From: a@b.se\n" + text).encode("utf-8", "surrogateescape"))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(parts(clean=True))
def test_generated_well_formed_mime_trees_are_read_fast_and_the_same(text: str) -> None:
    raw = ("From: a@b.se\n" + text).encode("utf-8", "surrogateescape")
    same_tree(raw)
    # Well-formed: the fast reading itself built the tree.
    parsing._read_part(raw)
