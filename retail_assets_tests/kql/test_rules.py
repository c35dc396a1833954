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
    receipts = [
        {"receipt_id": "R_1000_00", "total": 1000.00, "ingest_timestamp": ago(minutes=1)},
        {"receipt_id": "R_1000_01", "total": 1000.01, "ingest_timestamp": ago(minutes=2)},
        {"receipt_id": "R_CENTS", "total": 5.0, "total_cents": 100_001, "ingest_timestamp": ago(minutes=3)},
        {"receipt_id": "R_OLD", "total": 5000.0, "ingest_timestamp": ago(minutes=12)},
        {"receipt_id": "R_250", "total": 250.0, "ingest_timestamp": ago(minutes=4)},
    ]
    stockouts = [
        {"store_id": 1, "product_id": 10, "last_known_quantity": 2, "detection_time": ago(minutes=1),
         "ingest_timestamp": ago(minutes=1)},
        {"store_id": 1, "product_id": 11, "last_known_quantity": 1, "detection_time": ago(minutes=9),
         "ingest_timestamp": ago(minutes=9)},
    ]
    reorders = [
        {"store_id": 1, "product_id": 20, "priority": "URGENT", "current_quantity": 0, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "product_id": 21, "priority": "HIGH", "current_quantity": 1, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "product_id": 22, "priority": "URGENT", "current_quantity": 0, "reorder_quantity": 5,
         "reorder_point": 4, "ingest_timestamp": ago(minutes=8)},
    ]
    sensors = [
        {"store_id": 1, "zone": "CROWDED", "customer_count": 30, "dwell_time": 100, "ingest_timestamp": ago(minutes=1)},
        {"store_id": 1, "zone": "CROWDED", "customer_count": 25, "dwell_time": 100, "ingest_timestamp": ago(minutes=4)},
        {"store_id": 1, "zone": "AT_LIMIT", "customer_count": 50, "dwell_time": 600, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "zone": "SLOW", "customer_count": 3, "dwell_time": 650, "ingest_timestamp": ago(minutes=2)},
        {"store_id": 1, "zone": "SLOW", "customer_count": 3, "dwell_time": 800, "ingest_timestamp": ago(minutes=3)},
        {"store_id": 2, "zone": "BUSY_EARLIER", "customer_count": 85, "dwell_time": 10, "ingest_timestamp": ago(minutes=7)},
    ]
    impressions = []
    for campaign, dollars in (("C_OVER", 5000.01), ("C_UNDER", 3999.99), ("CAMP202401010001", 600.0), ("CAMP'QUOTE", 700.0)):
        impressions.append({"campaign_id": campaign, "cost": dollars, "ingest_timestamp": ago(hours=1)})
    impressions.append({"campaign_id": "C_YESTERDAY", "cost": 9000.0, "ingest_timestamp": ago(hours=13)})
    arrivals, departures = [], []
    for shipment, arrived, departed in (
        ("LATE", ago(minutes=97), ago(minutes=2)),  # 95 min, departed within the lookback
        ("LATE_LONG_AGO", ago(hours=5), ago(hours=3)),  # 120 min, but departed before the lookback
        ("ON_TIME", ago(minutes=82), ago(minutes=1)),  # 81 min
        ("AT_DOCK", ago(minutes=100), None),  # still there after 100 min
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
    if custom:  # above $200 within 15 minutes
        assert fired == ["R_1000_00", "R_1000_01", "R_250", "R_CENTS", "R_OLD"]
    else:  # above $1,000 (strictly) within 5 minutes; the receipt's own cents win over its dollars
        assert fired == ["R_1000_01", "R_CENTS"]


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_stockout_and_urgent_reorder(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    stockouts = _fire("stockout", "product_id", custom, alert_db, committed, custom_rules, validation)
    urgent = _fire("urgent_reorder", "product_id", custom, alert_db, committed, custom_rules, validation)
    assert stockouts == ([10, 11] if custom else [10])
    assert urgent == ([20, 22] if custom else [20])


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_overcrowded_zone(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("overcrowded_zone", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["zone"], rows["customers"], strict=True))
    if custom:  # 10-minute window, > 80 people or > 900 s average dwell
        assert fired == {"BUSY_EARLIER": 85}
    else:  # 5-minute window, > 50 people or > 600 s average dwell
        assert fired == {"CROWDED": 55, "SLOW": 6}


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_truck_dwell_over_sla(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("truck_dwell_over_sla", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["shipment_id"], rows["status"], strict=True))
    if custom:  # SLA 45 minutes, lookback 15 minutes
        assert fired == {"LATE": "DEPARTED_LATE", "ON_TIME": "DEPARTED_LATE", "AT_DOCK": "STILL_AT_DOCK",
                         "JUST_ARRIVED": "STILL_AT_DOCK"}
    else:  # SLA 90 minutes, lookback 5 minutes, open arrivals within 24 hours
        assert fired == {"LATE": "DEPARTED_LATE", "AT_DOCK": "STILL_AT_DOCK"}
    late = rows.filter(pl.col("shipment_id") == "LATE")
    assert late["dwell_minutes"][0] == pytest.approx(95)
    assert late["site"][0] == "STORE_7"


@pytest.mark.parametrize("custom", [False, True], ids=["defaults", "custom"])
def test_campaign_over_budget(custom: bool, alert_db, committed, custom_rules, validation) -> None:
    rows = run(alert_db, _rule("campaign_over_budget", committed, custom_rules, custom), validation)
    fired = dict(zip(rows["campaign_id"], rows["daily_budget_cents"], strict=True))
    if custom:  # default $1,234; CAMP202401010001 $500 and CAMP'QUOTE $750 of their own
        assert fired == {"C_OVER": 123_400, "C_UNDER": 123_400, "CAMP202401010001": 50_000}
        assert CUSTOM_THRESHOLDS.campaign_budget_cents("CAMP'QUOTE") == 75_000
    else:  # $5,000 for every campaign, spend of the current UTC day only
        assert fired == {"C_OVER": DEFAULT.campaign_daily_budget_cents}
        assert rows["cost_cents"].to_list() == [500_001]
    assert rows["day"].to_list() == [dt.datetime(2024, 3, 5, tzinfo=dt.UTC)] * rows.height
