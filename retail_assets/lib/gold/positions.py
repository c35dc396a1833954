"""Inventory positions as incremental month-end snapshots, shared by the store and DC position KPIs.

``inventory_position_current`` and ``dc_inventory_position_current`` (lib/gold/kpis/) are the same computation over
a different fact and node column (``NODES``).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import METRIC_PREFIX, GoldInputs, count_rows, total
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import PARTITION_COLUMN

POSITION_FORMULA = (
    "Incremental: the previous month's snapshot plus this month's movements, never a rescan of history. For each "
    "{node} and product, movements are ordered by (event_ts, trace_id). A movement carrying a balance sets on_hand to "
    "it; one without (streamed inventory_updated events) adds its signed quantity to the running on_hand, which is "
    "floored at 0 after every movement like the source system's balance (units lost to the floor are reported as "
    "units_clamped). Pairs that did not move keep their position and as_of. The reference took the balance of the "
    "latest row over all history, which is NULL for streamed movements."
)

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
