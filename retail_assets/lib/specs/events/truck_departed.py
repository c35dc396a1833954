"""truck_departed: a truck left the store after unloading ↔ the COMPLETED row of fact_truck_moves."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import ALWAYS, TS, Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.envelope import OPERATIONS, count_field, time_field
from retail_assets.lib.specs.events._truck_move import PAYLOAD_IDS, payload_ids, truck_id
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 11

TRUCK_DEPARTED = EventSpec(
    event_type="truck_departed",
    description="A truck left the store after unloading a shipment.",
    facts=("fact_truck_moves",),
    retention_days=OPERATIONS,
    payload=(
        *PAYLOAD_IDS,
        time_field("departure_time", "Departure time."),
        count_field("actual_unload_duration", "Actual unload, minutes.", positive=True),
    ),
)


def to_fact_truck_moves(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    truck, truck_check = truck_id()
    unload, unload_check = narrow("actual_unload_duration", "unload_duration_minutes", pl.Int32())
    exprs = [
        pl.col("shipment_id"),
        pl.lit("COMPLETED").alias("status"),
        pl.col("departure_time").alias("event_ts"),
        *truck,
        pl.col("dc_id"),
        pl.col("store_id"),
        pl.lit(None, dtype=TS).alias("eta"),
        pl.lit(None, dtype=TS).alias("etd"),
        *unload,
        pl.col("trace_id"),
    ]
    return finish(events, "truck_departed", exprs, [truck_check, unload_check], {"eta": ALWAYS, "etd": ALWAYS})


MAPPINGS = {"fact_truck_moves": to_fact_truck_moves}

NOTES = {
    "fact_truck_moves": (
        "truck_departed → status COMPLETED at departure_time, unload_duration_minutes = actual_unload_duration, "
        "eta/etd NULL (the planned times are not in the event). truck_id is text in events and must be a number."
    ),
}

ENVELOPES = (
    Envelope(
        "truck_departed",
        "fact_truck_moves",
        lambda: [
            *payload_ids(),
            pl.col("event_ts").alias("departure_time"),
            pl.col("unload_duration_minutes").cast(pl.Int64).alias("actual_unload_duration"),
        ],
        "event_ts",
        trace_id=pl.format("{}-COMPLETED", pl.col("shipment_id")),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("shipment_id"),
        parent_event_id=pl.format("{}-ARRIVED", pl.col("shipment_id")),
        rows=pl.col("status") == "COMPLETED",
    ),
)
