"""Template helpers for reports: charts as SVG, a chart's numbers as a table, linked cells."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from django import template
from django.template.loader import render_to_string
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import SafeString

from helpa.reports import charts
from helpa.reports.report import Cell, Chart, Value

register = template.Library()


@register.filter
def figure(value: Value) -> str:
    """A figure as a person reads it: grouped thousands, one decimal at most, dates localised."""
    if value is None:
        return "–"
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int | float | Decimal):
        return charts.format_number(float(value))
    if isinstance(value, datetime):
        return formats.date_format(timezone.localtime(value), "SHORT_DATETIME_FORMAT")
    if isinstance(value, date):
        return formats.date_format(value, "SHORT_DATE_FORMAT")
    return str(value)


@register.simple_tag
def chart_svg(chart: Chart) -> SafeString:
    return charts.render(chart)


@register.simple_tag
def chart_table(chart: Chart) -> SafeString:
    rows = []
    for i, label in enumerate(chart.labels):
        cells = []
        for series in chart.series:
            value = series.values[i] if i < len(series.values) else None
            url = series.urls[i] if i < len(series.urls) else ""
            cells.append(Cell(value, url))
        rows.append((label, cells))
    return render_to_string("reports/_chart_table.html", {"chart": chart, "rows": rows})


@register.simple_tag
def cell_html(cell: Value | Cell) -> SafeString:
    if isinstance(cell, Cell):
        if cell.url:
            return format_html('<a href="{}">{}</a>', cell.url, figure(cell.value))
        return format_html("{}", figure(cell.value))
    return format_html("{}", figure(cell))
