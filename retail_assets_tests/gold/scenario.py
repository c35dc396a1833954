"""Two months of Silver written straight into a lake (no Bronze), for the Gold and serving tests.

January holds the day of ``test_sales`` plus trucks, marketing, inventory, reorders and the rest;
February returns a January receipt, streams inventory movements without balances, and carries an
attribution whose touch was in January. Every Silver fact exists for both months (possibly empty),
as after a full Silver run.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs import REGISTRY, SCD2_COLUMNS, polars_schema, silver_columns
from retail_assets_tests.gold.silver_rows import FEB, JAN, at, empty, silver
from retail_assets_tests.gold.test_operations import IMPRESSIONS, MOVES
from retail_assets_tests.gold.test_sales import LINES, ORDERS, PAYMENTS, RECEIPTS, TRAFFIC
from retail_assets_tests.silver.landed import row

MONTHS = [JAN, FEB]

FACTS: dict[str, list[dict]] = {
    "fact_receipts": [
        *RECEIPTS,
        dict(
            receipt_id="BIG",
            event_ts=at(1, 12, 10),
            store_id=2,
            customer_id=3,
            total_cents=150_000,
            subtotal_cents=140_000,
            gross_subtotal_cents=140_000,
            tax_cents=10_000,
            item_count=1,
        ),
        dict(
            receipt_id="F1",
            event_ts=at(2, 3, 10),
            store_id=1,
            customer_id=2,
            total_cents=2_000,
            subtotal_cents=2_000,
            gross_subtotal_cents=2_000,
            tax_cents=0,
            item_count=2,
        ),
        dict(
            receipt_id="F2",
            event_ts=at(2, 4, 10),
            store_id=1,
            customer_id=None,
            receipt_type="RETURN",
            return_for_receipt_id="R1",
            total_cents=-980,
            subtotal_cents=-900,
            gross_subtotal_cents=-1000,
            discount_cents=-100,
            tax_cents=-80,
            item_count=-3,
        ),
    ],
    "fact_receipt_lines": [
        *LINES,
        dict(
            receipt_id="BIG",
            line_number=1,
            event_ts=at(1, 12, 10),
            product_id=3,
            quantity=1,
            unit_price_cents=140_000,
            ext_price_cents=140_000,
        ),
        dict(
            receipt_id="F1",
            line_number=1,
            event_ts=at(2, 3, 10),
            product_id=2,
            quantity=2,
            unit_price_cents=1_000,
            ext_price_cents=2_000,
        ),
        dict(receipt_id="F2", line_number=1, event_ts=at(2, 4, 10), product_id=1, quantity=-2, ext_price_cents=-600),
        dict(receipt_id="F2", line_number=2, event_ts=at(2, 4, 10), product_id=2, quantity=-1, ext_price_cents=-300),
    ],
    "fact_payments": PAYMENTS,
    "fact_online_order_headers": ORDERS,
    "fact_online_order_lines": [
        dict(
            order_id="O1",
            line_number=1,
            event_ts=at(1, 10, 20),
            quantity=2,
            fulfillment_status="DELIVERED",
            shipped_ts=at(1, 11, 8),
            delivered_ts=at(1, 12, 8),
        ),
    ],
    "fact_foot_traffic": [
        *TRAFFIC,
        # Store 2's checkout normally counts 20 people in the 9 o'clock hour; 80 is four times that.
        *[dict(trace_id=f"normal{d}", event_ts=at(1, d, 9), store_id=2, zone="CHECKOUT", customer_count=20) for d in range(1, 6)],
        dict(trace_id="crowd", event_ts=at(1, 10, 9, 2), store_id=2, zone="CHECKOUT", customer_count=80),
    ],
    "fact_ble_pings": [dict(trace_id="p1", event_ts=at(1, 10, 9)), dict(trace_id="p2", event_ts=at(2, 3, 9))],
    "fact_customer_zone_changes": [dict(trace_id="z1")],
    "fact_marketing": IMPRESSIONS,
    "fact_marketing_attribution": [
        dict(
            attribution_id="A1",
            event_ts=at(2, 2),
            receipt_id="F1",
            customer_id=2,
            campaign_id="C2",
            channel="SEARCH",
            impression_id="I5",
            touch_ts=at(1, 31, 23),
            attributed_revenue_cents=2_000,
            payment_cents=2_000,
            tax_cents=0,
        ),
    ],
    "fact_truck_moves": MOVES,
    "fact_truck_inventory": [dict()],
    "fact_store_inventory_txn": [
        dict(
            trace_id="i1",
            event_ts=at(1, 5),
            store_id=1,
            product_id=1,
            quantity=50,
            balance=50,
            txn_type="INBOUND_SHIPMENT",
        ),
        dict(trace_id="i2", event_ts=at(1, 10, 9), store_id=1, product_id=1, quantity=-3, balance=47),
        dict(trace_id="i3", event_ts=at(1, 10, 9), store_id=1, product_id=2, quantity=-1, balance=0),
        dict(
            trace_id="i4",
            event_ts=at(1, 12, 10),
            store_id=1,
            product_id=2,
            quantity=24,
            balance=24,
            txn_type="INBOUND_SHIPMENT",
        ),
        dict(trace_id="i5", event_ts=at(2, 3, 10), store_id=1, product_id=2, quantity=-2, balance=None),
        dict(
            trace_id="i6", event_ts=at(2, 4, 10), store_id=1, product_id=1, quantity=2, balance=None, txn_type="RETURN"
        ),
        dict(trace_id="i7", event_ts=at(1, 12, 10), store_id=2, product_id=3, quantity=-1, balance=3),
    ],
    "fact_dc_inventory_txn": [
        dict(trace_id="d1", event_ts=at(1, 5), quantity=500, balance=500),
        dict(trace_id="d2", event_ts=at(2, 6), quantity=-40, balance=None, txn_type="OUTBOUND_SHIPMENT", source="S9"),
    ],
    "fact_stockouts": [
        dict(trace_id="s1", event_ts=at(1, 10, 9), store_id=1, product_id=2, last_known_quantity=1),
        dict(trace_id="s2", event_ts=at(1, 12, 11), store_id=2, product_id=3, last_known_quantity=1),
    ],
    "fact_reorders": [
        dict(
            trace_id="r1",
            event_ts=at(1, 11, 4),
            store_id=1,
            product_id=2,
            current_quantity=0,
            reorder_point=10,
            reorder_quantity=24,
        ),
    ],
    "fact_store_ops": [dict(trace_id="o1", event_ts=at(1, 10, 8)), dict(trace_id="o2", event_ts=at(2, 10, 8))],
    "fact_promotions": [dict(receipt_id="R1", promo_code="P10", event_ts=at(1, 10, 9, 0, 5), discount_cents=100)],
    "fact_promo_lines": [dict(receipt_id="R1", line_number=1, promo_code="P10", event_ts=at(1, 10, 9, 0, 5))],
}


def _calendar(first: dt.date, last: dt.date) -> pl.DataFrame:
    days = pl.date_range(first, last, eager=True)
    return (
        pl.DataFrame({"date": days})
        .with_columns(
            (
                pl.col("date").dt.year().cast(pl.Int32) * 10_000
                + pl.col("date").dt.month().cast(pl.Int32) * 100
                + pl.col("date").dt.day().cast(pl.Int32)
            ).alias("date_key"),
            pl.col("date").dt.year().cast(pl.Int32).alias("year"),
            pl.col("date").dt.quarter().cast(pl.Int32).alias("quarter"),
            pl.col("date").dt.month().cast(pl.Int32).alias("month"),
            pl.col("date").dt.strftime("%B").alias("month_name"),
            pl.col("date").dt.day().cast(pl.Int32).alias("day"),
            pl.col("date").dt.weekday().cast(pl.Int32).alias("day_of_week"),
            pl.col("date").dt.strftime("%A").alias("day_name"),
            pl.col("date").dt.week().cast(pl.Int32).alias("week_of_year"),
            (pl.col("date").dt.weekday() >= 6).alias("is_weekend"),
            pl.lit(2024, dtype=pl.Int32).alias("fiscal_year"),
            pl.lit(3, dtype=pl.Int32).alias("fiscal_quarter"),
            pl.lit(None, dtype=pl.String).alias("holiday_name"),
        )
        .select(REGISTRY.table("dim_date").column_names)
    )


def _versions(table: str, rows: list[tuple[dict, dt.datetime, dt.datetime | None]]) -> pl.DataFrame:
    schema = polars_schema(silver_columns(table))
    return pl.DataFrame(
        [
            {**row(table, **attrs), "valid_from": start, "valid_to": end, "is_current": end is None}
            for attrs, start, end in rows
        ],
        schema=schema,
        orient="row",
    )


def dimensions() -> dict[str, pl.DataFrame]:
    def plain(table: str, rows: list[dict]) -> pl.DataFrame:
        return pl.DataFrame([row(table, **r) for r in rows], schema=polars_schema(silver_columns(table)), orient="row")

    jan, feb = at(1, 1, 0), at(2, 1, 0)
    assert [c.name for c in SCD2_COLUMNS] == ["valid_from", "valid_to", "is_current"]
    return {
        "dim_geographies": plain("dim_geographies", [dict(), dict(geography_id=2, city="Dallas")]),
        "dim_distribution_centers": plain("dim_distribution_centers", [dict()]),
        "dim_trucks": plain("dim_trucks", [dict(), dict(truck_id=2, license_plate="XYZ9876")]),
        "dim_products": plain(
            "dim_products",
            [
                dict(),
                dict(product_id=2, product_name="Bread"),
                dict(product_id=3, product_name="TV", department="Electronics", category="TVs"),
            ],
        ),
        "dim_date": _calendar(JAN, dt.date(2024, 2, 29)),
        "dim_stores": _versions(
            "dim_stores",
            [
                (dict(), jan, feb),
                (dict(store_format="superstore"), feb, None),
                (dict(store_id=2, store_number="S000002"), jan, None),
            ],
        ),
        "dim_customers": _versions(
            "dim_customers",
            [
                (dict(), jan, None),
                (dict(customer_id=2, first_name="Alan"), jan, None),
                (dict(customer_id=3, first_name="Grace"), jan, None),
            ],
        ),
    }


def write_silver(lake: LakeStore) -> None:
    for spec in REGISTRY.facts:
        rows = FACTS.get(spec.name)
        frame = silver(spec.name, rows) if rows else empty(spec.name)
        lake.overwrite_months(f"silver/{spec.name}", frame, MONTHS)
    for name, frame in dimensions().items():
        lake.replace(f"silver/{name}", frame)
