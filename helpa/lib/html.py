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


def sanitize_html(value: str) -> str:
    return nh3.clean(
        value or "",
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        clean_content_tags=DROPPED_WITH_CONTENT,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
    )


_BLOCK_END = re.compile(r"</(p|div|li|tr|h[1-6]|blockquote|pre)>|<br\s*/?>", re.IGNORECASE)
_TAG = re.compile(r"<[^>]+>")
_BLANK_LINES = re.compile(r"\n{3,}")


_REMOTE_IMAGE_SRC = re.compile(r'(<img\b[^>]*?) src="(https?://[^"]*)"', re.IGNORECASE)


def sanitize_mail_html(value: str) -> str:
    """Sanitise a mail's HTML and block its remote images: a remote image is a tracking pixel
    until the agent chooses to load it, so its address moves to `data-remote-src`."""
    return _REMOTE_IMAGE_SRC.sub(r'\1 data-remote-src="\2"', sanitize_html(value))


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
