"""Sales KPIs and the seed 002 marts, as plain functions over a small day of Silver rows."""

from __future__ import annotations

import pytest

from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.pipeline import build_month
from retail_assets.lib.gold.specs import gold_table
from retail_assets_tests.gold.silver_rows import FEB, JAN, at, inputs

RECEIPTS = [
    dict(
        receipt_id="R1",
        event_ts=at(1, 10, 9, 0, 5),
        store_id=1,
        customer_id=1,
        item_count=3,
        subtotal_cents=900,
        discount_cents=100,
        gross_subtotal_cents=1000,
        tax_cents=80,
        total_cents=980,
        payment_method="CASH",
    ),
    dict(
        receipt_id="R2",
        event_ts=at(1, 10, 9, 0, 40),
        store_id=1,
        customer_id=2,
        item_count=1,
        subtotal_cents=500,
        gross_subtotal_cents=500,
        discount_cents=0,
        tax_cents=40,
        total_cents=540,
        payment_method="CREDIT_CARD",
    ),
    dict(
        receipt_id="R3",
        event_ts=at(1, 10, 15),
        store_id=2,
        customer_id=None,
        item_count=2,
        subtotal_cents=700,
        gross_subtotal_cents=700,
        discount_cents=0,
        tax_cents=56,
        total_cents=756,
        payment_method="CREDIT_CARD",
    ),
    dict(
        receipt_id="X1",
        event_ts=at(1, 10, 16),
        store_id=1,
        customer_id=None,
        receipt_type="RETURN",
        return_for_receipt_id="R2",
        item_count=-1,
        subtotal_cents=-500,
        gross_subtotal_cents=-500,
        discount_cents=0,
        tax_cents=-40,
        total_cents=-540,
        payment_method="CREDIT_CARD",
    ),
]
LINES = [
    dict(receipt_id="R1", line_number=1, event_ts=at(1, 10, 9, 0, 5), product_id=1, quantity=2, ext_price_cents=600),
    dict(receipt_id="R1", line_number=2, event_ts=at(1, 10, 9, 0, 5), product_id=2, quantity=1, ext_price_cents=300),
    dict(receipt_id="R2", line_number=1, event_ts=at(1, 10, 9, 0, 40), product_id=1, quantity=1, ext_price_cents=500),
    dict(receipt_id="X1", line_number=1, event_ts=at(1, 10, 16), product_id=1, quantity=-1, ext_price_cents=-500),
]
ORDERS = [
    dict(
        order_id="O1",
        event_ts=at(1, 10, 20),
        customer_id=1,
        item_count=2,
        subtotal_cents=2000,
        tax_cents=160,
        total_cents=2160,
        discount_cents=0,
        gross_subtotal_cents=2000,
    ),
    dict(
        order_id="O2",
        event_ts=at(1, 10, 21),
        customer_id=3,
        item_count=1,
        order_status="CANCELLED",
        subtotal_cents=0,
        tax_cents=0,
        total_cents=0,
        discount_cents=0,
        gross_subtotal_cents=0,
    ),
]
PAYMENTS = [
    dict(transaction_id="P1", event_ts=at(1, 10, 9, 1), receipt_id="R1", payment_method="CASH", amount_cents=980),
    dict(
        transaction_id="P2", event_ts=at(1, 10, 9, 41), receipt_id="R2", payment_method="CREDIT_CARD", amount_cents=540
    ),
    dict(
        transaction_id="P3",
        event_ts=at(1, 10, 9, 40),
        receipt_id="R2",
        payment_method="CREDIT_CARD",
        amount_cents=540,
        status="DECLINED",
        decline_reason="CARD_EXPIRED",
    ),
    dict(
        transaction_id="P4",
        event_ts=at(1, 10, 20),
        receipt_id=None,
        order_id="O1",
        store_id=None,
        payment_method="CREDIT_CARD",
        amount_cents=2160,
    ),
]
TRAFFIC = [
    dict(trace_id="t1", event_ts=at(1, 10, 9), store_id=1, zone="ENTRANCE_MAIN", customer_count=8),
    dict(trace_id="t2", event_ts=at(1, 10, 9), store_id=1, zone="ENTRANCE_SIDE", customer_count=2),
    dict(trace_id="t3", event_ts=at(1, 10, 9), store_id=1, zone="CHECKOUT", customer_count=30),
]


