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
    assert cal.traffic_holiday_multiplier(thanksgiving - dt.timedelta(days=1)) > 1.5
    assert cal.traffic_holiday_multiplier(dt.date(year, 3, 10)) == 1.0


def _expected_traffic(year: int) -> dict[dt.date, float]:
    """Network traffic per open day before weather and noise: season x weekday x holiday."""
    days = (dt.date(year, 1, 1) + dt.timedelta(days=i) for i in range(365))
    return {d: cal.season(d) * cal.weekday_factor(d) * cal.traffic_holiday_multiplier(d) for d in days if not cal.store_closed(d)}


def _mean_of_weeks_before(traffic: dict[dt.date, float], day: dt.date) -> float:
    return sum(traffic[day - dt.timedelta(days=7 * k)] for k in range(1, 5)) / 4


@pytest.mark.parametrize("year", [2024, 2025, 2026, 2031])
def test_grocery_peak_days_follow_placer(year):
    """Placer.ai: the day before Thanksgiving is the busiest grocery day (+74.5 %), then Dec 23 and 24;
    Thanksgiving Day is light and Black Friday is no grocery peak."""
    traffic = _expected_traffic(year)
    thanksgiving = cal.nth_weekday(year, 11, 3, 4)
    eve = thanksgiving - dt.timedelta(days=1)
    black_friday = thanksgiving + dt.timedelta(days=1)
    assert max(traffic, key=traffic.get) in {eve, dt.date(year, 12, 23), dt.date(year, 12, 24)}
    assert 1.4 <= traffic[eve] / _mean_of_weeks_before(traffic, eve) <= 2.0
    assert traffic[thanksgiving] / _mean_of_weeks_before(traffic, thanksgiving) < 1.0
    assert traffic[black_friday] / _mean_of_weeks_before(traffic, black_friday) < 1.2


def test_weekday_and_hour_curves_follow_ers():
    """ERS/ATUS: weekend days ~1.23x weekdays, weekday peaks 11-13h and 15-17h, weekends 10-14h;
    Drive Research: Tuesday is the lightest day."""
    assert 1.10 <= cal.WEEKDAY[5:].mean() / cal.WEEKDAY[:5].mean() <= 1.35
    assert int(cal.WEEKDAY.argmin()) in (0, 1, 2)
    assert abs(cal.WEEKDAY.mean() - 1.0) < 0.01
    assert 11 <= int(cal.HOURLY_WEEKDAY.argmax()) <= 17
    assert 10 <= int(cal.HOURLY_WEEKEND.argmax()) <= 14


@pytest.mark.parametrize("year", [2024, 2025])
def test_months_follow_the_census_grocery_and_general_merchandise_blend(year):
    """Mean daily traffic per month vs January: December ~1.2-1.3x, November a little up, August flat."""
    traffic = _expected_traffic(year)
    month_mean = {m: sum(v for d, v in traffic.items() if d.month == m) / sum(1 for d in traffic if d.month == m) for m in range(1, 13)}
    ratio = {m: month_mean[m] / month_mean[1] for m in month_mean}
    assert 1.15 <= ratio[12] <= 1.40, ratio
    assert 1.0 <= ratio[11] <= 1.2, ratio
    assert 0.95 <= ratio[8] <= 1.12, ratio
    assert max(ratio, key=ratio.get) == 12


def test_dim_date_has_fiscal_year_and_holidays():
    d = cal.dim_date(dt.date(2024, 6, 30), dt.date(2024, 7, 4)).to_dicts()
    assert [r["fiscal_year"] for r in d] == [2024, 2025, 2025, 2025, 2025]
    assert [r["fiscal_quarter"] for r in d] == [4, 1, 1, 1, 1]
    assert d[-1]["holiday_name"] == "Independence Day" and d[0]["holiday_name"] is None
    assert d[0]["day_of_week"] == 7 and d[0]["is_weekend"] and d[0]["date_key"] == 20240630
