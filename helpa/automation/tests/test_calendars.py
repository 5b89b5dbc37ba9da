"""Business calendars: open minutes across weekends, Nordic holidays, DST and exceptions."""

from __future__ import annotations

import time
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from helpa.automation.calendars import (
    Calendar,
    Exception_,
    HoursError,
    format_ranges,
    holiday_name,
    parse_ranges,
)

STOCKHOLM = ZoneInfo("Europe/Stockholm")
H = 60
OFFICE = [[(8 * H, 17 * H)]] * 5 + [[], []]
MESSAGES = {"format": "format %(value)s", "end_before_start": "end %(value)s", "overlap": "overlap"}


def at(y: int, m: int, d: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(y, m, d, hour, minute, tzinfo=STOCKHOLM)


def office(country: str = "SE", exceptions: list[Exception_] | None = None) -> Calendar:
    return Calendar(OFFICE, STOCKHOLM, country=country, exceptions=exceptions or [])


@pytest.mark.parametrize(
    ("start", "end", "minutes"),
    [
        # Within one day, and before/after opening.
        (at(2025, 3, 5, 9), at(2025, 3, 5, 11, 30), 150),
        (at(2025, 3, 5, 6), at(2025, 3, 5, 9), 60),
        (at(2025, 3, 5, 16), at(2025, 3, 5, 22), 60),
        # Across a weekend: Friday's last hour and Monday's first.
        (at(2025, 3, 7, 16), at(2025, 3, 10, 9), 120),
        (at(2025, 3, 8, 10), at(2025, 3, 9, 15), 0),
        # A whole week: five days of nine hours.
        (at(2025, 3, 3), at(2025, 3, 10), 5 * 9 * H),
        # Midsommarafton (Friday 20 June 2025) is closed in Sweden.
        (at(2025, 6, 19, 16), at(2025, 6, 23, 9), 120),
        # The national day, 6 June 2025, a Friday.
        (at(2025, 6, 5, 16), at(2025, 6, 9, 9), 120),
        # Christmas: julafton, juldagen and annandag jul (Wed–Fri) closed.
        (at(2025, 12, 23, 16), at(2025, 12, 29, 9), 120),
        # End before start: nothing.
        (at(2025, 3, 10, 9), at(2025, 3, 7, 16), 0),
    ],
)
def test_business_minutes(start: datetime, end: datetime, minutes: int) -> None:
    assert office().business_minutes(start, end) == minutes


@pytest.mark.parametrize(
    ("country", "day", "closed"),
    [
        ("SE", date(2025, 6, 20), True),  # midsommarafton
        ("SE", date(2025, 6, 6), True),  # nationaldagen
        ("SE", date(2025, 12, 24), True),  # julafton
        ("SE", date(2025, 5, 17), False),  # a Saturday, but not a Swedish holiday: the hours say
        ("NO", date(2025, 5, 16), False),
        ("NO", date(2025, 12, 26), True),
        ("DK", date(2025, 6, 9), True),  # 2. pinsedag
        ("FI", date(2025, 12, 6), True),  # itsenäisyyspäivä (a Saturday)
        ("FI", date(2025, 6, 20), True),  # juhannusaatto
        ("", date(2025, 12, 25), False),  # no holidays at all
    ],
)
def test_holidays_per_country(country: str, day: date, closed: bool) -> None:
    assert bool(holiday_name(country, day)) == closed


def test_without_a_holiday_country_christmas_is_a_working_day() -> None:
    calendar = office(country="")
    assert calendar.business_minutes(at(2025, 12, 24), at(2025, 12, 25)) == 9 * H
    assert office().business_minutes(at(2025, 12, 24), at(2025, 12, 25)) == 0


def test_several_ranges_a_day() -> None:
    split = [[(8 * H, 12 * H), (13 * H, 17 * H)]] * 5 + [[], []]
    calendar = Calendar(split, STOCKHOLM)
    assert calendar.business_minutes(at(2025, 3, 5, 11), at(2025, 3, 5, 14)) == 120
    assert calendar.add_business_minutes(at(2025, 3, 5, 11, 30), 60) == at(2025, 3, 5, 13, 30)
    assert not calendar.is_open(at(2025, 3, 5, 12, 30))


def test_dst_spring_forward_and_fall_back() -> None:
    always = Calendar([[(0, 24 * H)]] * 7, STOCKHOLM)
    # 30 March 2025: 02:00 became 03:00; 26 October 2025: 03:00 became 02:00.
    assert always.business_minutes(at(2025, 3, 29, 12), at(2025, 3, 30, 12)) == 23 * H
    assert always.business_minutes(at(2025, 10, 25, 12), at(2025, 10, 26, 12)) == 25 * H
    assert always.add_business_minutes(at(2025, 3, 30, 1), 120) == at(2025, 3, 30, 4)
    # Office hours: Monday opens at 08:00 local, whatever the UTC offset.
    due = office().add_business_minutes(at(2025, 3, 28, 16), 120)
    assert due == at(2025, 3, 31, 9)
    assert due.astimezone(UTC).hour == 7  # summer time: UTC+2 (the Friday was UTC+1)
    assert office().business_minutes(at(2025, 3, 28, 16), at(2025, 3, 31, 9)) == 120
    assert office().business_minutes(at(2025, 10, 24, 16), at(2025, 10, 27, 9)) == 120


@pytest.mark.parametrize(
    ("start", "minutes", "due"),
    [
        (at(2025, 3, 5, 9), 60, at(2025, 3, 5, 10)),
        (at(2025, 3, 5, 6), 30, at(2025, 3, 5, 8, 30)),  # counted from the opening
        (at(2025, 3, 7, 16, 30), 60, at(2025, 3, 10, 8, 30)),  # over the weekend
        (at(2025, 3, 7, 16), 60, at(2025, 3, 7, 17)),  # exactly at closing
        (at(2025, 3, 8, 12), 0, at(2025, 3, 10, 8)),  # 0 minutes from a closed moment
        (at(2025, 6, 19, 16), 8 * H, at(2025, 6, 23, 15)),  # over midsommar
        (at(2025, 3, 3, 8), 5 * 9 * H, at(2025, 3, 7, 17)),  # five business days
    ],
)
def test_add_business_minutes(start: datetime, minutes: int, due: datetime) -> None:
    calendar = office()
    assert calendar.add_business_minutes(start, minutes) == due
    if minutes:
        assert calendar.business_minutes(start, due) == minutes
        assert (
            calendar.business_minutes(calendar.subtract_business_minutes(due, minutes), due)
            == minutes
        )


def test_subtract_business_minutes() -> None:
    calendar = office()
    assert calendar.subtract_business_minutes(at(2025, 3, 10, 8, 30), 60) == at(2025, 3, 7, 16, 30)
    assert calendar.subtract_business_minutes(at(2025, 3, 5, 12), 30) == at(2025, 3, 5, 11, 30)


def test_exceptions_are_tried_top_down() -> None:
    open_morning = Exception_(is_open=True, on_date=date(2025, 12, 24), start=9 * H, end=12 * H)
    closed_all_day = Exception_(is_open=False, on_date=date(2025, 12, 24))
    julafton = (at(2025, 12, 24), at(2025, 12, 25))
    # The open morning above the closed day wins where they overlap.
    assert office(exceptions=[open_morning, closed_all_day]).business_minutes(*julafton) == 180
    assert office(exceptions=[closed_all_day, open_morning]).business_minutes(*julafton) == 0

    friday_afternoons = Exception_(is_open=False, weekday=4, start=12 * H)
    whole_friday = Exception_(is_open=True, on_date=date(2025, 3, 14), start=8 * H, end=17 * H)
    friday = (at(2025, 3, 14), at(2025, 3, 15))
    assert office(exceptions=[whole_friday, friday_afternoons]).business_minutes(*friday) == 9 * H
    assert office(exceptions=[friday_afternoons, whole_friday]).business_minutes(*friday) == 4 * H
    # Other Fridays close at noon; other days are untouched.
    calendar = office(exceptions=[whole_friday, friday_afternoons])
    assert calendar.business_minutes(at(2025, 3, 7), at(2025, 3, 8)) == 4 * H
    assert calendar.business_minutes(at(2025, 3, 6), at(2025, 3, 7)) == 9 * H


def test_an_open_exception_on_a_weekend() -> None:
    saturday = Exception_(is_open=True, on_date=date(2025, 3, 8), start=10 * H, end=14 * H)
    calendar = office(exceptions=[saturday])
    assert calendar.add_business_minutes(at(2025, 3, 7, 16, 30), 60) == at(2025, 3, 8, 10, 30)


def test_a_calendar_never_open_gives_no_due_time() -> None:
    assert Calendar([[]] * 7, STOCKHOLM).add_business_minutes(at(2025, 3, 5), 60) is None


def test_long_spans_are_quick() -> None:
    """A day's intervals are worked out once: a year's worth of due times is cheap."""
    calendar = office()
    started = time.perf_counter()
    for n in range(1000):
        start = at(2025, 1, 1 + n % 28, 9)
        due = calendar.add_business_minutes(start, 5 * 9 * H)
        assert due is not None
        calendar.business_minutes(start, due)
    assert time.perf_counter() - started < 2.0
    assert len(calendar._days) < 100


@pytest.mark.parametrize(
    ("text", "ranges"),
    [
        ("08:00-17:00", [(480, 1020)]),
        ("8-12, 13:00–17:00", [(480, 720), (780, 1020)]),
        ("", []),
        ("00:00-24:00", [(0, 1440)]),
        ("22:00-00:00", [(1320, 1440)]),
    ],
)
def test_parse_ranges(text: str, ranges: list[tuple[int, int]]) -> None:
    assert parse_ranges(text, MESSAGES) == ranges


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("17:00-08:00", "end 17:00-08:00"),
        ("08:00-12:00, 11:00-13:00", "overlap"),
        ("8:75-9", "format 8:75-9"),
        ("morning", "format morning"),
    ],
)
def test_bad_ranges(text: str, message: str) -> None:
    with pytest.raises(HoursError, match=message):
        parse_ranges(text, MESSAGES)


def test_format_ranges() -> None:
    assert format_ranges([(480, 720), (780, 1440)]) == "08:00–12:00, 13:00–24:00"
