"""Marketing: cost (the q_marketing_cost_24h twin), same-day view-through revenue, attributed performance."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, count_rows, in_month, total, utc_day, with_calendar
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import MARKETING_COST_DAILY


def marketing_cost_daily(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(MARKETING_COST_DAILY.polars(inp.this_month("fact_marketing")), "day", inp.month)


def reconcile_marketing_cost_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    impressions = inp.this_month("fact_marketing").filter(
        pl.col("campaign_id").is_not_null() & (pl.col("campaign_id") != "")
    )
    return [
        Balance("impressions", total(gold, pl.col("impressions")), count_rows(impressions)),
        Balance("cost_cents", total(gold, pl.col("cost_cents")), total(impressions, pl.col("cost_cents"))),
    ]


def purchases(inp: GoldInputs) -> pl.LazyFrame:
    """The month's purchases by known customers: SALE receipts and online orders not CANCELLED."""
    receipts = inp.this_month("fact_receipts").filter(
        (pl.col("receipt_type") == "SALE") & pl.col("customer_id").is_not_null()
    )
    orders = inp.this_month("fact_online_order_headers").filter(pl.col("order_status") != "CANCELLED")
    columns = ["customer_id", pl.col("event_ts").alias("purchased_at"), "total_cents"]
    return pl.concat(
        [
            receipts.select(pl.format("RECEIPT:{}", "receipt_id").alias("purchase_id"), *columns),
            orders.select(pl.format("ORDER:{}", "order_id").alias("purchase_id"), *columns),
        ]
    )


def campaign_revenue_daily(inp: GoldInputs) -> pl.LazyFrame:
    keys = ["campaign_id", "day"]
    impressions = inp.this_month("fact_marketing").with_columns(utc_day("event_ts").alias("day"))
    reach = impressions.group_by(keys).agg(
        pl.len().cast(pl.Int64).alias("impressions"),
        pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64).alias("reached_customers"),
    )
    first_seen = (
        impressions.filter(pl.col("customer_id").is_not_null())
        .group_by(*keys, "customer_id")
        .agg(pl.col("event_ts").min().alias("first_seen"))
    )
    bought = purchases(inp).with_columns(utc_day("purchased_at").alias("day"))
    conversions = (
        first_seen.join(bought, on=["customer_id", "day"], how="inner")
        .filter(pl.col("purchased_at") >= pl.col("first_seen"))
        .group_by(keys)
        .agg(
            pl.len().cast(pl.Int64).alias("conversions"),
            pl.col("customer_id").n_unique().cast(pl.Int64).alias("converted_customers"),
            pl.col("total_cents").sum().cast(pl.Int64).alias("revenue_cents"),
        )
    )
    daily = reach.join(conversions, on=keys, how="left").with_columns(
        pl.col("conversions", "converted_customers", "revenue_cents").fill_null(0)
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_campaign_revenue_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("impressions", total(gold, pl.col("impressions")), count_rows(inp.this_month("fact_marketing")))]


ATTRIBUTED = pl.col("status") == "ATTRIBUTED"
_CREDITED = ("attributed_revenue_cents", "discount_cents", "tax_cents", "payment_cents")


def attributed_touches(inp: GoldInputs) -> pl.LazyFrame:
    """ATTRIBUTED purchases whose credited touch is in the month (from this month's and next month's attributions)."""
    return inp.fact("fact_marketing_attribution").filter(
        ATTRIBUTED & pl.col("touch_ts").is_not_null() & in_month("touch_ts", inp.month)
    )


def campaign_performance_daily(inp: GoldInputs) -> pl.LazyFrame:
    keys = ["campaign_id", "channel", "day"]
    spend = (
        inp.this_month("fact_marketing")
        .group_by("campaign_id", "channel", utc_day("event_ts").alias("day"))
        .agg(
            pl.col("impression_id").n_unique().cast(pl.Int64).alias("impressions"),
            pl.col("cost_cents").sum().cast(pl.Int64).alias("spend_cents"),
        )
    )
    conversions = (
        attributed_touches(inp)
        .group_by("campaign_id", "channel", utc_day("touch_ts").alias("day"))
        .agg(
            pl.col("attribution_id").n_unique().cast(pl.Int64).alias("conversions"),
            *(pl.col(c).sum().cast(pl.Int64) for c in _CREDITED),
        )
    )
    counts = ["impressions", "spend_cents", "conversions", *_CREDITED]
    daily = (
        spend.join(conversions, on=keys, how="full", coalesce=True)
        .with_columns(pl.col(counts).fill_null(0))
        .with_columns(
            pl.when(pl.col("impressions") > 0)
            .then(pl.col("conversions") / pl.col("impressions"))
            .otherwise(0.0)
            .alias("conversion_rate"),
            pl.when(pl.col("spend_cents") > 0)
            .then(pl.col("attributed_revenue_cents") / pl.col("spend_cents"))
            .otherwise(0.0)
            .alias("roas"),
        )
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_campaign_performance_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    impressions = inp.this_month("fact_marketing")
    return [
        Balance("spend_cents", total(gold, pl.col("spend_cents")), total(impressions, pl.col("cost_cents"))),
        Balance("impressions", total(gold, pl.col("impressions")), count_rows(impressions)),
        Balance("conversions", total(gold, pl.col("conversions")), count_rows(attributed_touches(inp))),
    ]
