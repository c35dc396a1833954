"""online_order_picked / online_order_shipped: updates to the lines of an order, not rows of their own.

The events carry an order id, the fulfilling node and a time, but no line number (the reference
emits one per line, each with the line's node). An event therefore updates every line of its
order fulfilled by the event's node: it sets ``picked_ts`` / ``shipped_ts`` and advances
``fulfillment_status`` (CREATED → PICKED → SHIPPED → DELIVERED, never backwards).

Lines are partitioned by order time, events by their own time: an order placed on the last
evening of a month is picked or shipped in the next one. An event therefore belongs to the month
of its order, looking back one month: a month's build takes its own events whose order has lines
in this month, plus the next month's events whose order has lines in this month and not in the
next; the next month's build hands those to this month instead of rejecting them. Both sides decide by the order ids of the Bronze lines, so every event is judged exactly
once, and a month reads at most its neighbours' order ids and next month's step events.

Events are deduplicated on (order_id, status, node_type, node_id) — §10.3's "order id + status",
plus the node because one order's lines may ship from several nodes. An event is quarantined
(``unmatched_update``) when no line of its order in its month or the previous one is fulfilled by
its node (a stream-only order has no lines to update: product, quantity and price are not in the
event), when a matched line is CANCELLED, or when the line already has a different time for that step.
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
class NeighbourMonths:
    """What a month of lines needs from the months around it (see the module docstring).

    ``previous_orders``: order ids of the previous month's Bronze lines; ``next_orders``: of the next
    month's; ``next_events``: the next month's Bronze step events by event type.
    """

    previous_orders: pl.Series
    next_orders: pl.Series
    next_events: dict[str, pl.LazyFrame]

    @staticmethod
    def none() -> NeighbourMonths:
        empty = pl.Series("order_id", [], dtype=pl.String)
        return NeighbourMonths(empty, empty, {})


def has_order(orders: pl.Series) -> pl.Expr:
    return pl.col("order_id").is_in(orders.implode()).fill_null(False)


def taken_from_next_month(events: pl.LazyFrame, this_orders: pl.Series, next_orders: pl.Series) -> pl.LazyFrame:
    """The next month's step events that belong to this month: their order has lines here and not there."""
    return events.filter(has_order(this_orders) & ~has_order(next_orders))


def handed_to_previous_month(this_orders: pl.Series, previous_orders: pl.Series) -> pl.Expr:
    """True for this month's step events that the previous month's build takes (see ``taken_from_next_month``)."""
    return ~has_order(this_orders) & has_order(previous_orders)


@dataclass(frozen=True)
class LineUpdates:
    lines: pl.DataFrame
    rejected: pl.DataFrame  # described events (__code, __column, __value, __message)
    events_in: dict[str, int]
    applied: int
    duplicates_dropped: int
    handed_to_previous_month: int = 0  # this month's events judged by the previous month's build


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


def apply_line_updates(
    lines: pl.DataFrame,
    events: pl.LazyFrame,
    *,
    this_orders: pl.Series | None = None,
    previous_orders: pl.Series | None = None,
    searched: str = "this month's fact_online_order_lines",
) -> LineUpdates:
    """Apply mapped step events (``map_step_events``) to the month's deduplicated lines.

    With ``this_orders`` (order ids of this month's Bronze lines) and ``previous_orders``, events
    whose order is only in the previous month are counted as handed over, not judged here.
    """
    checks = _event_checks()
    flagged = flag_rows(events, checks).collect()
    events_in = origin_counts(flagged)
    handed = 0
    if this_orders is not None and previous_orders is not None and previous_orders.len():
        to_previous = flagged.select(handed_to_previous_month(this_orders, previous_orders)).to_series()
        handed = int(to_previous.sum())
        if handed:
            flagged = flagged.filter(~to_previous)
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
                f"order {{}} has no line fulfilled by {{}} {{}} in {searched} (a stream-only order, or one placed "
                "more than a month before its event); picked/shipped events only update existing lines",
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
        handed_to_previous_month=handed,
    )
