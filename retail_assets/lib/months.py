"""Month arithmetic, in one place: a month is the ``date`` of its first day (the ``month_start`` partition column).

Plain ``datetime`` only, so the generator, the lake and the Dagster layers share it without importing each other.
"""

from __future__ import annotations

import datetime as dt


def parse_month(text: str) -> dt.date:
    """``YYYY-MM`` (or any ISO date in the month) as the month's first day; ValueError naming the text otherwise."""
    try:
        return dt.date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except (ValueError, TypeError):
        raise ValueError(f"{text!r} is not a month (YYYY-MM)") from None


def month_index(month: dt.date) -> int:
    """Months since year 0: consecutive months have consecutive indexes (the day is ignored)."""
    return month.year * 12 + month.month - 1


def from_month_index(index: int) -> dt.date:
    """The first day of the month ``index`` (:func:`month_index`) counts."""
    return dt.date(index // 12, index % 12 + 1, 1)


def add_months(month: dt.date, offset: int) -> dt.date:
    """The first day of the month ``offset`` months after (before, when negative) the month of ``month``."""
    return from_month_index(month_index(month) + offset)


def month_range(first: dt.date, last: dt.date) -> list[dt.date]:
    """The first days of every month from the month of ``first`` to the month of ``last``, both included."""
    return [from_month_index(i) for i in range(month_index(first), month_index(last) + 1)]


def days_in_month(month: dt.date) -> int:
    return (add_months(month, 1) - month.replace(day=1)).days


def month_bounds_utc(month: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """The month as a half-open UTC interval: midnight of its first day, midnight of the next month's."""
    first = month.replace(day=1)
    return dt.datetime.combine(first, dt.time(), dt.UTC), dt.datetime.combine(add_months(first, 1), dt.time(), dt.UTC)
