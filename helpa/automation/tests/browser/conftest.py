"""The rules' browser fixtures: the workspace's (Chromium, the live server, the watch on every
page). `browser`, imported here, is package-scoped: this package gets its own instance."""

from __future__ import annotations

from helpa.tickets.tests.browser.conftest import *  # noqa: F403 — the shared fixtures
