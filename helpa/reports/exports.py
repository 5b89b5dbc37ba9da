"""CSV and Excel files of reports and lists.

A cell that begins with `=`, `+`, `-`, `@` (or a tab or carriage return, which some spreadsheet
programs strip before looking) would be run as a formula when the file is opened: a customer
who names themselves `=HYPERLINK(...)` must not get a formula into a manager's spreadsheet. Such
text gets a leading apostrophe in CSV (the convention spreadsheets understand) and is written as
an explicit string cell in Excel. Numbers stay numbers, so a negative figure is still a number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal

from django.http import HttpResponse
from django.utils import timezone
from django.utils.text import slugify

from .report import Report, Table, Value, plain

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def is_formula_like(text: str) -> bool:
    return text.startswith(FORMULA_STARTS)


def csv_value(value: Value) -> str | int | float:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int | float):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value.tzinfo else str(value)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if is_formula_like(text) else text


def csv_rows(tables: Sequence[Table]) -> Iterable[list[str | int | float]]:
    """One table: header and rows. Several: each under its title, a blank line between."""
    for number, table in enumerate(tables):
        if len(tables) > 1:
            if number:
                yield []
            yield [csv_value(table.title)]
        yield [csv_value(c) for c in table.columns]
        for row in table.rows:
            yield [csv_value(plain(v)) for v in row]


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
    from openpyxl import Workbook
    from openpyxl.cell.cell import TYPE_STRING
    from openpyxl.styles import Font

    book = Workbook(write_only=False)
    book.remove(book.active)
    taken: set[str] = set()
    bold = Font(bold=True)
    tables = report.tables or [Table(report.title, [], [])]
    for table in tables:
        sheet = book.create_sheet(_sheet_title(table, taken))
        sheet.append([str(c) for c in table.columns])
        for cell in sheet[1]:
            cell.font = bold
        for row_number, row in enumerate(table.rows, start=2):
            for col_number, raw in enumerate(row, start=1):
                value = plain(raw)
                cell = sheet.cell(row=row_number, column=col_number)
                if isinstance(value, datetime) and value.tzinfo:
                    value = timezone.localtime(value).replace(tzinfo=None)  # Excel has no zones
                if isinstance(value, str):
                    # Set the value and then force the type: openpyxl would otherwise take a
                    # leading "=" as a formula.
                    cell.value = value
                    cell.data_type = TYPE_STRING
                elif isinstance(value, Decimal):
                    cell.value = float(value)
                else:
                    cell.value = value
        for column_cells in sheet.columns:
            width = max((len(str(c.value or "")) for c in column_cells), default=8)
            sheet.column_dimensions[column_cells[0].column_letter].width = min(max(width, 8), 60)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


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
