"""fn_marketing_attribution() and the stockout queryset do what their documentation says (run on DuckDB)."""

from __future__ import annotations

import pytest

from retail_assets_tests.kql.engine import ago, database, events, query_of, run


@pytest.fixture(scope="module")
def shop_db():
    purchase = {"customer_id": 1, "subtotal": 10.0, "tax": 0.8, "total": 10.8, "tender_type": "CASH", "item_count": 1}
    receipts = [
        # Names its impression: credited to it, although the customer's latest touch is another one.
        {**purchase, "receipt_id": "R_BY_ID", "customer_id": 1, "impression_id": "I_A",
         "ingest_timestamp": ago(hours=1)},
        # No impression named: the customer's latest touch within 7 days.
        {**purchase, "receipt_id": "R_LAST_TOUCH", "customer_id": 2, "subtotal_cents": 1001,
         "ingest_timestamp": ago(hours=1)},
        # Names a campaign: the latest touch of that campaign, not the customer's latest touch.
        {**purchase, "receipt_id": "R_CAMPAIGN", "customer_id": 2, "campaign_id": "C_OLD",
         "ingest_timestamp": ago(hours=1)},
        # The only touch is 8 days old: not attributed.
        {**purchase, "receipt_id": "R_TOO_LATE", "customer_id": 3, "ingest_timestamp": ago(hours=1)},
        # Names an impression made after the purchase: falls back to the customer's touches (none).
        {**purchase, "receipt_id": "R_FUTURE_ID", "customer_id": 4, "impression_id": "I_LATER",
         "ingest_timestamp": ago(days=2)},
    ]
    orders = [{"order_id": "O_LAST_TOUCH", "customer_id": 2, "fulfillment_mode": "BOPIS", "node_type": "STORE",
               "node_id": 1, "item_count": 1, "subtotal": 20.0, "tax": 1.0, "total": 21.0, "tender_type": "CASH",
               "ingest_timestamp": ago(minutes=30)}]
    impressions = [
        {"impression_id": "I_A", "campaign_id": "C_A", "customer_id": None, "ingest_timestamp": ago(days=3)},
        {"impression_id": "I_B", "campaign_id": "C_B", "customer_id": 1, "ingest_timestamp": ago(hours=2)},
        {"impression_id": "I_NEW", "campaign_id": "C_NEW", "customer_id": 2, "ingest_timestamp": ago(hours=3)},
        {"impression_id": "I_OLD", "campaign_id": "C_OLD", "customer_id": 2, "ingest_timestamp": ago(days=5)},
        {"impression_id": "I_EXPIRED", "campaign_id": "C_A", "customer_id": 3, "ingest_timestamp": ago(days=8)},
        {"impression_id": "I_LATER", "campaign_id": "C_A", "customer_id": None, "ingest_timestamp": ago(days=1)},
    ]
    impressions = [{"channel": "EMAIL", "creative_id": "X", "customer_ad_id": "A", "cost": 1.0,
                    "device_type": "MOBILE", **i} for i in impressions]
    stockouts = [
        {"store_id": store, "dc_id": dc, "product_id": product, "last_known_quantity": 1,
         "detection_time": ago(hours=hours), "ingest_timestamp": ago(hours=hours)}
        for store, dc, product, hours in ((1, None, 10, 2), (1, None, 11, 2), (1, None, 12, 30), (None, 3, 13, 1))
    ]
    movements = [  # product 10 is restocked after its stockout; product 11 only sells again
        {"store_id": 1, "product_id": product, "quantity_delta": delta, "reason": reason, "ingest_timestamp": ago(hours=1)}
        for product, delta, reason in ((10, 24, "INBOUND_SHIPMENT"), (11, -1, "SALE"))
    ]
    con = database({
        "receipt_created": events("receipt_created", receipts),
        "online_order_created": events("online_order_created", orders),
        "ad_impression": events("ad_impression", impressions),
        "stockout_detected": events("stockout_detected", stockouts),
        "inventory_updated": events("inventory_updated", movements),
    })
    yield con
    con.close()


def test_marketing_attribution_last_touch_within_7_days(shop_db, validation) -> None:
    rows = run(shop_db, "fn_marketing_attribution()", validation)
    credited = {r["purchase_id"]: (r["impression_id"], r["campaign_id"], r["attribution_rule"]) for r in rows.to_dicts()}
    assert credited == {
        "R_BY_ID": ("I_A", "C_A", "IMPRESSION_ID"),
        "R_LAST_TOUCH": ("I_NEW", "C_NEW", "CUSTOMER_LAST_TOUCH"),
        "R_CAMPAIGN": ("I_OLD", "C_OLD", "CUSTOMER_LAST_TOUCH"),
        "O_LAST_TOUCH": ("I_NEW", "C_NEW", "CUSTOMER_LAST_TOUCH"),
    }
    by_id = {r["purchase_id"]: r for r in rows.to_dicts()}
    assert by_id["R_LAST_TOUCH"]["revenue_cents"] == 1001  # the receipt's own cents win over its dollars
    assert by_id["R_BY_ID"]["revenue_cents"] == 1000 and by_id["R_BY_ID"]["total_cents"] == 1080
    assert by_id["R_LAST_TOUCH"]["lag_seconds"] == 2 * 3600
    assert by_id["O_LAST_TOUCH"]["purchase_type"] == "ONLINE_ORDER"


def test_marketing_attribution_window_is_a_parameter(shop_db, validation) -> None:
    rows = run(shop_db, "fn_marketing_attribution(4h)", validation)
    credited = {r["purchase_id"]: (r["impression_id"], r["attribution_rule"]) for r in rows.to_dicts()}
    # R_BY_ID's own impression is 3 days old: outside 4 hours, so the customer's last touch counts.
    assert credited == {
        "R_BY_ID": ("I_B", "CUSTOMER_LAST_TOUCH"),
        "R_LAST_TOUCH": ("I_NEW", "CUSTOMER_LAST_TOUCH"),
        "O_LAST_TOUCH": ("I_NEW", "CUSTOMER_LAST_TOUCH"),
    }


def test_open_stockouts_leave_out_restocked_and_old_ones(shop_db, committed, validation) -> None:
    rows = run(shop_db, query_of(committed["querysets/q_stockouts_open_by_store.kql"]), validation)
    assert rows.select("store_id", "product_id").rows() == [(1, 11)]
