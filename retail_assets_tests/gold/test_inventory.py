"""Inventory positions (incremental), stockout durations and reorder cycles, as plain functions."""

from __future__ import annotations

import polars as pl
import pytest

from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month, build_with_metrics
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import FEB, JAN, at, inputs, silver

POSITIONS = gold_table("inventory_position_current")


def _previous() -> pl.DataFrame:
    return pl.DataFrame(
        {
            "store_id": [1, 1],
            "product_id": [1, 2],
            "on_hand": [10, 5],
            "as_of": [at(1, 20), at(1, 21)],
            "last_txn_type": ["SALE", "INBOUND_SHIPMENT"],
            "movements_this_month": [3, 1],
        },
        schema_overrides={"as_of": pl.Datetime("us", "UTC")},
    )


def _february_movements() -> list[dict]:
    def move(trace: str, when, product: int, quantity: int, balance: int | None, kind: str = "SALE") -> dict:
        return dict(
            trace_id=trace,
            event_ts=when,
            store_id=1,
            product_id=product,
            quantity=quantity,
            balance=balance,
            txn_type=kind,
        )

    return [
        move("a", at(2, 1, 9), 1, -3, None),  # 10 - 3 = 7 (streamed: no balance)
        move("b", at(2, 2, 9), 1, 20, 27, "INBOUND_SHIPMENT"),  # carried balance wins: 27
        move("d", at(2, 3, 9), 1, 4, None, "RETURN"),  # same time as c, after it by trace id
        move("c", at(2, 3, 9), 1, -30, None),  # 27 - 30 floors at 0 (3 units clamped), then +4 = 4
        move("e", at(2, 4, 9), 3, 5, None, "INBOUND_SHIPMENT"),  # a new pair: 0 + 5
        move("f", at(2, 5, 9), 3, -2, None),  # 3
    ]


def test_positions_start_from_the_previous_snapshot_and_apply_the_month() -> None:
    inp = inputs(FEB, previous=_previous(), fact_store_inventory_txn=_february_movements())
    rows = build_month(inp, POSITIONS)
    by_pair = {(r["store_id"], r["product_id"]): r for r in rows.iter_rows(named=True)}
    assert by_pair[(1, 1)]["on_hand"] == 4
    assert (by_pair[(1, 1)]["as_of"], by_pair[(1, 1)]["last_txn_type"], by_pair[(1, 1)]["movements_this_month"]) == (
        at(2, 3, 9),
        "RETURN",
        4,
    )
    assert by_pair[(1, 3)]["on_hand"] == 3
    # Not moved in February: the January position stays, with its as_of.
    assert (by_pair[(1, 2)]["on_hand"], by_pair[(1, 2)]["as_of"], by_pair[(1, 2)]["movements_this_month"]) == (
        5,
        at(1, 21),
        0,
    )
    assert set(rows["month_start"]) == {FEB}
    assert build_with_metrics(inp, POSITIONS)[1] == {"units_clamped": 3}


def test_positions_do_not_depend_on_row_order_and_reconcile() -> None:
    movements = silver("fact_store_inventory_txn", _february_movements())
    forward = build_month(inputs(FEB, previous=_previous(), fact_store_inventory_txn=movements), POSITIONS)
    backward = build_month(inputs(FEB, previous=_previous(), fact_store_inventory_txn=movements.reverse()), POSITIONS)
    assert forward.equals(backward)
    inp = inputs(FEB, previous=_previous(), fact_store_inventory_txn=movements)
    balances = BUILDERS[POSITIONS.name].reconcile(inp, forward.lazy())
    assert all(b.holds for b in balances), balances
    assert {b.name: b.silver for b in balances} == {"rows": 3, "movements": 6, "pairs_off_their_latest_balance": 0}


def test_a_carried_balance_is_the_position_whatever_came_before() -> None:
    rows = build_month(
        inputs(
            JAN,
            fact_store_inventory_txn=[
                dict(trace_id="x", quantity=-2, balance=40),
                dict(trace_id="y", quantity=-1, balance=39, event_ts=at(1, 11)),
            ],
        ),
        POSITIONS,
    )
    assert rows.select("store_id", "product_id", "on_hand").rows() == [(1, 1, 39)]