def _day() -> dict:
    return dict(
        fact_receipts=RECEIPTS,
        fact_receipt_lines=LINES,
        fact_online_order_headers=ORDERS,
        fact_payments=PAYMENTS,
        fact_foot_traffic=TRAFFIC,
        fact_stockouts=[dict(trace_id="s1", event_ts=at(1, 10, 13), store_id=1)],
    )


def _rows(table: str, month=JAN, **facts) -> list[dict]:
    inp = inputs(month, **(facts or _day()))
    rows = build_month(inp, gold_table(table))
    balances = BUILDERS[table].reconcile(inp, rows.lazy())
    assert all(b.holds for b in balances), balances
    return rows.to_dicts()


def test_sales_minute_store_is_the_twin_with_returns_negative() -> None:
    rows = {(r["store_id"], r["ts"]): r for r in _rows("sales_minute_store")}
    assert rows[(1, at(1, 10, 9))]["total_sales_cents"] == 980 + 540
    assert rows[(1, at(1, 10, 9))]["avg_basket_cents"] == 760
    assert rows[(1, at(1, 10, 16))]["total_sales_cents"] == -540
    assert rows[(1, at(1, 10, 9))]["date_key"] == 20240110


def test_top_products_bins_15_minutes() -> None:
    rows = {(r["product_id"], r["ts"]): (r["revenue_cents"], r["units"]) for r in _rows("top_products_15m")}
    assert rows[(1, at(1, 10, 9))] == (1100, 3)  # R1 and R2, both in 09:00-09:15
    assert rows[(2, at(1, 10, 9))] == (300, 1)
    assert rows[(1, at(1, 10, 16))] == (-500, -1)


def test_daily_sales_by_channel() -> None:
    rows = {r["channel"]: r for r in _rows("daily_sales_by_channel")}
    store, online = rows["STORE"], rows["ONLINE"]
    assert (store["orders"], store["units"], store["unique_customers"]) == (3, 6, 2)
    assert (store["sales_cents"], store["discount_cents"], store["tax_cents"]) == (980 + 540 + 756, 100, 176)
    assert (store["returns"], store["returned_units"], store["refund_cents"]) == (1, 1, 540)
    assert store["net_sales_cents"] == 980 + 540 + 756 - 540
    assert store["avg_order_value_cents"] == (980 + 540 + 756) // 3
    assert store["return_rate"] == pytest.approx(1 / 3)
    assert (online["orders"], online["sales_cents"], online["returns"], online["unique_customers"]) == (1, 2160, 0, 1)


def test_product_returns_split_sales_and_returns() -> None:
    rows = {r["product_id"]: r for r in _rows("product_returns_daily")}
    one = rows[1]
    assert (one["units_sold"], one["units_returned"], one["sales_cents"], one["refund_cents"]) == (3, 1, 1100, 500)
    assert (one["sale_lines"], one["return_lines"]) == (2, 1)
    assert one["return_rate"] == pytest.approx(1 / 3)
    assert rows[2]["return_rate"] == 0


def test_payments_and_refunds_by_channel_and_tender() -> None:
    rows = {(r["channel"], r["payment_method"]): r for r in _rows("payments_refunds_daily")}
    card = rows[("STORE", "CREDIT_CARD")]
    assert (card["payments"], card["approved"], card["declined"]) == (2, 1, 1)
    assert (card["approved_cents"], card["declined_cents"], card["approval_rate"]) == (540, 540, 0.5)
    assert (card["refunds"], card["refund_cents"]) == (1, 540)
    assert rows[("ONLINE", "CREDIT_CARD")]["approved_cents"] == 2160
    assert rows[("STORE", "CASH")]["refunds"] == 0


