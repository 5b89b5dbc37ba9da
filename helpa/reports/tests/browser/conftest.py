"""The surveys in Chromium: the portal's browser fixtures (agents logged in, visitors not)."""

from helpa.portal.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
