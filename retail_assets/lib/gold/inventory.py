"""Inventory positions (incremental snapshots), stockouts, reorders and their durations."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import (
    METRIC_PREFIX,
    GoldInputs,
    count_rows,
    hours_between,
    total,
    utc_day,
    with_calendar,
)
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import PARTITION_COLUMN

POSITION_COLUMNS = ("on_hand", "as_of", "last_txn_type", "movements_this_month")
# Which fact holds each node's movements, and its key column.
NODES = {
    "inventory_position_current": ("fact_store_inventory_txn", "store_id"),
    "dc_inventory_position_current": ("fact_dc_inventory_txn", "dc_id"),
}


def _position_schema(node: str) -> dict[str, pl.DataType]:
    return {
        node: pl.Int64,
        "product_id": pl.Int64,
        "on_hand": pl.Int64,
        "as_of": pl.Datetime("us", "UTC"),
        "last_txn_type": pl.String,
        "movements_this_month": pl.Int64,
    }


def last_movement(movements: pl.LazyFrame, pair: list[str]) -> pl.LazyFrame:
    """Each pair's last movement by (event_ts, trace_id), found by hashing rather than sorting every movement."""
    last_time = movements.group_by(pair).agg(pl.col("event_ts").max().alias("__last_ts"))
    at_last = movements.join(last_time, on=pair).filter(pl.col("event_ts") == pl.col("__last_ts")).drop("__last_ts")
    return at_last.group_by(pair).agg(pl.all().get(pl.col("trace_id").arg_max()))


def moved_positions(movements: pl.LazyFrame, start: pl.LazyFrame, node: str) -> pl.DataFrame:
    """End-of-month position of every (node, product) that moved, from its start position and the movements.

    ``start`` holds (node, product_id, on_hand) before the month. Movements are ordered by
    (event_ts, trace_id). Only the movements after a pair's last carried balance matter: that
    balance (or the start position when no movement carries one) is the base, the later signed
    quantities are added, and the running sum is floored at 0 after every movement. With partial
    sums P_k = base + d_1 + ... + d_k, the floored value after the last movement is
    P_n − min(0, min_k P_k); ``units_clamped`` says how many units the floor added.
    """
    pair = [node, "product_id"]
    moves = movements.select(*pair, "event_ts", "trace_id", "quantity", "balance", "txn_type").collect().lazy()
    carried = last_movement(moves.filter(pl.col("balance").is_not_null()), pair).select(
        *pair,
        pl.col("event_ts").alias("__k_ts"),
        pl.col("trace_id").alias("__k_trace"),
        pl.col("balance").alias("__carried"),
    )
    after_carried = (
        pl.col("__k_ts").is_null()
        | (pl.col("event_ts") > pl.col("__k_ts"))
        | ((pl.col("event_ts") == pl.col("__k_ts")) & (pl.col("trace_id") > pl.col("__k_trace")))
    )
    # Usually few rows: streamed movements after the last carried balance.
    tail = (
        moves.join(carried, on=pair, how="left")
        .filter(after_carried)
        .group_by(pair)
        .agg(
            pl.col("quantity").cast(pl.Int64).sum().alias("__moved"),
            pl.col("quantity")
            .cast(pl.Int64)
            .sort_by(["event_ts", "trace_id"])
            .cum_sum()
            .min()
            .alias("__lowest_partial"),
        )
    )
    latest = last_movement(moves, pair).select(
        *pair, pl.col("event_ts").alias("as_of"), pl.col("txn_type").alias("last_txn_type")
    )
    counts = moves.group_by(pair).agg(pl.len().cast(pl.Int64).alias("movements_this_month"))
    base = pl.coalesce("__carried", "__start", pl.lit(0, dtype=pl.Int64))
    lowest = pl.min_horizontal(pl.lit(0), base + pl.col("__lowest_partial").fill_null(0))
    return (
        latest.join(counts, on=pair)
        .join(carried, on=pair, how="left")
        .join(tail, on=pair, how="left")
        .join(start.select(*pair, pl.col("on_hand").alias("__start")), on=pair, how="left")
        .select(
            *pair,
            "as_of",
            "last_txn_type",
            "movements_this_month",
            (base + pl.col("__moved").fill_null(0) - lowest).alias("on_hand"),
            (-lowest).alias(f"{METRIC_PREFIX}units_clamped"),
        )
        .collect()
    )


