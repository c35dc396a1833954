"""gold/stockout_duration_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import (
    count_column,
    date_key_column,
    day_column,
    hours_column,
    inputs,
    site_dc,
    site_store,
)
from retail_assets.lib.gold.frames import (
    GoldInputs,
    count_rows,
    first_after,
    hours_between,
    total,
    utc_day,
    with_calendar,
)
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col


def _restocks(inp: GoldInputs) -> pl.LazyFrame:
    """Stockouts of the month with the time of the first later positive movement of the product at their node."""
    stockouts = (
        inp.this_month("fact_stockouts")
        .select("store_id", "dc_id", "product_id", pl.col("event_ts").alias("detected_at"))
        .with_columns(pl.col("store_id").is_not_null().alias("__store"))
    )
    node = pl.coalesce("store_id", "dc_id").alias("__node")
    positive = pl.col("quantity") > 0
    store_in = (
        inp.fact("fact_store_inventory_txn")
        .filter(positive)
        .select(pl.col("store_id").alias("__node"), "product_id", "event_ts")
    )
    dc_in = (
        inp.fact("fact_dc_inventory_txn")
        .filter(positive)
        .select(pl.col("dc_id").alias("__node"), "product_id", "event_ts")
    )
    by = ["__node", "product_id"]
    at_stores = first_after(
        stockouts.filter(pl.col("__store")).with_columns(node), store_in, by, "detected_at", "restocked_at"
    )
    at_dcs = first_after(
        stockouts.filter(~pl.col("__store")).with_columns(node), dc_in, by, "detected_at", "restocked_at"
    )
    return pl.concat([at_stores, at_dcs]).with_columns(hours_between("detected_at", "restocked_at").alias("hours"))


STOCKOUT_DURATION_DAILY = GoldTable(
    name="stockout_duration_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "How long shelves stayed empty: stockouts detected per day and store or DC, how many were restocked and "
        "how many hours that took."
    ),
    grain="UTC day of detection × store or DC",
    refresh="daily",
    formula=(
        "Each Silver stockout (fact_stockouts) is matched to the first later inventory movement with a positive "
        "quantity at the same store (fact_store_inventory_txn) or DC (fact_dc_inventory_txn) and product, looked for "
        "in the detection month and the next. hours_to_restock = (restock time − detection time) in hours. "
        "stockouts = detections; restocked = detections with a restock; open_stockouts = the others; "
        "avg/max_hours_to_restock over restocked ones (NULL when none); out_of_stock_hours = Σ hours_to_restock."
    ),
    reconciliation="Σ stockouts = Silver stockouts and Σ restocked + Σ open_stockouts = Σ stockouts, per month.",
    columns=(
        day_column("UTC day of detection."),
        site_store(),
        site_dc(),
        count_column("stockouts", "Stockout detections."),
        count_column("restocked", "Detections followed by a restock within the window."),
        count_column("open_stockouts", "Detections without a restock yet."),
        hours_column("avg_hours_to_restock", "Mean hours from detection to restock."),
        hours_column("max_hours_to_restock", "Longest hours from detection to restock."),
        col("out_of_stock_hours", D.FLOAT64, "Σ hours from detection to restock of the restocked ones.", ge=0),
        date_key_column(),
    ),
    key=("day", "store_id", "dc_id"),
    time_column="day",
    inputs=inputs("fact_stockouts", ("fact_store_inventory_txn", 0, 1), ("fact_dc_inventory_txn", 0, 1)),
)


def stockout_duration_daily(inp: GoldInputs) -> pl.LazyFrame:
    restocked = pl.col("restocked_at").is_not_null()
    daily = (
        _restocks(inp)
        .group_by(utc_day("detected_at").alias("day"), "store_id", "dc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("stockouts"),
            restocked.sum().cast(pl.Int64).alias("restocked"),
            (~restocked).sum().cast(pl.Int64).alias("open_stockouts"),
            pl.col("hours").mean().alias("avg_hours_to_restock"),
            pl.col("hours").max().alias("max_hours_to_restock"),
            pl.col("hours").sum().fill_null(0.0).alias("out_of_stock_hours"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_stockout_duration_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [
        Balance("stockouts", total(gold, pl.col("stockouts")), count_rows(inp.this_month("fact_stockouts"))),
        Balance(
            "restocked_plus_open",
            total(gold, pl.col("restocked") + pl.col("open_stockouts")),
            total(gold, pl.col("stockouts")),
        ),
    ]
