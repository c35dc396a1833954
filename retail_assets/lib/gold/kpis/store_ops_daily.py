"""gold/store_ops_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col, store_id

STORE_OPS_DAILY = GoldTable(
    name="store_ops_daily",
    origin="reference stub gold.store_ops_daily (empty there)",
    description="Store openings and closings per UTC day (a store's local evening closing can fall on the next UTC day).",
    grain="UTC day × store × operation type",
    refresh="daily",
    formula="Over silver/fact_store_ops: operation_count = count; first/last_operation = min/max event_ts.",
    reconciliation="Σ operation_count = Silver store operations, per month.",
    columns=(
        day_column(),
        store_id(),
        col("operation_type", D.STRING, "opened or closed."),
        count_column("operation_count", "Operations."),
        col("first_operation", D.TIMESTAMP, "Earliest operation of the day."),
        col("last_operation", D.TIMESTAMP, "Latest operation of the day."),
        date_key_column(),
    ),
    key=("day", "store_id", "operation_type"),
    time_column="day",
    inputs=inputs("fact_store_ops"),
)


def store_ops_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_store_ops")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "operation_type")
        .agg(
            pl.len().cast(pl.Int64).alias("operation_count"),
            pl.col("event_ts").min().alias("first_operation"),
            pl.col("event_ts").max().alias("last_operation"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_store_ops_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("operations", total(gold, pl.col("operation_count")), count_rows(inp.this_month("fact_store_ops")))]