def positions(inp: GoldInputs, table: str) -> pl.LazyFrame:
    """The snapshot at the end of the month: the previous snapshot's pairs, updated by this month's movements."""
    fact, node = NODES[table]
    pair = [node, "product_id"]
    previous = (inp.previous if inp.previous is not None else pl.DataFrame(schema=_position_schema(node))).lazy()
    moved = moved_positions(inp.this_month(fact), previous, node)
    unchanged = previous.join(moved.lazy().select(pair), on=pair, how="anti").with_columns(
        pl.lit(0, dtype=pl.Int64).alias("movements_this_month"),
        pl.lit(0, dtype=pl.Int64).alias(f"{METRIC_PREFIX}units_clamped"),
    )
    columns = [*pair, *POSITION_COLUMNS, f"{METRIC_PREFIX}units_clamped"]
    return pl.concat([unchanged.select(columns), moved.lazy().select(columns)]).with_columns(
        pl.lit(inp.month).alias(PARTITION_COLUMN)
    )


def reconcile_positions(inp: GoldInputs, gold: pl.LazyFrame, table: str) -> list[Balance]:
    fact, node = NODES[table]
    pair = [node, "product_id"]
    movements = inp.this_month(fact)
    previous = inp.previous.lazy() if inp.previous is not None else pl.LazyFrame(schema=_position_schema(node))
    new_pairs = movements.select(pair).unique().join(previous.select(pair), on=pair, how="anti")
    latest = last_movement(movements.select(*pair, "event_ts", "trace_id", "balance"), pair).join(
        gold.select(*pair, "on_hand"), on=pair, how="left"
    )
    return [
        Balance("rows", count_rows(gold), count_rows(previous) + count_rows(new_pairs)),
        Balance("movements", total(gold, pl.col("movements_this_month")), count_rows(movements)),
        Balance(
            "pairs_off_their_latest_balance",
            count_rows(latest.filter(pl.col("balance").is_not_null() & (pl.col("on_hand") != pl.col("balance")))),
            0,
        ),
    ]


# ---- stockouts_daily, reorders_daily ----------------------------------------------------------------


def stockouts_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_stockouts")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "dc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("stockout_count"),
            pl.col("product_id").n_unique().cast(pl.Int64).alias("products_affected"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_stockouts_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("stockouts", total(gold, pl.col("stockout_count")), count_rows(inp.this_month("fact_stockouts")))]


