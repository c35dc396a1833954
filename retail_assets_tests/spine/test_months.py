"""Month arithmetic (lib/months.py), the one copy every layer uses."""

from __future__ import annotations

import datetime as dt

import pytest

from retail_assets.lib.months import (
    add_months,
    days_in_month,
    from_month_index,
    month_bounds_utc,
    month_index,
    month_range,
    parse_month,
)


def test_adding_months_crosses_year_ends_both_ways_and_ignores_the_day() -> None:
    assert add_months(dt.date(2024, 12, 1), 1) == dt.date(2025, 1, 1)
    assert add_months(dt.date(2024, 1, 1), -1) == dt.date(2023, 12, 1)
    assert add_months(dt.date(2024, 1, 31), 1) == dt.date(2024, 2, 1)
    assert add_months(dt.date(2024, 3, 1), -27) == dt.date(2021, 12, 1)
    assert add_months(dt.date(2024, 5, 1), 0) == dt.date(2024, 5, 1)
    assert from_month_index(month_index(dt.date(2024, 7, 9)) + 6) == dt.date(2025, 1, 1)


def test_a_month_range_includes_both_ends() -> None:
    assert month_range(dt.date(2024, 11, 15), dt.date(2025, 2, 1)) == [
        dt.date(2024, 11, 1), dt.date(2024, 12, 1), dt.date(2025, 1, 1), dt.date(2025, 2, 1)
    ]
    assert month_range(dt.date(2024, 3, 1), dt.date(2024, 3, 31)) == [dt.date(2024, 3, 1)]
    assert month_range(dt.date(2024, 3, 1), dt.date(2024, 2, 1)) == []


def test_month_lengths_and_utc_bounds() -> None:
    assert [days_in_month(dt.date(y, 2, 1)) for y in (2023, 2024, 2100)] == [28, 29, 28]
    assert days_in_month(dt.date(2024, 12, 1)) == 31
    assert month_bounds_utc(dt.date(2024, 12, 1)) == (
        dt.datetime(2024, 12, 1, tzinfo=dt.UTC), dt.datetime(2025, 1, 1, tzinfo=dt.UTC)
    )


def test_a_month_is_read_from_yyyy_mm_or_a_date_in_it_and_anything_else_is_named() -> None:
    assert parse_month("2024-02") == dt.date(2024, 2, 1)
    assert parse_month("2024-02-29") == dt.date(2024, 2, 1)
    for text in ("2024-13", "January", "2024-2", ""):
        with pytest.raises(ValueError, match=f"'{text}' is not a month"):
            parse_month(text)
