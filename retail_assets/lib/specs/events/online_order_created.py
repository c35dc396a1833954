"""online_order_created: a customer placed an online order ↔ one row of fact_online_order_headers."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import (
    ALWAYS,
    MONEY_NOT_CARRIED,
    TS,
    Mapped,
    MappingContext,
    finish,
    money_columns,
    narrow,
)
from retail_assets.lib.specs.envelope import ATTRIBUTION, OMNICHANNEL, count_field, dollars_field, id_field, text_field
from retail_assets.lib.specs.facts import FULFILLMENT_MODES, NODE_TYPES
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, money_payload, order_node

POSITION = 16

ONLINE_ORDER_CREATED = EventSpec(
    event_type="online_order_created",
    description="A customer placed an online order.",
    facts=("fact_online_order_headers",),
    retention_days=OMNICHANNEL,
    payload=(
        text_field("order_id", "Order id."),
        id_field("customer_id", "Customer."),
        text_field("fulfillment_mode", "SHIP_FROM_STORE, SHIP_FROM_DC or BOPIS.", allowed=FULFILLMENT_MODES),
        text_field("node_type", "STORE or DC.", allowed=NODE_TYPES),
        id_field("node_id", "Fulfilling store or DC."),
        count_field("item_count", "Units ordered.", positive=True),
        dollars_field("subtotal", "Net subtotal, dollars."),
        dollars_field("tax", "Tax, dollars."),
        dollars_field("total", "Total, dollars."),
        text_field("tender_type", "Tender."),
        *ATTRIBUTION,
    ),
)


def to_fact_online_order_headers(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    item_count, item_check = narrow("item_count", "item_count", pl.Int32())
    exprs = money_columns(
        [
            pl.col("order_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col("customer_id"),
            pl.col("fulfillment_mode"),
            pl.col("node_type"),
            pl.col("node_id"),
            *item_count,
        ]
    )
    exprs += [
        pl.col("tender_type").alias("payment_method"),
        pl.lit("CREATED").alias("order_status"),
        pl.lit(None, dtype=TS).alias("completed_ts"),
        pl.col("campaign_id"),
        pl.col("trace_id"),
    ]
    # The order as created: its later status and completion are not in the event.
    not_carried_by = {**MONEY_NOT_CARRIED, "order_status": ALWAYS, "completed_ts": ALWAYS}
    return finish(events, "online_order_created", exprs, [item_check], not_carried_by)


MAPPINGS = {"fact_online_order_headers": to_fact_online_order_headers}

NOTES = {
    "fact_online_order_headers": (
        "online_order_created: payment_method = tender_type, money as for receipts, order_status CREATED and "
        "completed_ts NULL (delivery is not an event)."
    ),
}

# Cancelled orders (zero items and money) do not fit the payload's constraints and are not streamed.
ENVELOPES = (
    Envelope(
        "online_order_created",
        "fact_online_order_headers",
        lambda: [
            pl.col("order_id"),
            pl.col("customer_id"),
            pl.col("fulfillment_mode"),
            pl.col("node_type"),
            pl.col("node_id"),
            *money_payload(),
        ],
        "event_ts",
        trace_id=pl.col("order_id"),
        partition_key=order_node(),
        correlation_id=pl.col("order_id"),
        rows=pl.col("order_status") != "CANCELLED",
    ),
)
