"""Hand-made landed data for the scorecard tests: rows typed as their specs, and a month built to be in every band."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

import polars as pl

from retail_assets.lib.generator.output import landing_path, parquet_bytes
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import PARTITION_COLUMN, REGISTRY, polars_schema

JANUARY = dt.date(2024, 1, 1)
UTC = dt.UTC


def rows(
    table: str, records: list[dict[str, Any]], month: dt.date | None = JANUARY, **extra: pl.DataType
) -> pl.DataFrame:
    """``records`` as a frame of ``table``'s spec columns (missing values NULL), plus ``month_start`` when ``month``."""
    schema = {**polars_schema(REGISTRY.table(table).columns), **extra}
    frame = pl.DataFrame([{name: r.get(name) for name in schema} for r in records], schema=schema, orient="row")
    return frame.with_columns(pl.lit(month).alias(PARTITION_COLUMN)) if month else frame


def ts(day: int, hour: int = 12, minute: int = 0, second: int = 0, month: int = 1) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, second, tzinfo=UTC)


# ---- a month of one store that every metric of the scorecard finds in band ----------------------------

ITEM_COUNTS = (2, 3, 4, 5, 6, 8, 10, 12, 16, 24)
PRODUCTS = [
    (1, "Milk", "Grocery"),
    (2, "Bread", "Grocery"),
    (3, "Eggs", "Grocery"),
    (4, "Apples", "Grocery"),
    (5, "Rice", "Grocery"),
    (6, "Coffee", "Grocery"),
    (7, "Soap", "Household"),
    (8, "Paper Towels 2-Pack", "Household"),
    (9, "Detergent", "Household"),
    (10, "Shampoo", "Health & Beauty"),
]
UNIT_PRICE = 400


def _receipts_per_day(day: dt.date) -> int:
    if day.weekday() >= 5:
        return 1300
    return 1050 if day.weekday() == 1 else 1100


def _tender(i: int) -> str:
    k = i % 20
    return "CASH" if k < 3 else "CREDIT_CARD" if k < 10 else "DEBIT_CARD" if k < 18 else "MOBILE_PAY"


