"""From the raw bytes of a message to what a ticket needs: who, what, which thread, which files.

Parsing is lenient and never loses bytes: the stdlib parser with the `compat32` policy reads any
message (it records defects instead of raising), and only the headers Helpa uses are decoded —
decoding every header with `policy.default` costs six times as much (see the mail issue's
benchmark). A charset that is unknown or wrong falls back to UTF-8, then Windows-1252, then
Latin-1, which maps every byte, so a text is decoded best-effort but always completely.
"""

from __future__ import annotations

import binascii
import email
import email.errors
import email.header
import email.parser
import email.policy
import email.utils
import hashlib
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from email.message import Message
from typing import AnyStr

from helpa.lib.html import html_to_text, sanitize_mail_html, text_to_html

MESSAGE_ID = re.compile(r"<[^<>\s]+>")


@dataclass
class MailPart:
    """One file of a message: an attachment, an inline image, or a nested message."""

    filename: str
    content_type: str
    payload: bytes
    content_id: str = ""  # without the angle brackets
    is_inline: bool = False


@dataclass
class ParsedMail:
    message_id: str = ""  # with angle brackets, as in the header
    in_reply_to: list[str] = field(default_factory=list)
    references: list[str] = field(default_factory=list)
    subject: str = ""
    from_name: str = ""
    from_address: str = ""  # lower-case
    reply_to: str = ""
    to: list[tuple[str, str]] = field(default_factory=list)  # (name, lower-case address)
    cc: list[tuple[str, str]] = field(default_factory=list)
    date: datetime | None = None
    text: str = ""  # plain rendition: search, plain-text quoting
    html: str = ""  # sanitised HTML for the thread (from text when the mail has no HTML)
    attachments: list[MailPart] = field(default_factory=list)
    # Why this mail was sent by a machine ("Auto-Submitted: auto-replied"), empty for a person.
    automatic_reason: str = ""
    is_delivery_report: bool = False
    # For a delivery report: the Message-IDs of the mail that bounced, and the failed addresses.
    bounced_message_ids: list[str] = field(default_factory=list)
    bounced_recipients: list[str] = field(default_factory=list)
    defects: list[str] = field(default_factory=list)

    @property
    def thread_ids(self) -> list[str]:
        """Message-IDs this mail answers, nearest first (In-Reply-To, then References newest
        to oldest)."""
        seen: dict[str, None] = {}
        for mid in [*self.in_reply_to, *reversed(self.references)]:
            seen.setdefault(mid, None)
        return list(seen)


# --- Decoding ---------------------------------------------------------------------------------

_CHARSET_ALIASES = {
    "": "utf-8",
    "unknown-8bit": "utf-8",  # raw 8-bit headers: nearly always UTF-8 today, else Windows text
    "x-unknown": "utf-8",
    "us-ascii": "windows-1252",  # 8-bit bytes in "ASCII" mail are nearly always Windows text
    "ascii": "windows-1252",
    "iso-8859-1": "windows-1252",  # a superset that Outlook & co. actually send
    "latin1": "windows-1252",
    "ks_c_5601-1987": "cp949",
    "gb2312": "gb18030",
    "gbk": "gb18030",
}


# Declared charsets that mailers put on UTF-8 text by mistake (a default in the composer, a list
# server rewriting headers). Text that is valid UTF-8 with non-ASCII bytes is practically never
# meant as Latin-1 ("GrÃ¼ÃŸe"), so for these UTF-8 is tried first.
_OFTEN_WRONG = {
    "us-ascii",
    "ascii",
    "iso-8859-1",
    "iso8859-1",
    "latin1",
    "latin-1",
    "iso-8859-15",
    "windows-1252",
    "cp1252",
}


def decode_bytes(payload: bytes, charset: str | None) -> str:
    """Bytes as text in the declared charset, or the best guess; never raises, never drops a
    character (only NUL, which no text column of PostgreSQL can hold)."""
    declared = (charset or "").strip().strip('"').lower()
    candidates = [_CHARSET_ALIASES.get(declared, declared), "utf-8", "windows-1252"]
    if declared in _OFTEN_WRONG and not payload.isascii():
        candidates.insert(0, "utf-8")
    for candidate in candidates:
        try:
            return payload.decode(candidate).replace("\x00", "")
        except (LookupError, UnicodeDecodeError):
            continue
    # Every byte is a character: nothing is lost.
    return payload.decode("latin-1").replace("\x00", "")


