"""The six business alerts over Silver: the KQL rules' conditions, AlertThresholds, deterministic ids."""

from __future__ import annotations

import polars as pl
import pytest

from retail_assets.lib import alerts as rules
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.gold.alerts import ALERT_RULES, alerts_table, dollars, entities
from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import JAN, at, inputs
from retail_assets_tests.gold.test_operations import MOVES


def _ids(frame: pl.LazyFrame) -> list[str]:
    return sorted(frame.collect()["alert_id"])


def test_high_value_receipt_is_strictly_above_the_threshold_default_1000_dollars() -> None:
    receipts = [
        dict(receipt_id="A", total_cents=100_000),
        dict(receipt_id="B", total_cents=100_001),
        dict(receipt_id="C", total_cents=25_000),
    ]
    assert _ids(ALERT_RULES[rules.HIGH_VALUE_RECEIPT](inputs(JAN, fact_receipts=receipts))) == ["high_value_receipt:B"]
    reference_rule = AlertThresholds(high_value_receipt_cents=20_000)  # the reference's rule code: $200
    alerted = ALERT_RULES[rules.HIGH_VALUE_RECEIPT](
        inputs(JAN, thresholds=reference_rule, fact_receipts=receipts)
    ).collect()
    assert sorted(alerted["alert_id"]) == ["high_value_receipt:A", "high_value_receipt:B", "high_value_receipt:C"]
    assert "receipt C at store 1: total $250.00 is above $200.00" in alerted["message"].to_list()


def test_thresholds_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS", "20000")
    assert AlertThresholds.from_env().high_value_receipt_cents == 20_000


def test_truck_dwell_over_sla_departed_late_and_still_at_the_dock() -> None:
    late = ALERT_RULES[rules.TRUCK_DWELL_OVER_SLA](inputs(JAN, fact_truck_moves=MOVES)).collect()
    by_id = {r["alert_id"]: r for r in late.iter_rows(named=True)}
    # S1 stayed 120 min; S3 has no departure, 5 h before the latest move seen (S1's departure); S2 (70) and S5 (90) pass.
    assert set(by_id) == {"truck_dwell_over_sla:S1", "truck_dwell_over_sla:S3"}
    assert by_id["truck_dwell_over_sla:S1"]["observed_value"] == pytest.approx(120)
    assert "departed after 120 min; SLA 90 min" in by_id["truck_dwell_over_sla:S1"]["message"]
    assert "still at the dock after 300 min" in by_id["truck_dwell_over_sla:S3"]["message"]
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


def test_stockout_urgent_reorder_and_overcrowded_zone() -> None:
    stock = inputs(
        JAN, fact_stockouts=[dict(trace_id="SO1"), dict(trace_id="SO2", store_id=None, dc_id=3, product_id=7)]
    )
    messages = ALERT_RULES[rules.STOCKOUT](stock).collect()["message"].to_list()
    assert sorted(messages) == [
        "product 1 ran out at store 1 (last movement took 2 units)",
        "product 7 ran out at DC 3 (last movement took 2 units)",
    ]
    reorders = inputs(JAN, fact_reorders=[dict(trace_id="R1"), dict(trace_id="R2", priority="HIGH")])
    assert _ids(ALERT_RULES[rules.URGENT_REORDER](reorders)) == ["urgent_reorder:R1"]
    readings = [
        dict(trace_id="a", event_ts=at(1, 10, 9, 1), zone="CHECKOUT", customer_count=30, dwell_seconds=60),
        dict(
            trace_id="b", event_ts=at(1, 10, 9, 4), zone="CHECKOUT", customer_count=21, dwell_seconds=60
        ),  # 51 in 09:00-09:05
        dict(
            trace_id="c", event_ts=at(1, 10, 9, 6), zone="CHECKOUT", customer_count=30, dwell_seconds=60
        ),  # next window: 30
        dict(trace_id="d", event_ts=at(1, 10, 9), zone="AISLES_A", customer_count=2, dwell_seconds=601),
    ]
    crowded = ALERT_RULES[rules.OVERCROWDED_ZONE](inputs(JAN, fact_foot_traffic=readings)).collect()
    assert sorted(zip(crowded["alert_id"], crowded["unit"], crowded["observed_value"], strict=True)) == [
        ("overcrowded_zone:1:AISLES_A:2024-01-10T09:00Z", "seconds", 601.0),
        ("overcrowded_zone:1:CHECKOUT:2024-01-10T09:00Z", "people", 51.0),
    ]
    assert entities(crowded) == {"store_id": [1], "zone": ["AISLES_A", "CHECKOUT"]}


def test_alerts_table_is_deterministic_and_reconciles() -> None:
    month = inputs(
        JAN,
        fact_stockouts=[dict(trace_id="SO1")],
        fact_receipts=[dict(receipt_id="B", total_cents=100_001)],
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
