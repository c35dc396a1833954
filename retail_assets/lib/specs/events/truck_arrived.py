"""truck_arrived: a truck arrived at the store of a shipment ↔ the ARRIVED row of fact_truck_moves."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import ALWAYS, Mapped, MappingContext, finish, narrow
from retail_assets.lib.specs.envelope import OPERATIONS, count_field, time_field
from retail_assets.lib.specs.events._truck_move import PAYLOAD_IDS, payload_ids, truck_id
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 10

TRUCK_ARRIVED = EventSpec(
    event_type="truck_arrived",
    description="A truck arrived at the store of a shipment.",
    facts=("fact_truck_moves",),
    retention_days=OPERATIONS,
    payload=(
        *PAYLOAD_IDS,
        time_field("arrival_time", "Arrival time."),
        count_field("estimated_unload_duration", "Planned unload, minutes.", positive=True),
    ),
)


def to_fact_truck_moves(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    truck, truck_check = truck_id()
    unload, unload_check = narrow("estimated_unload_duration", "unload_duration_minutes", pl.Int32())
    arrival = pl.col("arrival_time")
    exprs = [
        pl.col("shipment_id"),
        pl.lit("ARRIVED").alias("status"),
        arrival.alias("event_ts"),
        *truck,
        pl.col("dc_id"),
        pl.col("store_id"),
        arrival.alias("eta"),
        (arrival + pl.duration(minutes=pl.col("estimated_unload_duration"))).alias("etd"),
        *unload,
        pl.col("trace_id"),
    ]
    # eta and etd are stand-ins (the actual arrival, plus the estimated unload), not the planned times.
    return finish(events, "truck_arrived", exprs, [truck_check, unload_check], {"eta": ALWAYS, "etd": ALWAYS})


MAPPINGS = {"fact_truck_moves": to_fact_truck_moves}

NOTES = {
    "fact_truck_moves": (
        "truck_arrived → status ARRIVED at arrival_time, eta = arrival_time, etd = eta + estimated_unload_duration "
        "(minutes), unload_duration_minutes = estimated. truck_id is text in events and must be a number."
    ),
}

# Only ARRIVED and COMPLETED moves are events; the other four statuses have none (the reference sent
# truck_arrived for every status).
ENVELOPES = (
    Envelope(
        "truck_arrived",
        "fact_truck_moves",
        lambda: [
            *payload_ids(),
            pl.col("event_ts").alias("arrival_time"),
            pl.col("unload_duration_minutes").cast(pl.Int64).alias("estimated_unload_duration"),
        ],
        "event_ts",
        trace_id=pl.format("{}-ARRIVED", pl.col("shipment_id")),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("shipment_id"),
        rows=pl.col("status") == "ARRIVED",
    ),
)