def decode_header(value: object) -> str:
    """An RFC 2047 header value as text; raw 8-bit headers are decoded like bodies."""
    if value is None:
        return ""
    if isinstance(value, email.header.Header):
        # compat32 wraps a header with raw 8-bit bytes in a Header of charset "unknown-8bit";
        # decode those bytes like a body, then any encoded words among them.
        value = "".join(
            decode_bytes(chunk, charset) if isinstance(chunk, bytes) else chunk
            for chunk, charset in email.header.decode_header(value)
        )
    text = str(value)
    if "=?" not in text:
        return _unfold(_surrogates_to_text(text))
    try:
        chunks = email.header.decode_header(text)
    except (email.errors.HeaderParseError, ValueError):
        return _unfold(text)
    parts = []
    for chunk, charset in chunks:
        if isinstance(chunk, bytes):
            parts.append(decode_bytes(chunk, charset))
        else:
            parts.append(chunk)
    # decode_header drops the white space between an encoded word and plain text.
    joined = ""
    for i, (part, (_chunk, charset)) in enumerate(zip(parts, chunks, strict=True)):
        if i and (charset is None) != (chunks[i - 1][1] is None):
            joined += " "
        joined += part
    return _unfold(_surrogates_to_text(joined))


def _surrogates_to_text(text: str) -> str:
    """compat32 keeps undecodable 8-bit header bytes as surrogates: decode them properly."""
    if not any("\udc80" <= ch <= "\udcff" for ch in text):
        return text
    return decode_bytes(text.encode("ascii", "surrogateescape"), None)


def _unfold(text: str) -> str:
    # No CR or LF survives into a decoded header: header injection starts there. NUL goes too.
    return " ".join(text.replace("\r", " ").replace("\n", " ").replace("\x00", "").split())


# One address, bare or as `Plain Name <address>`, of letters, digits and a few marks only: the
# shape of most From and To headers. For these `getaddresses` (a Python tokenizer, the costliest
# step of reading a small mail's headers) gives just the name and the address, which
# `_plain_addresses` takes directly; anything else — quotes, comments, commas, encoded words,
# 8-bit text — goes to `getaddresses`.
_PLAIN_ADDRESS = re.compile(
    r"\s*(?:(?P<name>[A-Za-z0-9][A-Za-z0-9 .\-]*?)\s*<(?P<inner>[\w.+\-]+@[\w.\-]+)>"
    r"|(?P<bare>[\w.+\-]+@[\w.\-]+))\s*",
    re.ASCII,
)


def _plain_addresses(values: list[str]) -> list[tuple[str, str]] | None:
    """`getaddresses(values)` when every value is one plain address (see _PLAIN_ADDRESS), else
    None."""
    found = []
    for value in values:
        match = _PLAIN_ADDRESS.fullmatch(value)
        if match is None:
            return None
        if match["bare"]:
            found.append(("", match["bare"]))
        else:
            found.append((" ".join(match["name"].split()), match["inner"]))
    return found


def _addresses(message: Message, name: str) -> list[tuple[str, str]]:
    # A raw 8-bit header comes as a Header object whose str() loses the bytes: decode it first.
    values = [
        decode_header(v) if isinstance(v, email.header.Header) else str(v)
        for v in message.get_all(name, [])
    ]
    if not values:
        return []
    result = []
    pairs = _plain_addresses(values)
    for display, address in email.utils.getaddresses(values) if pairs is None else pairs:
        address = _unfold(decode_header(address)).strip().lower()
        if "@" in address:
            result.append((decode_header(display)[:200], address[:254]))
    return result


def _message_ids(value: object) -> list[str]:
    return MESSAGE_ID.findall(decode_header(value))[:100]


