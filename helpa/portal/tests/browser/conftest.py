"""The customer side in Chromium: the agent workspace's browser fixtures, plus pages for
visitors who are not signed in (a customer opening a mailed link)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page

from helpa.tickets.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
from helpa.tickets.tests.browser.conftest import DESKTOP, Watch


@pytest.fixture
def visitor_page(browser: Browser, live_server, watch: Watch) -> Iterator[Callable[..., Page]]:
    """`visitor_page()`: a fresh, signed-out browser (another person at another computer)."""
    assert urlsplit(live_server.url).hostname == "127.0.0.1", live_server.url
    contexts = []

    def make(viewport: dict[str, int] | None = None) -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="en-GB")
        contexts.append(context)
        context.route("**/*", watch.route)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", watch.on_page_error)
        page.on("console", watch.on_console)
        page.on("response", watch.on_response)
        page.on("requestfailed", watch.on_request_failed)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)
