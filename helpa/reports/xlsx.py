"""A minimal .xlsx writer: sheets of values, a bold header row, dates as dates.

Why not openpyxl for writing: it builds a cell object per value, and 50,000 rows of a ticket
list took ~20 s — too long for a download. An .xlsx file is a zip of a few XML parts; writing
the sheet XML directly takes a second. It also makes the formula rule structural: this writer
has no way to write a formula (`<f>`), so text is always text, whatever it begins with.
(openpyxl is still how the contact import *reads* Excel files, and how the tests read these.)
"""

from __future__ import annotations

import io
import math
import re
import zipfile
from collections.abc import Iterable, Sequence
from datetime import date, datetime, tzinfo
from decimal import Decimal
from xml.sax.saxutils import escape

from django.utils import timezone

EPOCH = datetime(1899, 12, 30)  # Excel's day 0 (its 1900 leap-year bug included)
# Characters XML 1.0 cannot carry at all; a customer's text may hold them (pasted from a terminal).
ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# Style indexes in STYLES below.
BOLD, DATE, DATETIME = 1, 2, 3

STYLES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
    '<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm"/></numFmts>'
    '<fonts count="2"><font><sz val="11"/><name val="Calibri"/></font>'
    '<font><b/><sz val="11"/><name val="Calibri"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="4"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/>'
    '<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)


def _text(value: str) -> str:
    if ILLEGAL.search(value):
        value = ILLEGAL.sub("", value)
    return escape(value) if ("&" in value or "<" in value or ">" in value) else value


def _cell(value: object, tz: tzinfo, style: int = 0) -> str:
    """One `<c>` element, without its reference (Excel places cells in order). The common
    types are tested first: this runs once per cell, half a million times for a big list."""
    s = f' s="{style}"' if style else ""
    kind = type(value)
    if kind is str:
        text = str(value)
        if not text:
            return "<c/>"
        preserve = ' xml:space="preserve"' if text[0].isspace() or text[-1].isspace() else ""
        return f'<c t="inlineStr"{s}><is><t{preserve}>{_text(text)}</t></is></c>'
    if value is None:
        return "<c/>"
    if kind is int:
        return f"<c{s}><v>{value}</v></c>"
    if kind is bool:
        return f'<c t="b"{s}><v>{int(value)}</v></c>'  # type: ignore[call-overload]
    if isinstance(value, float) and not math.isfinite(value):
        return "<c/>"
    if isinstance(value, int | float | Decimal):
        return f"<c{s}><v>{value}</v></c>"
    if isinstance(value, datetime):
        if value.tzinfo:
            value = value.astimezone(tz).replace(tzinfo=None)  # Excel has no time zones
        serial = (value - EPOCH).total_seconds() / 86400
        return f'<c s="{DATETIME}"><v>{serial:.6f}</v></c>'
    if isinstance(value, date):
        return f'<c s="{DATE}"><v>{(value - EPOCH.date()).days}</v></c>'
    return _cell(str(value), tz, style)


def _widths(header: Sequence[str], rows: Sequence[Sequence[object]]) -> list[float]:
    """Column widths from the header and the first rows: readable without being dragged."""
    widths = [len(str(h)) for h in header]
    for row in rows[:200]:
        for i, value in enumerate(row):
            length = len(str(value)) if value is not None else 0
            if i < len(widths):
                widths[i] = max(widths[i], length)
            else:
                widths.append(length)
    return [min(max(w + 2, 8), 60) for w in widths]


def sheet_xml(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
        for i, w in enumerate(_widths(header, rows), start=1)
    )
    tz = timezone.get_current_timezone()
    parts = [
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">',
        f"<cols>{cols}</cols>" if cols else "",
        "<sheetData>",
        "<row>" + "".join(_cell(str(h), tz, BOLD) for h in header) + "</row>",
    ]
    parts.extend("<row>" + "".join([_cell(v, tz) for v in row]) + "</row>" for row in rows)
    parts.append("</sheetData></worksheet>")
    return "".join(parts)


def workbook(sheets: Iterable[tuple[str, Sequence[str], Sequence[Sequence[object]]]]) -> bytes:
    """The .xlsx file of `(sheet name, header, rows)`; names must be unique and valid already."""
    sheets = list(sheets)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        overrides = "".join(
            f'<Override PartName="/xl/worksheets/sheet{n}.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        package.writestr(
            "[Content_Types].xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
            '<Default Extension="rels" ContentType="application/'
            'vnd.openxmlformats-package.relationships+xml"/>'
            '<Default Extension="xml" ContentType="application/xml"/>'
            '<Override PartName="/xl/workbook.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
            '<Override PartName="/xl/styles.xml" ContentType="application/'
            'vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
            f"{overrides}</Types>",
        )
        package.writestr(
            "_rels/.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/'
            '2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        names = "".join(
            f'<sheet name="{_text(name)}" sheetId="{n}" r:id="rId{n}"/>'
            for n, (name, _h, _r) in enumerate(sheets, start=1)
        )
        package.writestr(
            "xl/workbook.xml",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
            'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
            f"<sheets>{names}</sheets></workbook>",
        )
        rels = "".join(
            f'<Relationship Id="rId{n}" Type="http://schemas.openxmlformats.org/officeDocument/'
            f'2006/relationships/worksheet" Target="worksheets/sheet{n}.xml"/>'
            for n in range(1, len(sheets) + 1)
        )
        styles_id = len(sheets) + 1
        package.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
            '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'{rels}<Relationship Id="rId{styles_id}" Type="http://schemas.openxmlformats.org/'
            'officeDocument/2006/relationships/styles" Target="styles.xml"/></Relationships>',
        )
        package.writestr("xl/styles.xml", STYLES)
        for n, (_name, header, rows) in enumerate(sheets, start=1):
            package.writestr(f"xl/worksheets/sheet{n}.xml", sheet_xml(header, rows))
    return out.getvalue()
