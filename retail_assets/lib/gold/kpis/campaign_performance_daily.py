"""gold/campaign_performance_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, in_month, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col

ATTRIBUTED = pl.col("status") == "ATTRIBUTED"
_CREDITED = ("attributed_revenue_cents", "discount_cents", "tax_cents", "payment_cents")


def attributed_touches(inp: GoldInputs) -> pl.LazyFrame:
    """ATTRIBUTED purchases whose credited touch is in the month (from this month's and next month's attributions)."""
    return inp.fact("fact_marketing_attribution").filter(
        ATTRIBUTED & pl.col("touch_ts").is_not_null() & in_month("touch_ts", inp.month)
    )


CAMPAIGN_PERFORMANCE_DAILY = GoldTable(
    name="campaign_performance_daily",
    origin="reference H gold.campaign_performance_daily",
    description=(
        "Spend and last-touch attributed results per campaign, channel and day: the attributed purchases are "
        "credited to the day of the impression that won them."
    ),
    grain="campaign × channel × UTC day",
    refresh="daily",
    formula=(
        "Spend side from silver/fact_marketing: impressions = distinct impression_id, spend_cents = Σ cost_cents, by "
        "day of the impression. Conversion side from silver/fact_marketing_attribution with status ATTRIBUTED, by "
        "day of the touch (touch_ts; attributions of this month and the next, since a purchase follows its touch by "
        "up to 7 days): conversions = distinct attribution_id, Σ attributed_revenue/discount/tax/payment cents. "
        "Full outer join, missing values 0; conversion_rate = conversions / impressions and roas = "
        "attributed_revenue_cents / spend_cents (0 when the denominator is 0)."
    ),
    reconciliation=(
        "Σ spend_cents = Σ silver/fact_marketing.cost_cents and Σ impressions = Silver impressions of the month; "
        "Σ conversions = ATTRIBUTED attributions whose touch is in the month."
    ),
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        col("channel", D.STRING, "Ad channel."),
        day_column("UTC day of the impressions (and of the touches credited)."),
        count_column("impressions", "Distinct impressions."),
        cents("spend_cents", "Σ impression cost."),
        count_column("conversions", "Attributed purchases credited to touches of the day."),
        cents("attributed_revenue_cents", "Σ net subtotals credited."),
        cents("discount_cents", "Σ promotion discounts of the credited purchases."),
        cents("tax_cents", "Σ tax of the credited purchases."),
        cents("payment_cents", "Σ approved payments of the credited purchases."),
        col("conversion_rate", D.FLOAT64, "conversions / impressions (0 without impressions).", ge=0),
        col("roas", D.FLOAT64, "attributed_revenue_cents / spend_cents (0 without spend).", ge=0),
        date_key_column(),
    ),
    key=("campaign_id", "channel", "day"),
    time_column="day",
    inputs=inputs("fact_marketing", ("fact_marketing_attribution", 0, 1)),
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
