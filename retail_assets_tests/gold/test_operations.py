"""Trucks, fulfilment, traffic, store operations, marketing and promotions, as plain functions."""

from __future__ import annotations

import pytest

from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import FEB, JAN, at, inputs


def _rows(table: str, month=JAN, **facts) -> list[dict]:
    inp = inputs(month, **facts)
    rows = build_month(inp, gold_table(table))
    balances = BUILDERS[table].reconcile(inp, rows.lazy())
    assert all(b.holds for b in balances), balances
    return rows.to_dicts()


def _lifecycle(shipment: str, truck: int, arrived, departed, store: int = 1) -> list[dict]:
    """Six status rows, each carrying eta/etd as the reference's rows do."""
    base = dict(shipment_id=shipment, truck_id=truck, store_id=store, eta=arrived, etd=arrived)
    rows = [dict(base, status=s, event_ts=arrived) for s in ("SCHEDULED", "LOADING", "IN_TRANSIT")]
    rows.append(dict(base, status="ARRIVED", event_ts=arrived))
    if departed is not None:
        rows += [dict(base, status="UNLOADING", event_ts=departed), dict(base, status="COMPLETED", event_ts=departed)]
    return rows


MOVES = [
    *_lifecycle("S1", 1, at(1, 31, 23), at(2, 1, 1, 10)),  # 130 min across the month boundary (over the 2 h SLA)
    *_lifecycle("S2", 2, at(1, 10, 14), at(1, 10, 15, 10)),  # 70 min
    *_lifecycle("S5", 2, at(1, 10, 16), at(1, 10, 17, 30)),  # 90 min, same store and day as S2
    *_lifecycle("S3", 1, at(1, 31, 20), None),  # still at the dock
]


def test_truck_dwell_counts_each_shipment_once_and_follows_it_into_next_month() -> None:
    rows = {(r["site"], r["day"]): r for r in _rows("truck_dwell_daily", fact_truck_moves=MOVES)}
    tenth = rows[("STORE_1", at(1, 10, 0))]
    assert (tenth["shipments"], tenth["trucks"]) == (2, 1)
    assert tenth["avg_dwell_minutes"] == pytest.approx(80)
    assert rows[("STORE_1", at(1, 31, 0))]["avg_dwell_minutes"] == pytest.approx(130)
    assert rows[("STORE_1", at(1, 31, 0))]["shipments"] == 1
    # February does not count S1 again (it arrived in January).
    assert _rows("truck_dwell_daily", FEB, fact_truck_moves=MOVES) == []


def test_fulfillment_lead_times_by_order_day() -> None:
    lines = [
        dict(
            order_id="O1",
            line_number=1,
            event_ts=at(1, 10, 8),
            fulfillment_status="DELIVERED",
            quantity=2,
            shipped_ts=at(1, 10, 20),
            delivered_ts=at(1, 12, 8),
        ),
        dict(
            order_id="O1",
            line_number=2,
            event_ts=at(1, 10, 8),
            fulfillment_status="DELIVERED",
            quantity=1,
            shipped_ts=at(1, 11, 8),
            delivered_ts=at(1, 13, 8),
        ),
        dict(order_id="O2", line_number=1, event_ts=at(1, 10, 9), fulfillment_status="CREATED", quantity=1),
    ]
    rows = {r["fulfillment_status"]: r for r in _rows("fulfillment_daily", fact_online_order_lines=lines)}
    delivered = rows["DELIVERED"]
    assert (delivered["orders"], delivered["lines"], delivered["units"]) == (1, 2, 3)
    assert delivered["avg_hours_to_ship"] == pytest.approx(18)
    assert delivered["avg_hours_to_deliver"] == pytest.approx(60)
    assert rows["CREATED"]["avg_hours_to_ship"] is None


def test_zone_dwell_and_ble_presence_per_minute() -> None:
    traffic = [
        dict(trace_id="a", event_ts=at(1, 10, 9), zone="CHECKOUT", customer_count=4, dwell_seconds=100),
        dict(trace_id="b", event_ts=at(1, 10, 9, 0, 30), zone="CHECKOUT", customer_count=6, dwell_seconds=200),
    ]
    (zone,) = _rows("zone_dwell_minute", fact_foot_traffic=traffic)
    assert (zone["customers"], zone["avg_dwell_seconds"]) == (10, 150)
    pings = [
        dict(trace_id="p1", event_ts=at(1, 10, 9), customer_ble_id="BLE1", customer_id=1),
        dict(trace_id="p2", event_ts=at(1, 10, 9, 0, 20), customer_ble_id="BLE1", customer_id=1),
        dict(trace_id="p3", event_ts=at(1, 10, 9, 0, 50), customer_ble_id="ANON-1", customer_id=None),
    ]
    (ble,) = _rows("ble_presence_minute", fact_ble_pings=pings)
    assert (ble["devices"], ble["known_customers"], ble["pings"]) == (2, 1, 3)


