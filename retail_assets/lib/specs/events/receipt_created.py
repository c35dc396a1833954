"""receipt_created: a store receipt closed at the till ↔ one SALE row of fact_receipts."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import MONEY_NOT_CARRIED, Mapped, MappingContext, finish, money_columns, narrow
from retail_assets.lib.specs.envelope import ATTRIBUTION, TRANSACTIONS, count_field, dollars_field, id_field, text_field
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, money_payload, node

POSITION = 1

RECEIPT_CREATED = EventSpec(
    event_type="receipt_created",
    description="A store receipt was closed at the till.",
    facts=("fact_receipts",),
    retention_days=TRANSACTIONS,
    payload=(
        id_field("store_id", "Store."),
        id_field("customer_id", "Customer; NULL for an anonymous shopper.", nullable=True),
        text_field("receipt_id", "Receipt id."),
        dollars_field("subtotal", "Net subtotal after discounts, dollars."),
        dollars_field("tax", "Tax, dollars."),
        dollars_field("total", "Total, dollars."),
        text_field("tender_type", "Tender (CREDIT_CARD, CASH, ...)."),
        count_field("item_count", "Units on the receipt.", positive=True),
        *ATTRIBUTION,
    ),
)


def to_fact_receipts(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    item_count, item_check = narrow("item_count", "item_count", pl.Int32())
    exprs = money_columns(
        [
            pl.col("receipt_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col("store_id"),
            pl.col("customer_id"),
            pl.lit("SALE").alias("receipt_type"),
            pl.lit(None, dtype=pl.String).alias("return_for_receipt_id"),
            pl.col("tender_type").alias("payment_method"),
            *item_count,
        ]
    )
    return finish(
        events, "receipt_created", [*exprs, pl.col("campaign_id"), pl.col("trace_id")], [item_check], MONEY_NOT_CARRIED
    )


MAPPINGS = {"fact_receipts": to_fact_receipts}

NOTES = {
    "fact_receipts": (
        "receipt_created → one SALE row: event_ts = ingest_timestamp, payment_method = tender_type, "
        "return_for_receipt_id NULL; *_cents payload fields win over round(dollars × 100). When the event carries "
        "neither discount_cents nor gross_subtotal_cents, discount_cents = 0 and gross = subtotal (the reference's mapping)."
    ),
}

# Returns (negative receipts) do not fit the payload's constraints and are not streamed.
ENVELOPES = (
    Envelope(
        "receipt_created",
        "fact_receipts",
        lambda: [pl.col("store_id"), pl.col("customer_id"), pl.col("receipt_id"), *money_payload()],
        "event_ts",
        trace_id=pl.col("receipt_id"),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        rows=pl.col("receipt_type") == "SALE",
    ),
)
