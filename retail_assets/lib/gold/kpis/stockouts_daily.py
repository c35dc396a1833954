"""gold/stockouts_daily: its spec, build, reconciliation with Silver and chart."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, by_day, sums
from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs, site_dc, site_store
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance

STOCKOUTS_DAILY = GoldTable(
    name="stockouts_daily",
    origin="reference stub gold.stockouts_daily (empty there)",
    description="Stockout detections per day and store or distribution centre, and how many products ran out.",
    grain="UTC day × store or DC",
    refresh="daily",
    formula="Over silver/fact_stockouts: stockout_count = detections; products_affected = distinct product_id.",
    reconciliation="Σ stockout_count = Silver stockouts, per month.",
    columns=(
        day_column(),
        site_store(),
        site_dc(),
        count_column("stockout_count", "Stockout detections."),
        count_column("products_affected", "Distinct products that ran out."),
        date_key_column(),
    ),
    key=("day", "store_id", "dc_id"),
    time_column="day",
    # fact_receipts and fact_receipt_lines: the stockout alert check ranks the store's fast movers.
    inputs=inputs("fact_stockouts", "fact_receipts", "fact_receipt_lines"),
)


def stockouts_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_stockouts")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "dc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("stockout_count"),
            pl.col("product_id").n_unique().cast(pl.Int64).alias("products_affected"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_stockouts_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("stockouts", total(gold, pl.col("stockout_count")), count_rows(inp.this_month("fact_stockouts")))]


CHART = ChartSpec(
    table="stockouts_daily",
    title="Stockout detections per day",
    unit="",
    bars=by_day(pl.col("day"), pl.col("stockout_count").sum().cast(pl.Float64)),
    headline=sums(stockouts=("stockout_count", 1)),
)