def reorders_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_reorders")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "dc_id", "priority")
        .agg(
            pl.len().cast(pl.Int64).alias("reorder_count"),
            pl.col("reorder_quantity").sum().cast(pl.Int64).alias("total_units_ordered"),
            pl.col("product_id").n_unique().cast(pl.Int64).alias("products"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_reorders_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    reorders = inp.this_month("fact_reorders")
    return [
        Balance("reorders", total(gold, pl.col("reorder_count")), count_rows(reorders)),
        Balance(
            "units_ordered", total(gold, pl.col("total_units_ordered")), total(reorders, pl.col("reorder_quantity"))
        ),
    ]


# ---- stockout_duration_daily, reorder_cycle_daily (defined here) ---------------------------------------


def _first_after(events: pl.LazyFrame, later: pl.LazyFrame, by: list[str], at: str, found_at: str) -> pl.LazyFrame:
    """Each event with the time of the first ``later`` row strictly after it for the same ``by`` (NULL when none)."""
    candidates = later.select(*by, pl.col("event_ts").alias(found_at)).sort(found_at)
    return events.sort(at).join_asof(
        candidates,
        left_on=at,
        right_on=found_at,
        by=by,
        strategy="forward",
        allow_exact_matches=False,
        # Both sides are sorted just above; polars cannot verify sortedness per `by` group.
        check_sortedness=False,
    )


def _restocks(inp: GoldInputs) -> pl.LazyFrame:
    """Stockouts of the month with the time of the first later positive movement of the product at their node."""
    stockouts = (
        inp.this_month("fact_stockouts")
        .select("store_id", "dc_id", "product_id", pl.col("event_ts").alias("detected_at"))
        .with_columns(pl.col("store_id").is_not_null().alias("__store"))
    )
    node = pl.coalesce("store_id", "dc_id").alias("__node")
    positive = pl.col("quantity") > 0
    store_in = (
        inp.fact("fact_store_inventory_txn")
        .filter(positive)
        .select(pl.col("store_id").alias("__node"), "product_id", "event_ts")
    )
    dc_in = (
        inp.fact("fact_dc_inventory_txn")
        .filter(positive)
        .select(pl.col("dc_id").alias("__node"), "product_id", "event_ts")
    )
    by = ["__node", "product_id"]
    at_stores = _first_after(
        stockouts.filter(pl.col("__store")).with_columns(node), store_in, by, "detected_at", "restocked_at"
    )
    at_dcs = _first_after(
        stockouts.filter(~pl.col("__store")).with_columns(node), dc_in, by, "detected_at", "restocked_at"
    )
    return pl.concat([at_stores, at_dcs]).with_columns(hours_between("detected_at", "restocked_at").alias("hours"))


def stockout_duration_daily(inp: GoldInputs) -> pl.LazyFrame:
    restocked = pl.col("restocked_at").is_not_null()
    daily = (
        _restocks(inp)
        .group_by(utc_day("detected_at").alias("day"), "store_id", "dc_id")
        .agg(
            pl.len().cast(pl.Int64).alias("stockouts"),
            restocked.sum().cast(pl.Int64).alias("restocked"),
            (~restocked).sum().cast(pl.Int64).alias("open_stockouts"),
            pl.col("hours").mean().alias("avg_hours_to_restock"),
            pl.col("hours").max().alias("max_hours_to_restock"),
            pl.col("hours").sum().fill_null(0.0).alias("out_of_stock_hours"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_stockout_duration_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [
        Balance("stockouts", total(gold, pl.col("stockouts")), count_rows(inp.this_month("fact_stockouts"))),
        Balance(
            "restocked_plus_open",
            total(gold, pl.col("restocked") + pl.col("open_stockouts")),
            total(gold, pl.col("stockouts")),
        ),
    ]


def reorder_cycle_daily(inp: GoldInputs) -> pl.LazyFrame:
    reorders = inp.this_month("fact_reorders").select(
        "store_id", "product_id", "priority", "reorder_quantity", pl.col("event_ts").alias("reordered_at")
    )
    inbound = inp.fact("fact_store_inventory_txn").filter(
        (pl.col("txn_type") == "INBOUND_SHIPMENT") & (pl.col("quantity") > 0)
    )
    matched = _first_after(reorders, inbound, ["store_id", "product_id"], "reordered_at", "received_at").with_columns(
        hours_between("reordered_at", "received_at").alias("hours")
    )
    received = pl.col("received_at").is_not_null()
    daily = matched.group_by(utc_day("reordered_at").alias("day"), "store_id", "priority").agg(
        pl.len().cast(pl.Int64).alias("reorders"),
        received.sum().cast(pl.Int64).alias("received"),
        (~received).sum().cast(pl.Int64).alias("open_reorders"),
        pl.col("hours").mean().alias("avg_hours_to_receive"),
        pl.col("hours").max().alias("max_hours_to_receive"),
        pl.col("reorder_quantity").sum().cast(pl.Int64).alias("units_ordered"),
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_reorder_cycle_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    reorders = inp.this_month("fact_reorders")
    return [
        Balance("reorders", total(gold, pl.col("reorders")), count_rows(reorders)),
        Balance("units_ordered", total(gold, pl.col("units_ordered")), total(reorders, pl.col("reorder_quantity"))),
        Balance(
            "received_plus_open",
            total(gold, pl.col("received") + pl.col("open_reorders")),
            total(gold, pl.col("reorders")),
        ),
    ]
