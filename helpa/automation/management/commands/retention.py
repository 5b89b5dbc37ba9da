"""`helpa retention run [--dry-run]`: apply every queue's retention now (the worker does it
every night). `--dry-run` prints what would be removed and changes nothing."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand
from django.utils import timezone
from django.utils.translation import gettext as _

from helpa.automation.models import RetentionAction
from helpa.automation.retention import run_retention


class Command(BaseCommand):
    help = "Delete or anonymise tickets past their queue's retention."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        run = sub.add_parser("run", help="Apply the retention of every queue that has it on.")
        run.add_argument(
            "--dry-run", action="store_true", help="Show what would be removed; change nothing."
        )

    def handle(self, *args: Any, action: str, dry_run: bool = False, **options: Any) -> None:
        results = run_retention(dry_run=dry_run)
        if not results:
            self.stdout.write(_("Retention is off for every queue."))
            return
        for result in results:
            values = {
                "queue": result.queue,
                "count": result.count,
                "date": timezone.localtime(result.closed_before).strftime("%Y-%m-%d %H:%M"),
                "held": result.held,
            }
            deleting = result.action == RetentionAction.DELETE
            if dry_run and deleting:
                line = _("%(queue)s: would delete %(count)s tickets closed before %(date)s")
            elif dry_run:
                line = _("%(queue)s: would anonymise %(count)s tickets closed before %(date)s")
            elif deleting:
                line = _("%(queue)s: deleted %(count)s tickets closed before %(date)s")
            else:
                line = _("%(queue)s: anonymised %(count)s tickets closed before %(date)s")
            text = line % values
            if result.held:
                text += " " + _("(%(held)s kept on legal hold)") % values
            self.stdout.write(text)
