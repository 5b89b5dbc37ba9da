from __future__ import annotations

from datetime import date

import pytest

from helpa.reports.periods import Period, PeriodError, from_params, preset

TODAY = date(2026, 3, 18)  # a Wednesday


@pytest.mark.parametrize(
    ("key", "start", "end"),
    [
        ("today", date(2026, 3, 18), date(2026, 3, 18)),
        ("yesterday", date(2026, 3, 17), date(2026, 3, 17)),
        ("this_week", date(2026, 3, 16), date(2026, 3, 18)),
        ("last_week", date(2026, 3, 9), date(2026, 3, 15)),
        ("last_7_days", date(2026, 3, 12), date(2026, 3, 18)),
        ("this_month", date(2026, 3, 1), date(2026, 3, 18)),
        ("last_month", date(2026, 2, 1), date(2026, 2, 28)),
        ("last_12_months", date(2025, 4, 1), date(2026, 3, 18)),
        ("this_year", date(2026, 1, 1), date(2026, 3, 18)),
        ("last_year", date(2025, 1, 1), date(2025, 12, 31)),
    ],
)
def test_presets(key: str, start: date, end: date) -> None:
    assert preset(key, TODAY) == Period(key, start, end)


def test_last_month_in_january_is_december() -> None:
    assert preset("last_month", date(2026, 1, 5)) == Period(
        "last_month", date(2025, 12, 1), date(2025, 12, 31)
    )


def test_custom_dates_and_their_errors() -> None:
    period = from_params({"from": "2026-01-01", "to": "2026-01-31"})
    assert (period.key, period.days) == ("custom", 31)
    assert from_params({}, today=TODAY).key == "last_12_months"
    for bad in (
        {"period": "custom", "from": "2026-02-30", "to": "2026-03-01"},
        {"period": "custom", "from": "yesterday", "to": "2026-03-01"},
        {"period": "custom", "from": "2026-03-02", "to": "2026-03-01"},
        {"period": "custom", "from": "2000-01-01", "to": "2026-03-01"},
        {"period": "next_century"},
    ):
        with pytest.raises(PeriodError):
            from_params(bad)


def test_the_bounds_are_local_midnights(settings) -> None:  # type: ignore[no-untyped-def]
    period = Period("custom", date(2026, 3, 29), date(2026, 3, 29))  # the spring DST change
    assert period.start_at().isoformat() == "2026-03-29T00:00:00+01:00"
    assert period.end_before().isoformat() == "2026-03-30T00:00:00+02:00"
