"""gold/fulfillment_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, hours_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, hours_between, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col

FULFILLMENT_DAILY = GoldTable(
    name="fulfillment_daily",
    origin="reference gold.fulfillment_daily",
    description=(
        "The online fulfilment pipeline: order lines per order day, fulfilment mode and current status, with "
        "lead times. Keyed by order day (the reference used the day of the latest step, which moves a line between "
        "days and months as it progresses and dropped unfulfilled lines)."
    ),
    grain="UTC order day × fulfillment_mode × current fulfillment_status",
    refresh="daily",
    formula=(
        "Over silver/fact_online_order_lines: orders = distinct order_id; lines = count; units = Σ quantity; "
        "avg_hours_to_ship = mean(shipped_ts − event_ts) over shipped lines; avg_hours_to_deliver = "
        "mean(delivered_ts − event_ts) over delivered lines (NULL when none)."
    ),
    reconciliation="Σ lines = Silver order lines and Σ units = Σ quantity, per month.",
    columns=(
        day_column("UTC day the orders were placed."),
        col("fulfillment_mode", D.STRING, "SHIP_FROM_DC, SHIP_FROM_STORE or BOPIS."),
        col("fulfillment_status", D.STRING, "Current status of the lines (CREATED ... DELIVERED, CANCELLED)."),
        count_column("orders", "Distinct orders."),
        count_column("lines", "Order lines."),
        count_column("units", "Σ units."),
        hours_column("avg_hours_to_ship", "Mean hours from order to shipment, over shipped lines."),
        hours_column("avg_hours_to_deliver", "Mean hours from order to delivery or pickup, over delivered lines."),
        date_key_column(),
    ),
    key=("day", "fulfillment_mode", "fulfillment_status"),
    time_column="day",
    inputs=inputs("fact_online_order_lines"),
)


def fulfillment_daily(inp: GoldInputs) -> pl.LazyFrame:
    lines = inp.this_month("fact_online_order_lines")
    daily = lines.group_by(utc_day("event_ts").alias("day"), "fulfillment_mode", "fulfillment_status").agg(
        pl.col("order_id").n_unique().cast(pl.Int64).alias("orders"),
        pl.len().cast(pl.Int64).alias("lines"),
        pl.col("quantity").sum().cast(pl.Int64).alias("units"),
        hours_between("event_ts", "shipped_ts").mean().alias("avg_hours_to_ship"),
        hours_between("event_ts", "delivered_ts").mean().alias("avg_hours_to_deliver"),
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_fulfillment_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    lines = inp.this_month("fact_online_order_lines")
    return [
        Balance("lines", total(gold, pl.col("lines")), count_rows(lines)),
        Balance("units", total(gold, pl.col("units")), total(lines, pl.col("quantity"))),
    ]
