"""The landed scenario the end-to-end Silver tests run through real Bronze and Silver assets.

January has batch files for all 19 facts and events of all 18 types, with the cases under test:
exact duplicates (R1 twice in a file, R3 sent twice), a conflict (R5 differs between batch and
stream), foreign-key misses (store 99; store 3 before its first version), bad values, routing of
inventory events, picked/shipped updates, a stream-only order. Dimensions have a January and a
February snapshot: store 1 changes format, customer 2 takes over device BLE000001 from customer 1,
store 3 and customer 3 appear. February has receipts and BLE pings only.
"""

from __future__ import annotations

from retail_assets.lib.landing import LandingZone
from retail_assets_tests.silver.landed import FEB, JAN, event, land_batch, land_events, row, ts


def land_dimensions(landing: LandingZone) -> None:
    land_batch(
        landing,
        "dim_geographies",
        JAN,
        [
            row("dim_geographies"),
            row("dim_geographies", geography_id=2, city="Dallas", zip_code="75201"),
            row("dim_geographies", geography_id=3, city="Nowhere", latitude=95.0),  # out of range: quarantined
        ],
    )
    land_batch(
        landing,
        "dim_distribution_centers",
        JAN,
        [
            row("dim_distribution_centers"),
            row("dim_distribution_centers", dc_id=2, dc_number="DC002", geography_id=2),
        ],
    )
    land_batch(
        landing,
        "dim_trucks",
        JAN,
        [
            row("dim_trucks"),
            row("dim_trucks", truck_id=2, license_plate="XYZ9876", fleet="POOL", dc_id=None),
        ],
    )
    land_batch(
        landing,
        "dim_products",
        JAN,
        [
            row("dim_products"),
            row("dim_products", product_id=2, product_name="Bread", requires_refrigeration=False),
            row("dim_products", product_id=3, product_name="TV", department="Electronics", taxability="TAXABLE"),
        ],
    )
    land_batch(landing, "dim_date", JAN, [row("dim_date")])
    land_batch(
        landing,
        "dim_stores",
        JAN,
        [
            row("dim_stores"),
            row("dim_stores", store_id=2, store_number="S000002", geography_id=2),
        ],
    )
    land_batch(
        landing,
        "dim_stores",
        FEB,
        [
            row("dim_stores", store_format="superstore"),
            row("dim_stores", store_id=2, store_number="S000002", geography_id=2),
            row("dim_stores", store_id=3, store_number="S000003"),
        ],
    )
    land_batch(
        landing,
        "dim_customers",
        JAN,
        [
            row("dim_customers"),
            row("dim_customers", customer_id=2, first_name="Alan", ble_id="BLE000002", ad_id="AD000002"),
        ],
    )
    land_batch(
        landing,
        "dim_customers",
        FEB,
        [
            row("dim_customers", ble_id="BLE000009"),
            row("dim_customers", customer_id=2, first_name="Alan", ble_id="BLE000001", ad_id="AD000002"),
            row("dim_customers", customer_id=3, first_name="Grace", ble_id="BLE000003", ad_id="AD000003"),
        ],
    )


def land_january_batch(landing: LandingZone) -> None:
    land_batch(
        landing,
        "fact_receipts",
        JAN,
        [
            row("fact_receipts"),
            row("fact_receipts"),  # exact duplicate
            row("fact_receipts", receipt_id="R2", store_id=2, customer_id=2),
            row("fact_receipts", receipt_id="R5", total_cents=1080),  # the stream says otherwise: conflict
            row("fact_receipts", receipt_id="R6", store_id=99),  # no such store
            row("fact_receipts", receipt_id="R7", store_id=3),  # store 3 has no version before February
            row("fact_receipts", receipt_id="R8", receipt_type="REFUND"),  # not an allowed value
        ],
    )
    land_batch(
        landing,
        "fact_receipt_lines",
        JAN,
        [
            row("fact_receipt_lines"),
            row("fact_receipt_lines", line_number=2, product_id=2),
        ],
    )
    land_batch(
        landing,
        "fact_payments",
        JAN,
        [
            row("fact_payments"),
            row("fact_payments", transaction_id="TXN9", order_id="O1"),  # both a receipt and an order
        ],
    )
    land_batch(landing, "fact_store_inventory_txn", JAN, [row("fact_store_inventory_txn")])
    land_batch(landing, "fact_dc_inventory_txn", JAN, [row("fact_dc_inventory_txn")])
    land_batch(landing, "fact_truck_moves", JAN, [row("fact_truck_moves")])
    land_batch(
        landing,
        "fact_truck_inventory",
        JAN,
        [
            row("fact_truck_inventory"),
            row("fact_truck_inventory", action="UNLOAD", location_type="STORE", location_id=1, event_ts=ts(10, 15)),
        ],
    )
    land_batch(landing, "fact_foot_traffic", JAN, [row("fact_foot_traffic")])
    land_batch(landing, "fact_ble_pings", JAN, [row("fact_ble_pings")])
    land_batch(landing, "fact_customer_zone_changes", JAN, [row("fact_customer_zone_changes")])
    land_batch(landing, "fact_marketing", JAN, [row("fact_marketing")])
    land_batch(landing, "fact_online_order_headers", JAN, [row("fact_online_order_headers")])
    land_batch(
        landing,
        "fact_online_order_lines",
        JAN,
        [
            row("fact_online_order_lines"),
            row(
                "fact_online_order_lines", line_number=2, product_id=2, node_type="DC", node_id=1, fulfillment_mode="SHIP_FROM_DC"
            ),
        ],
    )
    land_batch(landing, "fact_store_ops", JAN, [row("fact_store_ops")])
    land_batch(
        landing,
        "fact_stockouts",
        JAN,
        [
            row("fact_stockouts"),
            row("fact_stockouts", trace_id="SO2", dc_id=1),  # both a store and a DC
        ],
    )
    land_batch(landing, "fact_promotions", JAN, [row("fact_promotions")])
    land_batch(landing, "fact_promo_lines", JAN, [row("fact_promo_lines")])
    land_batch(landing, "fact_reorders", JAN, [row("fact_reorders")])
    land_batch(landing, "fact_marketing_attribution", JAN, [row("fact_marketing_attribution")])


