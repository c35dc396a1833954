"""What store_opened and store_closed share: one fact_store_ops row each, built the same way."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, MappingContext, Mapping, finish
from retail_assets.lib.silver.rules import INCONSISTENT, RowCheck
from retail_assets.lib.specs.envelope import OPERATIONS, id_field, text_field, time_field
from retail_assets.lib.specs.facts import STORE_OPERATIONS
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

# One note for both (rendered once in the fact's description).
NOTE = "store_opened/store_closed: event_ts = operation_time; an operation_type contradicting the event type is quarantined."


def spec(event_type: str, verb: str) -> EventSpec:
    return EventSpec(
        event_type=event_type,
        description=f"A store {verb}.",
        facts=("fact_store_ops",),
        retention_days=OPERATIONS,
        payload=(
            id_field("store_id", "Store."),
            time_field("operation_time", f"When the store {verb}."),
            text_field("operation_type", "opened or closed.", allowed=STORE_OPERATIONS),
        ),
    )


def mapping(event_type: str, operation: str) -> Mapping:
    def to_fact_store_ops(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
        exprs = [
            pl.col("trace_id"),
            pl.col("operation_time").alias("event_ts"),
            pl.col("store_id"),
            pl.col("operation_type"),
        ]
        check = RowCheck(
            name="operation matches event",
            code=INCONSISTENT,
            column="operation_type",
            condition=pl.col("operation_type") != operation,
            message=pl.format(f"{event_type} carries operation_type {{}}; expected {operation!r}", pl.col("operation_type")),
            value=pl.col("operation_type"),
        )
        return finish(events, event_type, exprs, [check])

    return to_fact_store_ops


def envelope(event_type: str, operation: str) -> Envelope:
    return Envelope(
        event_type,
        "fact_store_ops",
        lambda: [pl.col("store_id"), pl.col("event_ts").alias("operation_time"), pl.col("operation_type")],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
        rows=pl.col("operation_type") == operation,
    )