def test_dc_positions_come_from_dc_movements() -> None:
    rows = build_month(
        inputs(
            JAN,
            fact_dc_inventory_txn=[
                dict(trace_id="x", quantity=300, balance=None),
                dict(trace_id="y", quantity=-40, balance=None, event_ts=at(1, 12)),
            ],
        ),
        gold_table("dc_inventory_position_current"),
    )
    assert rows.select("dc_id", "product_id", "on_hand").rows() == [(1, 1, 260)]


def test_stockout_duration_finds_the_first_restock_at_the_same_node_even_next_month() -> None:
    stockouts = [
        dict(trace_id="s1", event_ts=at(1, 10, 12), store_id=1, dc_id=None, product_id=1),
        dict(trace_id="s2", event_ts=at(1, 31, 22), store_id=1, dc_id=None, product_id=2),
        dict(trace_id="s3", event_ts=at(1, 15, 12), store_id=None, dc_id=1, product_id=1),
        dict(trace_id="s4", event_ts=at(1, 10, 12), store_id=2, dc_id=None, product_id=1),
    ]
    store_moves = [
        dict(trace_id="m1", event_ts=at(1, 10, 18), store_id=1, product_id=1, quantity=10, txn_type="INBOUND_SHIPMENT"),
        dict(trace_id="m0", event_ts=at(1, 10, 13), store_id=1, product_id=1, quantity=-1),  # a sale is no restock
        dict(trace_id="m2", event_ts=at(2, 1, 8), store_id=1, product_id=2, quantity=12, txn_type="INBOUND_SHIPMENT"),
        # Store 1 restocks product 1 before DC 1 does: the DC stockout must not take it (same id, other node type).
        dict(trace_id="m3", event_ts=at(1, 15, 13), store_id=1, product_id=1, quantity=5, txn_type="RETURN"),
    ]
    dc_moves = [dict(trace_id="d1", event_ts=at(1, 16, 12), dc_id=1, product_id=1, quantity=100)]
    rows = build_month(
        inputs(JAN, fact_stockouts=stockouts, fact_store_inventory_txn=store_moves, fact_dc_inventory_txn=dc_moves),
        gold_table("stockout_duration_daily"),
    )
    got = {(r["day"].day, r["store_id"], r["dc_id"]): r for r in rows.iter_rows(named=True)}
    assert got[(10, 1, None)]["avg_hours_to_restock"] == pytest.approx(6)
    assert got[(31, 1, None)]["max_hours_to_restock"] == pytest.approx(10)
    assert got[(15, None, 1)]["avg_hours_to_restock"] == pytest.approx(24)
    open_row = got[(10, 2, None)]
    assert (open_row["stockouts"], open_row["restocked"], open_row["open_stockouts"]) == (1, 0, 1)
    assert open_row["avg_hours_to_restock"] is None and open_row["out_of_stock_hours"] == 0


def test_reorder_cycle_ends_at_the_first_inbound_shipment_of_the_product() -> None:
    reorders = [
        dict(trace_id="r1", event_ts=at(1, 10, 4), store_id=1, product_id=1, priority="URGENT", reorder_quantity=100),
        dict(trace_id="r2", event_ts=at(1, 10, 5), store_id=1, product_id=2, priority="URGENT", reorder_quantity=50),
    ]
    moves = [
        dict(trace_id="m1", event_ts=at(1, 11, 9), store_id=1, product_id=1, quantity=5, txn_type="RETURN"),
        dict(
            trace_id="m2", event_ts=at(1, 12, 10), store_id=1, product_id=1, quantity=100, txn_type="INBOUND_SHIPMENT"
        ),
    ]
    rows = build_month(
        inputs(JAN, fact_reorders=reorders, fact_store_inventory_txn=moves), gold_table("reorder_cycle_daily")
    )
    (only,) = rows.iter_rows(named=True)
    assert (only["reorders"], only["received"], only["open_reorders"], only["units_ordered"]) == (2, 1, 1, 150)
    assert only["avg_hours_to_receive"] == pytest.approx(54)
