"""customer_zone_changed: a known device moved between store zones ↔ one row of fact_customer_zone_changes."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, finish
from retail_assets.lib.specs.envelope import CUSTOMER_LOCATION, id_field, text_field, time_field
from retail_assets.lib.specs.facts import BLE_ZONES
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 8

CUSTOMER_ZONE_CHANGED = EventSpec(
    event_type="customer_zone_changed",
    description="A known device moved from one store zone to another.",
    facts=("fact_customer_zone_changes",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        id_field("store_id", "Store."),
        text_field("customer_ble_id", "Device id."),
        text_field("from_zone", "Zone left.", allowed=BLE_ZONES),
        text_field("to_zone", "Zone entered.", allowed=BLE_ZONES),
        time_field("timestamp", "When the device entered the new zone."),
    ),
)


def to_fact_customer_zone_changes(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("trace_id"),
        pl.col("timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("customer_ble_id"),
        pl.col("from_zone"),
        pl.col("to_zone"),
    ]
    return finish(events, "customer_zone_changed", exprs, [])


MAPPINGS = {"fact_customer_zone_changes": to_fact_customer_zone_changes}

NOTES = {"fact_customer_zone_changes": "customer_zone_changed: event_ts = the payload timestamp."}

ENVELOPES = (
    Envelope(
        "customer_zone_changed",
        "fact_customer_zone_changes",
        lambda: [
            pl.col("store_id"),
            pl.col("customer_ble_id"),
            pl.col("from_zone"),
            pl.col("to_zone"),
            pl.col("event_ts").alias("timestamp"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
        session_id=pl.col("customer_ble_id"),
    ),
)
