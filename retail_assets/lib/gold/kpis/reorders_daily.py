"""gold/reorders_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col, dc_id, store_id
from retail_assets.lib.specs.facts import REORDER_PRIORITIES

REORDERS_DAILY = GoldTable(
    name="reorders_daily",
    origin="reference stub gold.reorders_daily (empty there)",
    description="Store replenishment requests per day, store, supplying DC and priority.",
    grain="UTC day × store × DC × priority",
    refresh="daily",
    formula=(
        "Over silver/fact_reorders: reorder_count = requests; total_units_ordered = Σ reorder_quantity; "
        "products = distinct product_id."
    ),
    reconciliation="Σ reorder_count = Silver reorders and Σ total_units_ordered = Σ reorder_quantity, per month.",
    columns=(
        day_column(),
        store_id(),
        dc_id(),
        col("priority", D.STRING, "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
        count_column("reorder_count", "Replenishment requests."),
        count_column("total_units_ordered", "Σ units requested."),
        count_column("products", "Distinct products requested."),
        date_key_column(),
    ),
    key=("day", "store_id", "dc_id", "priority"),
    time_column="day",
    inputs=inputs("fact_reorders"),
)


def reorders_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_reorders")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "dc_id", "priority")
        .agg(
            pl.len().cast(pl.Int64).alias("reorder_count"),
            pl.col("reorder_quantity").sum().cast(pl.Int64).alias("total_units_ordered"),
            pl.col("product_id").n_unique().cast(pl.Int64).alias("products"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_reorders_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    reorders = inp.this_month("fact_reorders")
    return [
        Balance("reorders", total(gold, pl.col("reorder_count")), count_rows(reorders)),
        Balance(
            "units_ordered", total(gold, pl.col("total_units_ordered")), total(reorders, pl.col("reorder_quantity"))
        ),
    ]
