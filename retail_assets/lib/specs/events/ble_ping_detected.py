"""ble_ping_detected: a store beacon detected a device ↔ one row of fact_ble_pings, its customer resolved."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import ALWAYS, CustomerDevices, Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import CUSTOMER_LOCATION, id_field, text_field
from retail_assets.lib.specs.facts import BLE_ZONES
from retail_assets.lib.specs.model import DType, EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 9

BLE_PING_DETECTED = EventSpec(
    event_type="ble_ping_detected",
    description="A store beacon detected a shopper's device.",
    facts=("fact_ble_pings",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        id_field("store_id", "Store."),
        text_field("beacon_id", "Beacon."),
        text_field("customer_ble_id", "Device id."),
        col("rssi", DType.INT64, "Signal strength, dBm.", ge=-120, le=0),
        text_field("zone", "Beacon zone.", allowed=BLE_ZONES),
    ),
)


def resolve_devices(pings: pl.LazyFrame, devices: CustomerDevices) -> pl.LazyFrame:
    """Add ``customer_id``: the customer whose dim_customers version valid at the ping's time has its ble_id.

    Anonymous devices (no version has the id) and ids claimed by two customers at once resolve to NULL.
    """
    indexed = pings.with_row_index("__ping")
    candidates = (
        indexed.select("__ping", "customer_ble_id", "ingest_timestamp")
        .join(devices.versions.lazy(), left_on="customer_ble_id", right_on="ble_id", how="inner")
        .filter(
            (pl.col("ingest_timestamp") >= pl.col("valid_from"))
            & (pl.col("valid_to").is_null() | (pl.col("ingest_timestamp") < pl.col("valid_to")))
        )
        .group_by("__ping")
        .agg(pl.col("customer_id").unique())
        .filter(pl.col("customer_id").list.len() == 1)
        .select("__ping", pl.col("customer_id").list.first())
    )
    return indexed.join(candidates, on="__ping", how="left").drop("__ping")


def to_fact_ble_pings(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    rssi, rssi_check = narrow("rssi", "rssi", pl.Int32())
    if ctx.shard is not None:
        # The fact's key is the event's trace_id, mapped unchanged (below). The row index of ``resolve_devices``
        # keeps polars from pushing the shard's predicate past it: without this, every shard would resolve the
        # devices of the whole month's pings.
        events = events.filter(ctx.shard)
    resolved = resolve_devices(events, ctx.devices)
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("beacon_id"),
        pl.col("customer_ble_id"),
        pl.col("customer_id"),
        *rssi,
        pl.col("zone"),
    ]
    # Resolved from dim_customers, not sent: a batch row's customer_id is the producer's own record.
    return finish(resolved, "ble_ping_detected", exprs, [rssi_check], {"customer_id": ALWAYS})


MAPPINGS = {"fact_ble_pings": to_fact_ble_pings}

NOTES = {
    "fact_ble_pings": (
        "ble_ping_detected carries no customer_id: it is resolved from dim_customers.ble_id, using the customer "
        "version valid at the ping's time; anonymous devices (and ids held by two customers at once) stay NULL."
    ),
}

ENVELOPES = (
    Envelope(
        "ble_ping_detected",
        "fact_ble_pings",
        lambda: [
            pl.col("store_id"),
            pl.col("beacon_id"),
            pl.col("customer_ble_id"),
            pl.col("rssi").cast(pl.Int64),
            pl.col("zone"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
        session_id=pl.col("customer_ble_id"),
    ),
)
