"""Each rule query raises exactly the alerts its thresholds say, with the defaults and with other values.

The committed rules (defaults) and the rules rendered with ``CUSTOM_THRESHOLDS`` run on DuckDB
(duckdb-kql) over events placed on both sides of every threshold and of the lookback window.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.alerts import AlertThresholds
from retail_assets_tests.kql.conftest import CUSTOM_THRESHOLDS
from retail_assets_tests.kql.engine import ago, database, events, query_of, run

DEFAULT = AlertThresholds()


@pytest.fixture(scope="module")
def alert_db():
    # Store 1's normal receipt is $40, store 2's spreads evenly over $100-$1,000 (20,000 each over 20 days:
    # the top 1 in 5,000 needs thousands), so a $250 receipt is in store 1's far tail and $700 ordinary at store 2.
    receipts = [
        {"receipt_id": f"B{store}_{i}", "store_id": store, "total": 40.0 if store == 1 else 100.0 + i * 900 / 19_999,
         "ingest_timestamp": ago(hours=1 + i * 0.024)}
        for store in (1, 2)
        for i in range(20_000)
    ]
    receipts += [
        {"receipt_id": "R_250", "store_id": 1, "total": 250.0, "ingest_timestamp": ago(minutes=1)},
        {"receipt_id": "R_150", "store_id": 1, "total": 5.0, "total_cents": 15_000, "ingest_timestamp": ago(minutes=2)},
        {"receipt_id": "R_OLD", "store_id": 1, "total": 5000.0, "ingest_timestamp": ago(minutes=12)},
        {"receipt_id": "R_S2_700", "store_id": 2, "total": 700.0, "ingest_timestamp": ago(minutes=3)},
    ]
    # Store 1 sold product 10 1,000 times, products 100-149 1..50 units each, product 11 once.
    units = {10: 1000, 11: 1, **{100 + i: i + 1 for i in range(50)}}
    lines = []
    for product, quantity in units.items():
        receipts.append({"receipt_id": f"L{product}", "store_id": 1, "total": 10.0, "ingest_timestamp": ago(days=2)})
        lines.append({"receipt_id": f"L{product}", "line_number": 1, "product_id": product, "quantity": quantity,
                      "ingest_timestamp": ago(days=2)})
    stockouts = [
        {"store_id": 1, "product_id": product, "last_known_quantity": 2, "detection_time": when,
         "ingest_timestamp": when}
        for product, when in (
            (10, ago(minutes=1)),  # the fast mover
            (11, ago(minutes=2)),  # a slow mover
            (149, ago(hours=3)),  # already out 3 hours ago (within stockout_repeat_hours): the same empty shelf...
            (149, ago(minutes=1)),  # ...so not again
            (130, ago(minutes=9)),  # a fast mover only when half the products count as fast
        )
    ]
    stockouts.append({"dc_id": 3, "product_id": 10, "last_known_quantity": 5, "detection_time": ago(minutes=1),
                      "ingest_timestamp": ago(minutes=1)})
    reorders = [
        {"store_id": 1, "product_id": 20, "priority": "URGENT", "current_quantity": 0, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "product_id": 21, "priority": "HIGH", "current_quantity": 1, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "product_id": 22, "priority": "URGENT", "current_quantity": 0, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=8)},
    ]
    # Hourly readings at 12:0x UTC for 20 days: AISLE's normal is 20 people, QUIET's 4, EARLIER's 20.
    sensors = [
        {"store_id": 1, "zone": zone, "customer_count": normal, "dwell_time": 100, "ingest_timestamp": ago(days=d, minutes=6)}
        for zone, normal in (("AISLE", 20), ("QUIET", 4), ("EARLIER", 20))
        for d in range(1, 21)
    ]
    sensors += [
        {"store_id": 1, "zone": "AISLE", "customer_count": 60, "dwell_time": 100, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "zone": "QUIET", "customer_count": 20, "dwell_time": 100, "ingest_timestamp": ago(minutes=3)},
        {"store_id": 1, "zone": "EARLIER", "customer_count": 100, "dwell_time": 100, "ingest_timestamp": ago(minutes=7)},
    ]
    impressions = []
    for campaign, dollars in (("C_OVER", 1234.01), ("C_UNDER", 140.0), ("CAMP202401010001", 600.0), ("CAMP'QUOTE", 700.0)):
        impressions.append({"campaign_id": campaign, "cost": dollars, "ingest_timestamp": ago(hours=1)})
    impressions.append({"campaign_id": "C_YESTERDAY", "cost": 9000.0, "ingest_timestamp": ago(hours=13)})
    arrivals, departures = [], []
    for shipment, arrived, departed in (
        ("LATE", ago(minutes=127), ago(minutes=2)),  # 125 min, departed within the lookback
        ("LATE_LONG_AGO", ago(hours=5), ago(hours=2)),  # 180 min, but departed before the lookback
        ("ON_TIME", ago(minutes=82), ago(minutes=1)),  # 81 min
        ("AT_DOCK", ago(minutes=130), None),  # still there after 130 min
        ("JUST_ARRIVED", ago(minutes=60), None),
        ("LOST", ago(hours=30), None),  # beyond the open horizon
    ):
        key = {"truck_id": f"T_{shipment}", "dc_id": 1, "store_id": 7, "shipment_id": shipment}
        arrivals.append({**key, "arrival_time": arrived, "estimated_unload_duration": 60, "ingest_timestamp": arrived})
        if departed is not None:
            departures.append({**key, "departure_time": departed, "actual_unload_duration": 60,
                               "ingest_timestamp": departed})
    con = database({
        "receipt_created": events("receipt_created", receipts),
        "receipt_line_added": events("receipt_line_added", lines),
        "stockout_detected": events("stockout_detected", stockouts),
        "reorder_triggered": events("reorder_triggered", reorders),
        "customer_entered": events("customer_entered", sensors),
        "ad_impression": events("ad_impression", impressions),
        "truck_arrived": events("truck_arrived", arrivals),
        "truck_departed": events("truck_departed", departures),
    })
    yield con
    con.close()


def _rule(alert: str, committed: dict[str, str], custom_rules: dict[str, str], custom: bool) -> str:
    path = f"rules/rule_{alert}.kql"
    return query_of(custom_rules[path] if custom else committed[path])


def _fire(alert: str, column: str, custom: bool, alert_db, committed, custom_rules, validation) -> list:
    rows = run(alert_db, _rule(alert, committed, custom_rules, custom), validation)
    return sorted(rows[column].to_list())


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_high_value_receipt(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    fired = _fire("high_value_receipt", "receipt_id", custom, alert_db, committed, custom_rules, validation)
    if custom:  # above store's median and $300 within 15 minutes: store 1's $5,000, store 2's $700 (median ~$550)
        assert fired == ["R_OLD", "R_S2_700"]
    else:  # above the store's 99.98th percentile and $200 within 5 minutes: $700 is ordinary at store 2
        assert fired == ["R_250"]


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_stockout_and_urgent_reorder(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    stockouts = _fire("stockout", "product_id", custom, alert_db, committed, custom_rules, validation)
    urgent = _fire("urgent_reorder", "product_id", custom, alert_db, committed, custom_rules, validation)
    # Fast movers: top 0.25 % by units (10) or top half (10, 125-149); never the DC, never twice for one empty shelf.
    assert stockouts == ([10, 130] if custom else [10])
    assert urgent == ([20, 22] if custom else [20])


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_overcrowded_zone(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("overcrowded_zone", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["zone"], rows["customer_count"], strict=True))
    if custom:  # 4x the zone's normal for the hour and over 5 people, within 15 minutes
        assert fired == {"QUIET": 20, "EARLIER": 100}
    else:  # 2.5x the normal and over 30 people, within 5 minutes; each hourly reading on its own
        assert fired == {"AISLE": 60}
        assert rows["normal_customers"].to_list() == [20]


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_truck_dwell_over_sla(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("truck_dwell_over_sla", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["shipment_id"], rows["status"], strict=True))
    if custom:  # SLA 45 minutes, lookback 15 minutes
        assert fired == {"LATE": "DEPARTED_LATE", "ON_TIME": "DEPARTED_LATE", "AT_DOCK": "STILL_AT_DOCK",
                         "JUST_ARRIVED": "STILL_AT_DOCK"}
    else:  # SLA 120 minutes, lookback 5 minutes, open arrivals within 24 hours
        assert fired == {"LATE": "DEPARTED_LATE", "AT_DOCK": "STILL_AT_DOCK"}
    late = rows.filter(pl.col("shipment_id") == "LATE")
    assert late["dwell_minutes"][0] == pytest.approx(125)
    assert late["site"][0] == "STORE_7"


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_campaign_over_budget(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("campaign_over_budget", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["campaign_id"], rows["daily_budget_cents"], strict=True))
    if custom:  # default $1,234; CAMP202401010001 $500 and CAMP'QUOTE $750 of their own
        assert fired == {"C_OVER": 123_400, "CAMP202401010001": 50_000}
        assert CUSTOM_THRESHOLDS.campaign_budget_cents("CAMP'QUOTE") == 75_000
    else:  # $150 for every campaign, spend of the current UTC day only
        assert fired == {c: DEFAULT.campaign_daily_budget_cents for c in ("C_OVER", "CAMP202401010001", "CAMP'QUOTE")}
    assert rows["day"].to_list() == [dt.datetime(2024, 3, 5, tzinfo=dt.UTC)] * rows.height
