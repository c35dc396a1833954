"""reorder_triggered: a store requested replenishment of a product ↔ one row of fact_reorders."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.envelope import INVENTORY, count_field, id_field, text_field
from retail_assets.lib.specs.facts import REORDER_PRIORITIES
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 6

REORDER_TRIGGERED = EventSpec(
    event_type="reorder_triggered",
    description="A store requested replenishment of a product.",
    facts=("fact_reorders",),
    retention_days=INVENTORY,
    payload=(
        id_field("store_id", "Store.", nullable=True),
        id_field("dc_id", "Supplying distribution centre.", nullable=True),
        id_field("product_id", "Product."),
        count_field("current_quantity", "On-hand at the check."),
        count_field("reorder_quantity", "Units requested.", positive=True),
        count_field("reorder_point", "Reorder point."),
        text_field("priority", "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
    ),
)


def to_fact_reorders(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    current, c1 = narrow("current_quantity", "current_quantity", pl.Int32())
    quantity, c2 = narrow("reorder_quantity", "reorder_quantity", pl.Int32())
    point, c3 = narrow("reorder_point", "reorder_point", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("dc_id"),
        pl.col("product_id"),
        *current,
        *quantity,
        *point,
        pl.col("priority"),
    ]
    return finish(events, "reorder_triggered", exprs, [c1, c2, c3])


MAPPINGS = {"fact_reorders": to_fact_reorders}

NOTES = {
    "fact_reorders": "reorder_triggered: event_ts = ingest_timestamp; store_id and dc_id are required here.",
}

ENVELOPES = (
    Envelope(
        "reorder_triggered",
        "fact_reorders",
        lambda: [
            pl.col("store_id"),
            pl.col("dc_id"),
            pl.col("product_id"),
            pl.col("current_quantity").cast(pl.Int64),
            pl.col("reorder_quantity").cast(pl.Int64),
            pl.col("reorder_point").cast(pl.Int64),
            pl.col("priority"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
    ),
)
