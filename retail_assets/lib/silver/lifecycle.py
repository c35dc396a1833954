"""online_order_picked / online_order_shipped: updates to the lines of an order, not rows of their own.

The events carry an order id, the fulfilling node and a time, but no line number (the reference
emits one per line, each with the line's node). An event therefore updates every line of its
order fulfilled by the event's node: it sets ``picked_ts`` / ``shipped_ts`` and advances
``fulfillment_status`` (CREATED → PICKED → SHIPPED → DELIVERED, never backwards).

Events are deduplicated on (order_id, status, node_type, node_id) — §10.3's "order id + status",
plus the node because one order's lines may ship from several nodes. An event is quarantined
(``unmatched_update``) when no line of its order in this month is fulfilled by its node (a
stream-only order has no lines to update: product, quantity and price are not in the event), when
a matched line is CANCELLED, or when the line already has a different time for that step.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from retail_assets.lib.silver.dedupe import deduplicate
from retail_assets.lib.silver.rules import (
    BATCH_ID,
    EVENT_TRACE_ID,
    NOT_ALLOWED,
    NULL_KEY,
    NULL_REQUIRED,
    ORIGIN,
    SOURCE_FILE,
    UNMATCHED_UPDATE,
    RowCheck,
    flag_rows,
    origin_counts,
    split_flagged,
)
from retail_assets.lib.specs.facts import FULFILLMENT_MODES, NODE_TYPES

STEPS = {
    "online_order_picked": ("PICKED", "picked_time", "picked_ts"),
    "online_order_shipped": ("SHIPPED", "shipped_time", "shipped_ts"),
}
RANK = {"CREATED": 0, "PICKED": 1, "SHIPPED": 2, "DELIVERED": 3}
EVENT_KEY = ("order_id", "status", "node_type", "node_id")
EVENT_COLUMNS = (*EVENT_KEY, "fulfillment_mode", "step_ts")


@dataclass(frozen=True)
class LineUpdates:
    lines: pl.DataFrame
    rejected: pl.DataFrame  # described events (__code, __column, __value, __message)
    events_in: dict[str, int]
    applied: int
    duplicates_dropped: int


def map_step_events(event_type: str, events: pl.LazyFrame) -> pl.LazyFrame:
    status, time_field, _ = STEPS[event_type]
    return events.select(
        pl.col("order_id"),
        pl.lit(status).alias("status"),
        pl.col("node_type"),
        pl.col("node_id"),
        pl.col("fulfillment_mode"),
        pl.col(time_field).alias("step_ts"),
        pl.lit(event_type, dtype=pl.Categorical).alias(ORIGIN),
        pl.col("_source_file").cast(pl.Categorical).alias(SOURCE_FILE),
        pl.col("_batch_id").cast(pl.Categorical).alias(BATCH_ID),
        pl.col("trace_id").alias(EVENT_TRACE_ID),
    )


def _event_checks() -> list[RowCheck]:
    checks = [
        RowCheck(
            name=f"{c} not null",
            code=NULL_KEY if c in EVENT_KEY else NULL_REQUIRED,
            column=c,
            condition=pl.col(c).is_null(),
            message=pl.lit(f"column {c}: required value is missing"),
        )
        for c in ("order_id", "node_type", "node_id", "fulfillment_mode", "step_ts")
    ]
    for column, allowed in (("node_type", NODE_TYPES), ("fulfillment_mode", FULFILLMENT_MODES)):
        checks.append(
            RowCheck(
                name=f"{column} allowed",
                code=NOT_ALLOWED,
                column=column,
                condition=pl.col(column).is_not_null() & ~pl.col(column).is_in(list(allowed)),
                message=pl.format(f"column {column}: {{}} is not one of {list(allowed)}", pl.col(column)),
                value=pl.col(column),
            )
        )
    return checks


def apply_line_updates(lines: pl.DataFrame, events: pl.LazyFrame) -> LineUpdates:
    """Apply mapped step events (``map_step_events``) to the month's deduplicated lines."""
    checks = _event_checks()
    flagged = flag_rows(events, checks).collect()
    events_in = origin_counts(flagged)
    valid, described = split_flagged(flagged, checks)
    rejected = [described]
    deduped = deduplicate(valid, EVENT_KEY, EVENT_COLUMNS, table="online order step events")
    rejected.append(deduped.conflicts)
    candidates = deduped.rows.with_row_index("__event")

    targets = lines.select("order_id", "node_type", "node_id", "line_number", "fulfillment_status", "picked_ts", "shipped_ts")
    pairs = candidates.join(targets, on=["order_id", "node_type", "node_id"], how="left").with_columns(
        pl.when(pl.col("status") == "PICKED").then(pl.col("picked_ts")).otherwise(pl.col("shipped_ts")).alias("__existing")
    )
    problem = (
        pl.when(pl.col("line_number").is_null())
        .then(
            pl.format(
                "order {} has no line fulfilled by {} {} in this month's fact_online_order_lines (a stream-only order, "
                "or an order placed in another month); picked/shipped events only update existing lines",
                pl.col("order_id"),
                pl.col("node_type"),
                pl.col("node_id").cast(pl.String),
            )
        )
        .when(pl.col("fulfillment_status") == "CANCELLED")
        .then(pl.format("line {} of order {} is CANCELLED", pl.col("line_number").cast(pl.String), pl.col("order_id")))
        .when(pl.col("__existing").is_not_null() & (pl.col("__existing") != pl.col("step_ts")))
        .then(
            pl.format(
                "line {} of order {} already has a different time for {} ({})",
                pl.col("line_number").cast(pl.String),
                pl.col("order_id"),
                pl.col("status"),
                pl.col("__existing").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
            )
        )
    )
    verdicts = pairs.with_columns(problem.alias("__problem")).group_by("__event").agg(pl.col("__problem").drop_nulls().first())
    judged = candidates.join(verdicts, on="__event", how="left")
    bad = judged.filter(pl.col("__problem").is_not_null())
    rejected.append(
        bad.with_columns(
            pl.lit(UNMATCHED_UPDATE).alias("__code"),
            pl.lit("order_id").alias("__column"),
            pl.col("order_id").alias("__value"),
            pl.col("__problem").alias("__message"),
        ).drop("__event", "__problem")
    )
    accepted = judged.filter(pl.col("__problem").is_null()).select("__event")
    updates = (
        pairs.join(accepted, on="__event", how="semi")
        .group_by("order_id", "line_number")
        .agg(
            pl.col("step_ts").filter(pl.col("status") == "PICKED").first().alias("__picked"),
            pl.col("step_ts").filter(pl.col("status") == "SHIPPED").first().alias("__shipped"),
            pl.col("status").replace_strict(RANK, return_dtype=pl.Int8).max().alias("__rank"),
        )
    )
    by_rank = {rank: status for status, rank in RANK.items()}
    current_rank = pl.col("fulfillment_status").replace_strict(RANK, default=None, return_dtype=pl.Int8)
    updated = (
        lines.join(updates, on=["order_id", "line_number"], how="left", maintain_order="left")
        .with_columns(
            pl.coalesce("picked_ts", "__picked").alias("picked_ts"),
            pl.coalesce("shipped_ts", "__shipped").alias("shipped_ts"),
            pl.when(pl.col("__rank").is_not_null() & (current_rank < pl.col("__rank")))
            .then(pl.col("__rank").replace_strict(by_rank, return_dtype=pl.String))
            .otherwise(pl.col("fulfillment_status"))
            .alias("fulfillment_status"),
        )
        .drop("__picked", "__shipped", "__rank")
    )
    described = [*EVENT_COLUMNS, ORIGIN, SOURCE_FILE, BATCH_ID, EVENT_TRACE_ID, "__code", "__column", "__value", "__message"]
    return LineUpdates(
        lines=updated,
        rejected=pl.concat([r.select(described) for r in rejected], how="vertical_relaxed"),
        events_in=events_in,
        applied=accepted.height,
        duplicates_dropped=deduped.duplicates_dropped,
    )
