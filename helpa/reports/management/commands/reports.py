"""`helpa reports refresh [--all]`: bring the statistics facts up to date now (the worker does
it every minute). `--all` rebuilds the facts of every ticket (after an import, or when the
calendars changed and the business times should follow)."""

from __future__ import annotations

import time
from typing import Any

from django.core.management.base import BaseCommand

from helpa.reports.facts import refresh


class Command(BaseCommand):
    help = "Statistics facts."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = sub.add_parser("refresh", help="Write the facts of the tickets changed since.")
        run.add_argument("--all", action="store_true", help="Rebuild the facts of every ticket.")

    def handle(self, *args: Any, action: str, all: bool = False, **options: Any) -> None:  # noqa: A002
        started = time.monotonic()
        written = refresh(full=all)
        seconds = time.monotonic() - started
        rate = written / seconds if seconds else 0
        self.stdout.write(f"{written} tickets' facts written in {seconds:.1f} s ({rate:.0f}/s)")
