"""gold/online_sales_daily: its spec, build, reconciliation with Silver and chart."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, by_day, dollars, sums
from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import (
    NOT_CANCELLED,
    GoldInputs,
    count_rows,
    floor_ratio,
    total,
    utc_day,
    with_calendar,
)
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs.columns import cents

ONLINE_SALES_DAILY = GoldTable(
    name="online_sales_daily",
    origin="reference gold.online_sales_daily",
    description=(
        "Online orders per day with their money and average order value. Cancelled orders are counted apart "
        "(their money is zero). The reference summed columns batch Silver did not have, so the table was skipped."
    ),
    grain="UTC day the orders were placed",
    refresh="daily",
    formula=(
        "Over silver/fact_online_order_headers: orders = orders not CANCELLED; cancelled_orders = CANCELLED; "
        "subtotal/tax/total_cents = Σ of every order; avg_order_value_cents = floor(total_cents / orders) (0 without orders)."
    ),
    reconciliation="Σ total_cents, subtotal_cents, tax_cents = Silver sums; Σ orders + cancelled_orders = Silver orders.",
    columns=(
        day_column("UTC day the orders were placed."),
        count_column("orders", "Orders not cancelled."),
        count_column("cancelled_orders", "Cancelled orders."),
        cents("subtotal_cents", "Σ net subtotals."),
        cents("tax_cents", "Σ tax."),
        cents("total_cents", "Σ totals."),
        cents("avg_order_value_cents", "floor(total_cents / orders); 0 when there are none."),
        date_key_column(),
    ),
    key=("day",),
    time_column="day",
    inputs=inputs("fact_online_order_headers"),
)


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


CHART = ChartSpec(
    table="online_sales_daily",
    title="Online order totals per day ($)",
    unit="$",
    bars=by_day(pl.col("day"), dollars("total_cents")),
    headline=sums(total_usd=("total_cents", 100), orders=("orders", 1)),
)
