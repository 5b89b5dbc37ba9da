"""Playwright driving Debian's Chromium against pytest-django's live server.

Every page a test opens is watched: a JavaScript error, a console error, a failed request to
our server, a missing static file, or any request to a host other than the live server on
127.0.0.1 fails the test (reported when the test's browser contexts are torn down).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Page,
    Request,
    Response,
    Route,
    sync_playwright,
)

from helpa.accounts.models import Role, User
from helpa.tickets.models import Queue

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between browser steps are ordinary synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
# The live server listens on 127.0.0.1 (not "localhost", which may resolve elsewhere), so the
# host guard below can insist on exactly that address.
os.environ.setdefault("DJANGO_LIVE_TEST_SERVER_ADDRESS", "127.0.0.1")

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
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}
# The scripts every workspace page needs; the fixture checks that both arrived.
SCRIPTS = ["/static/django_htmx/htmx-2.min.js", "/static/helpa/app.js"]
# Chromium reports any 4xx/5xx response as a console error. A refused form (400) or a refused
# stale save (409) is a page the tests expect; the response check below judges statuses.
STATUS_CONSOLE_ERROR = re.compile(r"^Failed to load resource: the server responded with a status")
# htmx wires up swapped-in content (its hx-* attributes) only when the swap settles, 20 ms
# after the swap. A test that acts faster than any person would act on dead elements, so
# pages count settles and tests can wait for the next one (see `settled`).
COUNT_SETTLES = """
document.addEventListener("htmx:afterSettle", () => {
  window.testHtmxSettles = (window.testHtmxSettles || 0) + 1;
});
"""


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    """One Chromium per test package. Other packages' browser tests import these fixtures;
    Playwright's sync API allows one instance at a time in a thread, so each package closes
    its browser before the next one starts (a session scope would start a second one)."""
    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@dataclass
class Watch:
    """What went wrong in a test's pages, and which scripts loaded."""

    origin: str
    problems: list[str] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)

    def route(self, route: Route) -> None:
        url = route.request.url
        parts = urlsplit(url)
        if f"{parts.scheme}://{parts.netloc}" != self.origin:
            self.problems.append(f"request to another host: {url}")
            route.abort("blockedbyclient")
        else:
            route.continue_()

    def on_response(self, response: Response) -> None:
        if not response.url.startswith(self.origin + "/"):
            return
        path = urlsplit(response.url).path
        if response.ok:
            self.loaded.add(path)
        # A page may answer 400 or 409 on purpose (a refused form keeps the entries); anything
        # else a page loads (scripts, styles, htmx calls) must succeed, and nothing may crash.
        if response.status >= 500 or (
            response.status >= 400 and response.request.resource_type != "document"
        ):
            self.problems.append(f"{response.status} {response.request.method} {response.url}")

    def on_request_failed(self, request: Request) -> None:
        failure = request.failure or ""
        # A poll cut off by navigating away is aborted by the browser, not a failure.
        if "ERR_ABORTED" in failure or "ERR_BLOCKED_BY_CLIENT" in failure:
            return
        self.problems.append(f"request failed ({failure}): {request.method} {request.url}")

    def on_console(self, message: ConsoleMessage) -> None:
        if message.type == "error" and not STATUS_CONSOLE_ERROR.match(message.text):
            self.problems.append(f"console error: {message.text}")

    def on_page_error(self, error: Exception) -> None:
        self.problems.append(f"JavaScript error: {error}")


@pytest.fixture
def watch(live_server) -> Watch:
    return Watch(origin=live_server.url)


@pytest.fixture
def open_page(browser: Browser, live_server, watch: Watch) -> Iterator[Callable[..., Page]]:
    """`open_page(user)`: a page in a fresh browser context, logged in through the real login
    form, on the overview. Each call is another browser (another agent at another desk)."""
    assert urlsplit(live_server.url).hostname == "127.0.0.1", live_server.url
    contexts = []

    def make(user: User, *, viewport: dict[str, int] | None = None, password: str = "pw") -> Page:
        context = browser.new_context(viewport=viewport or DESKTOP, locale="en-GB")
        contexts.append(context)
        context.route("**/*", watch.route)
        context.add_init_script(COUNT_SETTLES)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.on("pageerror", watch.on_page_error)
        page.on("console", watch.on_console)
        page.on("response", watch.on_response)
        page.on("requestfailed", watch.on_request_failed)
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", user.email)
        page.fill("input[name=password]", password)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/tickets/")
        missing = [path for path in SCRIPTS if path not in watch.loaded]
        assert not missing, f"scripts did not load: {missing}"
        # htmx is there and app.js ran (it marks <html class="js">).
        assert page.evaluate("typeof htmx === 'object' && typeof htmx.ajax === 'function'")
        assert page.evaluate("document.documentElement.classList.contains('js')")
        return page

    yield make
    for context in contexts:
        context.close()
    assert not watch.problems, "\n".join(watch.problems)


@pytest.fixture
def sam(alice: User, support: Queue) -> User:
    """Alice's colleague in the Support team."""
    user = User.objects.create_user(
        "sam@example.com", "pw", full_name="Sam Support", role=Role.AGENT
    )
    support.teams.get().members.add(user)
    return user


@contextmanager
def settled(page: Page) -> Iterator[None]:
    """Wait, after the block, until htmx has settled one more swap than before it."""
    before = page.evaluate("window.testHtmxSettles || 0")
    yield
    page.wait_for_function("n => (window.testHtmxSettles || 0) > n", arg=before)
