"""Holidays are computed for any year (the reference hard-coded 2024)."""

from __future__ import annotations

import datetime as dt

import pytest

from retail_assets.lib.generator import calendar as cal


@pytest.mark.parametrize(
    ("year", "thanksgiving", "easter", "memorial", "labor", "mothers"),
    [
        (2024, dt.date(2024, 11, 28), dt.date(2024, 3, 31), dt.date(2024, 5, 27), dt.date(2024, 9, 2), dt.date(2024, 5, 12)),
        (2025, dt.date(2025, 11, 27), dt.date(2025, 4, 20), dt.date(2025, 5, 26), dt.date(2025, 9, 1), dt.date(2025, 5, 11)),
        (2031, dt.date(2031, 11, 27), dt.date(2031, 4, 13), dt.date(2031, 5, 26), dt.date(2031, 9, 1), dt.date(2031, 5, 11)),
    ],
)
def test_holidays_follow_their_rules(year, thanksgiving, easter, memorial, labor, mothers):
    days = cal.holidays(year)
    assert days[thanksgiving] == "Thanksgiving"
    assert days[thanksgiving + dt.timedelta(days=1)] == "Black Friday"
    assert days[easter] == "Easter"
    assert days[memorial] == "Memorial Day"
    assert days[labor] == "Labor Day"
    assert days[mothers] == "Mother's Day"
    assert cal.traffic_holiday_multiplier(thanksgiving + dt.timedelta(days=1)) == 3.5
    assert cal.traffic_holiday_multiplier(dt.date(year, 3, 10)) == 1.0


def test_dim_date_has_fiscal_year_and_holidays():
    d = cal.dim_date(dt.date(2024, 6, 30), dt.date(2024, 7, 4)).to_dicts()
    assert [r["fiscal_year"] for r in d] == [2024, 2025, 2025, 2025, 2025]
    assert [r["fiscal_quarter"] for r in d] == [4, 1, 1, 1, 1]
    assert d[-1]["holiday_name"] == "Independence Day" and d[0]["holiday_name"] is None
    assert d[0]["day_of_week"] == 7 and d[0]["is_weekend"] and d[0]["date_key"] == 20240630
