"""stockout_detected: a product's on-hand reached zero at a store or a DC ↔ one row of fact_stockouts."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.envelope import INVENTORY, count_field, id_field, time_field
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, store_or_dc

POSITION = 5

STOCKOUT_DETECTED = EventSpec(
    event_type="stockout_detected",
    description="A product's on-hand reached zero at a store or a distribution centre.",
    facts=("fact_stockouts",),
    retention_days=INVENTORY,
    payload=(
        id_field("store_id", "Store.", nullable=True),
        id_field("dc_id", "Distribution centre.", nullable=True),
        id_field("product_id", "Product."),
        count_field("last_known_quantity", "Units removed by the movement that emptied the shelf."),
        time_field("detection_time", "Detection time."),
    ),
)


def to_fact_stockouts(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    qty, qty_check = narrow("last_known_quantity", "last_known_quantity", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("detection_time").alias("event_ts"),
        pl.col("store_id"),
        pl.col("dc_id"),
        pl.col("product_id"),
        *qty,
        # The event reports the stockout as it is detected; lost sales are only known once the shelf is restocked.
        pl.lit(None, dtype=pl.Int32()).alias("lost_sales_units"),
    ]
    return finish(events, "stockout_detected", exprs, [qty_check])


MAPPINGS = {"fact_stockouts": to_fact_stockouts}

NOTES = {
    "fact_stockouts": "stockout_detected: event_ts = detection_time, lost_sales_units NULL (the event does not carry it).",
}

ENVELOPES = (
    Envelope(
        "stockout_detected",
        "fact_stockouts",
        lambda: [
            pl.col("store_id"),
            pl.col("dc_id"),
            pl.col("product_id"),
            pl.col("last_known_quantity").cast(pl.Int64),
            pl.col("event_ts").alias("detection_time"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=store_or_dc(),
    ),
)
