"""Business calendars: when the desk is open, and SLA time counted in open minutes only.

A calendar has opening hours per weekday (several ranges a day), the public holidays of one
country (closed), and exceptions. For any moment the first exception (top-down) whose day and
time range cover it decides open or closed; when none does, a holiday is closed, and otherwise
the weekday's hours decide.

Everything here is pure: a `Calendar` is built from plain values (the models' `compiled()` does
that) and answers in aware datetimes. Each day's open intervals are worked out once (in the
installation's time zone, so a day with a DST change is an hour shorter or longer) and kept;
counting and adding minutes then walk days, never minutes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import holidays

DAY = 24 * 60
# Countries whose public holidays a calendar may close on, and the holiday categories counted:
# in Sweden midsommarafton, julafton and nyårsafton are de facto days off.
COUNTRIES = {"SE": ("public", "de_facto"), "NO": ("public",), "DK": ("public",), "FI": ("public",)}
# How far `add_business_minutes` looks for open time before it gives up (a calendar that is
# never open, or closed by an exception for ever).
MAX_DAYS = 3 * 366

Range = tuple[int, int]  # minutes after local midnight: [start, end), end up to 1440


@lru_cache(maxsize=8)
def _holidays_of(country: str) -> holidays.HolidayBase:
    # The object computes years as they are asked for and keeps them.
    return holidays.country_holidays(country, categories=COUNTRIES[country])


def holiday_name(country: str, day: date) -> str | None:
    if not country:
        return None
    return _holidays_of(country).get(day)


@dataclass(frozen=True)
class Exception_:
    """One exception: open or closed, on a date or on every such weekday, all day or a range."""

    is_open: bool
    on_date: date | None = None
    weekday: int | None = None  # 0 = Monday
    start: int = 0
    end: int = DAY

    def applies(self, day: date) -> bool:
        if self.on_date is not None:
            return day == self.on_date
        return self.weekday is not None and day.weekday() == self.weekday


def _union(ranges: Iterable[Range]) -> list[Range]:
    merged: list[Range] = []
    for start, end in sorted(ranges):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _subtract(ranges: Iterable[Range], cut: Range) -> list[Range]:
    left: list[Range] = []
    for start, end in ranges:
        if end <= cut[0] or start >= cut[1]:
            left.append((start, end))
            continue
        if start < cut[0]:
            left.append((start, cut[0]))
        if end > cut[1]:
            left.append((cut[1], end))
    return left


@dataclass
class Calendar:
    """`hours`: seven lists of ranges, Monday first. `exceptions` in the order they are tried."""

    hours: Sequence[Sequence[Range]]
    tz: ZoneInfo
    country: str = ""
    exceptions: Sequence[Exception_] = ()
    _days: dict[date, tuple[tuple[datetime, datetime], ...]] = field(
        default_factory=dict, repr=False
    )

    def __post_init__(self) -> None:
        if len(self.hours) != 7:
            raise ValueError("a calendar needs the hours of seven weekdays")
        if self.country and self.country not in COUNTRIES:
            raise ValueError(f"no holidays for country {self.country!r}")

    # --- One day ------------------------------------------------------------------------------

    def open_ranges(self, day: date) -> list[Range]:
        """The day's open time in local minutes. Exceptions are laid over the regular day from
        the bottom up, so that where two cover the same time the upper one wins."""
        ranges = [] if holiday_name(self.country, day) else _union(self.hours[day.weekday()])
        for exc in reversed(self.exceptions):
            if exc.applies(day):
                if exc.is_open:
                    ranges = _union([*ranges, (exc.start, exc.end)])
                else:
                    ranges = _subtract(ranges, (exc.start, exc.end))
        return ranges

    def intervals(self, day: date) -> tuple[tuple[datetime, datetime], ...]:
        """The day's open time as UTC intervals, worked out once per day."""
        found = self._days.get(day)
        if found is None:
            found = tuple(
                (self._utc(day, start), self._utc(day, end)) for start, end in self.open_ranges(day)
            )
            found = tuple((s, e) for s, e in found if e > s)  # a range inside a DST gap
            if len(self._days) > 5000:
                self._days.clear()
            self._days[day] = found
        return found

    def _utc(self, day: date, minute: int) -> datetime:
        if minute >= DAY:
            day, minute = day + timedelta(days=1), 0
        local = datetime.combine(day, time(minute // 60, minute % 60), tzinfo=self.tz)
        return local.astimezone(UTC)

    def _local_day(self, moment: datetime) -> date:
        return moment.astimezone(self.tz).date()

    # --- Counting -----------------------------------------------------------------------------

    def business_seconds(self, start: datetime, end: datetime) -> float:
        start, end = start.astimezone(UTC), end.astimezone(UTC)  # exact arithmetic, not wall time
        if end <= start:
            return 0.0
        total = 0.0
        day = self._local_day(start)
        last = self._local_day(end)
        while day <= last:
            for s, e in self.intervals(day):
                lo, hi = max(s, start), min(e, end)
                if hi > lo:
                    total += (hi - lo).total_seconds()
            day += timedelta(days=1)
        return total

    def business_minutes(self, start: datetime, end: datetime) -> int:
        """Open minutes from `start` to `end` (0 when end is not after start)."""
        return int(self.business_seconds(start, end) // 60)

    def add_business_minutes(self, start: datetime, minutes: float) -> datetime | None:
        """The moment when `minutes` open minutes have passed since `start` (the due time).
        0 minutes from a closed moment is the next opening. None: never open (within years)."""
        start = start.astimezone(UTC)  # exact arithmetic, not wall time
        remaining = timedelta(minutes=minutes)
        day = self._local_day(start)
        for _n in range(MAX_DAYS):
            for s, e in self.intervals(day):
                if e <= start:
                    continue
                lo = max(s, start)
                if lo + remaining <= e and (remaining or lo < e):
                    return lo + remaining
                remaining -= e - lo
            day += timedelta(days=1)
        return None

    def subtract_business_minutes(self, end: datetime, minutes: float) -> datetime | None:
        """The moment `minutes` open minutes before `end` (a warning time)."""
        end = end.astimezone(UTC)
        remaining = timedelta(minutes=minutes)
        day = self._local_day(end)
        for _n in range(MAX_DAYS):
            for s, e in reversed(self.intervals(day)):
                if s >= end:
                    continue
                hi = min(e, end)
                if hi - remaining >= s:
                    return hi - remaining
                remaining -= hi - s
            day -= timedelta(days=1)
        return None

    def is_open(self, moment: datetime) -> bool:
        day = self._local_day(moment)
        return any(s <= moment < e for s, e in self.intervals(day))


# --- Writing and reading hours ----------------------------------------------------------------

_RANGE = re.compile(r"^\s*(\d{1,2})(?::|\.)?(\d{2})?\s*[-–]\s*(\d{1,2})(?::|\.)?(\d{2})?\s*$")


class HoursError(ValueError):
    """Opening hours that cannot be read; the message is for the admin."""


def minute_of(value: time | None, *, end: bool = False) -> int:
    """A time of day as minutes; an end of 00:00 means midnight at the end of the day."""
    if value is None:
        return DAY if end else 0
    minutes = value.hour * 60 + value.minute
    return DAY if end and minutes == 0 else minutes


def format_minute(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def format_ranges(ranges: Iterable[Sequence[int]]) -> str:
    return ", ".join(f"{format_minute(s)}–{format_minute(e)}" for s, e in ranges)


def parse_ranges(text: str, messages: dict[str, Any]) -> list[Range]:
    """ "08:00-12:00, 13:00-17:00" → [(480, 720), (780, 1020)]. Empty: closed. `messages` holds
    the (translated) texts: "format", "end_before_start", "overlap"."""
    ranges: list[Range] = []
    for part in [p for p in re.split(r"[,;]", text or "") if p.strip()]:
        match = _RANGE.match(part)
        if not match:
            raise HoursError(messages["format"] % {"value": part.strip()})
        h1, m1, h2, m2 = (int(g) if g else 0 for g in match.groups())
        if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59 or (h1 == 24 and m1) or (h2 == 24 and m2):
            raise HoursError(messages["format"] % {"value": part.strip()})
        start, end = h1 * 60 + m1, h2 * 60 + m2
        if end == 0:
            end = DAY
        if end <= start:
            raise HoursError(messages["end_before_start"] % {"value": part.strip()})
        ranges.append((start, end))
    ranges.sort()
    for (_s1, e1), (s2, _e2) in zip(ranges, ranges[1:], strict=False):
        if s2 < e1:
            raise HoursError(messages["overlap"] % {"value": format_ranges(ranges)})
    return ranges