def test_tender_mix_and_online_sales() -> None:
    tender = {r["payment_method"]: (r["transactions"], r["total_cents"]) for r in _rows("tender_mix_daily")}
    assert tender == {"CASH": (1, 980), "CREDIT_CARD": (3, 540 + 756 - 540)}
    (online,) = _rows("online_sales_daily")
    assert (online["orders"], online["cancelled_orders"], online["total_cents"], online["avg_order_value_cents"]) == (
        1,
        1,
        2160,
        2160,
    )


def test_store_performance_day() -> None:
    rows = {r["store_id"]: r for r in _rows("store_performance_daily")}
    one = rows[1]
    assert (one["sales_receipts"], one["return_receipts"], one["units_sold"]) == (2, 1, 4)
    assert (one["sales_cents"], one["returns_cents"], one["net_sales_cents"]) == (1520, 540, 980)
    assert (one["avg_basket_cents"], one["visitors"], one["stockouts"]) == (760, 10, 1)
    assert one["conversion_rate"] == pytest.approx(0.2)
    assert rows[2]["conversion_rate"] is None  # no sensor counts at store 2


def test_promotion_effectiveness_compares_with_baskets_without_promotion() -> None:
    promotions = [dict(receipt_id="R1", promo_code="P10", event_ts=at(1, 10, 9, 0, 5), discount_cents=100)]
    (row,) = _rows("promotion_effectiveness_daily", fact_promotions=promotions, fact_receipts=RECEIPTS)
    assert (row["redemptions"], row["discount_cents"], row["promo_basket_sales_cents"]) == (1, 100, 900)
    assert (row["avg_promo_basket_cents"], row["avg_other_basket_cents"]) == (900, 600)  # R2, R3: (500 + 700) / 2
    assert row["basket_lift"] == pytest.approx(0.5)
    assert row["promo_depth"] == pytest.approx(0.1)


def test_customer_lifetime_value_grows_from_the_previous_snapshot() -> None:
    january = inputs(JAN, fact_receipts=RECEIPTS, fact_online_order_headers=ORDERS)
    jan = build_month(january, gold_table("customer_lifetime_value"))
    by_customer = {r["customer_id"]: r for r in jan.iter_rows(named=True)}
    # Customer 2's return names no customer: credited through the original receipt R2.
    assert (
        by_customer[2]["gross_sales_cents"],
        by_customer[2]["refund_cents"],
        by_customer[2]["lifetime_value_cents"],
    ) == (
        540,
        540,
        0,
    )
    assert (by_customer[1]["orders"], by_customer[1]["store_orders"], by_customer[1]["online_orders"]) == (2, 1, 1)
    assert 3 not in by_customer  # a cancelled order is no purchase
    february = [
        dict(receipt_id="F1", event_ts=at(2, 3), customer_id=1, total_cents=1000),
        # Returns R1 (January): credited to customer 1 through last month's receipt.
        dict(
            receipt_id="F2",
            event_ts=at(2, 4),
            customer_id=None,
            receipt_type="RETURN",
            return_for_receipt_id="R1",
            total_cents=-980,
            item_count=-3,
        ),
    ]
    both = [*RECEIPTS, *february]
    feb_inputs = inputs(FEB, previous=jan.drop("month_start"), fact_receipts=both)
    feb = {
        r["customer_id"]: r
        for r in build_month(feb_inputs, gold_table("customer_lifetime_value")).iter_rows(named=True)
    }
    one = feb[1]
    assert (one["orders"], one["gross_sales_cents"], one["refund_cents"]) == (3, 980 + 2160 + 1000, 980)
    assert (one["first_purchase_ts"], one["last_purchase_ts"]) == (at(1, 10, 9, 0, 5), at(2, 3))
    assert one["avg_order_value_cents"] == (980 + 2160 + 1000) // 3
    assert feb[2] == {**by_customer[2], "month_start": FEB}
    balances = BUILDERS["customer_lifetime_value"].reconcile(
        feb_inputs, build_month(feb_inputs, gold_table("customer_lifetime_value")).lazy()
    )
    assert all(b.holds for b in balances), balances
