"""gold/basket_metrics_daily: its spec, build and reconciliation with Silver.

What a store's baskets look like each day: how many receipts, lines and units, the mean and median basket
value, and how baskets split by size. A basket is a SALE receipt; its size is its number of lines, in the
bands of ``SIZE_BANDS`` (1 line: a quick purchase; 2-3: a top-up; 4-6: a mid-size shop; 7 or more: a full
shop).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import SALE, GoldInputs, count_rows, share, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col, store_id

# Basket size bands: column suffix (share_<suffix>), fewest and most lines (None: no upper bound), in words.
SIZE_BANDS: tuple[tuple[str, int, int | None, str], ...] = (
    ("1_line", 1, 1, "1 line"),
    ("2_3_lines", 2, 3, "2 or 3 lines"),
    ("4_6_lines", 4, 6, "4 to 6 lines"),
    ("7_plus_lines", 7, None, "7 lines or more"),
)


def _band(first: int, last: int | None) -> pl.Expr:
    lines = pl.col("basket_lines")
    return (lines >= first) & (lines <= last) if last is not None else lines >= first


BASKET_METRICS_DAILY = GoldTable(
    name="basket_metrics_daily",
    origin="defined here (issue 16: basket metrics users asked for)",
    description=(
        "Baskets per store and day: receipts, lines and units, the mean and median basket value, and the share of "
        "baskets by size band (1, 2-3, 4-6, 7+ lines). A basket is a SALE receipt; returns count in receipts, lines "
        "and units (negative) but are not baskets."
    ),
    grain="store × UTC day with at least one receipt",
    refresh="daily",
    formula=(
        "Over silver/fact_receipts and silver/fact_receipt_lines of the month; a line counts on its receipt's store "
        "and UTC day (joined on receipt_id). receipts = count (SALE and RETURN); lines = count of their lines; units = "
        "Σ quantity (returns negative); baskets = SALE receipts; mean_basket_cents = floor(mean total_cents of the "
        "baskets) (equal to store_performance_daily.avg_basket_cents); median_basket_cents = floor(median "
        "total_cents of the baskets); share_<band> = baskets whose number of lines is in the band / baskets, for the "
        "bands 1, 2-3, 4-6 and 7+ lines (a basket whose lines are not in Silver is in no band). Basket values and "
        "shares are NULL on a day with returns only."
    ),
    reconciliation=(
        "Σ receipts = silver/fact_receipts rows, Σ lines = silver/fact_receipt_lines rows and Σ units = Σ "
        "silver/fact_receipt_lines.quantity, per month (a line whose receipt is not in the month breaks the identity)."
    ),
    columns=(
        store_id(),
        day_column("UTC day the receipts were closed (midnight UTC)."),
        count_column("receipts", "Receipts closed (sales and returns)."),
        count_column("lines", "Lines of those receipts."),
        col("units", D.INT64, "Σ units of those lines (returns negative)."),
        count_column("baskets", "SALE receipts."),
        cents("mean_basket_cents", "floor(mean total_cents of the baskets); NULL without baskets.", nullable=True),
        cents("median_basket_cents", "floor(median total_cents of the baskets); NULL without baskets.", nullable=True),
        *(
            ratio_column(f"share_{band}", f"Share of baskets with {words} (NULL without baskets).")
            for band, _, _, words in SIZE_BANDS
        ),
        date_key_column(),
    ),
    key=("store_id", "day"),
    time_column="day",
    inputs=inputs("fact_receipts", "fact_receipt_lines"),
)


def basket_metrics_daily(inp: GoldInputs) -> pl.LazyFrame:
    receipts = inp.this_month("fact_receipts").select(
        "receipt_id", "store_id", "event_ts", "receipt_type", "total_cents"
    )
    per_receipt = (
        inp.this_month("fact_receipt_lines")
        .group_by("receipt_id")
        .agg(pl.len().cast(pl.Int64).alias("basket_lines"), pl.col("quantity").sum().cast(pl.Int64).alias("units"))
    )
    basket_value = pl.col("total_cents").filter(SALE)
    daily = (
        receipts.join(per_receipt, on="receipt_id", how="left")
        .with_columns(pl.col("basket_lines", "units").fill_null(0))
        .group_by("store_id", utc_day("event_ts").alias("day"))
        .agg(
            pl.len().cast(pl.Int64).alias("receipts"),
            pl.col("basket_lines").sum().cast(pl.Int64).alias("lines"),
            pl.col("units").sum().cast(pl.Int64),
            SALE.sum().cast(pl.Int64).alias("baskets"),
            basket_value.mean().floor().cast(pl.Int64).alias("mean_basket_cents"),
            basket_value.median().floor().cast(pl.Int64).alias("median_basket_cents"),
            *(
                (SALE & _band(first, last)).sum().cast(pl.Int64).alias(f"__{band}")
                for band, first, last, _ in SIZE_BANDS
            ),
        )
        .with_columns(share(f"__{band}", "baskets").alias(f"share_{band}") for band, *_ in SIZE_BANDS)
        .drop(f"__{band}" for band, *_ in SIZE_BANDS)
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_basket_metrics_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    lines = inp.this_month("fact_receipt_lines")
    return [
        Balance("receipts", total(gold, pl.col("receipts")), count_rows(receipts)),
        Balance("lines", total(gold, pl.col("lines")), count_rows(lines)),
        Balance("units", total(gold, pl.col("units")), total(lines, pl.col("quantity"))),
    ]
