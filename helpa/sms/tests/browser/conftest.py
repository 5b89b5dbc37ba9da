"""The SMS composer's browser fixtures: the workspace's (live server, the watch on every page),
with this package's own Chromium (Playwright's sync API allows one running instance per
thread)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, sync_playwright

from helpa.tickets.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
from helpa.tickets.tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:  # noqa: F811 — this package's own instance
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()
