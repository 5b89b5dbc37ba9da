"""`helpa gdpr export EMAIL_OR_PHONE --out FILE.zip` and `helpa gdpr anonymise EMAIL_OR_PHONE
--yes`: the Privacy (GDPR) settings page from the command line. Without --yes, anonymise only
shows what it would change."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from helpa.privacy import gdpr


class Command(BaseCommand):
    help = "Export or anonymise what Helpa holds about one person (GDPR)."

    def add_arguments(self, parser: Any) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
        export = sub.add_parser("export", help="Write the person's data to a .zip archive.")
        export.add_argument("identifier", metavar="EMAIL_OR_PHONE")
        export.add_argument("--out", required=True, metavar="FILE.zip")
        anonymise = sub.add_parser("anonymise", help="Replace the person's data everywhere.")
        anonymise.add_argument("identifier", metavar="EMAIL_OR_PHONE")
        anonymise.add_argument("--yes", action="store_true", help="Really anonymise.")

    def handle(self, *args: Any, action: str, identifier: str, **options: Any) -> None:
        try:
            subject = gdpr.find_subject(identifier)
        except gdpr.NotFound as exc:
            raise CommandError(_("Helpa holds nothing about this address or number.")) from exc
        counts = gdpr.summary(subject)
        for key, count in counts.items():
            self.stdout.write(f"{key}: {count}")
        if action == "export":
            with open(options["out"], "wb") as out:
                gdpr.export(subject, out, None)
            self.stdout.write(_("Exported to %(file)s.") % {"file": options["out"]})
            return
        if not options["yes"]:
            self.stdout.write(_("Nothing was changed. Add --yes to anonymise."))
            return
        row = gdpr.anonymise(subject, None)
        count = row.counts.get("tickets_touched", 0)
        self.stdout.write(
            ngettext(
                "Anonymised: %(count)s ticket changed.",
                "Anonymised: %(count)s tickets changed.",
                count,
            )
            % {"count": count}
        )
