"""Time patterns: holidays computed for any year, seasonality, weekday and hourly curves, dim_date.

The reference hard-coded a 2024 holiday calendar (reference spec §5); here every holiday is derived
from its rule (fourth Thursday of November, computus for Easter, ...) so any year works.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import numpy as np
import polars as pl

from retail_assets.lib.months import add_months

EPOCH = dt.date(2000, 1, 1)  # day ordinals count from here
EPOCH_1970_DAYS = (EPOCH - dt.date(1970, 1, 1)).days
US_PER_DAY = 86_400_000_000
US_PER_HOUR = 3_600_000_000
US_PER_MINUTE = 60_000_000


def ordinal(day: dt.date) -> int:
    return (day - EPOCH).days


def from_ordinal(day: int) -> dt.date:
    return EPOCH + dt.timedelta(days=int(day))


def month_bounds(month: dt.date) -> tuple[dt.date, dt.date]:
    """First day of the month and first day of the next month."""
    return month.replace(day=1), add_months(month, 1)


def nth_weekday(year: int, month: int, weekday: int, n: int) -> dt.date:
    """The n-th (1-based) ``weekday`` (Monday = 0) of a month; n = -1 is the last one."""
    if n > 0:
        first = dt.date(year, month, 1)
        return first + dt.timedelta(days=(weekday - first.weekday()) % 7 + 7 * (n - 1))
    last = month_bounds(dt.date(year, month, 1))[1] - dt.timedelta(days=1)
    return last - dt.timedelta(days=(last.weekday() - weekday) % 7)


def easter(year: int) -> dt.date:
    """Gregorian Easter Sunday (anonymous Gregorian algorithm)."""
    a, b, c = year % 19, year // 100, year % 100
    d, e = b // 4, b % 4
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = c // 4, c % 4
    leap = (32 + 2 * e + 2 * i - h - k) % 7
    m = (a + 11 * h + 22 * leap) // 451
    month = (h + leap - 7 * m + 114) // 31
    return dt.date(year, month, (h + leap - 7 * m + 114) % 31 + 1)


@lru_cache(maxsize=64)
def holidays(year: int) -> dict[dt.date, str]:
    """US retail holidays of ``year`` (dim_date.holiday_name)."""
    thanksgiving = nth_weekday(year, 11, 3, 4)
    days = {
        dt.date(year, 1, 1): "New Year's Day",
        nth_weekday(year, 1, 0, 3): "Martin Luther King Jr. Day",
        dt.date(year, 2, 14): "Valentine's Day",
        nth_weekday(year, 2, 0, 3): "Presidents' Day",
        easter(year): "Easter",
        nth_weekday(year, 5, 6, 2): "Mother's Day",
        nth_weekday(year, 5, 0, -1): "Memorial Day",
        nth_weekday(year, 6, 6, 3): "Father's Day",
        dt.date(year, 7, 4): "Independence Day",
        nth_weekday(year, 9, 0, 1): "Labor Day",
        dt.date(year, 10, 31): "Halloween",
        dt.date(year, 11, 11): "Veterans Day",
        thanksgiving: "Thanksgiving",
        thanksgiving + dt.timedelta(days=1): "Black Friday",
        thanksgiving + dt.timedelta(days=4): "Cyber Monday",
        dt.date(year, 12, 24): "Christmas Eve",
        dt.date(year, 12, 25): "Christmas Day",
        dt.date(year, 12, 26): "Boxing Day",
        dt.date(year, 12, 31): "New Year's Eve",
    }
    return dict(sorted(days.items()))


def store_closed(day: dt.date) -> bool:
    """Stores close on Christmas Day (no in-store activity, reference spec §5)."""
    return day.month == 12 and day.day == 25


# In-store traffic on and around holidays, relative to an ordinary day of the same weekday and month.
# Grocery traffic peaks the day before Thanksgiving (+74.5 %, Placer.ai), then on Dec 23 and Dec 24;
# Thanksgiving Day, Christmas Eve evening and New Year's Day are light because stores close early;
# Black Friday is a general-merchandise event, barely a grocery one. Each entry is (day, multiplier).
def _traffic_days(year: int) -> dict[dt.date, float]:
    thanksgiving = nth_weekday(year, 11, 3, 4)
    easter_day = easter(year)
    july4 = dt.date(year, 7, 4)
    day = dt.timedelta(days=1)
    days = {
        thanksgiving - 3 * day: 1.15,
        thanksgiving - 2 * day: 1.35,
        thanksgiving - day: 1.65,
        thanksgiving: 0.55,
        thanksgiving + day: 1.08,
        thanksgiving + 2 * day: 1.04,
        dt.date(year, 12, 22): 1.25,
        dt.date(year, 12, 23): 1.6,
        dt.date(year, 12, 24): 1.35,
        dt.date(year, 12, 26): 0.95,
        dt.date(year, 12, 30): 1.12,
        dt.date(year, 12, 31): 1.25,
        dt.date(year, 1, 1): 0.6,
        easter_day - day: 1.15,
        easter_day: 0.7,
        july4 - day: 1.3,
        july4: 0.75,
        nth_weekday(year, 5, 0, -1) - 2 * day: 1.12,
        nth_weekday(year, 9, 0, 1) - 2 * day: 1.1,
        nth_weekday(year, 2, 6, 2): 1.08,  # the Super Bowl's Sunday
        dt.date(year, 2, 14): 1.05,
        dt.date(year, 10, 31): 1.05,
    }
    # The fortnight before Christmas builds up: +8 % on ordinary days from Dec 10, +12 % on Dec 20-21.
    for d in range(10, 22):
        days.setdefault(dt.date(year, 12, d), 1.08 if d < 20 else 1.12)
    return days


@lru_cache(maxsize=4096)
def traffic_holiday_multiplier(day: dt.date) -> float:
    """In-store traffic on ``day`` relative to an ordinary day of its weekday and month."""
    return _traffic_days(day.year).get(day, 1.0)


# Mean in-store traffic per day of each month relative to January. Census MRTS seasonal factors:
# grocery (NAICS 4451) is almost flat (Nov 1.018, Dec 1.039 vs Jan 1.003); general merchandise (452)
# runs Dec 1.407 vs Jan 0.866. The network sells ~55 % grocery, so the blend is ~1.25x in December
# (with the pre-Christmas days above) and nearly flat in summer.
SEASON = np.array([1.0, 1.02, 1.04, 1.04, 1.06, 1.05, 1.05, 1.04, 1.02, 1.04, 1.08, 1.16])
# Monday .. Sunday: weekend days ~1.23x a weekday (USDA ERS / ATUS), Tuesday the lightest (Drive
# Research), Saturday the busiest. Mean 1.0 over a week.
WEEKDAY = np.array([0.92, 0.88, 0.91, 0.95, 1.05, 1.22, 1.07])
# Relative shoppers per clock hour, weekdays and weekends; night hours matter for 24/7 stores.
# Weekdays peak at lunch (11-13h) and the after-work rush (16-17h); weekends late morning to early
# afternoon (ERS/ATUS chart 95392, Drive Research).
HOURLY_WEEKDAY = np.array(
    [
        0.04,
        0.03,
        0.02,
        0.02,
        0.03,
        0.08,
        0.2,
        0.35,
        0.5,
        0.62,
        0.75,
        0.9,
        1.0,
        0.95,
        0.8,
        0.85,
        0.95,
        0.98,
        0.88,
        0.7,
        0.5,
        0.35,
        0.2,
        0.08,
    ]
)
HOURLY_WEEKEND = np.array(
    [
        0.04,
        0.03,
        0.02,
        0.02,
        0.02,
        0.05,
        0.12,
        0.3,
        0.55,
        0.8,
        0.98,
        1.1,
        1.15,
        1.08,
        0.98,
        0.88,
        0.8,
        0.75,
        0.65,
        0.5,
        0.38,
        0.26,
        0.15,
        0.07,
    ]
)
# Online orders and impressions follow people's day: evenings are busy.
HOURLY_ONLINE = np.array(
    [0.35, 0.2, 0.12, 0.08, 0.07, 0.1, 0.2, 0.4, 0.6, 0.75, 0.85, 0.9, 1.0, 0.95, 0.9, 0.9, 0.95, 1.0, 1.1, 1.3, 1.45, 1.4, 1.1, 0.7]
)


def season(day: dt.date) -> float:
    return float(SEASON[day.month - 1])


def weekday_factor(day: dt.date) -> float:
    return float(WEEKDAY[day.weekday()])


def hourly_curve(day: dt.date) -> np.ndarray:
    return HOURLY_WEEKEND if day.weekday() >= 5 else HOURLY_WEEKDAY


def marketing_multiplier(day: dt.date) -> float:
    thanksgiving = nth_weekday(day.year, 11, 3, 4)
    if day == thanksgiving + dt.timedelta(days=1):
        return 2.5
    if thanksgiving - dt.timedelta(days=10) <= day <= thanksgiving + dt.timedelta(days=1):
        return 1.7
    if dt.date(day.year, 12, 11) <= day <= dt.date(day.year, 12, 24):
        return 1.5
    for anchor in (nth_weekday(day.year, 5, 0, -1), dt.date(day.year, 7, 4), nth_weekday(day.year, 9, 0, 1)):
        if abs((day - anchor).days) <= 2:
            return 1.5
    return 1.0


def online_multiplier(day: dt.date) -> float:
    cyber = nth_weekday(day.year, 11, 3, 4) + dt.timedelta(days=4)
    boost = 2.5 if day == cyber else traffic_holiday_multiplier(day)
    if store_closed(day):
        boost = 1.3  # people shop online when stores are shut
    return float(np.clip(season(day) * boost, 0.5, 2.5))


# Product demand overlay by tag (reference spec §5 holiday product overlay, for any year).
TAGS = (
    "thanksgiving",
    "baking",
    "blackfriday",
    "christmas",
    "grill",
    "halloween",
    "valentine",
    "easter",
    "back_to_school",
    "newyear",
    "summer",
    "winter",
    "spring",
)


@lru_cache(maxsize=4096)
def tag_multipliers(day: dt.date) -> tuple[float, ...]:
    """Demand multiplier per tag on ``day`` (1.0 when the tag's season is not on)."""
    y = day.year
    thanksgiving = nth_weekday(y, 11, 3, 4)
    christmas_lead = dt.date(y, 12, 11) <= day <= dt.date(y, 12, 24)
    thanks_window = thanksgiving - dt.timedelta(days=10) <= day <= thanksgiving + dt.timedelta(days=1)
    grill_days = any(abs((day - a).days) <= 2 for a in (nth_weekday(y, 5, 0, -1), dt.date(y, 7, 4), nth_weekday(y, 9, 0, 1)))
    values = {
        "thanksgiving": 3.5 if thanks_window else 1.0,
        "baking": 1.8 if thanks_window or christmas_lead else 1.0,
        "blackfriday": 5.0 if thanksgiving + dt.timedelta(days=1) <= day <= thanksgiving + dt.timedelta(days=4) else 1.0,
        "christmas": 1.8 if christmas_lead else (1.3 if day.month == 12 and day.day < 25 else 1.0),
        "grill": 2.5 if grill_days else (1.3 if day.month in (6, 7, 8) else 1.0),
        "halloween": 3.0 if dt.date(y, 10, 17) <= day <= dt.date(y, 10, 31) else 1.0,
        "valentine": 3.0 if dt.date(y, 2, 7) <= day <= dt.date(y, 2, 14) else 1.0,
        "easter": 3.0 if 0 <= (easter(y) - day).days <= 7 else 1.0,
        "back_to_school": 2.0 if dt.date(y, 7, 25) <= day <= dt.date(y, 9, 5) else 1.0,
        "newyear": 2.0 if day.month == 1 and day.day <= 21 else 1.0,
        "summer": 1.5 if day.month in (6, 7, 8) else 1.0,
        "winter": 1.5 if day.month in (12, 1, 2) else 1.0,
        "spring": 1.5 if day.month in (3, 4, 5) else 1.0,
    }
    return tuple(values[t] for t in TAGS)


def promo_month_multiplier(day: dt.date) -> float:
    return (1.3, 1.2, 0.9, 1.0, 1.0, 1.1, 1.3, 1.4, 1.1, 1.0, 2.0, 1.6)[day.month - 1]


MONTH_NAMES = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December")
DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def dim_date(first: dt.date = dt.date(2020, 1, 1), last: dt.date = dt.date(2030, 12, 31)) -> pl.DataFrame:
    """One row per day with calendar attributes, a July-start fiscal year and the holiday name."""
    dates = pl.date_range(first, last, "1d", eager=True)
    names: dict[dt.date, str] = {}
    for year in range(first.year, last.year + 1):
        names.update(holidays(year))
    d = pl.col("date")
    return pl.DataFrame({"date": dates}).with_columns(
        (d.dt.year().cast(pl.Int32) * 10000 + d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)).alias("date_key"),
        d.dt.year().cast(pl.Int32).alias("year"),
        d.dt.quarter().cast(pl.Int32).alias("quarter"),
        d.dt.month().cast(pl.Int32).alias("month"),
        d.dt.month().replace_strict(dict(enumerate(MONTH_NAMES, 1)), return_dtype=pl.String).alias("month_name"),
        d.dt.day().cast(pl.Int32).alias("day"),
        d.dt.weekday().cast(pl.Int32).alias("day_of_week"),
        d.dt.weekday().replace_strict(dict(enumerate(DAY_NAMES, 1)), return_dtype=pl.String).alias("day_name"),
        d.dt.week().cast(pl.Int32).alias("week_of_year"),
        (d.dt.weekday() >= 6).alias("is_weekend"),
        (d.dt.year() + (d.dt.month() >= 7).cast(pl.Int32)).cast(pl.Int32).alias("fiscal_year"),
        (((d.dt.month().cast(pl.Int32) + 5) % 12) // 3 + 1).alias("fiscal_quarter"),
        d.replace_strict(names, default=None, return_dtype=pl.String).alias("holiday_name"),
    )
