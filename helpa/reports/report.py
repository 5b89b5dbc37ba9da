"""The shape every report has, whatever it measures: charts and tables built from SQL aggregates.

A report page renders a `Report` (charts as SVG, each with its numbers one click away), the
export turns the same `Report` into CSV or Excel, and a subscription mails it. So a report is
written once, as a function from (user, parameters) to `Report`, and registered under a key:

    @register("statistics", gettext_lazy("Statistics"))
    def statistics(user: User, params: QueryDict) -> Report: ...

Parameters a report cannot use raise `ParamsError` with a message per field (the page shows them
on its form, the API answers 400 with them).

Values in tables are plain Python values (str, int, float, Decimal, date, None); a `Cell` adds a
link (the tickets behind a figure) without changing the value that is exported.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any, Literal

from django.http import QueryDict

from helpa.accounts.models import User

Value = str | int | float | Decimal | date | None


@dataclass(frozen=True)
class Cell:
    """A value with a link to the tickets (or entries) it counts."""

    value: Value
    url: str = ""

    def __str__(self) -> str:
        return "" if self.value is None else str(self.value)


@dataclass
class Series:
    name: str
    values: list[float | None]
    # One link per value (same length as `values`), "" where there is nothing to list.
    urls: list[str] = field(default_factory=list)


@dataclass
class Chart:
    title: str
    labels: list[str]  # the x axis: buckets (days, weeks, months…) or groups (queues, agents…)
    series: list[Series]
    kind: Literal["bar", "line", "stacked"] = "bar"
    unit: str = ""  # shown after the numbers: "h", "%", ""…

    @property
    def is_empty(self) -> bool:
        return not any(v for s in self.series for v in s.values)


@dataclass
class Table:
    title: str
    columns: list[str]
    rows: list[list[Value | Cell]]
    # The sheet name in Excel (max 31 characters); the title when empty.
    sheet: str = ""


@dataclass
class Report:
    title: str
    # What it covers, in words ("1 Jan 2026 – 31 Dec 2026 · queue Support"): page, mail, sheet.
    description: str = ""
    charts: list[Chart] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    # Single figures shown as tiles above the charts: (label, value, url).
    tiles: list[tuple[str, Value, str]] = field(default_factory=list)


class ParamsError(ValueError):
    """A report's parameters that cannot be used: a message per field, for the form."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__("; ".join(m for ms in errors.values() for m in ms))
        self.errors = errors


def checked(form: Any, params: Any, default_period: str) -> tuple[Any, dict[str, Any]]:
    """The period and the cleaned filter values of a report's `form` (a bound Django form),
    or ParamsError with every message at once: the period's and the fields'."""
    from . import periods  # periods imports nothing from here; kept local to stay a leaf

    errors: dict[str, list[str]] = {}
    period = None
    try:
        period = periods.from_params(params, default=default_period)
    except periods.PeriodError as exc:
        errors["period"] = [str(exc)]
    if not form.is_valid():
        errors.update({k: [str(m) for m in v] for k, v in form.errors.items()})
    if errors:
        raise ParamsError(errors)
    return period, form.cleaned_data


def plain(value: Value | Cell) -> Value:
    """The value a cell exports, without its link."""
    return value.value if isinstance(value, Cell) else value


Builder = Callable[[User, QueryDict], Report]


@dataclass(frozen=True)
class ReportKind:
    key: str
    title: Any  # a lazy translation
    build: Builder
    url_name: str  # the page that shows it, for links from mails and the subscriptions list


REPORTS: dict[str, ReportKind] = {}


def register(key: str, title: Any, url_name: str) -> Callable[[Builder], Builder]:
    """Offer a report for subscriptions and exports under `key`."""

    def add(build: Builder) -> Builder:
        REPORTS[key] = ReportKind(key, title, build, url_name)
        return build

    return add


def kinds() -> Sequence[ReportKind]:
    return sorted(REPORTS.values(), key=lambda k: str(k.title))
