"""gold/campaign_revenue_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col


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


CAMPAIGN_REVENUE_DAILY = GoldTable(
    name="campaign_revenue_daily",
    origin="reference gold.campaign_revenue_daily",
    description=(
        "Same-day view-through of each campaign: impressions, the known customers they reached and what those "
        "customers bought afterwards that day. A purchase can count for every campaign its customer saw (this is "
        "not attribution: see campaign_performance_daily). The reference joined on columns batch Silver did not "
        "have (customer_id/total), so it was skipped."
    ),
    grain="campaign × UTC day",
    refresh="daily",
    formula=(
        "Over silver/fact_marketing, fact_receipts (SALE) and fact_online_order_headers (not CANCELLED): "
        "impressions = count; reached_customers = distinct non-null customer_id among them; a conversion is a purchase "
        "by a reached customer on the same UTC day at or after the customer's first impression of the campaign that "
        "day; conversions = such purchases; converted_customers = their distinct customers; revenue_cents = Σ their "
        "total_cents."
    ),
    reconciliation=(
        "Σ impressions = Silver impressions per month (conversions and revenue are a view-through measure, not "
        "additive across campaigns)."
    ),
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        day_column(),
        count_column("impressions", "Impressions served."),
        count_column("reached_customers", "Distinct known customers that saw the campaign that day."),
        count_column("conversions", "Purchases by reached customers after their impression, same day."),
        count_column("converted_customers", "Distinct customers among the conversions."),
        cents("revenue_cents", "Σ totals of the conversions."),
        date_key_column(),
    ),
    key=("campaign_id", "day"),
    time_column="day",
    inputs=inputs("fact_marketing", "fact_receipts", "fact_online_order_headers"),
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
