"""CSV and Excel files of reports and lists.

A cell that begins with `=`, `+`, `-`, `@` (or a tab or carriage return, which some spreadsheet
programs strip before looking) would be run as a formula when the file is opened: a customer
who names themselves `=HYPERLINK(...)` must not get a formula into a manager's spreadsheet. Such
text gets a leading apostrophe in CSV (the convention spreadsheets understand); Excel files hold
no formulas at all (xlsx.py cannot write one). Numbers stay numbers, so a negative figure is still a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from . import xlsx
from .report import Report, Table, Value, plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_value(value: Value, tz: tzinfo | None = None) -> str | int | float:
    """`tz`: the local zone, looked up once per file by the caller (per cell it was a third of
    the time of a 50,000-row export)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        if value.tzinfo:
            value = value.astimezone(tz or timezone.get_current_timezone())
        return value.strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def csv_rows(tables: Sequence[Table]) -> Iterable[list[str | int | float]]:
    """One table: header and rows. Several: each under its title, a blank line between."""
    tz = timezone.get_current_timezone()
    for number, table in enumerate(tables):
        if len(tables) > 1:
            if number:
                yield []
            yield [csv_value(table.title)]
        yield [csv_value(c) for c in table.columns]
        for row in table.rows:
            yield [csv_value(plain(v), tz) for v in row]


def csv_bytes(tables: Sequence[Table]) -> bytes:
    # Semicolons and a BOM: what Swedish Excel opens correctly with a double-click.
    out = io.StringIO()
    writer = csv.writer(out, delimiter=";", lineterminator="\r\n")
    writer.writerows(csv_rows(tables))
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _sheet_title(table: Table, taken: set[str]) -> str:
    base = (table.sheet or table.title or "Sheet")[:31]
    # Excel forbids []:*?/\ in sheet names.
    base = "".join("_" if ch in "[]:*?/\\" else ch for ch in base) or "Sheet"
    title, n = base, 2
    while title.lower() in taken:
        suffix = f" ({n})"
        title, n = base[: 31 - len(suffix)] + suffix, n + 1
    taken.add(title.lower())
    return title


def xlsx_bytes(report: Report) -> bytes:
    """One sheet per table (see xlsx.py: text is never written as a formula)."""
    taken: set[str] = set()
    tables = report.tables or [Table(report.title, [], [])]
    return xlsx.workbook(
        (
            _sheet_title(table, taken),
            [str(c) for c in table.columns],
            [[plain(v) for v in row] for row in table.rows],
        )
        for table in tables
    )


def filename(report_title: str, extension: str) -> str:
    stamp = timezone.localdate().isoformat()
    return f"{slugify(report_title) or 'report'}-{stamp}.{extension}"


def csv_response(report: Report) -> HttpResponse:
    response = HttpResponse(csv_bytes(report.tables), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename(report.title, "csv")}"'
    return response


def xlsx_response(report: Report) -> HttpResponse:
    response = HttpResponse(xlsx_bytes(report), content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename(report.title, "xlsx")}"'
    return response


def export_response(report: Report, file_format: str) -> HttpResponse | None:
    """The file for `?export=csv` or `?export=xlsx`; None for anything else (show the page)."""
    if file_format == "csv":
        return csv_response(report)
    if file_format == "xlsx":
        return xlsx_response(report)
    return None
