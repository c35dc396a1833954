"""Small landed fixtures: valid default rows for every table and payloads for every event type.

Tests state only what matters to them (``row("fact_receipts", receipt_id="R1", store_id=99)``);
everything else is a valid default, so Bronze accepts the files and Silver sees exactly what the
test meant.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import polars as pl

from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import REGISTRY, polars_schema

UTC = dt.UTC
JAN = dt.date(2024, 1, 1)
FEB = dt.date(2024, 2, 1)


def ts(day: int, hour: int = 12, minute: int = 0, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, tzinfo=UTC)


_DIMENSIONS: dict[str, dict[str, Any]] = {
    "dim_geographies": dict(
        geography_id=1,
        city="Austin",
        state="TX",
        zip_code="78701",
        district="Central",
        region="Southwest",
        latitude=30.27,
        longitude=-97.74,
    ),
    "dim_distribution_centers": dict(dc_id=1, dc_number="DC001", address="1 Depot Rd", geography_id=1),
    "dim_stores": dict(
        store_id=1,
        store_number="S000001",
        address="100 Main St",
        geography_id=1,
        time_zone="America/Chicago",
        tax_rate_bps=825,
        volume_class="medium_volume",
        store_format="standard",
        operating_hours="8am-10pm",
        open_hour=8,
        close_hour=22,
        daily_traffic_multiplier=1.0,
    ),
    "dim_trucks": dict(truck_id=1, license_plate="ABC1234", is_refrigerated=False, fleet="DC", dc_id=1),
    "dim_customers": dict(
        customer_id=1,
        first_name="Ada",
        last_name="Lovelace",
        address="1 Elm St",
        geography_id=1,
        loyalty_card="LC000001123",
        phone="(555) 555-0101",
        ble_id="BLE000001",
        ad_id="AD000001",
    ),
    "dim_products": dict(
        product_id=1,
        product_name="Milk",
        brand="Farm",
        company="Farm Co",
        department="Grocery",
        category="Dairy",
        subcategory="Milk",
        cost_cents=100,
        msrp_cents=250,
        sale_price_cents=200,
        requires_refrigeration=True,
        launch_date=dt.date(2023, 1, 1),
        taxability="NON_TAXABLE",
        tags=None,
    ),
    "dim_date": dict(
        date_key=20240110,
        date=dt.date(2024, 1, 10),
        year=2024,
        quarter=1,
        month=1,
        month_name="January",
        day=10,
        day_of_week=3,
        day_name="Wednesday",
        week_of_year=2,
        is_weekend=False,
        fiscal_year=2024,
        fiscal_quarter=3,
        holiday_name=None,
    ),
}

_FACTS: dict[str, dict[str, Any]] = {
    "fact_receipts": dict(
        receipt_id="R1",
        event_ts=ts(10),
        store_id=1,
        customer_id=1,
        receipt_type="SALE",
        return_for_receipt_id=None,
        payment_method="CASH",
        item_count=2,
        gross_subtotal_cents=1000,
        discount_cents=0,
        subtotal_cents=1000,
        tax_cents=80,
        total_cents=1080,
        campaign_id=None,
        trace_id=None,
    ),
    "fact_receipt_lines": dict(
        receipt_id="R1",
        line_number=1,
        event_ts=ts(10),
        product_id=1,
        quantity=2,
        unit_price_cents=500,
        discount_cents=0,
        ext_price_cents=1000,
        promo_code=None,
        trace_id=None,
    ),
    "fact_payments": dict(
        transaction_id="TXN1",
        event_ts=ts(10),
        receipt_id="R1",
        order_id=None,
        payment_method="CASH",
        amount_cents=1080,
        processing_time_ms=900,
        status="APPROVED",
        decline_reason=None,
        store_id=1,
        customer_id=1,
        trace_id=None,
    ),
    "fact_store_inventory_txn": dict(
        trace_id="SIT1",
        event_ts=ts(10),
        store_id=1,
        product_id=1,
        quantity=-2,
        txn_type="SALE",
        source="R1",
        balance=40,
    ),
    "fact_dc_inventory_txn": dict(
        trace_id="DIT1",
        event_ts=ts(10),
        dc_id=1,
        product_id=1,
        quantity=300,
        txn_type="INBOUND_SHIPMENT",
        source=None,
        balance=900,
    ),
    "fact_truck_moves": dict(
        shipment_id="SHIP1",
        status="SCHEDULED",
        event_ts=ts(10, 6),
        truck_id=1,
        dc_id=1,
        store_id=1,
        eta=ts(10, 14),
        etd=ts(10, 15),
        unload_duration_minutes=None,
        trace_id=None,
    ),
    "fact_truck_inventory": dict(
        shipment_id="SHIP1",
        product_id=1,
        action="LOAD",
        event_ts=ts(10, 8),
        truck_id=1,
        quantity=50,
        location_type="DC",
        location_id=1,
    ),
    "fact_foot_traffic": dict(
        trace_id="FT1",
        event_ts=ts(10),
        store_id=1,
        sensor_id="SENSOR_001_CHECKOUT",
        zone="CHECKOUT",
        customer_count=12,
        dwell_seconds=120,
    ),
    "fact_ble_pings": dict(
        trace_id="BP1",
        event_ts=ts(10),
        store_id=1,
        beacon_id="BEACON_001_GROCERY",
        customer_ble_id="BLE000001",
        customer_id=1,
        rssi=-60,
        zone="GROCERY",
    ),
    "fact_customer_zone_changes": dict(
        trace_id="ZC1",
        event_ts=ts(10),
        store_id=1,
        customer_ble_id="BLE000001",
        from_zone="ENTRANCE",
        to_zone="GROCERY",
    ),
    "fact_marketing": dict(
        impression_id="IMP1",
        event_ts=ts(10),
        channel="EMAIL",
        campaign_id="CAMP1",
        creative_id="CR1",
        customer_ad_id="AD000001",
        customer_id=None,
        cost_cents=2,
        device="MOBILE",
        trace_id=None,
    ),
    "fact_online_order_headers": dict(
        order_id="O1",
        event_ts=ts(10),
        customer_id=1,
        fulfillment_mode="SHIP_FROM_STORE",
        node_type="STORE",
        node_id=1,
        item_count=1,
        gross_subtotal_cents=500,
        discount_cents=0,
        subtotal_cents=500,
        tax_cents=40,
        total_cents=540,
        payment_method="CREDIT_CARD",
        order_status="CREATED",
        completed_ts=None,
        campaign_id=None,
        trace_id=None,
    ),
    "fact_online_order_lines": dict(
        order_id="O1",
        line_number=1,
        event_ts=ts(10),
        product_id=1,
        quantity=1,
        unit_price_cents=500,
        discount_cents=0,
        ext_price_cents=500,
        promo_code=None,
        fulfillment_status="CREATED",
        fulfillment_mode="SHIP_FROM_STORE",
        node_type="STORE",
        node_id=1,
        picked_ts=None,
        shipped_ts=None,
        delivered_ts=None,
    ),
    "fact_store_ops": dict(trace_id="OPS1", event_ts=ts(10, 8), store_id=1, operation_type="opened"),
    "fact_stockouts": dict(trace_id="SO1", event_ts=ts(10), store_id=1, dc_id=None, product_id=1, last_known_quantity=2),
    "fact_promotions": dict(
        receipt_id="R1",
        promo_code="PROMO10",
        event_ts=ts(10),
        discount_cents=100,
        discount_type="PERCENTAGE",
        product_count=1,
        product_ids=[1],
        store_id=1,
        customer_id=1,
        trace_id=None,
    ),
    "fact_promo_lines": dict(
        receipt_id="R1",
        line_number=1,
        promo_code="PROMO10",
        event_ts=ts(10),
        product_id=1,
        quantity=2,
        discount_cents=100,
    ),
    "fact_reorders": dict(
        trace_id="RO1",
        event_ts=ts(10, 4),
        store_id=1,
        dc_id=1,
        product_id=1,
        current_quantity=3,
        reorder_quantity=100,
        reorder_point=10,
        priority="URGENT",
    ),
    "fact_marketing_attribution": dict(
        attribution_id="ATT1",
        event_ts=ts(10),
        receipt_id="R1",
        order_id=None,
        customer_id=1,
        campaign_id="CAMP1",
        impression_id="IMP1",
        channel="EMAIL",
        touch_ts=ts(9),
        lag_seconds=86400,
        attribution_model="LAST_TOUCH_7D",
        status="ATTRIBUTED",
        attributed_revenue_cents=1000,
        discount_cents=0,
        tax_cents=80,
        payment_cents=1080,
    ),
}

_PAYLOADS: dict[str, dict[str, Any]] = {
    "receipt_created": dict(
        store_id=1,
        customer_id=1,
        receipt_id="R3",
        subtotal=10.0,
        tax=0.8,
        total=10.8,
        tender_type="CASH",
        item_count=2,
    ),
    "receipt_line_added": dict(receipt_id="R3", line_number=1, product_id=1, quantity=2, unit_price=5.0, extended_price=10.0),
    "payment_processed": dict(
        transaction_id="TXN3",
        receipt_id="R3",
        payment_method="CASH",
        amount=10.8,
        amount_cents=1080,
        processing_time="2024-01-10T12:00:01Z",
        processing_time_ms=800,
        status="APPROVED",
        store_id=1,
        customer_id=1,
    ),
    "inventory_updated": dict(store_id=1, product_id=1, quantity_delta=-2, reason="SALE", source="R3"),
    "stockout_detected": dict(store_id=1, product_id=2, last_known_quantity=3, detection_time="2024-01-10T13:00:00Z"),
    "reorder_triggered": dict(
        store_id=1,
        dc_id=1,
        product_id=2,
        current_quantity=0,
        reorder_quantity=120,
        reorder_point=10,
        priority="URGENT",
    ),
    "customer_entered": dict(
        store_id=1, sensor_id="SENSOR_001_ENTRANCE_MAIN", zone="ENTRANCE_MAIN", customer_count=30, dwell_time=60
    ),
    "customer_zone_changed": dict(
        store_id=1,
        customer_ble_id="BLE000001",
        from_zone="GROCERY",
        to_zone="CHECKOUT",
        timestamp="2024-01-10T12:05:00Z",
    ),
    "ble_ping_detected": dict(
        store_id=1, beacon_id="BEACON_001_CHECKOUT", customer_ble_id="BLE000001", rssi=-55, zone="CHECKOUT"
    ),
    "truck_arrived": dict(
        truck_id="1",
        dc_id=1,
        store_id=1,
        shipment_id="SHIP1",
        arrival_time="2024-01-10T14:00:00Z",
        estimated_unload_duration=45,
    ),
    "truck_departed": dict(
        truck_id="1",
        dc_id=1,
        store_id=1,
        shipment_id="SHIP1",
        departure_time="2024-01-10T15:10:00Z",
        actual_unload_duration=70,
    ),
    "store_opened": dict(store_id=1, operation_time="2024-01-11T08:00:00Z", operation_type="opened"),
    "store_closed": dict(store_id=1, operation_time="2024-01-11T22:00:00Z", operation_type="closed"),
    "ad_impression": dict(
        channel="SEARCH",
        campaign_id="CAMP1",
        creative_id="CR2",
        customer_ad_id="AD000002",
        impression_id="IMP3",
        cost=0.0451,
        device_type="DESKTOP",
    ),
    "promotion_applied": dict(
        receipt_id="R3",
        promo_code="PROMO20",
        discount_amount=1.25,
        discount_cents=125,
        discount_type="PERCENTAGE",
        product_count=2,
        product_ids=[1, 2],
        store_id=1,
        customer_id=1,
    ),
    "online_order_created": dict(
        order_id="O3",
        customer_id=1,
        fulfillment_mode="SHIP_FROM_DC",
        node_type="DC",
        node_id=1,
        item_count=1,
        subtotal=20.0,
        tax=1.6,
        total=21.6,
        tender_type="PAYPAL",
    ),
    "online_order_picked": dict(
        order_id="O1",
        node_type="STORE",
        node_id=1,
        fulfillment_mode="SHIP_FROM_STORE",
        picked_time="2024-01-10T16:00:00Z",
    ),
    "online_order_shipped": dict(
        order_id="O1",
        node_type="STORE",
        node_id=1,
        fulfillment_mode="SHIP_FROM_STORE",
        shipped_time="2024-01-11T09:00:00Z",
    ),
}


def row(table: str, **overrides: Any) -> dict[str, Any]:
    base = _DIMENSIONS.get(table) or _FACTS[table]
    unknown = set(overrides) - set(base)
    if unknown:
        raise KeyError(f"{table} has no columns {sorted(unknown)}")
    return {**base, **overrides}


def frame(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=polars_schema(REGISTRY.table(table).columns), orient="row")


def land_batch(landing: LandingZone, table: str, month: dt.date, rows: list[dict[str, Any]], name: str = "part-0") -> str:
    buffer = io.BytesIO()
    frame(table, rows).write_parquet(buffer)
    path = f"batch/{table}/{month:%Y-%m}/{name}.parquet"
    landing.write_bytes(path, buffer.getvalue())
    return path


def event(event_type: str, trace_id: str, at: dt.datetime, **payload: Any) -> dict[str, Any]:
    body = {**_PAYLOADS[event_type], **payload}
    return {
        "event_type": event_type,
        "trace_id": trace_id,
        "ingest_timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "schema_version": "1.0",
        "source": "tests",
        "correlation_id": None,
        "partition_key": None,
        "session_id": None,
        "parent_event_id": None,
        "payload": {k: v for k, v in body.items() if v is not None},
    }


def land_events(landing: LandingZone, event_type: str, events: list[dict[str, Any]], batch: str = "batch-0") -> list[str]:
    """File events under the UTC date of their ingest_timestamp, one JSONL file per date."""
    by_day: dict[str, list[str]] = {}
    for e in events:
        by_day.setdefault(e["ingest_timestamp"][:10], []).append(json.dumps(e))
    paths = []
    for day, lines in sorted(by_day.items()):
        path = f"events/{event_type}/{day}/{batch}.jsonl"
        landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
        paths.append(path)
    return paths
