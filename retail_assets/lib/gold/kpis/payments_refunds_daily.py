"""gold/payments_refunds_daily: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import CHANNELS, count_column, date_key_column, day_column, inputs, ratio_column
from retail_assets.lib.gold.frames import RETURN, GoldInputs, count_rows, share, total, utc_day, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col
from retail_assets.lib.specs.facts import PAYMENT_METHODS

PAYMENTS_REFUNDS_DAILY = GoldTable(
    name="payments_refunds_daily",
    origin="seed 002 fact_payment (payments and refunds)",
    description=(
        "Payment authorisations and refunds per day, channel and tender: approvals, declines and their money, "
        "approval rate, refunds (seed 002 Payment & Returns dashboard)."
    ),
    grain="UTC day × channel × payment method",
    refresh="daily",
    formula=(
        "Over silver/fact_payments (channel STORE when the payment is for a receipt, ONLINE for an order): payments, "
        "approved, declined = counts; approved_cents / declined_cents = Σ amount_cents by status; approval_rate = "
        "approved / payments. Refunds from silver/fact_receipts RETURN receipts (STORE, by their tender): refunds = "
        "count, refund_cents = −Σ total_cents. approval_rate is NULL on a refund-only row."
    ),
    reconciliation=(
        "Σ approved_cents + Σ declined_cents = Σ silver/fact_payments.amount_cents; Σ payments = Silver payments; "
        "Σ refunds = Silver RETURN receipts, per month."
    ),
    columns=(
        day_column(),
        col("channel", D.STRING, "STORE or ONLINE.", allowed=CHANNELS),
        col("payment_method", D.STRING, "Tender.", allowed=PAYMENT_METHODS),
        count_column("payments", "Authorisations."),
        count_column("approved", "Approved authorisations."),
        count_column("declined", "Declined authorisations."),
        cents("approved_cents", "Σ approved amounts."),
        cents("declined_cents", "Σ declined amounts."),
        ratio_column("approval_rate", "approved / payments."),
        count_column("refunds", "Refunds (return receipts)."),
        cents("refund_cents", "Σ refunded (positive)."),
        date_key_column(),
    ),
    key=("day", "channel", "payment_method"),
    time_column="day",
    inputs=inputs("fact_payments", "fact_receipts"),
)


def payments_refunds_daily(inp: GoldInputs) -> pl.LazyFrame:
    payments = inp.this_month("fact_payments")
    approved = pl.col("status") == "APPROVED"
    channel = pl.when(pl.col("receipt_id").is_not_null()).then(pl.lit("STORE")).otherwise(pl.lit("ONLINE"))
    authorised = payments.group_by(utc_day("event_ts").alias("day"), channel.alias("channel"), "payment_method").agg(
        pl.len().cast(pl.Int64).alias("payments"),
        approved.sum().cast(pl.Int64).alias("approved"),
        (~approved).sum().cast(pl.Int64).alias("declined"),
        pl.col("amount_cents").filter(approved).sum().cast(pl.Int64).alias("approved_cents"),
        pl.col("amount_cents").filter(~approved).sum().cast(pl.Int64).alias("declined_cents"),
    )
    refunds = (
        inp.this_month("fact_receipts")
        .filter(RETURN)
        .group_by(utc_day("event_ts").alias("day"), pl.lit("STORE").alias("channel"), "payment_method")
        .agg(
            pl.len().cast(pl.Int64).alias("refunds"),
            (-pl.col("total_cents").sum()).cast(pl.Int64).alias("refund_cents"),
        )
    )
    keys = ["day", "channel", "payment_method"]
    daily = authorised.join(refunds, on=keys, how="full", coalesce=True).with_columns(
        pl.col(
            "payments", "approved", "declined", "approved_cents", "declined_cents", "refunds", "refund_cents"
        ).fill_null(0)
    )
    return with_calendar(daily.with_columns(share("approved", "payments").alias("approval_rate")), "day", inp.month)


def reconcile_payments_refunds_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    payments = inp.this_month("fact_payments")
    returns = inp.this_month("fact_receipts").filter(RETURN)
    return [
        Balance(
            "amount_cents",
            total(gold, pl.col("approved_cents") + pl.col("declined_cents")),
            total(payments, pl.col("amount_cents")),
        ),
        Balance("payments", total(gold, pl.col("payments")), count_rows(payments)),
        Balance("refunds", total(gold, pl.col("refunds")), count_rows(returns)),
    ]
