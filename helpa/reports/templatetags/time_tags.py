"""Template helpers of the time report: hours keep their two decimals (an invoice's figure)."""

from __future__ import annotations

from decimal import Decimal

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString

from helpa.reports.periods import PRESETS
from helpa.reports.report import Cell, Value
from helpa.reports.templatetags.reports_tags import cell_html

register = template.Library()


def _hours(value: Decimal) -> str:
    return f"{value:,.2f}".replace(",", "\u202f")


@register.simple_tag
def time_cell(cell: Value | Cell) -> SafeString:
    """Like `cell_html`, but a Decimal (hours) shows both decimals."""
    value = cell.value if isinstance(cell, Cell) else cell
    if not isinstance(value, Decimal):
        return cell_html(cell)
    if isinstance(cell, Cell) and cell.url:
        return format_html('<a href="{}">{}</a>', cell.url, _hours(value))
    return format_html("{}", _hours(value))


@register.simple_tag
def period_choices() -> list[tuple[str, str]]:
    return [(key, str(label)) for key, label in PRESETS.items()]
