"""Promotions (usage and effectiveness) and store operations."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, count_rows, floor_ratio, share, total, utc_day, with_calendar
from retail_assets.lib.gold.reconcile import Balance


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


def promotion_effectiveness_daily(inp: GoldInputs) -> pl.LazyFrame:
    promotions = inp.this_month("fact_promotions")
    receipts = inp.this_month("fact_receipts").select("receipt_id", "event_ts", "receipt_type", "subtotal_cents")
    redeemed = (
        promotions.select("receipt_id", "promo_code", "discount_cents", utc_day("event_ts").alias("day"))
        .join(receipts.select("receipt_id", "subtotal_cents"), on="receipt_id", how="left")
        .group_by("day", "promo_code")
        .agg(
            pl.len().cast(pl.Int64).alias("redemptions"),
            pl.col("discount_cents").sum().cast(pl.Int64),
            pl.col("subtotal_cents").sum().cast(pl.Int64).alias("promo_basket_sales_cents"),
        )
    )
    baseline = (
        receipts.filter(pl.col("receipt_type") == "SALE")
        .join(promotions.select("receipt_id").unique(), on="receipt_id", how="anti")
        .group_by(utc_day("event_ts").alias("day"))
        .agg(pl.col("subtotal_cents").mean().floor().cast(pl.Int64).alias("avg_other_basket_cents"))
    )
    daily = (
        redeemed.join(baseline, on="day", how="left")
        .with_columns(floor_ratio("promo_basket_sales_cents", "redemptions").alias("avg_promo_basket_cents"))
        .with_columns(
            (share("avg_promo_basket_cents", "avg_other_basket_cents") - 1).alias("basket_lift"),
            share("discount_cents", pl.col("promo_basket_sales_cents") + pl.col("discount_cents")).alias("promo_depth"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_promotion_effectiveness_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    promotions = inp.this_month("fact_promotions")
    return [
        Balance("redemptions", total(gold, pl.col("redemptions")), count_rows(promotions)),
        Balance("discount_cents", total(gold, pl.col("discount_cents")), total(promotions, pl.col("discount_cents"))),
    ]


def store_ops_daily(inp: GoldInputs) -> pl.LazyFrame:
    daily = (
        inp.this_month("fact_store_ops")
        .group_by(utc_day("event_ts").alias("day"), "store_id", "operation_type")
        .agg(
            pl.len().cast(pl.Int64).alias("operation_count"),
            pl.col("event_ts").min().alias("first_operation"),
            pl.col("event_ts").max().alias("last_operation"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_store_ops_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("operations", total(gold, pl.col("operation_count")), count_rows(inp.this_month("fact_store_ops")))]
