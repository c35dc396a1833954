"""receipt_line_added: a line added to a store receipt ↔ one row of fact_receipt_lines."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, dollars_to_cents, finish, narrow
from retail_assets.lib.specs.envelope import TRANSACTIONS, count_field, dollars_field, id_field, text_field
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, dollars, node

POSITION = 2

RECEIPT_LINE_ADDED = EventSpec(
    event_type="receipt_line_added",
    description="A line was added to a store receipt.",
    facts=("fact_receipt_lines",),
    retention_days=TRANSACTIONS,
    payload=(
        text_field("receipt_id", "Receipt id."),
        count_field("line_number", "Line number.", positive=True),
        id_field("product_id", "Product."),
        count_field("quantity", "Units.", positive=True),
        dollars_field("unit_price", "Price per unit, dollars.", positive=True),
        dollars_field("extended_price", "Line amount after discount, dollars.", positive=True),
        text_field("promo_code", "Promotion applied.", nullable=True),
    ),
)


def to_fact_receipt_lines(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    line, line_check = narrow("line_number", "line_number", pl.Int32())
    qty, qty_check = narrow("quantity", "quantity", pl.Int32())
    unit = dollars_to_cents("unit_price")
    ext = dollars_to_cents("extended_price")
    exprs = [
        pl.col("receipt_id"),
        *line,
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("product_id"),
        *qty,
        unit.alias("unit_price_cents"),
        (unit * pl.col("quantity") - ext).alias("discount_cents"),
        ext.alias("ext_price_cents"),
        pl.col("promo_code"),
        pl.col("trace_id"),
    ]
    return finish(events, "receipt_line_added", exprs, [line_check, qty_check])


MAPPINGS = {"fact_receipt_lines": to_fact_receipt_lines}

NOTES = {
    "fact_receipt_lines": (
        "receipt_line_added: line_number, unit/ext cents = round(dollars × 100); discount_cents is derived as "
        "unit_price_cents × quantity − ext_price_cents (the line identity), event_ts = ingest_timestamp."
    ),
}

# The lines' store comes from their receipt (``envelopes._derived_sources``); returned lines are not streamed.
ENVELOPES = (
    Envelope(
        "receipt_line_added",
        "fact_receipt_lines",
        lambda: [
            pl.col("receipt_id"),
            pl.col("line_number").cast(pl.Int64),
            pl.col("product_id"),
            pl.col("quantity").cast(pl.Int64),
            dollars("unit_price_cents").alias("unit_price"),
            dollars("ext_price_cents").alias("extended_price"),
            pl.col("promo_code"),
        ],
        "event_ts",
        trace_id=pl.format("{}-{}", pl.col("receipt_id"), pl.col("line_number")),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        parent_event_id=pl.col("receipt_id"),
        rows=pl.col("quantity") > 0,
    ),
)
