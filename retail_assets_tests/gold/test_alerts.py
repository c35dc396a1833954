"""The six business alerts over Silver: the KQL rules' conditions, AlertThresholds, deterministic ids."""

from __future__ import annotations

import polars as pl
import pytest

from retail_assets.lib import alerts as rules
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.gold.kpis.alerts import ALERT_RULES, dollars, entities
from retail_assets.lib.gold.kpis.alerts import alerts as alerts_table
from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import JAN, at, inputs
from retail_assets_tests.gold.test_operations import MOVES


def _ids(frame: pl.LazyFrame) -> list[str]:
    return sorted(frame.collect()["alert_id"])


def test_high_value_receipt_is_the_far_tail_of_its_own_store() -> None:
    # Store 1's receipts are $40, store 2's spread over $100-$1,000: $250 is far out at store 1, $700 ordinary at 2.
    receipts = [
        dict(receipt_id=f"B{store}_{i}", store_id=store, total_cents=4_000 if store == 1 else 10_000 + i * 90_000 // 3999)
        for store in (1, 2)
        for i in range(4000)
    ]
    receipts += [
        dict(receipt_id="A", store_id=1, total_cents=25_000),
        dict(receipt_id="B", store_id=1, total_cents=15_000),  # far out, but under the $200 floor
        dict(receipt_id="C", store_id=2, total_cents=70_000),
    ]
    alerted = ALERT_RULES[rules.HIGH_VALUE_RECEIPT](inputs(JAN, fact_receipts=receipts)).collect()
    by_store = dict(alerted.group_by("store_id").agg(pl.col("receipt_id")).rows())
    assert by_store[1] == ["A"]
    # Store 2's own tail: its top 1 in 5,000 receipts (the $1,000 one), not the $700 one.
    assert sorted(by_store[2]) == ["B2_3999"]
    message = alerted.filter(pl.col("receipt_id") == "A")["message"][0]
    assert message == "receipt A at store 1: total $250.00 is above $200.00, the store's top 0.02 % of receipts"
    median = AlertThresholds(high_value_receipt_quantile=0.5, high_value_receipt_cents=30_000)
    found = _ids(ALERT_RULES[rules.HIGH_VALUE_RECEIPT](inputs(JAN, thresholds=median, fact_receipts=receipts)))
    assert "high_value_receipt:C" in found and "high_value_receipt:A" not in found


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS", "25000")
    assert AlertThresholds.from_env().high_value_receipt_cents == 25_000


def test_truck_dwell_over_sla_departed_late_and_still_at_the_dock() -> None:
    late = ALERT_RULES[rules.TRUCK_DWELL_OVER_SLA](inputs(JAN, fact_truck_moves=MOVES)).collect()
    by_id = {r["alert_id"]: r for r in late.iter_rows(named=True)}
    # S1 stayed 130 min (over the 2 h SLA); S3 has no departure, 5 h 10 min before the latest move seen (S1's departure).
    assert set(by_id) == {"truck_dwell_over_sla:S1", "truck_dwell_over_sla:S3"}
    assert by_id["truck_dwell_over_sla:S3"]["action"] == rules.ACTIONS[rules.TRUCK_DWELL_OVER_SLA]
    late = ALERT_RULES[rules.TRUCK_DWELL_OVER_SLA](
        inputs(JAN, thresholds=AlertThresholds(truck_dwell_sla_minutes=90), fact_truck_moves=MOVES)
    ).collect()
    by_id = {r["alert_id"]: r for r in late.iter_rows(named=True)}
    assert by_id["truck_dwell_over_sla:S1"]["observed_value"] == pytest.approx(130)
    assert "departed after 130 min; SLA 90 min" in by_id["truck_dwell_over_sla:S1"]["message"]
    assert "still at the dock after 310 min" in by_id["truck_dwell_over_sla:S3"]["message"]
    assert (by_id["truck_dwell_over_sla:S3"]["truck_id"], by_id["truck_dwell_over_sla:S3"]["store_id"]) == (1, 1)
    strict = AlertThresholds(truck_dwell_sla_minutes=60, truck_open_horizon_hours=2)
    tight = _ids(ALERT_RULES[rules.TRUCK_DWELL_OVER_SLA](inputs(JAN, thresholds=strict, fact_truck_moves=MOVES)))
    assert tight == ["truck_dwell_over_sla:S1", "truck_dwell_over_sla:S2", "truck_dwell_over_sla:S5"]


def test_campaign_over_budget_uses_the_campaigns_own_budget_when_configured() -> None:
    impressions = [
        dict(impression_id=f"I{i}", campaign_id=c, cost_cents=cents, event_ts=at(1, 10, i))
        for i, (c, cents) in enumerate([("C1", 300), ("C1", 300), ("C2", 500), ("C3", 100)])
    ]
    config = AlertThresholds(campaign_daily_budget_cents=550, campaign_daily_budgets_cents={"C3": 50})
    found = ALERT_RULES[rules.CAMPAIGN_OVER_BUDGET](
        inputs(JAN, thresholds=config, fact_marketing=impressions)
    ).collect()
    assert sorted(found["alert_id"]) == ["campaign_over_budget:C1:2024-01-10", "campaign_over_budget:C3:2024-01-10"]
    assert sorted(zip(found["campaign_id"], found["threshold_value"], strict=True)) == [("C1", 550.0), ("C3", 50.0)]


def test_stockout_alerts_a_stores_fast_movers_once_per_empty_shelf() -> None:
    # Store 1 sold product 10 1,000 times, products 100-149 1..50 units, product 11 once.
    units = {10: 1000, 11: 1, **{100 + i: i + 1 for i in range(50)}}
    receipts = [dict(receipt_id=f"L{p}", store_id=1) for p in units]
    lines = [dict(receipt_id=f"L{p}", line_number=1, product_id=p, quantity=q) for p, q in units.items()]
    stockouts = [
        dict(trace_id="SO10", product_id=10, event_ts=at(1, 10, 9)),
        dict(trace_id="SO10_AGAIN", product_id=10, event_ts=at(1, 10, 15)),  # same day: not again
        dict(trace_id="SO10_NEXT", product_id=10, event_ts=at(1, 11, 9)),  # the same gap, found again next morning
        dict(trace_id="SO10_LATER", product_id=10, event_ts=at(1, 13, 9)),  # refilled, then empty again
        dict(trace_id="SO11", product_id=11, event_ts=at(1, 10, 9)),  # a slow mover
        dict(trace_id="SO130", product_id=130, event_ts=at(1, 10, 9)),  # fast only when half the products are
        dict(trace_id="SO_DC", store_id=None, dc_id=3, product_id=10, event_ts=at(1, 10, 9)),
    ]
    month = dict(fact_receipts=receipts, fact_receipt_lines=lines, fact_stockouts=stockouts)
    found = ALERT_RULES[rules.STOCKOUT](inputs(JAN, **month)).collect()
    assert sorted(found["alert_id"]) == ["stockout:SO10", "stockout:SO10_LATER"]
    assert found["message"][0] == "fast mover product 10 ran out at store 1 (last movement took 2 units)"
    half = AlertThresholds(stockout_fast_mover_share=0.5)
    assert _ids(ALERT_RULES[rules.STOCKOUT](inputs(JAN, thresholds=half, **month))) == [
        "stockout:SO10",
        "stockout:SO10_LATER",
        "stockout:SO130",
    ]
    short = AlertThresholds(stockout_repeat_hours=12)  # the next morning's detection counts as a new gap
    assert "stockout:SO10_NEXT" in _ids(ALERT_RULES[rules.STOCKOUT](inputs(JAN, thresholds=short, **month)))


def test_urgent_reorder_and_overcrowded_zone_against_its_hourly_normal() -> None:
    reorders = inputs(JAN, fact_reorders=[dict(trace_id="R1"), dict(trace_id="R2", priority="HIGH")])
    assert _ids(ALERT_RULES[rules.URGENT_REORDER](reorders)) == ["urgent_reorder:R1"]
    # Hourly readings: each is an hour's count. Normal at 12:00 is 20 (AISLE) and 4 (QUIET).
    readings = [
        dict(trace_id=f"{zone}{d}", event_ts=at(1, d, 12), zone=zone, customer_count=normal)
        for zone, normal in (("AISLE", 20), ("QUIET", 4))
        for d in range(1, 21)
    ]
    readings += [
        dict(trace_id="busy", event_ts=at(1, 21, 12), zone="AISLE", customer_count=60),
        dict(trace_id="evening", event_ts=at(1, 21, 18), zone="AISLE", customer_count=60),  # its hour's normal is 60
        dict(trace_id="quiet", event_ts=at(1, 21, 12), zone="QUIET", customer_count=20),  # 5x, but only 20 people
        # Twelve 5-minute-apart readings of 10 would have summed to 120 people in the old rule; none alerts now.
        *[dict(trace_id=f"s{i}", event_ts=at(1, 22, 9, 5 * i), zone="CHECKOUT", customer_count=10) for i in range(12)],
    ]
    crowded = ALERT_RULES[rules.OVERCROWDED_ZONE](inputs(JAN, fact_foot_traffic=readings)).collect()
    assert sorted(zip(crowded["alert_id"], crowded["observed_value"], crowded["threshold_value"], strict=True)) == [
        ("overcrowded_zone:1:AISLE:2024-01-21T12:00Z", 60.0, 50.0)
    ]
    assert crowded["action"].to_list() == [rules.ACTIONS[rules.OVERCROWDED_ZONE]]
    assert entities(crowded) == {"store_id": [1], "zone": ["AISLE"]}


def test_alerts_table_is_deterministic_and_reconciles() -> None:
    month = inputs(
        JAN,
        fact_stockouts=[dict(trace_id="SO1")],
        fact_receipts=[dict(receipt_id="B", total_cents=100_001)] + [dict(receipt_id=f"S{i}") for i in range(10)],
        fact_receipt_lines=[dict(receipt_id="B", product_id=1, quantity=3)],
        fact_truck_moves=MOVES,
        fact_reorders=[dict(trace_id="R1")],
    )
    first = build_month(month, gold_table("alerts"))
    again = build_month(month, gold_table("alerts"))
    assert first.equals(again)
    assert first["alert_id"].is_unique().all()
    assert set(first["alert_type"]) == {
        rules.STOCKOUT,
        rules.HIGH_VALUE_RECEIPT,
        rules.TRUCK_DWELL_OVER_SLA,
        rules.URGENT_REORDER,
    }
    assert alerts_table(month).collect().height == first.height
    assert first["action"].to_list() == [rules.ACTIONS[t] for t in first["alert_type"]]
    assert all(b.holds for b in BUILDERS["alerts"].reconcile(month, first.lazy()))


def test_dollars_are_exact() -> None:
    cents = pl.Series([0, 5, 100_001, -250, 123_456_789_012])
    assert pl.select(dollars(pl.lit(cents))).to_series().to_list() == [
        "0.00",
        "0.05",
        "1000.01",
        "-2.50",
        "1234567890.12",
    ]
