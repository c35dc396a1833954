"""gold/reorder_cycle_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, hours_column, inputs
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
from retail_assets.lib.specs.columns import col, store_id
from retail_assets.lib.specs.facts import REORDER_PRIORITIES

REORDER_CYCLE_DAILY = GoldTable(
    name="reorder_cycle_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "The replenishment cycle: reorders per day, store and priority, how many were received and how long it took "
        "from request to goods in the store."
    ),
    grain="UTC day of the reorder × store × priority",
    refresh="daily",
    formula=(
        "Each Silver reorder (fact_reorders) is matched to the first later INBOUND_SHIPMENT movement of the same "
        "product at the same store (fact_store_inventory_txn), looked for in the reorder month and the next. "
        "hours_to_receive = (receipt time − reorder time) in hours. reorders = requests; received = matched; "
        "open_reorders = the others; avg/max_hours_to_receive over received ones (NULL when none); units_ordered = "
        "Σ reorder_quantity. Two reorders of a product before one delivery are both received by it."
    ),
    reconciliation=(
        "Σ reorders = Silver reorders, Σ units_ordered = Σ reorder_quantity and Σ received + Σ open_reorders = "
        "Σ reorders, per month."
    ),
    columns=(
        day_column("UTC day of the reorder."),
        store_id(),
        col("priority", D.STRING, "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
        count_column("reorders", "Replenishment requests."),
        count_column("received", "Requests followed by an inbound shipment of the product."),
        count_column("open_reorders", "Requests not received yet."),
        hours_column("avg_hours_to_receive", "Mean hours from request to receipt."),
        hours_column("max_hours_to_receive", "Longest hours from request to receipt."),
        count_column("units_ordered", "Σ units requested."),
        date_key_column(),
    ),
    key=("day", "store_id", "priority"),
    time_column="day",
    inputs=inputs("fact_reorders", ("fact_store_inventory_txn", 0, 1)),
)


def reorder_cycle_daily(inp: GoldInputs) -> pl.LazyFrame:
    reorders = inp.this_month("fact_reorders").select(
        "store_id", "product_id", "priority", "reorder_quantity", pl.col("event_ts").alias("reordered_at")
    )
    inbound = inp.fact("fact_store_inventory_txn").filter(
        (pl.col("txn_type") == "INBOUND_SHIPMENT") & (pl.col("quantity") > 0)
    )
    matched = first_after(reorders, inbound, ["store_id", "product_id"], "reordered_at", "received_at").with_columns(
        hours_between("reordered_at", "received_at").alias("hours")
    )
    received = pl.col("received_at").is_not_null()
    daily = matched.group_by(utc_day("reordered_at").alias("day"), "store_id", "priority").agg(
        pl.len().cast(pl.Int64).alias("reorders"),
        received.sum().cast(pl.Int64).alias("received"),
        (~received).sum().cast(pl.Int64).alias("open_reorders"),
        pl.col("hours").mean().alias("avg_hours_to_receive"),
        pl.col("hours").max().alias("max_hours_to_receive"),
        pl.col("reorder_quantity").sum().cast(pl.Int64).alias("units_ordered"),
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_reorder_cycle_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    reorders = inp.this_month("fact_reorders")
    return [
        Balance("reorders", total(gold, pl.col("reorders")), count_rows(reorders)),
        Balance("units_ordered", total(gold, pl.col("units_ordered")), total(reorders, pl.col("reorder_quantity"))),
        Balance(
            "received_plus_open",
            total(gold, pl.col("received") + pl.col("open_reorders")),
            total(gold, pl.col("reorders")),
        ),
    ]
