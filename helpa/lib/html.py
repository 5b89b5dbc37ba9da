"""HTML from outside (editors, mail, API) is sanitised with an allow-list before it is stored."""

from __future__ import annotations

import html
import re

import nh3

ALLOWED_TAGS = {
    "a",
    "b",
    "blockquote",
    "br",
    "code",
    "div",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "hr",
    "i",
    "img",
    "li",
    "ol",
    "p",
    "pre",
    "s",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    # data-remote-src: a mail's remote image, not loaded until the agent asks (see mail_html).
    "img": {"src", "alt", "title", "width", "height", "data-remote-src"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
}
# Elements whose content goes with them (a mail's <title> or <style> is no text of the message).
DROPPED_WITH_CONTENT = {"script", "style", "title", "template", "noscript"}
# cid: is how mail and pasted images point at an attachment of the same message.
URL_SCHEMES = {"http", "https", "mailto", "tel", "cid"}


_HTTP_URL = re.compile(r"^https?://", re.IGNORECASE)
# nh3 checks the schemes of the attributes it knows as URLs (href, src); data-remote-src is ours,
# a src waiting for the agent's click, so only an http(s) address may wait there. nh3 writes
# every value double-quoted (a quote inside is &quot;), so this sees whole values. (A regex on
# the output costs a fraction of nh3's per-attribute Python callback.)
_UNSAFE_DEFERRED_SRC = re.compile(r' data-remote-src="(?!\s*https?://)[^"]*"', re.IGNORECASE)


def _clean(value: str) -> str:
    return nh3.clean(
        value,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        clean_content_tags=DROPPED_WITH_CONTENT,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


def sanitize_html(value: str) -> str:
    """The allow-listed HTML; sanitising it again changes nothing.

    The HTML parser's repairs can serialise to markup that parses differently the next time
    (`<a><table><a>` becomes an <a> nested in an <a>, which a browser splits in two), so the
    result is cleaned again until it is stable: what is stored is what a browser will build."""
    cleaned = _clean(value or "")
    for _round in range(3):
        again = _clean(cleaned)
        if again == cleaned:
            break
        cleaned = again
    if "data-remote-src" in cleaned:
        cleaned = _IMG_TAG.sub(lambda m: _UNSAFE_DEFERRED_SRC.sub("", m.group(0)), cleaned)
    return cleaned


_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


# In nh3's output every tag ends at the first ">" (a ">" inside a value is written &gt;) and every
# value is double-quoted (a quote inside is &quot;), so these patterns see whole attributes.
_IMG_TAG = re.compile(r"<img\b[^>]*>", re.IGNORECASE)
# http(s), and protocol-relative "//host/…" (also written with backslashes), which loads remotely.
_REMOTE_SRC = re.compile(r' src="((?:https?:)?[/\\]{2}[^"]*)"', re.IGNORECASE)
_DEFERRED_SRC = re.compile(r' data-remote-src="[^"]*"')


def _defer_remote_image(match: re.Match[str]) -> str:
    tag = match.group(0)
    remote = _REMOTE_SRC.search(tag)
    if remote is None:
        return tag
    url = remote.group(1)
    if not _HTTP_URL.match(url):
        url = "https://" + url.lstrip("/\\")
    # One deferred source per image: the image's own src wins over one the mail brought along
    # (two attributes of one name would make a second sanitising pass keep the other).
    tag = _DEFERRED_SRC.sub("", tag)
    return _REMOTE_SRC.sub(lambda _m: f' data-remote-src="{url}"', tag, count=1)


def sanitize_mail_html(value: str) -> str:
    """Sanitise a mail's HTML and block its remote images: a remote image is a tracking pixel
    until the agent chooses to load it, so its address moves to `data-remote-src`."""
    return _IMG_TAG.sub(_defer_remote_image, sanitize_html(value))


def html_to_text(value: str) -> str:
    """A readable plain-text rendition of (already sanitised) HTML."""
    text = _BLOCK_END.sub("\n", value or "")
    text = _TAG.sub("", text)
    text = html.unescape(text)
    lines = [line.strip() for line in text.splitlines()]
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def text_to_html(value: str) -> str:
    """Plain text (plain-text editor mode, or a text-only source) as safe HTML paragraphs."""
    paragraphs = re.split(r"\n\s*\n", (value or "").strip())
    return "".join(
        "<p>" + html.escape(p).replace("\n", "<br>") + "</p>" for p in paragraphs if p.strip()
    )
