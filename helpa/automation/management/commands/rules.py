"""`helpa rules`: move rules between installations and try them on a mail.

    helpa rules export > rules.json
    helpa rules import rules.json         # by name: update or create; all or nothing
    helpa rules simulate --mail FILE.eml [--queue SLUG]

`simulate` prints {"matched": [...], "ticket": {...}}: the rules that would apply, in order,
and the ticket fields that would result. Nothing is changed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from helpa.automation import tester, transfer
from helpa.tickets.models import Queue


class Command(BaseCommand):
    help = "Export, import and simulate rules."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        sub.add_parser("export", help="Print every rule as JSON.")
        imp = sub.add_parser("import", help="Create or update rules (by name) from a JSON file.")
        imp.add_argument("file", metavar="FILE", help="The JSON file, or - for standard input.")
        sim = sub.add_parser("simulate", help="Show what the active rules would do with a mail.")
        sim.add_argument("--mail", required=True, metavar="FILE.eml")
        sim.add_argument("--queue", metavar="SLUG", help="Default: from the mail's recipients.")

    def handle(self, *args: Any, action: str, **options: Any) -> None:
        if action == "export":
            self.stdout.write(json.dumps(transfer.export_rules(), ensure_ascii=False, indent=2))
        elif action == "import":
            self.import_file(options["file"])
        else:
            self.simulate(options["mail"], options.get("queue"))

    def import_file(self, name: str) -> None:
        try:
            data = sys.stdin.buffer.read() if name == "-" else Path(name).read_bytes()
        except OSError as exc:
            raise CommandError(f"{name}: {exc.strerror}") from exc
        try:
            created, updated = transfer.import_rules(data)
        except transfer.RuleErrors as exc:
            raise CommandError(
                _("Nothing was imported:") + "\n" + "\n".join(f"  {m}" for m in exc.messages)
            ) from exc
        self.stdout.write(
            _("%(created)s created, %(updated)s updated") % {"created": created, "updated": updated}
        )

    def simulate(self, mail: str, slug: str | None) -> None:
        try:
            raw = Path(mail).read_bytes()
        except OSError as exc:
            raise CommandError(f"{mail}: {exc.strerror}") from exc
        queue = None
        if slug:
            queue = Queue.objects.filter(slug=slug).first()
            if queue is None:
                raise CommandError(_("There is no queue “%(queue)s”.") % {"queue": slug})
        try:
            report = tester.try_mail(raw, queue=queue)
        except tester.TesterError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(report.as_json(), ensure_ascii=False, indent=2))