def in_band_month(urgent_reorders: int = 3) -> dict[str, pl.DataFrame]:
    """January 2024 at store 1 (America/Chicago: local noon is 18:00 UTC), every table the scorecard reads."""
    receipts, lines, payments, txns, traffic = [], [], [], [], []
    units = Counter()
    i = 0
    for day in range(1, 32):
        date = dt.date(2024, 1, day)
        count = _receipts_per_day(date)
        for n in range(count):
            position = i % 10
            quantity = 300 if i == 3 else ITEM_COUNTS[position]  # one receipt over $1,000 for its alert
            product = PRODUCTS[(i // 10) % 10][0]
            gross = quantity * UNIT_PRICE
            discount = gross // 5 if position in (4, 5, 6) else 0
            total = gross - discount
            rid = f"R{i}"
            at = ts(day, 18, n // 60, n % 60)
            receipts.append(
                dict(
                    receipt_id=rid,
                    event_ts=at,
                    store_id=1,
                    customer_id=1 + i % 6000,
                    receipt_type="SALE",
                    payment_method=_tender(i),
                    item_count=quantity,
                    gross_subtotal_cents=gross,
                    discount_cents=discount,
                    subtotal_cents=total,
                    tax_cents=0,
                    total_cents=total,
                )
            )
            lines.append(
                dict(
                    receipt_id=rid,
                    line_number=1,
                    event_ts=at,
                    product_id=product,
                    quantity=quantity,
                    unit_price_cents=UNIT_PRICE,
                    discount_cents=discount,
                    ext_price_cents=total,
                )
            )
            payments.append(
                dict(
                    transaction_id=f"P{i}",
                    event_ts=at,
                    receipt_id=rid,
                    payment_method=_tender(i),
                    amount_cents=total,
                    processing_time_ms=300,
                    status="APPROVED",
                    store_id=1,
                    customer_id=1 + i % 6000,
                )
            )
            txns.append(
                dict(
                    trace_id=f"T{i}",
                    event_ts=at,
                    store_id=1,
                    product_id=product,
                    quantity=-quantity,
                    txn_type="SALE",
                    source=rid,
                    balance=26_000,
                )
            )
            units[product] += quantity
            i += 1
        for r in range(20):  # returns of household goods: ~2 % of the value, all non-food
            rid = f"RET{day}-{r}"
            at = ts(day, 20, r)
            receipts.append(
                dict(
                    receipt_id=rid,
                    event_ts=at,
                    store_id=1,
                    receipt_type="RETURN",
                    payment_method="CREDIT_CARD",
                    item_count=-10,
                    gross_subtotal_cents=-4000,
                    discount_cents=0,
                    subtotal_cents=-4000,
                    tax_cents=0,
                    total_cents=-4000,
                )
            )
            lines.append(
                dict(
                    receipt_id=rid,
                    line_number=1,
                    event_ts=at,
                    product_id=7,
                    quantity=-10,
                    unit_price_cents=UNIT_PRICE,
                    discount_cents=0,
                    ext_price_cents=-4000,
                )
            )
        traffic.append(
            dict(
                trace_id=f"F{day}",
                event_ts=ts(day, 18),
                store_id=1,
                sensor_id="SENSOR_001_ENTRANCE_MAIN",
                zone="ENTRANCE_MAIN",
                customer_count=int(count * 2.5) * (4 if day == 15 else 1),  # one crowded hour
                dwell_seconds=60,
            )
        )
    top = [p for p, _ in units.most_common(2)]
    stockouts = [
        dict(
            trace_id=f"S{d}",
            event_ts=ts(d, 19),
            store_id=1,
            product_id=top[d % 2],
            last_known_quantity=1,
            lost_sales_units=1_000,
        )
        for d in range(1, 11)
    ]
    orders, order_lines = [], []
    for o in range(1_900):
        mode, node = (("BOPIS", "STORE"), ("SHIP_FROM_DC", "DC"), ("SHIP_FROM_STORE", "STORE"))[
            0 if o % 20 < 9 else 1 if o % 20 < 13 else 2
        ]
        status = "CANCELLED" if o % 50 == 0 else "DELIVERED"
        money = 0 if status == "CANCELLED" else 10_000
        at = ts(1 + o % 31, 15)
        orders.append(
            dict(
                order_id=f"O{o}",
                event_ts=at,
                customer_id=1 + o,
                fulfillment_mode=mode,
                node_type=node,
                node_id=1,
                item_count=2,
                gross_subtotal_cents=money,
                discount_cents=0,
                subtotal_cents=money,
                tax_cents=money // 10,
                total_cents=money + money // 10,
                payment_method="CREDIT_CARD",
                order_status=status,
            )
        )
        order_lines.append(
            dict(
                order_id=f"O{o}",
                line_number=1,
                event_ts=at,
                product_id=1,
                quantity=2,
                unit_price_cents=5_000,
                discount_cents=0,
                ext_price_cents=10_000,
                fulfillment_status=status,
                fulfillment_mode=mode,
                node_type=node,
                node_id=1,
            )
        )
    moves = []
    for d in range(1, 32):
        dwell = 150 if d == 15 else 60  # one stay over the 2-hour SLA
        for status, at in (("ARRIVED", ts(d, 10)), ("COMPLETED", ts(d, 10) + dt.timedelta(minutes=dwell))):
            moves.append(dict(shipment_id=f"SH{d}", status=status, event_ts=at, truck_id=1, dc_id=1, store_id=1))
    impressions = []
    for d in range(1, 32):
        for k in range(1_200 if d == 20 else 400):  # $12 on day 20: over a $10 daily budget
            impressions.append(
                dict(
                    impression_id=f"I{d}-{k}",
                    event_ts=ts(d, 9),
                    channel="DISPLAY",
                    campaign_id="C1",
                    creative_id="CR1",
                    customer_ad_id=f"AD{k}",
                    cost_cents=1,
                    device="MOBILE",
                )
            )
    attribution = [
        dict(
            attribution_id=f"A{k}",
            event_ts=ts(1 + k % 28, 18),
            receipt_id=f"R{k}",
            customer_id=1 + k,
            campaign_id="C1",
            channel="DISPLAY",
            attribution_model="LAST_TOUCH_7D",
            status="ATTRIBUTED",
            attributed_revenue_cents=1_700,
            discount_cents=0,
            tax_cents=0,
            payment_cents=1_700,
        )
        for k in range(40)
    ]
    reorders = [
        dict(
            trace_id=f"RO{k}",
            event_ts=ts(1 + k % 28, 6),
            store_id=1,
            dc_id=1,
            product_id=1 + k % 10,
            current_quantity=5,
            reorder_quantity=50,
            reorder_point=10,
            priority="URGENT" if k < urgent_reorders else "NORMAL",
        )
        for k in range(100)
    ]
    facts = {
        "fact_receipts": rows("fact_receipts", receipts, None),
        "fact_receipt_lines": rows("fact_receipt_lines", lines, None),
        "fact_payments": rows("fact_payments", payments, None),
        "fact_store_inventory_txn": rows("fact_store_inventory_txn", txns, None),
        "fact_foot_traffic": rows("fact_foot_traffic", traffic, None),
        "fact_stockouts": rows("fact_stockouts", stockouts, None, lost_sales_units=pl.Int64),
        "fact_online_order_headers": rows("fact_online_order_headers", orders, None),
        "fact_online_order_lines": rows("fact_online_order_lines", order_lines, None),
        "fact_truck_moves": rows("fact_truck_moves", moves, None),
        "fact_marketing": rows("fact_marketing", impressions, None),
        "fact_marketing_attribution": rows("fact_marketing_attribution", attribution, None),
        "fact_reorders": rows("fact_reorders", reorders, None),
    }
    dims = {
        "dim_stores": rows("dim_stores", [dict(store_id=1, time_zone="America/Chicago")], None),
        "dim_products": rows(
            "dim_products", [dict(product_id=p, product_name=n, department=d) for p, n, d in PRODUCTS], None
        ),
    }
    return {**facts, **dims}


def land(landing: LandingZone, tables: dict[str, pl.DataFrame], month: dt.date = JANUARY) -> None:
    landing.ensure_root()
    for table, frame in tables.items():
        landing.write_bytes(landing_path(table, month), parquet_bytes(frame))
