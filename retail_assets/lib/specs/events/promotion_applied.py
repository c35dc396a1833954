"""promotion_applied: a promotion code discounted lines of a store receipt ↔ one row of fact_promotions."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, cents, finish, narrow
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import MARKETING, count_field, dollars_field, id_field, text_field
from retail_assets.lib.specs.facts import DISCOUNT_TYPES
from retail_assets.lib.specs.model import DType, EventSpec
from retail_assets.lib.streaming.inverse import Envelope, dollars, node

POSITION = 15

PROMOTION_APPLIED = EventSpec(
    event_type="promotion_applied",
    description="A promotion code discounted lines of a store receipt.",
    facts=("fact_promotions",),
    retention_days=MARKETING,
    payload=(
        text_field("receipt_id", "Receipt."),
        text_field("promo_code", "Promotion code."),
        dollars_field("discount_amount", "Discount, dollars.", positive=True),
        count_field("discount_cents", "Discount, cents.", positive=True),
        text_field("discount_type", "PERCENTAGE, FIXED_AMOUNT or BOGO.", allowed=DISCOUNT_TYPES),
        count_field("product_count", "Discounted lines.", positive=True),
        col("product_ids", DType.LIST_INT64, "Discounted products."),
        id_field("store_id", "Store."),
        id_field("customer_id", "Customer; NULL for an anonymous shopper.", nullable=True),
    ),
)


def to_fact_promotions(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    count, count_check = narrow("product_count", "product_count", pl.Int32())
    exprs = [
        pl.col("receipt_id"),
        pl.col("promo_code"),
        pl.col("ingest_timestamp").alias("event_ts"),
        cents("discount_cents", "discount_amount").alias("discount_cents"),
        pl.col("discount_type"),
        *count,
        pl.col("product_ids"),
        pl.col("store_id"),
        pl.col("customer_id"),
        pl.col("trace_id"),
    ]
    return finish(events, "promotion_applied", exprs, [count_check])


MAPPINGS = {"fact_promotions": to_fact_promotions}

NOTES = {
    "fact_promotions": "promotion_applied: discount_cents payload field wins over round(discount_amount × 100).",
}

ENVELOPES = (
    Envelope(
        "promotion_applied",
        "fact_promotions",
        lambda: [
            pl.col("receipt_id"),
            pl.col("promo_code"),
            dollars("discount_cents").alias("discount_amount"),
            pl.col("discount_cents"),
            pl.col("discount_type"),
            pl.col("product_count").cast(pl.Int64),
            pl.col("product_ids"),
            pl.col("store_id"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.format("{}-{}", pl.col("receipt_id"), pl.col("promo_code")),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        parent_event_id=pl.col("receipt_id"),
    ),
)
