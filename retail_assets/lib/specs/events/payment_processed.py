"""payment_processed: a payment authorised or declined ↔ one row of fact_payments."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, cents, finish
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import TRANSACTIONS, count_field, dollars_field, id_field, text_field, time_field
from retail_assets.lib.specs.facts import DECLINE_REASONS, PAYMENT_STATUSES
from retail_assets.lib.specs.model import DType, EventSpec
from retail_assets.lib.streaming.inverse import Envelope, dollars, node

POSITION = 3

PAYMENT_PROCESSED = EventSpec(
    event_type="payment_processed",
    description="A payment for a receipt or an online order was authorised or declined.",
    facts=("fact_payments",),
    retention_days=TRANSACTIONS,
    payload=(
        text_field("receipt_id", "Store receipt paid.", nullable=True),
        text_field("order_id", "Online order paid.", nullable=True),
        text_field("payment_method", "Tender."),
        dollars_field("amount", "Amount, dollars.", positive=True),
        count_field("amount_cents", "Amount in cents.", positive=True),
        text_field("transaction_id", "Payment transaction id."),
        time_field("processing_time", "When the authorisation completed."),
        col("processing_time_ms", DType.INT32, "Authorisation latency, ms.", ge=0),
        text_field("status", "APPROVED or DECLINED.", allowed=PAYMENT_STATUSES),
        text_field("decline_reason", "Why it was declined.", nullable=True, allowed=DECLINE_REASONS),
        id_field("store_id", "Store, for in-store payments.", nullable=True),
        id_field("customer_id", "Customer; NULL for an anonymous in-store shopper.", nullable=True),
    ),
)


def to_fact_payments(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("transaction_id"),
        pl.col("processing_time").alias("event_ts"),
        pl.col("receipt_id"),
        pl.col("order_id"),
        pl.col("payment_method"),
        cents("amount_cents", "amount").alias("amount_cents"),
        pl.col("processing_time_ms"),
        pl.col("status"),
        pl.col("decline_reason"),
        pl.col("store_id"),
        pl.col("customer_id"),
        pl.col("trace_id"),
    ]
    return finish(events, "payment_processed", exprs, [])


MAPPINGS = {"fact_payments": to_fact_payments}

NOTES = {
    "fact_payments": "payment_processed: event_ts = processing_time; amount_cents payload field wins over round(amount × 100).",
}

# An online payment takes its order's node (``order_partition_key``, joined in ``envelopes._derived_sources``)
# when the order is in the same window, else the customer's key.
ENVELOPES = (
    Envelope(
        "payment_processed",
        "fact_payments",
        lambda: [
            pl.col("receipt_id"),
            pl.col("order_id"),
            pl.col("payment_method"),
            dollars("amount_cents").alias("amount"),
            pl.col("amount_cents"),
            pl.col("transaction_id"),
            pl.col("event_ts").alias("processing_time"),
            pl.col("processing_time_ms"),
            pl.col("status"),
            pl.col("decline_reason"),
            pl.col("store_id"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.col("transaction_id"),
        partition_key=pl.coalesce(
            node("store", "store_id"), pl.col("order_partition_key"), node("customer", "customer_id")
        ),
        correlation_id=pl.coalesce(pl.col("receipt_id"), pl.col("order_id")),
        parent_event_id=pl.coalesce(pl.col("receipt_id"), pl.col("order_id")),
    ),
)