def _date(message: Message) -> datetime | None:
    try:
        return email.utils.parsedate_to_datetime(str(message.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None


# --- Machines and bounces ---------------------------------------------------------------------

_MACHINE_SENDERS = re.compile(r"^(mailer-daemon|postmaster|no-?reply|do-?not-?reply)@", re.I)


def automatic_reason(message: Message, from_address: str) -> str:
    """Why this message is from a machine (never auto-answer it), or "" for a person's mail."""
    auto_submitted = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto_submitted and auto_submitted != "no":
        return f"Auto-Submitted: {auto_submitted}"
    precedence = str(message.get("Precedence", "")).strip().lower()
    if precedence in {"bulk", "junk", "list", "auto_reply"}:
        return f"Precedence: {precedence}"
    for header in ("List-Id", "List-Unsubscribe", "X-Loop", "X-Autoreply", "X-Autorespond"):
        if message.get(header) is not None:
            return f"{header} header"
    if str(message.get("X-Auto-Response-Suppress", "")).strip():
        return "X-Auto-Response-Suppress header"
    if str(message.get("Return-Path", "")).strip() == "<>":
        return "Return-Path: <>"
    if _MACHINE_SENDERS.match(from_address):
        return f"sender {from_address}"
    if message.get_content_type() == "multipart/report":
        return "delivery report"
    return ""


def _read_delivery_report(message: Message, parsed: ParsedMail) -> None:
    """multipart/report; report-type=delivery-status (RFC 3464): which of our mails bounced,
    and for which recipients."""
    for part in message.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in part.get_payload() if part.is_multipart() else []:
                action = str(block.get("Action", "")).strip().lower()
                recipient = str(block.get("Final-Recipient") or block.get("Original-Recipient"))
                if action in {"failed", ""} and ";" in recipient:
                    parsed.bounced_recipients.append(recipient.split(";", 1)[1].strip().lower())
        elif ctype in {"message/rfc822", "text/rfc822-headers", "message/rfc822-headers"}:
            original = part.get_payload(0) if part.is_multipart() else None
            if original is None:
                payload = part.get_payload(decode=True) or b""
                original = email.message_from_bytes(payload)
            parsed.bounced_message_ids.extend(_message_ids(original.get("Message-ID")))


# --- Bodies and files -------------------------------------------------------------------------

_UUENCODED = re.compile(
    rb"^begin [0-7]{3,4} ([^\r\n]+)\r?\n(.*?)^end\r?$", re.MULTILINE | re.DOTALL
)


def _uudecode(block: bytes) -> bytes:
    out = bytearray()
    for line in block.splitlines():
        if not line or line in (b"`", b" "):
            continue
        try:
            out += binascii.a2b_uu(line)
        except binascii.Error:
            # Some encoders pad lines wrongly; decode what the length byte announces.
            nbytes = ((line[0] - 32) & 63) * 4 // 3
            out += binascii.a2b_uu(line[: nbytes + 1])
    return bytes(out)


def _split_uuencoded(text_payload: bytes) -> tuple[bytes, list[MailPart]]:
    """Files uuencoded inside a text body (old clients, some scanners) become attachments."""
    files = []
    for match in _UUENCODED.finditer(text_payload):
        try:
            data = _uudecode(match.group(2))
        except binascii.Error:
            continue
        name = match.group(1).decode("utf-8", "replace").strip() or "file"
        files.append(MailPart(name, "application/octet-stream", data))
    if files:
        text_payload = _UUENCODED.sub(b"", text_payload)
    return text_payload, files


def _filename(part: Message, index: int, content_type: str) -> str:
    raw = part.get_filename()  # RFC 2231 parameters are joined and decoded here
    name = decode_header(raw) if raw else ""
    if not name:
        name = decode_header(part.get_param("name") or "") if part.get_param("name") else ""
    name = name.replace("\\", "/").rsplit("/", 1)[-1].strip().strip(".")
    if not name:
        extension = {
            "message/rfc822": "eml",
            "text/html": "html",
            "text/plain": "txt",
            "text/rfc822-headers": "txt",
            "text/calendar": "ics",
            "image/png": "png",
            "image/jpeg": "jpg",
            "image/gif": "gif",
            "application/pdf": "pdf",
        }.get(content_type, "bin")
        name = f"part-{index}.{extension}"
    return name[:200]


def _payload(part: Message) -> bytes:
    try:
        payload = part.get_payload(decode=True)
    except (ValueError, TypeError, binascii.Error):
        payload = None
    if payload is None:
        raw = part.get_payload()
        payload = raw.encode("utf-8", "surrogateescape") if isinstance(raw, str) else b""
    return payload


@dataclass
class _Bodies:
    texts: list[str] = field(default_factory=list)  # every text body, for search
    htmls: list[str] = field(default_factory=list)  # every HTML body
    # What the thread shows, in order: (is the fragment from an HTML part, the fragment).
    shown: list[tuple[bool, str]] = field(default_factory=list)
    files: list[MailPart] = field(default_factory=list)


_FORWARDED_HEADERS = ("From", "Date", "Subject", "To")
# A message nested deeper than this (forward of a forward of …) is kept only as a file.
_MAX_NESTING = 5


def _collect(part: Message, bodies: _Bodies, in_alternative: bool = False, depth: int = 0) -> None:
    ctype = part.get_content_type()
    if ctype == "message/delivery-status" and part.is_multipart():
        # A list of header blocks (per message, per recipient): keep all of them as one file.
        blocks = part.get_payload()
        payload = b"\n".join(b.as_bytes() for b in blocks if isinstance(b, Message))
        bodies.files.append(MailPart("delivery-status.txt", ctype, payload))
        return
    if ctype == "message/rfc822" or (part.is_multipart() and ctype.startswith("message/")):
        nested = part.get_payload(0) if part.is_multipart() else None
        payload = nested.as_bytes() if nested is not None else _payload(part)
        subject = decode_header(nested.get("Subject", "")) if nested is not None else ""
        name = _safe_name(subject or "message") + ".eml"
        bodies.files.append(MailPart(name, "message/rfc822", payload))
        if (
            nested is not None
            and part.get_content_disposition() != "attachment"
            and depth < _MAX_NESTING
        ):
            _collect_forwarded(nested, bodies, depth)
        return
    if part.is_multipart():
        children = part.get_payload()
        if ctype == "multipart/alternative":
            # One rendition is shown: the HTML one when there is one; all feed search.
            inner = _Bodies()
            for child in children if isinstance(children, list) else []:
                _collect(child, inner, True, depth)
            bodies.texts += inner.texts
            bodies.htmls += inner.htmls
            bodies.files += inner.files
            has_html = any(is_html for is_html, _fragment in inner.shown)
            bodies.shown += [item for item in inner.shown if item[0] or not has_html]
            return
        for child in children if isinstance(children, list) else []:
            _collect(child, bodies, in_alternative, depth)
        return
    if ctype.startswith("multipart/"):
        # The parser found no parts (the boundary was never declared): guess it, or show the
        # body as text rather than hide it in a file.
        recovered = _recover_multipart(part, ctype)
        if recovered is not None and recovered.is_multipart():
            _collect(recovered, bodies, in_alternative, depth)
            return
        text = decode_bytes(_payload(part), part.get_content_charset())
        bodies.texts.append(text)
        bodies.shown.append((False, quoted_text_to_html(text)))
        return
    disposition = (part.get_content_disposition() or "").lower()
    has_name = bool(part.get_filename() or part.get_param("name"))
    is_body = (
        ctype in {"text/plain", "text/html"}
        and disposition != "attachment"
        and not (has_name and disposition == "inline" and not in_alternative)
    )
    payload = _payload(part)
    if is_body:
        charset = part.get_content_charset()
        if ctype == "text/plain":
            payload, uu_files = _split_uuencoded(payload)
            bodies.files.extend(uu_files)
            text = decode_bytes(payload, charset)
            bodies.texts.append(text)
            bodies.shown.append((False, quoted_text_to_html(text)))
        else:
            html = decode_bytes(payload, charset)
            bodies.htmls.append(html)
            bodies.shown.append((True, html))
        return
    content_id = MESSAGE_ID.findall(str(part.get("Content-ID", "")))
    index = len(bodies.files) + 1
    bodies.files.append(
        MailPart(
            filename=_filename(part, index, ctype),
            content_type=ctype,
            payload=payload,
            content_id=content_id[0][1:-1] if content_id else "",
            is_inline=disposition == "inline" or (bool(content_id) and disposition != "attachment"),
        )
    )


def _collect_forwarded(nested: Message, bodies: _Bodies, depth: int) -> None:
    """A forwarded message is shown in the thread below a small header block, and its text is
    searchable; its files stay inside the .eml (one copy of each)."""
    inner = _Bodies()
    _collect(nested, inner, depth=depth + 1)
    lines = [f"{h}: {decode_header(nested.get(h))}" for h in _FORWARDED_HEADERS if nested.get(h)]
    header_html = "<blockquote>" + text_to_html("\n".join(lines)) if lines else "<blockquote>"
    bodies.texts += ["\n".join(lines), *inner.texts]
    bodies.htmls += inner.htmls
    has_html = any(is_html for is_html, _fragment in inner.shown)
    bodies.shown.append((has_html, header_html))
    bodies.shown += inner.shown
    bodies.shown.append((has_html, "</blockquote>"))


_BOUNDARY_LINE = re.compile(r"^--([^\s]{1,200})\s*$", re.MULTILINE)


def _recover_multipart(part: Message, ctype: str) -> Message | None:
    payload = part.get_payload()
    if not isinstance(payload, str):
        return None
    match = _BOUNDARY_LINE.search(payload)
    if match is None:
        return None
    boundary = match.group(1)
    if boundary.endswith("--"):
        boundary = boundary[:-2]
    head = f'Content-Type: {ctype}; boundary="{boundary}"\n\n'.encode()
    return email.message_from_bytes(head + payload.encode("ascii", "surrogateescape"))


def _safe_name(text: str) -> str:
    return re.sub(r"[^\w.-]+", "_", text).strip("_")[:80] or "message"


_QUOTE_LINE = re.compile(r"^\s*>")


def quoted_text_to_html(text: str) -> str:
    """Plain text as HTML with each run of `>` lines in a <blockquote>, so the thread can fold
    quoted history (never deleted)."""
    out: list[str] = []
    block: list[str] = []
    quoted = False
    for line in text.splitlines():
        is_quote = bool(_QUOTE_LINE.match(line))
        if block and is_quote != quoted:
            out.append(_block_html(block, quoted))
            block = []
        quoted = is_quote
        block.append(re.sub(r"^\s*> ?", "", line) if is_quote else line)
    if block:
        out.append(_block_html(block, quoted))
    return "".join(out)


def _block_html(lines: list[str], quoted: bool) -> str:
    html = text_to_html("\n".join(lines))
    return f"<blockquote>{html}</blockquote>" if quoted and html else html


# --- Reading the MIME structure ------------------------------------------------------------------
#
# The stdlib parser reads a message line by line in Python, checking every line against the
# boundaries of the multiparts it is in: a 50 KB attachment (~900 lines of base64) costs it
# 1.7 ms, more than everything else Helpa does with the message. `read_message` builds the very
# same `Message` tree (compat32) for well-formed mail by finding the boundary lines with one
# regular-expression search per multipart and handing only the header blocks to the stdlib
# parser. Anything it does not reproduce exactly — a lone CR, a header block that does not end in
# an empty line, a unix "From " line, double or missing boundaries, an encoded multipart,
# message/* parts, digests — is left to the stdlib parser, which then reads the whole message.
# tests/test_parsing_fast.py checks that both give the same tree.

_HEADER_LINE = re.compile(rb"^(From |[\041-\071\073-\176]*:|[\t ])")  # feedparser's headerRE
_FIRST_BLANK_LINE = re.compile(rb"^\r?\n", re.MULTILINE)
_BOUNDARY_LINE_END = re.compile(rb"(?P<end>--)?[ \t]*(?:\r?\n|\Z)")
_HEADERS = email.parser.Parser(policy=email.policy.compat32)


class _Unusual(Exception):
    """The message is not of the shape the fast reading reproduces."""


def read_message(raw: bytes) -> Message:
    """`email.message_from_bytes(raw)` (compat32), the same tree, faster for MIME mail."""
    if raw.count(b"\r") == raw.count(b"\r\n"):  # the stdlib also ends lines at a lone CR
        try:
            return _read_part(raw)
        except _Unusual:
            pass
    return email.message_from_bytes(raw)


def _text(data: bytes) -> str:
    # What the stdlib parser reads: bytes as ASCII, any other byte kept as a surrogate. Each
    # piece is decoded on its own (the same, byte for byte), so a long ASCII attachment is not
    # slowed down by a few 8-bit bytes elsewhere in the message.
    return data.decode("ascii", "surrogateescape")


def _read_part(data: bytes) -> Message:
    """One message or body part whose bytes end where the stdlib parser would see its end.
    The structure is found on the bytes; header blocks and payloads are decoded as the stdlib
    decodes the whole message."""
    blank = _FIRST_BLANK_LINE.search(data)
    # Without an empty line the whole text is headers (a part that is only headers).
    head_end, body_start = (blank.start(), blank.end()) if blank else (len(data), len(data))
    for line in data[:head_end].split(b"\n"):
        if line and (line.startswith(b"From ") or not _HEADER_LINE.match(line)):
            raise _Unusual  # a unix From line, or a line that ends the headers early
    message = _HEADERS.parsestr(_text(data[:body_start]), headersonly=True)
    body = data[body_start:]
    maintype = message.get_content_maintype()
    if maintype == "message":
        raise _Unusual
    if maintype != "multipart":
        message.set_payload(_text(body))
        return message
    boundary = message.get_boundary()
    encoding = str(message.get("content-transfer-encoding", "8bit")).lower()
    if (
        boundary is None
        or encoding not in ("7bit", "8bit", "binary")
        or message.get_content_type() == "multipart/digest"
    ):
        raise _Unusual
    try:
        separator = ("--" + boundary).encode("ascii", "surrogateescape")
    except UnicodeEncodeError:  # a boundary of decoded (RFC 2231) text
        raise _Unusual from None
    parts: list[Message] = []
    start = None  # where the current part's bytes start
    for line_start, line_end, closing in _boundary_lines(body, separator):
        if start is None:  # the first boundary: what is before it is the preamble
            if closing:
                raise _Unusual
            if line_start:
                message.preamble = _text(_without_last_line_end(body[:line_start]))
        else:
            if line_start == start:
                raise _Unusual  # two boundaries in a row
            part = _read_part(body[start:line_start])
            # RFC 2046: the line end before a boundary belongs to the boundary.
            if part.is_multipart():
                if part.epilogue == "":
                    part.epilogue = None
                elif part.epilogue is not None:
                    part.epilogue = _without_last_line_end(part.epilogue)
            else:
                part.set_payload(_without_last_line_end(part._payload))  # as it is, not decoded
            parts.append(part)
        if closing:
            message.set_payload(parts)
            message.epilogue = _text(body[line_end:])
            return message
        start = line_end
        if start == len(body):
            raise _Unusual
    raise _Unusual  # no boundary, or no closing one


def _boundary_lines(body: bytes, separator: bytes) -> Iterator[tuple[int, int, bool]]:
    """Where each line starts and ends (after its line end) that is `separator`, or the closing
    `separator--`, maybe followed by white space — the stdlib's boundary test of a line — and
    whether it is the closing one. Found with bytes.find, which outruns a regular expression
    that tries every line start of a long attachment."""
    at = body.find(separator)
    while at != -1:
        if at == 0 or body[at - 1] == 10:  # "\n"
            match = _BOUNDARY_LINE_END.match(body, at + len(separator))
            if match is not None:
                yield at, match.end(), bool(match.group("end"))
                at = body.find(separator, match.end())
                continue
        at = body.find(separator, at + 1)


def _without_last_line_end(text: AnyStr) -> AnyStr:
    for end in ("\r\n", "\n", "\r") if isinstance(text, str) else (b"\r\n", b"\n", b"\r"):
        if text.endswith(end):  # type: ignore[arg-type]
            return text[: -len(end)]
    return text


# --- The message ------------------------------------------------------------------------------


def parse_message(raw: bytes) -> ParsedMail:
    """Read a message. Only a bug raises here; malformed mail yields what can be read."""
    message = read_message(raw)
    parsed = ParsedMail()
    parsed.defects = [type(d).__name__ for d in message.defects][:20]
    ids = _message_ids(message.get("Message-ID"))
    parsed.message_id = ids[0][:300] if ids else ""
    parsed.in_reply_to = _message_ids(message.get("In-Reply-To"))
    parsed.references = _message_ids(message.get("References"))
    parsed.subject = decode_header(message.get("Subject", ""))[:500]
    senders = _addresses(message, "From") or _addresses(message, "Sender")
    if senders:
        parsed.from_name, parsed.from_address = senders[0]
    reply_to = _addresses(message, "Reply-To")
    parsed.reply_to = reply_to[0][1] if reply_to else ""
    parsed.to = _addresses(message, "To")
    parsed.cc = _addresses(message, "Cc")
    parsed.date = _date(message)
    parsed.automatic_reason = automatic_reason(message, parsed.from_address)
    if message.get_content_type() == "multipart/report":
        report_type = str(message.get_param("report-type") or "").lower()
        parsed.is_delivery_report = report_type == "delivery-status"
        if parsed.is_delivery_report:
            _read_delivery_report(message, parsed)

    bodies = _Bodies()
    _collect(message, bodies)
    parsed.attachments = bodies.files
    text = "\n\n".join(t for t in bodies.texts if t.strip())
    shown = "".join(fragment for _is_html, fragment in bodies.shown)
    if any(is_html for is_html, _fragment in bodies.shown):
        parsed.html = sanitize_mail_html(shown)
        parsed.text = text or html_to_text(parsed.html)
    else:
        # Only text bodies: their HTML is escaped text (and the tags of a forwarded header).
        parsed.text = text
        parsed.html = shown
    return parsed


def content_hash(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()
