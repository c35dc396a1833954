"""gold/tender_mix_daily: its spec, build, reconciliation with Silver and chart."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, dollars, sums, top
from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col
from retail_assets.lib.specs.facts import PAYMENT_METHODS

TENDER_MIX_DAILY = GoldTable(
    name="tender_mix_daily",
    origin="reference gold.tender_mix_daily",
    description="Store receipts and their total per tender and day (returns are negative, refunded to the card).",
    grain="UTC day × payment method",
    refresh="daily",
    formula="Over silver/fact_receipts: transactions = receipts; total_cents = Σ total_cents.",
    reconciliation="Σ transactions = Silver receipts and Σ total_cents = Σ silver/fact_receipts.total_cents, per month.",
    columns=(
        day_column(),
        col("payment_method", D.STRING, "Tender.", allowed=PAYMENT_METHODS),
        count_column("transactions", "Receipts."),
        cents("total_cents", "Σ receipt totals.", signed=True),
        date_key_column(),
    ),
    key=("day", "payment_method"),
    time_column="day",
    inputs=inputs("fact_receipts"),
)


def tender_mix_daily(inp: GoldInputs) -> pl.LazyFrame:
    receipts = inp.this_month("fact_receipts")
    daily = receipts.group_by(utc_day("event_ts").alias("day"), "payment_method").agg(
        pl.len().cast(pl.Int64).alias("transactions"), pl.col("total_cents").sum().cast(pl.Int64)
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_tender_mix_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts")
    return [
        Balance("transactions", total(gold, pl.col("transactions")), count_rows(receipts)),
        Balance("total_cents", total(gold, pl.col("total_cents")), total(receipts, pl.col("total_cents"))),
    ]


CHART = ChartSpec(
    table="tender_mix_daily",
    title="Receipt totals by tender ($)",
    unit="$",
    bars=top("payment_method", dollars("total_cents")),
    headline=sums(total_usd=("total_cents", 100), transactions=("transactions", 1)),
)
