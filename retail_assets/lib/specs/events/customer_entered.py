"""customer_entered: a sensor counted people in a store zone ↔ one row of fact_foot_traffic."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.envelope import CUSTOMER_LOCATION, count_field, id_field, text_field
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 7

CUSTOMER_ENTERED = EventSpec(
    event_type="customer_entered",
    description="A door or aisle sensor counted people in a store zone.",
    facts=("fact_foot_traffic",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        id_field("store_id", "Store."),
        text_field("sensor_id", "Sensor."),
        text_field("zone", "Sensor zone."),
        count_field("customer_count", "People counted."),
        count_field("dwell_time", "Average dwell, seconds."),
    ),
)


def to_fact_foot_traffic(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    count, c1 = narrow("customer_count", "customer_count", pl.Int32())
    dwell, c2 = narrow("dwell_time", "dwell_seconds", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("sensor_id"),
        pl.col("zone"),
        *count,
        *dwell,
    ]
    return finish(events, "customer_entered", exprs, [c1, c2])


MAPPINGS = {"fact_foot_traffic": to_fact_foot_traffic}

NOTES = {
    "fact_foot_traffic": "customer_entered: customer_count, dwell_seconds = dwell_time, event_ts = ingest_timestamp as sent.",
}

ENVELOPES = (
    Envelope(
        "customer_entered",
        "fact_foot_traffic",
        lambda: [
            pl.col("store_id"),
            pl.col("sensor_id"),
            pl.col("zone"),
            pl.col("customer_count").cast(pl.Int64),
            pl.col("dwell_seconds").cast(pl.Int64).alias("dwell_time"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
    ),
)
