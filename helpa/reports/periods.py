"""The period a report covers, as every report page, export and subscription names it.

A period is either a preset relative to today (`?period=last_month`) — what a subscription
stores, so that each mail covers the period just ended — or fixed dates
(`?period=custom&from=2026-01-01&to=2026-03-31`, both days included). Days are local days in
the installation's time zone (settings.TIME_ZONE): a ticket created at 00:30 on 1 March in
Stockholm belongs to March, although it is still February in UTC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from django.utils import timezone
from django.utils.dateparse import parse_date
from django.utils.translation import gettext_lazy as _

PRESETS = {
    "today": _("Today"),
    "yesterday": _("Yesterday"),
    "this_week": _("This week"),
    "last_week": _("Last week"),
    "last_7_days": _("Last 7 days"),
    "last_30_days": _("Last 30 days"),
    "this_month": _("This month"),
    "last_month": _("Last month"),
    "last_12_months": _("Last 12 months"),
    "this_year": _("This year"),
    "last_year": _("Last year"),
    "custom": _("Chosen dates"),
}
# The longest a custom period may be: a report over decades of days would draw 10,000 bars.
MAX_DAYS = 366 * 5


class PeriodError(ValueError):
    """A period that cannot be used; the message says why, for the form."""


@dataclass(frozen=True)
class Period:
    key: str
    start: date  # first day, included
    end: date  # last day, included

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    def start_at(self) -> datetime:
        """The first instant of the period in the installation's time zone."""
        return timezone.make_aware(datetime.combine(self.start, time.min))

    def end_before(self) -> datetime:
        """The first instant after the period (exclusive bound for datetime columns)."""
        return timezone.make_aware(datetime.combine(self.end + timedelta(days=1), time.min))

    def label(self) -> str:
        if self.key != "custom":
            return f"{PRESETS[self.key]} ({self.start.isoformat()} – {self.end.isoformat()})"
        return f"{self.start.isoformat()} – {self.end.isoformat()}"

    def as_params(self) -> dict[str, str]:
        if self.key == "custom":
            return {"period": "custom", "from": self.start.isoformat(), "to": self.end.isoformat()}
        return {"period": self.key}


def _month_start(day: date) -> date:
    return day.replace(day=1)


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    return date(index // 12, index % 12 + 1, 1)


def preset(key: str, today: date | None = None) -> Period:
    today = today or timezone.localdate()
    monday = today - timedelta(days=today.weekday())
    match key:
        case "today":
            return Period(key, today, today)
        case "yesterday":
            day = today - timedelta(days=1)
            return Period(key, day, day)
        case "this_week":
            return Period(key, monday, today)
        case "last_week":
            return Period(key, monday - timedelta(days=7), monday - timedelta(days=1))
        case "last_7_days":
            return Period(key, today - timedelta(days=6), today)
        case "last_30_days":
            return Period(key, today - timedelta(days=29), today)
        case "this_month":
            return Period(key, _month_start(today), today)
        case "last_month":
            first = _add_months(_month_start(today), -1)
            return Period(key, first, _month_start(today) - timedelta(days=1))
        case "last_12_months":
            # The eleven whole months before this one, and this one so far.
            return Period(key, _add_months(_month_start(today), -11), today)
        case "this_year":
            return Period(key, date(today.year, 1, 1), today)
        case "last_year":
            return Period(key, date(today.year - 1, 1, 1), date(today.year - 1, 12, 31))
    raise PeriodError(_("Unknown period."))


def from_params(
    params: Mapping[str, str], default: str = "last_12_months", today: date | None = None
) -> Period:
    """The period that query parameters name. Raises PeriodError with a message for the form:
    a report never silently shows another period than the one asked for."""
    key = params.get("period") or ""
    if not key:
        # Dates without a preset are a custom period (links from a chart carry only dates).
        key = "custom" if params.get("from") or params.get("to") else default
    if key not in PRESETS:
        raise PeriodError(_("Unknown period."))
    if key != "custom":
        return preset(key, today)
    raw_start, raw_end = (params.get("from") or "").strip(), (params.get("to") or "").strip()
    try:
        start, end = parse_date(raw_start), parse_date(raw_end)
    except ValueError:
        start = end = None
    if start is None or end is None:
        raise PeriodError(_("Give both dates as YYYY-MM-DD."))
    if end < start:
        raise PeriodError(_("The period ends before it begins."))
    if (end - start).days + 1 > MAX_DAYS:
        raise PeriodError(_("A period may be at most five years long."))
    return Period("custom", start, end)
