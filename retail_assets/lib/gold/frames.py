"""What a Gold month is computed from, and the small expressions every Gold transform shares."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.partitions import month_start
from retail_assets.lib.specs import PARTITION_COLUMN

DAY = "1d"
# A transform may add columns named __metric_<name>: their sums are reported as materialization
# metadata (e.g. the units the inventory floor added) and the columns are not written.
METRIC_PREFIX = "__metric_"

# Receipt and order filters several KPIs share.
SALE = pl.col("receipt_type") == "SALE"
RETURN = pl.col("receipt_type") == "RETURN"
NOT_CANCELLED = pl.col("order_status") != "CANCELLED"


@dataclass(frozen=True)
class GoldInputs:
    """The Silver facts one Gold month reads (already restricted to the months its spec names).

    ``previous`` is the table's own snapshot of the previous month (snapshot tables only; None when
    there is none). Transforms are plain functions of this, testable without a lake or Dagster.
    """

    month: dt.date
    facts: Mapping[str, pl.LazyFrame]
    previous: pl.DataFrame | None = None
    thresholds: AlertThresholds = field(default_factory=AlertThresholds)

    def fact(self, table: str) -> pl.LazyFrame:
        """Every row of the fact the inputs hold (the month, or the month and its neighbours)."""
        try:
            return self.facts[table]
        except KeyError:
            raise KeyError(
                f"the Gold inputs of {self.month:%Y-%m} hold no {table!r}; known: {sorted(self.facts)}"
            ) from None

    def this_month(self, table: str) -> pl.LazyFrame:
        """The fact's rows of the Gold month only."""
        return self.fact(table).filter(pl.col(PARTITION_COLUMN) == self.month)


def utc_day(column: str | pl.Expr) -> pl.Expr:
    """UTC midnight of a timestamp, as a timestamp (the twins' daily bin)."""
    expr = pl.col(column) if isinstance(column, str) else column
    return expr.dt.truncate(DAY)


def date_key(column: str = "day") -> pl.Expr:
    """yyyymmdd of the UTC day of a timestamp (dim_date.date_key)."""
    day = pl.col(column).dt.convert_time_zone("UTC")
    return (day.dt.year() * 10_000 + day.dt.month().cast(pl.Int32) * 100 + day.dt.day().cast(pl.Int32)).cast(pl.Int32)


def with_calendar(frame: pl.LazyFrame, time_column: str, month: dt.date) -> pl.LazyFrame:
    """Add ``date_key`` and ``month_start`` (the month's) to a time-grained Gold frame."""
    return frame.with_columns(date_key(time_column).alias("date_key"), pl.lit(month).alias(PARTITION_COLUMN))


def in_month(column: str, month: dt.date) -> pl.Expr:
    """Rows whose timestamp falls in ``month`` (UTC)."""
    return month_start(column) == month


def floor_ratio(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """floor(numerator / denominator) as int64, 0 when the denominator is 0 (the twins' ratio convention)."""
    num = pl.col(numerator) if isinstance(numerator, str) else numerator
    den = pl.col(denominator) if isinstance(denominator, str) else denominator
    return pl.when(den != 0).then((num.cast(pl.Float64) / den).floor()).otherwise(0).cast(pl.Int64)


def share(numerator: str | pl.Expr, denominator: str | pl.Expr) -> pl.Expr:
    """numerator / denominator as float64, NULL when the denominator is 0."""
    num = pl.col(numerator) if isinstance(numerator, str) else numerator
    den = pl.col(denominator) if isinstance(denominator, str) else denominator
    return pl.when(den != 0).then(num.cast(pl.Float64) / den).otherwise(None)


def hours_between(start: str, end: str) -> pl.Expr:
    return (pl.col(end) - pl.col(start)).dt.total_microseconds() / 3_600_000_000


def count_rows(frame: pl.LazyFrame) -> int:
    return frame.select(pl.len()).collect().item()


def total(frame: pl.LazyFrame, expr: pl.Expr) -> int:
    """Σ of an expression over a frame, as a Python int (0 for no rows)."""
    value = frame.select(expr.sum()).collect().item()
    return int(value or 0)


def first_after(events: pl.LazyFrame, later: pl.LazyFrame, by: list[str], at: str, found_at: str) -> pl.LazyFrame:
    """Each event with the time of the first ``later`` row strictly after it for the same ``by`` (NULL when none)."""
    candidates = later.select(*by, pl.col("event_ts").alias(found_at)).sort(found_at)
    return events.sort(at).join_asof(
        candidates,
        left_on=at,
        right_on=found_at,
        by=by,
        strategy="forward",
        allow_exact_matches=False,
        # Both sides are sorted just above; polars cannot verify sortedness per `by` group.
        check_sortedness=False,
    )
