"""Charts drawn on the server as inline SVG: no chart library, no script, nothing from a CDN.

Bars and points link to the tickets behind them (the series' `urls`) and carry a `<title>` with
the exact figure, so hovering shows the number and a screen reader reads it. Colours come from
CSS classes (`s0`…`s5` in app.css), so the charts follow the page's theme.
"""

from __future__ import annotations

import math

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

from .report import Chart

WIDTH = 720
HEIGHT = 260
PAD_LEFT = 48
PAD_RIGHT = 12
PAD_TOP = 12
PAD_BOTTOM = 56
SERIES_CLASSES = 6


def nice_maximum(value: float) -> float:
    """The top of the y axis: 1, 2, 2.5 or 5 times a power of ten at or above `value`."""
    if value <= 0:
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop ends at 10


def format_number(value: float | None, unit: str = "") -> str:
    if value is None:
        return "–"
    text = f"{value:,.0f}" if float(value).is_integer() else f"{value:,.1f}"
    text = text.replace(",", "\u202f")  # a thin space groups thousands in both languages
    return f"{text}{' ' + unit if unit else ''}"


def _label_step(count: int, room: float) -> int:
    """Show every n-th x label so that labels do not overlap (about 40 px each)."""
    return max(1, math.ceil(count * 40 / room)) if count else 1


def render(chart: Chart) -> SafeString:
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    count = len(chart.labels)
    if chart.kind == "stacked":
        peak = max((sum(s.values[i] or 0 for s in chart.series) for i in range(count)), default=0)
    else:
        peak = max((v or 0 for s in chart.series for v in s.values), default=0)
    top = nice_maximum(float(peak))

    def y(value: float) -> float:
        return PAD_TOP + plot_h - (value / top) * plot_h

    parts = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(chart.title)}" xmlns="http://www.w3.org/2000/svg">',
        f"<title>{escape(chart.title)}</title>",
    ]
    for tick in range(5):  # grid lines and y labels at 0, ¼, ½, ¾, top
        value = top * tick / 4
        ty = y(value)
        parts.append(
            f'<line class="grid" x1="{PAD_LEFT}" x2="{WIDTH - PAD_RIGHT}" '
            f'y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="axis" x="{PAD_LEFT - 6}" y="{ty + 4:.1f}" text-anchor="end">'
            f"{escape(format_number(value))}</text>"
        )
    slot = plot_w / max(count, 1)
    step = _label_step(count, plot_w)
    for i, label in enumerate(chart.labels):
        if i % step:
            continue
        lx = PAD_LEFT + slot * (i + 0.5)
        parts.append(
            f'<text class="axis" x="{lx:.1f}" y="{HEIGHT - PAD_BOTTOM + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    if chart.kind == "line":
        parts.extend(_lines(chart, slot, y))
    else:
        parts.extend(_bars(chart, slot, y))
    parts.extend(_legend(chart))
    parts.append("</svg>")
    return mark_safe("".join(parts))  # noqa: S308 - every outside text above is escaped


def _linked(svg: str, url: str) -> str:
    return f'<a href="{escape(url)}">{svg}</a>' if url else svg


def _tooltip(chart: Chart, label: str, name: str, value: float | None) -> str:
    prefix = f"{name} · " if len(chart.series) > 1 else ""
    return f"<title>{escape(prefix + label)}: {escape(format_number(value, chart.unit))}</title>"


def _bars(chart: Chart, slot: float, y) -> list[str]:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    stacked = chart.kind == "stacked"
    groups = 1 if stacked else max(len(chart.series), 1)
    bar_w = max(slot * 0.8 / groups, 1)
    for i, label in enumerate(chart.labels):
        base = 0.0
        for n, series in enumerate(chart.series):
            value = series.values[i] if i < len(series.values) else None
            if not value:
                continue
            x = PAD_LEFT + slot * i + slot * 0.1 + (0 if stacked else n * bar_w)
            top_y, bottom_y = y(base + value), y(base)
            url = series.urls[i] if i < len(series.urls) else ""
            rect = (
                f'<rect class="bar s{n % SERIES_CLASSES}" x="{x:.1f}" y="{top_y:.1f}" '
                f'width="{bar_w:.1f}" height="{max(bottom_y - top_y, 0.5):.1f}">'
                f"{_tooltip(chart, label, series.name, value)}</rect>"
            )
            parts.append(_linked(rect, url))
            if stacked:
                base += value
    return parts


def _lines(chart: Chart, slot: float, y) -> list[str]:  # type: ignore[no-untyped-def]
    parts: list[str] = []
    for n, series in enumerate(chart.series):
        points = [
            (PAD_LEFT + slot * (i + 0.5), y(v), i, v)
            for i, v in enumerate(series.values)
            if v is not None
        ]
        if len(points) > 1:
            path = " ".join(f"{px:.1f},{py:.1f}" for px, py, _, _ in points)
            parts.append(f'<polyline class="line s{n % SERIES_CLASSES}" points="{path}"/>')
        for px, py, i, v in points:
            url = series.urls[i] if i < len(series.urls) else ""
            dot = (
                f'<circle class="dot s{n % SERIES_CLASSES}" cx="{px:.1f}" cy="{py:.1f}" r="3">'
                f"{_tooltip(chart, chart.labels[i], series.name, v)}</circle>"
            )
            parts.append(_linked(dot, url))
    return parts


def _legend(chart: Chart) -> list[str]:
    if len(chart.series) < 2:
        return []
    parts, x = [], PAD_LEFT
    for n, series in enumerate(chart.series):
        parts.append(
            f'<rect class="bar s{n % SERIES_CLASSES}" x="{x}" y="{HEIGHT - 18}" '
            f'width="10" height="10"/><text class="legend" x="{x + 14}" y="{HEIGHT - 9}">'
            f"{escape(series.name)}</text>"
        )
        x += 24 + 7 * len(series.name)
    return parts
