"""The portal's browser fixtures (Chromium, the live server, the watch on every page)."""

from helpa.portal.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
