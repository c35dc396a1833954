"""The one monthly partitioning shared by every fact and event table, in every layer."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import dagster as dg
import polars as pl

FIRST_MONTH = dt.date(2024, 1, 1)

# Shared object: every partitioned asset uses this, so partitions line up across layers with no
# mappings. end_offset=1 includes the current (incomplete) month, where streaming events land.
MONTHLY = dg.MonthlyPartitionsDefinition(start_date=FIRST_MONTH.isoformat(), end_offset=1)


def month_of(partition_key: str) -> dt.date:
    """``"2024-01-01"`` -> ``date(2024, 1, 1)``; rejects keys that are not a month start."""
    day = dt.date.fromisoformat(partition_key)
    if day.day != 1:
        raise ValueError(f"partition key {partition_key!r} is not the first day of a month")
    return day


def partition_key(month: dt.date) -> str:
    return month.replace(day=1).isoformat()


def months_of(context: dg.AssetExecutionContext) -> list[dt.date]:
    """The months a (possibly single-run, multi-month) asset run covers, in order."""
    return sorted(month_of(k) for k in context.partition_keys)


def month_start(column: str | pl.Expr) -> pl.Expr:
    """The UTC month start (Date) of a timestamp column."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.convert_time_zone("UTC").dt.truncate("1mo").dt.date()


def describe_months(months: Sequence[dt.date]) -> str:
    if not months:
        return "no months"
    if len(months) == 1:
        return months[0].strftime("%Y-%m")
    return f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}"
