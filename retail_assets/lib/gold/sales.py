"""Store and online sales KPIs and the seed 002 sales marts (formulas in lib/gold/specs.py)."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, count_rows, floor_ratio, share, total, utc_day, with_calendar
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import SALES_MINUTE_STORE, TOP_PRODUCTS_15M

SALE = pl.col("receipt_type") == "SALE"
RETURN = pl.col("receipt_type") == "RETURN"
NOT_CANCELLED = pl.col("order_status") != "CANCELLED"


# ---- sales_minute_store, top_products_15m: the Eventhouse twins ---------------------------------


def sales_minute_store(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(SALES_MINUTE_STORE.polars(inp.this_month("fact_receipts")), "ts", inp.month)


def reconcile_sales_minute_store(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts").filter(pl.col("store_id").is_not_null())
    return [
        Balance("total_sales_cents", total(gold, pl.col("total_sales_cents")), total(receipts, pl.col("total_cents"))),
        Balance("receipts", total(gold, pl.col("receipts")), count_rows(receipts)),
    ]


def top_products_15m(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TOP_PRODUCTS_15M.polars(inp.this_month("fact_receipt_lines")), "ts", inp.month)


def reconcile_top_products_15m(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    lines = inp.this_month("fact_receipt_lines")
    return [
        Balance("revenue_cents", total(gold, pl.col("revenue_cents")), total(lines, pl.col("ext_price_cents"))),
        Balance("units", total(gold, pl.col("units")), total(lines, pl.col("quantity"))),
    ]


# ---- online_sales_daily --------------------------------------------------------------------------


def online_sales_daily(inp: GoldInputs) -> pl.LazyFrame:
    orders = inp.this_month("fact_online_order_headers")
    daily = orders.group_by(utc_day("event_ts").alias("day")).agg(
        NOT_CANCELLED.sum().cast(pl.Int64).alias("orders"),
        (~NOT_CANCELLED).sum().cast(pl.Int64).alias("cancelled_orders"),
        pl.col("subtotal_cents").sum().cast(pl.Int64),
        pl.col("tax_cents").sum().cast(pl.Int64),
        pl.col("total_cents").sum().cast(pl.Int64),
    )
    return with_calendar(
        daily.with_columns(floor_ratio("total_cents", "orders").alias("avg_order_value_cents")), "day", inp.month
    )


def reconcile_online_sales_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    orders = inp.this_month("fact_online_order_headers")
    return [
        *(
            Balance(c, total(gold, pl.col(c)), total(orders, pl.col(c)))
            for c in ("subtotal_cents", "tax_cents", "total_cents")
        ),
        Balance("orders", total(gold, pl.col("orders") + pl.col("cancelled_orders")), count_rows(orders)),
    ]


# ---- tender_mix_daily ----------------------------------------------------------------------------


def tender_mix_daily(inp: GoldInputs) -> pl.LazyFrame:
    receipts = inp.this_month("fact_receipts")
    daily = receipts.group_by(utc_day("event_ts").alias("day"), "payment_method").agg(
        pl.len().cast(pl.Int64).alias("transactions"), pl.col("total_cents").sum().cast(pl.Int64)
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_tender_mix_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    return [
        Balance("transactions", total(gold, pl.col("transactions")), count_rows(receipts)),
        Balance("total_cents", total(gold, pl.col("total_cents")), total(receipts, pl.col("total_cents"))),
    ]


# ---- daily_sales_by_channel (seed 002 agg_daily_sales) --------------------------------------------


def _channel_day(frame: pl.LazyFrame, channel: str, sales: pl.Expr, returns: pl.Expr) -> pl.LazyFrame:
    return frame.group_by(utc_day("event_ts").alias("day")).agg(
        pl.lit(channel).alias("channel"),
        sales.sum().cast(pl.Int64).alias("orders"),
        pl.col("item_count").filter(sales).sum().cast(pl.Int64).alias("units"),
        pl.col("customer_id").filter(sales).drop_nulls().n_unique().cast(pl.Int64).alias("unique_customers"),
        pl.col("total_cents").filter(sales).sum().cast(pl.Int64).alias("sales_cents"),
        pl.col("discount_cents").filter(sales).sum().cast(pl.Int64).alias("discount_cents"),
        pl.col("tax_cents").filter(sales).sum().cast(pl.Int64).alias("tax_cents"),
        returns.sum().cast(pl.Int64).alias("returns"),
        (-pl.col("item_count").filter(returns).sum()).cast(pl.Int64).alias("returned_units"),
        (-pl.col("total_cents").filter(returns).sum()).cast(pl.Int64).alias("refund_cents"),
    )


def daily_sales_by_channel(inp: GoldInputs) -> pl.LazyFrame:
    store = _channel_day(inp.this_month("fact_receipts"), "STORE", SALE, RETURN)
    online = _channel_day(inp.this_month("fact_online_order_headers"), "ONLINE", NOT_CANCELLED, pl.lit(False))
    daily = pl.concat([store, online]).with_columns(
        (pl.col("sales_cents") - pl.col("refund_cents")).alias("net_sales_cents"),
        floor_ratio("sales_cents", "orders").alias("avg_order_value_cents"),
        share("returns", "orders").alias("return_rate"),
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_daily_sales_by_channel(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    orders = inp.this_month("fact_online_order_headers")
    store = gold.filter(pl.col("channel") == "STORE")
    online = gold.filter(pl.col("channel") == "ONLINE")
    return [
        Balance(
            "store_net_sales_cents", total(store, pl.col("net_sales_cents")), total(receipts, pl.col("total_cents"))
        ),
        Balance("store_receipts", total(store, pl.col("orders") + pl.col("returns")), count_rows(receipts)),
        Balance("online_sales_cents", total(online, pl.col("sales_cents")), total(orders, pl.col("total_cents"))),
        Balance("online_orders", total(online, pl.col("orders")), count_rows(orders.filter(NOT_CANCELLED))),
    ]


# ---- product_returns_daily (seed 002 §9.3) ----------------------------------------------------------


def product_returns_daily(inp: GoldInputs) -> pl.LazyFrame:
    lines = inp.this_month("fact_receipt_lines")
    sold, returned = pl.col("quantity") > 0, pl.col("quantity") < 0
    daily = lines.group_by(utc_day("event_ts").alias("day"), "product_id").agg(
        pl.col("quantity").filter(sold).sum().cast(pl.Int64).alias("units_sold"),
        (-pl.col("quantity").filter(returned).sum()).cast(pl.Int64).alias("units_returned"),
        sold.sum().cast(pl.Int64).alias("sale_lines"),
        returned.sum().cast(pl.Int64).alias("return_lines"),
        pl.col("ext_price_cents").filter(sold).sum().cast(pl.Int64).alias("sales_cents"),
        (-pl.col("ext_price_cents").filter(returned).sum()).cast(pl.Int64).alias("refund_cents"),
    )
    return with_calendar(
        daily.with_columns(share("units_returned", "units_sold").alias("return_rate")), "day", inp.month
    )


def reconcile_product_returns_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    lines = inp.this_month("fact_receipt_lines")
    return [
        Balance(
            "net_line_cents",
            total(gold, pl.col("sales_cents") - pl.col("refund_cents")),
            total(lines, pl.col("ext_price_cents")),
        ),
        Balance(
            "net_units", total(gold, pl.col("units_sold") - pl.col("units_returned")), total(lines, pl.col("quantity"))
        ),
    ]


# ---- payments_refunds_daily (seed 002 fact_payment) -------------------------------------------------


def payments_refunds_daily(inp: GoldInputs) -> pl.LazyFrame:
    payments = inp.this_month("fact_payments")
    approved = pl.col("status") == "APPROVED"
    channel = pl.when(pl.col("receipt_id").is_not_null()).then(pl.lit("STORE")).otherwise(pl.lit("ONLINE"))
    authorised = payments.group_by(utc_day("event_ts").alias("day"), channel.alias("channel"), "payment_method").agg(
        pl.len().cast(pl.Int64).alias("payments"),
        approved.sum().cast(pl.Int64).alias("approved"),
        (~approved).sum().cast(pl.Int64).alias("declined"),
        pl.col("amount_cents").filter(approved).sum().cast(pl.Int64).alias("approved_cents"),
        pl.col("amount_cents").filter(~approved).sum().cast(pl.Int64).alias("declined_cents"),
    )
    refunds = (
        inp.this_month("fact_receipts")
        .filter(RETURN)
        .group_by(utc_day("event_ts").alias("day"), pl.lit("STORE").alias("channel"), "payment_method")
        .agg(
            pl.len().cast(pl.Int64).alias("refunds"),
            (-pl.col("total_cents").sum()).cast(pl.Int64).alias("refund_cents"),
        )
    )
    keys = ["day", "channel", "payment_method"]
    daily = authorised.join(refunds, on=keys, how="full", coalesce=True).with_columns(
        pl.col(
            "payments", "approved", "declined", "approved_cents", "declined_cents", "refunds", "refund_cents"
        ).fill_null(0)
    )
    return with_calendar(daily.with_columns(share("approved", "payments").alias("approval_rate")), "day", inp.month)


def reconcile_payments_refunds_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    payments = inp.this_month("fact_payments")
    returns = inp.this_month("fact_receipts").filter(RETURN)
    return [
        Balance(
            "amount_cents",
            total(gold, pl.col("approved_cents") + pl.col("declined_cents")),
            total(payments, pl.col("amount_cents")),
        ),
        Balance("payments", total(gold, pl.col("payments")), count_rows(payments)),
        Balance("refunds", total(gold, pl.col("refunds")), count_rows(returns)),
    ]


# ---- store_performance_daily (defined here) ---------------------------------------------------------

ENTRANCES = ("ENTRANCE_MAIN", "ENTRANCE_SIDE")


def store_performance_daily(inp: GoldInputs) -> pl.LazyFrame:
    keys = ["day", "store_id"]
    sales = (
        inp.this_month("fact_receipts")
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(
            SALE.sum().cast(pl.Int64).alias("sales_receipts"),
            RETURN.sum().cast(pl.Int64).alias("return_receipts"),
            pl.col("item_count").filter(SALE).sum().cast(pl.Int64).alias("units_sold"),
            pl.col("total_cents").filter(SALE).sum().cast(pl.Int64).alias("sales_cents"),
            (-pl.col("total_cents").filter(RETURN).sum()).cast(pl.Int64).alias("returns_cents"),
        )
    )
    visitors = (
        inp.this_month("fact_foot_traffic")
        .filter(pl.col("zone").is_in(ENTRANCES))
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(pl.col("customer_count").sum().cast(pl.Int64).alias("visitors"))
    )
    stockouts = (
        inp.this_month("fact_stockouts")
        .filter(pl.col("store_id").is_not_null())
        .group_by(utc_day("event_ts").alias("day"), "store_id")
        .agg(pl.len().cast(pl.Int64).alias("stockouts"))
    )
    counts = [
        "sales_receipts",
        "return_receipts",
        "units_sold",
        "sales_cents",
        "returns_cents",
        "visitors",
        "stockouts",
    ]
    daily = (
        sales.join(visitors, on=keys, how="full", coalesce=True)
        .join(stockouts, on=keys, how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0))
        .with_columns(
            (pl.col("sales_cents") - pl.col("returns_cents")).alias("net_sales_cents"),
            floor_ratio("sales_cents", "sales_receipts").alias("avg_basket_cents"),
            share("sales_receipts", "visitors").alias("conversion_rate"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_store_performance_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    entrances = inp.this_month("fact_foot_traffic").filter(pl.col("zone").is_in(ENTRANCES))
    stockouts = inp.this_month("fact_stockouts").filter(pl.col("store_id").is_not_null())
    return [
        Balance("net_sales_cents", total(gold, pl.col("net_sales_cents")), total(receipts, pl.col("total_cents"))),
        Balance("receipts", total(gold, pl.col("sales_receipts") + pl.col("return_receipts")), count_rows(receipts)),
        Balance("visitors", total(gold, pl.col("visitors")), total(entrances, pl.col("customer_count"))),
        Balance("stockouts", total(gold, pl.col("stockouts")), count_rows(stockouts)),
    ]
