"""The knowledge base's browser fixtures: the portal's (Chromium, the live server, the watch on
every page, signed-out visitors). `browser`, imported here, is package-scoped: this package gets
its own instance."""

from __future__ import annotations

from helpa.portal.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
