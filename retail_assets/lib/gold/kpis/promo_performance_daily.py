"""gold/promo_performance_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col

PROMO_PERFORMANCE_DAILY = GoldTable(
    name="promo_performance_daily",
    origin="reference stub gold.promo_performance_daily (empty there)",
    description="Promotion codes applied per day: how often, the discount given and the lines discounted.",
    grain="UTC day × promo code × discount type",
    refresh="daily",
    formula=(
        "Over silver/fact_promotions: times_applied = receipts the code was applied to; total_discount_cents = "
        "Σ discount_cents; products_discounted = Σ product_count."
    ),
    reconciliation="Σ times_applied = Silver promotions and Σ total_discount_cents = Σ discount_cents, per month.",
    columns=(
        day_column(),
        col("promo_code", D.STRING, "Promotion code."),
        col("discount_type", D.STRING, "PERCENTAGE, FIXED_AMOUNT or BOGO."),
        count_column("times_applied", "Receipts the code was applied to."),
        cents("total_discount_cents", "Σ discounts given."),
        count_column("products_discounted", "Σ discounted lines."),
        date_key_column(),
    ),
    key=("day", "promo_code", "discount_type"),
    time_column="day",
    inputs=inputs("fact_promotions"),
)


def promo_performance_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_promotions")
        .group_by(utc_day("event_ts").alias("day"), "promo_code", "discount_type")
        .agg(
            pl.len().cast(pl.Int64).alias("times_applied"),
            pl.col("discount_cents").sum().cast(pl.Int64).alias("total_discount_cents"),
            pl.col("product_count").sum().cast(pl.Int64).alias("products_discounted"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_promo_performance_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    promotions = inp.this_month("fact_promotions")
    return [
        Balance("times_applied", total(gold, pl.col("times_applied")), count_rows(promotions)),
        Balance(
            "discount_cents", total(gold, pl.col("total_discount_cents")), total(promotions, pl.col("discount_cents"))
        ),
        Balance(
            "products_discounted",
            total(gold, pl.col("products_discounted")),
            total(promotions, pl.col("product_count")),
        ),
    ]
