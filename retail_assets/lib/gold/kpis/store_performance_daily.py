"""gold/store_performance_daily: its spec, build, reconciliation with Silver and chart."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, dollars, sums, top
from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import (
    RETURN,
    SALE,
    GoldInputs,
    count_rows,
    floor_ratio,
    share,
    total,
    utc_day,
    with_calendar,
)
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs.columns import cents, store_id

ENTRANCES = ("ENTRANCE_MAIN", "ENTRANCE_SIDE")


STORE_PERFORMANCE_DAILY = GoldTable(
    name="store_performance_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description="The store manager's day: sales, returns, basket, visitors, conversion and stockouts per store.",
    grain="UTC day × store",
    refresh="daily",
    formula=(
        "From silver/fact_receipts: sales_receipts / return_receipts = receipts of each type; units_sold = Σ "
        "item_count of sales; sales_cents = Σ total_cents of sales; returns_cents = −Σ total_cents of returns; "
        "net_sales_cents = sales_cents − returns_cents; avg_basket_cents = floor(sales_cents / sales_receipts). "
        "From silver/fact_foot_traffic: visitors = Σ customer_count at ENTRANCE_MAIN and ENTRANCE_SIDE. "
        "conversion_rate = sales_receipts / visitors (NULL without visitors). From silver/fact_stockouts: stockouts "
        "at the store. A store appears on a day with any of these."
    ),
    reconciliation=(
        "Σ net_sales_cents = Σ silver/fact_receipts.total_cents; Σ sales + return receipts = Silver receipts; "
        "Σ visitors = Σ entrance counts; Σ stockouts = Silver store stockouts, per month."
    ),
    columns=(
        day_column(),
        store_id(),
        count_column("sales_receipts", "SALE receipts."),
        count_column("return_receipts", "RETURN receipts."),
        count_column("units_sold", "Σ units on sale receipts."),
        cents("sales_cents", "Σ totals of sales."),
        cents("returns_cents", "Σ refunded totals (positive)."),
        cents("net_sales_cents", "sales_cents − returns_cents.", signed=True),
        cents("avg_basket_cents", "floor(sales_cents / sales_receipts); 0 without sales."),
        count_column("visitors", "People counted at the entrances."),
        ratio_column("conversion_rate", "sales_receipts / visitors."),
        count_column("stockouts", "Stockouts detected at the store."),
        date_key_column(),
    ),
    key=("day", "store_id"),
    time_column="day",
    inputs=inputs("fact_receipts", "fact_foot_traffic", "fact_stockouts"),
)


def store_performance_daily(inp: GoldInputs) -> pl.LazyFrame:
    keys = ["day", "store_id"]
    sales = (
        inp.this_month("fact_receipts")
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(
            SALE.sum().cast(pl.Int64).alias("sales_receipts"),
            RETURN.sum().cast(pl.Int64).alias("return_receipts"),
            pl.col("item_count").filter(SALE).sum().cast(pl.Int64).alias("units_sold"),
            pl.col("total_cents").filter(SALE).sum().cast(pl.Int64).alias("sales_cents"),
            (-pl.col("total_cents").filter(RETURN).sum()).cast(pl.Int64).alias("returns_cents"),
        )
    )
    visitors = (
        inp.this_month("fact_foot_traffic")
        .filter(pl.col("zone").is_in(ENTRANCES))
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(pl.col("customer_count").sum().cast(pl.Int64).alias("visitors"))
    )
    stockouts = (
        inp.this_month("fact_stockouts")
        .filter(pl.col("store_id").is_not_null())
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(pl.len().cast(pl.Int64).alias("stockouts"))
    )
    counts = [
        "sales_receipts",
        "return_receipts",
        "units_sold",
        "sales_cents",
        "returns_cents",
        "visitors",
        "stockouts",
    ]
    daily = (
        sales.join(visitors, on=keys, how="full", coalesce=True)
        .join(stockouts, on=keys, how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0))
        .with_columns(
            (pl.col("sales_cents") - pl.col("returns_cents")).alias("net_sales_cents"),
            floor_ratio("sales_cents", "sales_receipts").alias("avg_basket_cents"),
            share("sales_receipts", "visitors").alias("conversion_rate"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_store_performance_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    entrances = inp.this_month("fact_foot_traffic").filter(pl.col("zone").is_in(ENTRANCES))
    stockouts = inp.this_month("fact_stockouts").filter(pl.col("store_id").is_not_null())
    return [
        Balance("net_sales_cents", total(gold, pl.col("net_sales_cents")), total(receipts, pl.col("total_cents"))),
        Balance("receipts", total(gold, pl.col("sales_receipts") + pl.col("return_receipts")), count_rows(receipts)),
        Balance("visitors", total(gold, pl.col("visitors")), total(entrances, pl.col("customer_count"))),
        Balance("stockouts", total(gold, pl.col("stockouts")), count_rows(stockouts)),
    ]


CHART = ChartSpec(
    table="store_performance_daily",
    title="Net sales by store, top 15 of the month ($)",
    unit="$",
    bars=top("store_id", dollars("net_sales_cents")),
    headline=sums(net_sales_usd=("net_sales_cents", 100), visitors=("visitors", 1)),
)