def land_january_events(landing: LandingZone) -> None:
    t = ts(10, 12)
    land_events(
        landing,
        "receipt_created",
        [
            event(
                "receipt_created",
                "rc-3",
                t,
                subtotal_cents=1000,
                tax_cents=80,
                total_cents=1080,
                discount_cents=150,
                gross_subtotal_cents=1150,
                campaign_id="CAMP1",
            ),
            event(
                "receipt_created",
                "rc-3-again",
                t,
                subtotal_cents=1000,
                tax_cents=80,
                total_cents=1080,
                discount_cents=150,
                gross_subtotal_cents=1150,
                campaign_id="CAMP1",
            ),  # same receipt, new trace id: exact duplicate
            event("receipt_created", "rc-4", t, receipt_id="R4", subtotal=1.005, tax=0.08, total=1.085, tender_type="MOBILE_PAY"),
            event("receipt_created", "rc-5", t, receipt_id="R5", subtotal=10.0, tax=0.8, total=99.99),
        ],
    )
    land_events(
        landing,
        "receipt_line_added",
        [
            event("receipt_line_added", "rl-3", t, unit_price=2.5, quantity=2, extended_price=4.5, promo_code="PROMO20"),
        ],
    )
    land_events(landing, "payment_processed", [event("payment_processed", "pay-3", t)])
    land_events(
        landing,
        "inventory_updated",
        [
            event("inventory_updated", "inv-store", t),
            event("inventory_updated", "inv-both", t, dc_id=1),  # names two nodes: quarantined by the store fact
            event(
                "inventory_updated",
                "inv-dc",
                t,
                store_id=None,
                dc_id=1,
                quantity_delta=-40,
                reason="OUTBOUND_SHIPMENT",
                source="SHIP1",
            ),
            event("inventory_updated", "inv-none", t, store_id=None, source=None),  # names no node: quarantined by the DC fact
        ],
    )
    land_events(landing, "stockout_detected", [event("stockout_detected", "so-3", t)])
    land_events(landing, "reorder_triggered", [event("reorder_triggered", "ro-3", t)])
    land_events(landing, "customer_entered", [event("customer_entered", "ce-3", t)])
    land_events(landing, "customer_zone_changed", [event("customer_zone_changed", "zc-3", t)])
    land_events(
        landing,
        "ble_ping_detected",
        [
            event("ble_ping_detected", "bp-known", t),
            event("ble_ping_detected", "bp-anon", t, customer_ble_id="ANON-1-000001"),
        ],
    )
    land_events(
        landing,
        "truck_arrived",
        [
            event("truck_arrived", "ta-1", t),
            event("truck_arrived", "ta-bad", t, truck_id="TRK9", shipment_id="SHIP2"),  # not a numeric truck id
        ],
    )
    land_events(landing, "truck_departed", [event("truck_departed", "td-1", t)])
    land_events(
        landing,
        "store_opened",
        [
            event("store_opened", "open-1", t),
            event("store_opened", "open-bad", t, operation_type="closed", operation_time="2024-01-12T08:00:00Z"),
        ],
    )
    land_events(landing, "store_closed", [event("store_closed", "close-1", t)])
    land_events(
        landing,
        "ad_impression",
        [
            event("ad_impression", "ad-3", t),
            event("ad_impression", "ad-4", t, impression_id="IMP4", customer_id=2),
        ],
    )
    land_events(
        landing,
        "promotion_applied",
        [
            event("promotion_applied", "pr-3", t),
            event("promotion_applied", "pr-4", t, receipt_id="R4", promo_code="PROMO5", product_ids=[1, 999]),
        ],
    )
    land_events(landing, "online_order_created", [event("online_order_created", "oc-3", t)])
    land_events(
        landing,
        "online_order_picked",
        [
            event("online_order_picked", "pk-1", ts(10, 16)),
            event("online_order_picked", "pk-1-again", ts(10, 16)),  # same step, new trace id: exact duplicate
            event("online_order_picked", "pk-3", ts(10, 16), order_id="O3", node_type="DC", fulfillment_mode="SHIP_FROM_DC"),
        ],
    )
    land_events(landing, "online_order_shipped", [event("online_order_shipped", "sh-1", ts(11, 9))])


def land_february(landing: LandingZone) -> None:
    land_batch(
        landing,
        "fact_receipts",
        FEB,
        [
            row("fact_receipts", receipt_id="R10", event_ts=ts(5, month=2)),
            row("fact_receipts", receipt_id="R11", store_id=3, event_ts=ts(5, month=2)),
        ],
    )
    land_batch(landing, "fact_ble_pings", FEB, [row("fact_ble_pings", trace_id="BP20", event_ts=ts(5, month=2), customer_id=2)])
    land_events(landing, "ble_ping_detected", [event("ble_ping_detected", "bp-feb", ts(5, month=2))])


def land_all(landing: LandingZone) -> None:
    land_dimensions(landing)
    land_january_batch(landing)
    land_january_events(landing)
    land_february(landing)
