"""gold/promotion_effectiveness_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import GoldInputs, count_rows, floor_ratio, share, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col

PROMOTION_EFFECTIVENESS_DAILY = GoldTable(
    name="promotion_effectiveness_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "Whether a promotion grows the basket: redemptions, discount given, the baskets that used the code against "
        "the day's baskets without any promotion, and the share of list price given away."
    ),
    grain="UTC day × promo code",
    refresh="daily",
    formula=(
        "Over silver/fact_promotions joined to their receipts in silver/fact_receipts: redemptions = receipts the "
        "code was applied to; discount_cents = Σ discount_cents; promo_basket_sales_cents = Σ subtotal_cents of those "
        "receipts; avg_promo_basket_cents = floor(promo_basket_sales_cents / redemptions); avg_other_basket_cents = "
        "floor(mean subtotal_cents) of the day's SALE receipts with no promotion; basket_lift = "
        "avg_promo_basket_cents / avg_other_basket_cents − 1 (NULL without such receipts); promo_depth = "
        "discount_cents / (promo_basket_sales_cents + discount_cents) (NULL when 0)."
    ),
    reconciliation="Σ redemptions = Silver promotions and Σ discount_cents = Σ silver/fact_promotions.discount_cents.",
    columns=(
        day_column(),
        col("promo_code", D.STRING, "Promotion code."),
        count_column("redemptions", "Receipts the code was applied to."),
        cents("discount_cents", "Σ discounts given by the code."),
        cents("promo_basket_sales_cents", "Σ net subtotals of the receipts that used the code.", signed=True),
        cents("avg_promo_basket_cents", "floor(promo_basket_sales_cents / redemptions).", signed=True),
        cents(
            "avg_other_basket_cents",
            "Mean net subtotal of the day's sales without a promotion.",
            nullable=True,
            signed=True,
        ),
        ratio_column("basket_lift", "avg_promo_basket_cents / avg_other_basket_cents − 1."),
        ratio_column("promo_depth", "Share of the pre-discount basket given away: discount / (sales + discount)."),
        date_key_column(),
    ),
    key=("day", "promo_code"),
    time_column="day",
    inputs=inputs("fact_promotions", "fact_receipts"),
)


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
