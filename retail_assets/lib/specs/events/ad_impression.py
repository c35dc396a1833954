"""ad_impression: a digital ad was shown ↔ one row of fact_marketing."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, dollars_to_cents, finish
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import MARKETING, id_field, text_field
from retail_assets.lib.specs.model import DType, EventSpec
from retail_assets.lib.streaming.inverse import Envelope, dollars

POSITION = 14

AD_IMPRESSION = EventSpec(
    event_type="ad_impression",
    description="A digital ad was shown.",
    facts=("fact_marketing",),
    retention_days=MARKETING,
    payload=(
        text_field("channel", "Ad channel."),
        text_field("campaign_id", "Campaign."),
        text_field("creative_id", "Creative."),
        text_field("customer_ad_id", "Advertising id of the device."),
        text_field("impression_id", "Impression id."),
        col("cost", DType.FLOAT64, "Cost, dollars (4 decimals).", ge=0.0),
        text_field("device_type", "MOBILE, DESKTOP or TABLET."),
        id_field("customer_id", "Customer matched from the ad id.", nullable=True),
    ),
)


def to_fact_marketing(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("impression_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("channel"),
        pl.col("campaign_id"),
        pl.col("creative_id"),
        pl.col("customer_ad_id"),
        pl.col("customer_id"),
        dollars_to_cents("cost").alias("cost_cents"),
        pl.col("device_type").alias("device"),
        pl.col("trace_id"),
    ]
    return finish(events, "ad_impression", exprs, [])


MAPPINGS = {"fact_marketing": to_fact_marketing}

NOTES = {
    "fact_marketing": (
        "ad_impression: impression_id, cost_cents = round(cost × 100), device = device_type; customer_id only when the "
        "event carries it (the CRM match), never derived from the ad id."
    ),
}

ENVELOPES = (
    Envelope(
        "ad_impression",
        "fact_marketing",
        lambda: [
            pl.col("channel"),
            pl.col("campaign_id"),
            pl.col("creative_id"),
            pl.col("customer_ad_id"),
            pl.col("impression_id"),
            dollars("cost_cents").alias("cost"),
            pl.col("device").alias("device_type"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.col("impression_id"),
        partition_key=pl.format("marketing_{}", pl.col("channel")),
        correlation_id=pl.col("campaign_id"),
    ),
)
