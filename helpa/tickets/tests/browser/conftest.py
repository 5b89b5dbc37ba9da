"""Playwright driving Debian's Chromium against pytest-django's live server."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Browser, Page, Route, sync_playwright

from helpa.accounts.models import User

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous ones.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def open_page(browser: Browser, live_server) -> Iterator[Callable[..., Page]]:
    """A logged-in page in a fresh browser context per user. Fails the test on a JavaScript
    error, a failed request to our server, or any request to another host."""
    contexts = []
    problems: list[str] = []
    server = urlsplit(live_server.url).netloc

    def guard(route: Route) -> None:
        host = urlsplit(route.request.url).netloc
        if host != server:
            problems.append(f"request to an outside host: {route.request.url}")
            route.abort()
        else:
            route.continue_()

    def make(user: User, *, viewport: dict[str, int] | None = None, password: str = "pw") -> Page:
        context = browser.new_context(viewport=viewport or {"width": 1280, "height": 900})
        contexts.append(context)
        context.route("**/*", guard)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", lambda error: problems.append(f"JavaScript error: {error}"))
        page.on(
            "response",
            lambda r: (
                problems.append(f"{r.status} {r.url}")
                if r.status >= 500 or (r.status == 404 and "/static/" in r.url)
                else None
            ),
        )
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/tickets/")
        return page

    yield make
    for context in contexts:
        context.close()
    assert not problems, problems
