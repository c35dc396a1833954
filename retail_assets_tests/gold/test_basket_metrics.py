"""basket_metrics_daily from hand-made Silver rows: values, size bands, reconciliation and its grain check."""

from __future__ import annotations

import polars as pl
import pytest

from retail_assets.lib.checks import GRAIN_UNIQUE
from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month, written_outcomes
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import JAN, at, inputs

BASKETS = gold_table("basket_metrics_daily")


def _receipt(receipt_id: str, store: int, when, total: int, kind: str = "SALE") -> dict:
    return dict(receipt_id=receipt_id, store_id=store, event_ts=when, total_cents=total, receipt_type=kind)


def _lines(receipt_id: str, when, *quantities: int) -> list[dict]:
    return [
        dict(receipt_id=receipt_id, line_number=n, event_ts=when, quantity=q, trace_id=f"{receipt_id}-{n}")
        for n, q in enumerate(quantities, start=1)
    ]


def _month():
    day1, day2 = at(1, 5, 10), at(1, 6, 23, 59)
    receipts = [
        _receipt("A", 1, day1, 100),  # 1 line
        _receipt("B", 1, day1, 300),  # 2 lines
        _receipt("C", 1, day1, 700),  # 5 lines
        _receipt("D", 1, day1, 2000),  # 8 lines
        _receipt("E", 1, day1, -50, "RETURN"),  # a return: counted in receipts, lines and units, not a basket
        _receipt("F", 2, day1, 999),  # store 2, 3 lines
        _receipt("G", 1, day2, -10, "RETURN"),  # a day with returns only
    ]
    lines = [
        *_lines("A", day1, 1),
        *_lines("B", day1, 1, 2),
        *_lines("C", day1, 1, 1, 1, 1, 3),
        *_lines("D", day1, *([1] * 8)),
        *_lines("E", day1, -1),
        *_lines("F", day1, 1, 1, 1),
        *_lines("G", day2, -2),
    ]
    return inputs(JAN, fact_receipts=receipts, fact_receipt_lines=lines)


def test_basket_metrics_per_store_and_day() -> None:
    rows = build_month(_month(), BASKETS)
    by_key = {(r["store_id"], r["day"].day): r for r in rows.iter_rows(named=True)}
    assert set(by_key) == {(1, 5), (2, 5), (1, 6)}
    first = by_key[(1, 5)]
    assert (first["receipts"], first["lines"], first["units"], first["baskets"]) == (5, 17, 18, 4)
    assert first["mean_basket_cents"] == (100 + 300 + 700 + 2000) // 4  # 775
    assert first["median_basket_cents"] == 500  # floor((300 + 700) / 2)
    assert (first["share_1_line"], first["share_2_3_lines"], first["share_4_6_lines"], first["share_7_plus_lines"]) == (
        pytest.approx(0.25),
        pytest.approx(0.25),
        pytest.approx(0.25),
        pytest.approx(0.25),
    )
    assert first["date_key"] == 20240105
    performance = build_month(_month(), gold_table("store_performance_daily")).filter(pl.col("store_id") == 1)
    assert performance["avg_basket_cents"][0] == first["mean_basket_cents"]  # the same basket, as the formula says
    other = by_key[(2, 5)]
    assert (other["baskets"], other["mean_basket_cents"], other["median_basket_cents"]) == (1, 999, 999)
    assert other["share_2_3_lines"] == pytest.approx(1.0) and other["share_1_line"] == pytest.approx(0.0)
    returns_only = by_key[(1, 6)]
    assert (returns_only["receipts"], returns_only["lines"], returns_only["units"], returns_only["baskets"]) == (
        1,
        1,
        -2,
        0,
    )
    assert returns_only["mean_basket_cents"] is None and returns_only["share_1_line"] is None


def test_basket_metrics_reconcile_with_silver_and_refuse_a_repeated_grain_row() -> None:
    inp = _month()
    rows = build_month(inp, BASKETS)
    balances = BUILDERS[BASKETS.name].reconcile(inp, rows.lazy())
    assert {b.name: (b.gold, b.silver) for b in balances} == {
        "receipts": (7, 7),
        "lines": (21, 21),
        "units": (19, 19),
    }
    # A line whose receipt is not in the month is not in the table: the identity shows it.
    orphan = inputs(
        JAN,
        fact_receipts=[_receipt("A", 1, at(1, 5), 100)],
        fact_receipt_lines=[*_lines("A", at(1, 5), 1), *_lines("Z", at(1, 5), 4)],
    )
    broken = BUILDERS[BASKETS.name].reconcile(orphan, build_month(orphan, BASKETS).lazy())
    assert {b.name for b in broken if not b.holds} == {"lines", "units"}
    repeated = pl.concat([rows, rows.head(1)])
    assert written_outcomes(repeated.lazy(), BASKETS, "2024-01")[GRAIN_UNIQUE].passed is False
    assert written_outcomes(rows.lazy(), BASKETS, "2024-01")[GRAIN_UNIQUE].passed is True
