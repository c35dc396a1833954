"""gold/daily_sales_by_channel: its spec, build, reconciliation with Silver and chart."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, by_day, dollars, sums
from retail_assets.lib.gold.columns import CHANNELS, count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import (
    NOT_CANCELLED,
    RETURN,
    SALE,
    GoldInputs,
    count_rows,
    floor_ratio,
    share,
    total,
    utc_day,
    with_calendar,
)
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col


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


DAILY_SALES_BY_CHANNEL = GoldTable(
    name="daily_sales_by_channel",
    origin="seed 002 gold.agg_daily_sales",
    description=(
        "Daily sales per channel (STORE receipts, ONLINE orders): orders, units, customers, money, returns and "
        "average order value (seed 002 §1.3 agg_daily_sales and §9.1)."
    ),
    grain="UTC day × channel",
    refresh="daily",
    formula=(
        "STORE from silver/fact_receipts, ONLINE from silver/fact_online_order_headers (not CANCELLED). orders = "
        "SALE receipts or orders; units = Σ item_count; unique_customers = distinct known customer_id; sales_cents = "
        "Σ total_cents (tax included, as seed 002's sales_total); discount_cents, tax_cents = Σ; returns = RETURN "
        "receipts; returned_units = −Σ their item_count; refund_cents = −Σ their total_cents; net_sales_cents = "
        "sales_cents − refund_cents; avg_order_value_cents = floor(sales_cents / orders); return_rate = returns / "
        "orders (NULL without orders). Online orders have no returns in this model."
    ),
    reconciliation=(
        "STORE: Σ net_sales_cents = Σ silver/fact_receipts.total_cents and Σ orders + Σ returns = Silver receipts; "
        "ONLINE: Σ sales_cents = Σ silver/fact_online_order_headers.total_cents, per month."
    ),
    columns=(
        day_column(),
        col("channel", D.STRING, "STORE or ONLINE.", allowed=CHANNELS),
        count_column("orders", "Sale receipts or online orders."),
        count_column("units", "Σ units sold."),
        count_column("unique_customers", "Distinct known customers who bought."),
        cents("sales_cents", "Σ totals of sales (tax included)."),
        cents("discount_cents", "Σ promotion discounts of sales."),
        cents("tax_cents", "Σ tax of sales."),
        count_column("returns", "Return receipts."),
        count_column("returned_units", "Units returned."),
        cents("refund_cents", "Σ refunded totals (positive)."),
        cents("net_sales_cents", "sales_cents − refund_cents.", signed=True),
        cents("avg_order_value_cents", "floor(sales_cents / orders); 0 without orders."),
        ratio_column("return_rate", "returns / orders."),
        date_key_column(),
    ),
    key=("day", "channel"),
    time_column="day",
    inputs=inputs("fact_receipts", "fact_online_order_headers"),
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


CHART = ChartSpec(
    table="daily_sales_by_channel",
    title="Net sales per day by channel ($)",
    unit="$",
    bars=by_day(pl.col("day"), dollars("net_sales_cents"), series=pl.col("channel")),
    headline=sums(net_sales_usd=("net_sales_cents", 100), orders=("orders", 1), returns=("returns", 1)),
)
