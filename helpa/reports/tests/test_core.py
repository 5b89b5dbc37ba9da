"""The parts every report shares: exports that never carry a formula, charts drawn as SVG."""

from __future__ import annotations

import csv
import io
from datetime import date
from decimal import Decimal

from openpyxl import load_workbook

from helpa.reports import charts, exports
from helpa.reports.report import Cell, Chart, Report, Series, Table

DANGEROUS = ['=HYPERLINK("http://x")', "+46 70 123", "-1+2", "@SUM(A1)", "\tTab", "ok"]


def _report() -> Report:
    rows: list[list] = [[text, 1] for text in DANGEROUS]
    rows.append(["negative number stays a number", -3])
    rows.append([Cell("linked", "/tickets/?q=1"), Decimal("2.5")])
    rows.append(["a date", date(2026, 3, 1)])
    return Report("Queue: Support", tables=[Table("Figures", ["Name", "Count"], rows)])


def test_csv_cells_that_look_like_formulas_are_text() -> None:
    data = exports.csv_bytes(_report().tables).decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(data), delimiter=";"))
    assert rows[0] == ["Name", "Count"]
    names = [r[0] for r in rows[1:7]]
    assert names == [
        '\'=HYPERLINK("http://x")',
        "'+46 70 123",
        "'-1+2",
        "'@SUM(A1)",
        "'\tTab",
        "ok",
    ]
    assert rows[7] == ["negative number stays a number", "-3"]
    assert rows[8] == ["linked", "2.5"]  # the link is not exported, the value is
    assert rows[9] == ["a date", "2026-03-01"]


def test_several_tables_in_one_csv_are_titled_and_separated() -> None:
    tables = [Table("One", ["a"], [[1]]), Table("Two", ["b"], [[2]])]
    rows = list(
        csv.reader(io.StringIO(exports.csv_bytes(tables).decode("utf-8-sig")), delimiter=";")
    )
    assert rows == [["One"], ["a"], ["1"], [], ["Two"], ["b"], ["2"]]


def test_xlsx_never_holds_a_formula() -> None:
    book = load_workbook(io.BytesIO(exports.xlsx_bytes(_report())))
    sheet = book["Figures"]
    cells = [sheet.cell(row=r, column=1) for r in range(2, 8)]
    assert [c.value for c in cells] == DANGEROUS
    assert all(c.data_type == "s" for c in cells)
    assert sheet.cell(row=8, column=2).value == -3
    assert sheet.cell(row=9, column=2).value == 2.5


def test_sheet_names_are_unique_and_legal() -> None:
    report = Report("r", tables=[Table("Per queue: a/b", [], []), Table("Per queue: a/b", [], [])])
    book = load_workbook(io.BytesIO(exports.xlsx_bytes(report)))
    assert book.sheetnames == ["Per queue_ a_b", "Per queue_ a_b (2)"]


def test_chart_svg_links_each_bar_and_escapes_labels() -> None:
    chart = Chart(
        "New <tickets>",
        ["Jan", "<b>Feb</b>"],
        [Series("New", [3, 7], ["/t?m=1", "/t?m=2&x=1"])],
    )
    svg = str(charts.render(chart))
    assert svg.count('<rect class="bar') == 2
    assert 'href="/t?m=2&amp;x=1"' in svg
    assert "<b>" not in svg and "&lt;b&gt;Feb&lt;/b&gt;" in svg
    assert "&lt;b&gt;Feb&lt;/b&gt;: 7</title>" in svg


def test_line_chart_and_the_axis_top() -> None:
    chart = Chart("Backlog", ["1", "2", "3"], [Series("Open", [10, None, 40])], kind="line")
    svg = str(charts.render(chart))
    assert svg.count("<circle") == 2  # no point for a missing value
    assert charts.nice_maximum(40) == 50
    assert charts.nice_maximum(0) == 1
    assert charts.nice_maximum(101) == 200
    assert charts.format_number(1234567) == "1\u202f234\u202f567"
    assert charts.format_number(2.25, "h") == "2.2 h"


def test_xlsx_dates_header_and_characters_xml_cannot_carry() -> None:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    stockholm_noon = datetime(2026, 7, 1, 10, 0, tzinfo=ZoneInfo("UTC"))  # 12:00 local (CEST)
    table = Table(
        "T",
        ["When", "Day", "Text", "Flag"],
        [[stockholm_noon, date(2026, 3, 1), "bell\x07 & <b> ", True], [None, None, "", False]],
    )
    book = load_workbook(io.BytesIO(exports.xlsx_bytes(Report("r", tables=[table]))))
    sheet = book["T"]
    assert sheet["A1"].font.bold
    assert sheet["A2"].value == datetime(2026, 7, 1, 12, 0)
    assert sheet["B2"].value == datetime(2026, 3, 1)
    assert sheet["C2"].value == "bell & <b> "
    assert sheet["D2"].value is True
    assert [c.value for c in sheet[3]] == [None, None, None, False]


def test_report_pages_offer_a_subscription_with_their_filters(ada_client) -> None:  # type: ignore[no-untyped-def]
    for url, key in [
        ("/reports/time/?period=last_year", "time"),
        ("/reports/sla/?period=last_year", "sla"),
        ("/reports/surveys/?period=last_year", "surveys"),
        ("/reports/statistics/?period=last_year", "statistics"),
    ]:
        page = ada_client.get(url).content.decode()
        assert f"/reports/subscriptions/new/?report={key}&amp;params=period%3Dlast_year" in page, (
            url
        )


def test_every_registered_report_builds_for_every_period_a_subscription_offers(
    admin,
    alice,
    ticket,  # type: ignore[no-untyped-def]
) -> None:
    from django.http import QueryDict

    from helpa.reports.report import REPORTS
    from helpa.reports.views_subscriptions import MAIL_PERIODS

    assert {"statistics", "time", "sla", "surveys"} <= set(REPORTS)
    for kind in REPORTS.values():
        for period in MAIL_PERIODS:
            for user in (admin, alice):
                report = kind.build(user, QueryDict(f"period={period}"))
                assert report.title, (kind.key, period)
