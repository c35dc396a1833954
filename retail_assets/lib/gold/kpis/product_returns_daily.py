"""gold/product_returns_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import GoldInputs, share, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs.columns import cents, product_id

PRODUCT_RETURNS_DAILY = GoldTable(
    name="product_returns_daily",
    origin="seed 002 §9.3 product return analysis",
    description="Units and money sold and returned per product and day, for return-rate analysis (seed 002 §9.3).",
    grain="UTC day × product",
    refresh="daily",
    formula=(
        "Over silver/fact_receipt_lines: lines with quantity > 0 are sales, < 0 returns. units_sold / sale_lines / "
        "sales_cents = Σ quantity / count / Σ ext_price_cents of sales; units_returned / return_lines / refund_cents "
        "= −Σ quantity / count / −Σ ext_price_cents of returns; return_rate = units_returned / units_sold (NULL "
        "without sales)."
    ),
    reconciliation=(
        "Σ (sales_cents − refund_cents) = Σ silver/fact_receipt_lines.ext_price_cents and Σ (units_sold − "
        "units_returned) = Σ quantity, per month."
    ),
    columns=(
        day_column(),
        product_id(),
        count_column("units_sold", "Units sold."),
        count_column("units_returned", "Units returned."),
        count_column("sale_lines", "Sale lines."),
        count_column("return_lines", "Return lines."),
        cents("sales_cents", "Σ sale line amounts."),
        cents("refund_cents", "Σ refunded line amounts (positive)."),
        ratio_column("return_rate", "units_returned / units_sold."),
        date_key_column(),
    ),
    key=("day", "product_id"),
    time_column="day",
    inputs=inputs("fact_receipt_lines"),
)


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
