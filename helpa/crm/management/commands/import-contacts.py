"""`helpa import-contacts FILE [--mapping col=field,…] [--dry-run]`: contacts and companies
from a CSV or .xlsx file, the same import as the settings page (crm/importing.py).

Prints the mapping it used, a summary and the row errors; exits with status 1 when rows failed.
The file name has a dash because the command is called `import-contacts` (see import-mail).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from helpa.crm.importing import (
    FIELDS,
    Importer,
    ImportFileError,
    MappingError,
    parse_mapping_option,
    read_table,
)


class Command(BaseCommand):
    help = "Import contacts and companies from a CSV or Excel (.xlsx) file."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument(
            "--mapping",
            default="",
            help="column=field,… on top of the mapping guessed from the headers "
            "(a column by header, number or letter; field 'ignore' skips it). "
            f"Fields: {', '.join(f for f in FIELDS if f)}",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would happen, write nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(_("No such file: %(path)s") % {"path": path})
        try:
            table = read_table(path)
            mapping = parse_mapping_option(options["mapping"], table.headers)
            importer = Importer(mapping, dry_run=options["dry_run"])
        except (ImportFileError, MappingError) as error:
            raise CommandError(str(error)) from error
        ignored = _("(ignored)")
        for header, target in zip(table.headers, mapping, strict=True):
            self.stdout.write(f"  {header} → {FIELDS[target] if target else ignored}")
        result = importer.run(table.rows)
        if options["dry_run"]:
            self.stdout.write(_("Dry run: nothing was written."))
        self.stdout.write(
            _(
                "%(created)s created, %(updated)s updated, %(unchanged)s unchanged, %(failed)s failed."
            )
            % {
                "created": result.created,
                "updated": result.updated,
                "unchanged": result.unchanged,
                "failed": result.failed,
            }
        )
        for error in result.errors:
            self.stderr.write(_("Row %(row)s: %(reason)s") % error)
        if result.error_count > len(result.errors):
            self.stderr.write(
                _("… and %(count)s more row errors.")
                % {"count": result.error_count - len(result.errors)}
            )
        if result.failed:
            sys.exit(1)