def test_stockouts_reorders_store_ops_and_promotions_per_day() -> None:
    stockouts = [
        dict(trace_id="s1", product_id=1),
        dict(trace_id="s2", product_id=1),
        dict(trace_id="s3", product_id=2),
        dict(trace_id="s4", store_id=None, dc_id=1),
    ]
    rows = {(r["store_id"], r["dc_id"]): r for r in _rows("stockouts_daily", fact_stockouts=stockouts)}
    assert (rows[(1, None)]["stockout_count"], rows[(1, None)]["products_affected"]) == (3, 2)
    assert rows[(None, 1)]["stockout_count"] == 1
    reorders = [
        dict(trace_id="r1", reorder_quantity=100),
        dict(trace_id="r2", product_id=2, reorder_quantity=50),
        dict(trace_id="r3", priority="NORMAL"),
    ]
    by_priority = {r["priority"]: r for r in _rows("reorders_daily", fact_reorders=reorders)}
    assert (by_priority["URGENT"]["reorder_count"], by_priority["URGENT"]["total_units_ordered"]) == (2, 150)
    ops = [
        dict(trace_id="o1", event_ts=at(1, 10, 8)),
        dict(trace_id="o2", event_ts=at(1, 10, 22), operation_type="closed"),
    ]
    assert {r["operation_type"]: r["first_operation"] for r in _rows("store_ops_daily", fact_store_ops=ops)} == {
        "opened": at(1, 10, 8),
        "closed": at(1, 10, 22),
    }
    promos = [
        dict(receipt_id="R1", discount_cents=100, product_count=1),
        dict(receipt_id="R2", discount_cents=50, product_count=2),
    ]
    (promo,) = _rows("promo_performance_daily", fact_promotions=promos)
    assert (promo["times_applied"], promo["total_discount_cents"], promo["products_discounted"]) == (2, 150, 3)


IMPRESSIONS = [
    dict(impression_id="I1", event_ts=at(1, 10, 9), campaign_id="C1", customer_id=1, cost_cents=10),
    dict(impression_id="I2", event_ts=at(1, 10, 11), campaign_id="C1", customer_id=1, cost_cents=10),
    dict(impression_id="I3", event_ts=at(1, 10, 13), campaign_id="C1", customer_id=2, cost_cents=10),
    dict(impression_id="I4", event_ts=at(1, 10, 13), campaign_id="C1", customer_id=None, cost_cents=20),
    dict(impression_id="I5", event_ts=at(1, 31, 23), campaign_id="C2", channel="SEARCH", cost_cents=50),
]


def test_campaign_revenue_counts_same_day_purchases_after_the_impression() -> None:
    receipts = [
        dict(receipt_id="R1", event_ts=at(1, 10, 10), customer_id=1, total_cents=1000),  # after I1: a conversion
        dict(receipt_id="R2", event_ts=at(1, 10, 12), customer_id=2, total_cents=700),  # before I3: not one
        dict(receipt_id="R3", event_ts=at(1, 11, 10), customer_id=1, total_cents=400),  # another day
    ]
    rows = {
        (r["campaign_id"], r["day"]): r
        for r in _rows("campaign_revenue_daily", fact_marketing=IMPRESSIONS, fact_receipts=receipts)
    }
    c1 = rows[("C1", at(1, 10, 0))]
    assert (c1["impressions"], c1["reached_customers"], c1["conversions"], c1["converted_customers"]) == (4, 2, 1, 1)
    assert c1["revenue_cents"] == 1000


def test_campaign_performance_credits_the_touch_day_from_next_months_attributions() -> None:
    attributions = [
        dict(
            attribution_id="A1",
            event_ts=at(2, 2),
            campaign_id="C2",
            channel="SEARCH",
            touch_ts=at(1, 31, 23),
            attributed_revenue_cents=1000,
            payment_cents=1080,
            tax_cents=80,
        ),
        dict(
            attribution_id="A2",
            event_ts=at(2, 3),
            campaign_id="C2",
            channel="SEARCH",
            touch_ts=at(1, 31, 23),
            status="OUTSIDE_WINDOW",
        ),
        dict(attribution_id="A3", event_ts=at(2, 3), campaign_id="C9", channel="EMAIL", touch_ts=at(2, 1, 1)),
    ]
    rows = {
        (r["campaign_id"], r["day"]): r
        for r in _rows(
            "campaign_performance_daily", fact_marketing=IMPRESSIONS, fact_marketing_attribution=attributions
        )
    }
    c2 = rows[("C2", at(1, 31, 0))]
    assert (c2["impressions"], c2["spend_cents"], c2["conversions"], c2["attributed_revenue_cents"]) == (1, 50, 1, 1000)
    assert (c2["roas"], c2["conversion_rate"]) == (20.0, 1.0)
    assert ("C9", at(2, 1, 0)) not in rows  # a February touch belongs to February
    c1 = rows[("C1", at(1, 10, 0))]
    assert (c1["conversions"], c1["roas"]) == (0, 0.0)


def test_marketing_cost_is_the_twin() -> None:
    rows = {
        r["campaign_id"]: (r["impressions"], r["cost_cents"])
        for r in _rows("marketing_cost_daily", fact_marketing=IMPRESSIONS)
    }
    assert rows == {"C1": (4, 50), "C2": (1, 50)}
