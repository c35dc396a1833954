"""gold/customer_lifetime_value: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, floor_ratio, total
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import PARTITION_COLUMN
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col, customer_id

UTC = pl.Datetime("us", "UTC")
ADDITIVE = ("orders", "store_orders", "online_orders", "gross_sales_cents", "refund_cents")
_SNAPSHOT_SCHEMA = {
    "customer_id": pl.Int64,
    "first_purchase_ts": UTC,
    "last_purchase_ts": UTC,
    **{c: pl.Int64 for c in ADDITIVE},
}


def month_purchases(inp: GoldInputs) -> pl.LazyFrame:
    """SALE receipts with a customer and online orders not CANCELLED, of the month."""
    receipts = inp.this_month("fact_receipts").filter(
        (pl.col("receipt_type") == "SALE") & pl.col("customer_id").is_not_null()
    )
    orders = inp.this_month("fact_online_order_headers").filter(pl.col("order_status") != "CANCELLED")
    return pl.concat(
        [
            receipts.select(
                "customer_id", "event_ts", "total_cents", pl.lit(1).alias("store"), pl.lit(0).alias("online")
            ),
            orders.select(
                "customer_id", "event_ts", "total_cents", pl.lit(0).alias("store"), pl.lit(1).alias("online")
            ),
        ]
    )


def month_refunds(inp: GoldInputs) -> pl.LazyFrame:
    """RETURN receipts of the month, credited to their own customer or the original receipt's (this or last month)."""
    originals = inp.fact("fact_receipts").select(
        pl.col("receipt_id").alias("return_for_receipt_id"), pl.col("customer_id").alias("__original_customer")
    )
    return (
        inp.this_month("fact_receipts")
        .filter(pl.col("receipt_type") == "RETURN")
        .join(originals, on="return_for_receipt_id", how="left")
        .select(pl.coalesce("customer_id", "__original_customer").alias("customer_id"), "total_cents")
        .filter(pl.col("customer_id").is_not_null())
    )


CUSTOMER_LIFETIME_VALUE = GoldTable(
    name="customer_lifetime_value",
    origin="seed 002 §9.2 customer lifetime value",
    kind="snapshot",
    description=(
        "Each customer's purchases to date, as of the end of the month (the latest month is the current value): "
        "orders, first and last purchase, gross sales, refunds, lifetime value and average order value."
    ),
    grain="customer with at least one purchase or refund, as of the end of month_start's month",
    refresh="month",
    formula=(
        "Incremental: the previous month's snapshot plus this month's purchases. Purchases are SALE receipts with a "
        "customer (silver/fact_receipts) and online orders not CANCELLED (silver/fact_online_order_headers). "
        "Refunds are RETURN receipts, credited to the return's customer or else to the customer of the original "
        "receipt when that is in this month or the previous one. orders, store_orders, online_orders, "
        "gross_sales_cents (Σ total_cents), refund_cents are added up; first/last_purchase_ts are min/max; "
        "lifetime_value_cents = gross_sales_cents − refund_cents; avg_order_value_cents = floor(gross_sales_cents / "
        "orders) (0 without orders)."
    ),
    reconciliation=(
        "Σ gross_sales_cents and Σ orders grow from the previous snapshot by exactly this month's Silver purchases "
        "with a customer; Σ refund_cents grows by the refunds credited."
    ),
    columns=(
        customer_id(nullable=False),
        col("first_purchase_ts", D.TIMESTAMP, "First purchase.", nullable=True),
        col("last_purchase_ts", D.TIMESTAMP, "Latest purchase.", nullable=True),
        count_column("orders", "Purchases (store receipts and online orders)."),
        count_column("store_orders", "Store receipts."),
        count_column("online_orders", "Online orders."),
        cents("gross_sales_cents", "Σ purchase totals."),
        cents("refund_cents", "Σ refunds credited to the customer (positive)."),
        cents("lifetime_value_cents", "gross_sales_cents − refund_cents.", signed=True),
        cents("avg_order_value_cents", "floor(gross_sales_cents / orders)."),
    ),
    key=("customer_id",),
    inputs=inputs(("fact_receipts", -1, 0), "fact_online_order_headers"),
)


def customer_lifetime_value(inp: GoldInputs) -> pl.LazyFrame:
    bought = (
        month_purchases(inp)
        .group_by("customer_id")
        .agg(
            pl.col("event_ts").min().alias("first_purchase_ts"),
            pl.col("event_ts").max().alias("last_purchase_ts"),
            pl.len().cast(pl.Int64).alias("orders"),
            pl.col("store").sum().cast(pl.Int64).alias("store_orders"),
            pl.col("online").sum().cast(pl.Int64).alias("online_orders"),
            pl.col("total_cents").sum().cast(pl.Int64).alias("gross_sales_cents"),
        )
    )
    refunded = (
        month_refunds(inp)
        .group_by("customer_id")
        .agg((-pl.col("total_cents").sum()).cast(pl.Int64).alias("refund_cents"))
    )
    month = bought.join(refunded, on="customer_id", how="full", coalesce=True).with_columns(
        pl.col(ADDITIVE).fill_null(0)
    )
    previous = (inp.previous if inp.previous is not None else pl.DataFrame(schema=_SNAPSHOT_SCHEMA)).lazy()
    columns = list(_SNAPSHOT_SCHEMA)
    combined = (
        pl.concat([previous.select(columns), month.select(columns)])
        .group_by("customer_id")
        .agg(
            pl.col("first_purchase_ts").min(),
            pl.col("last_purchase_ts").max(),
            *(pl.col(c).sum().cast(pl.Int64) for c in ADDITIVE),
        )
    )
    return combined.with_columns(
        (pl.col("gross_sales_cents") - pl.col("refund_cents")).alias("lifetime_value_cents"),
        floor_ratio("gross_sales_cents", "orders").alias("avg_order_value_cents"),
        pl.lit(inp.month).alias(PARTITION_COLUMN),
    )


def reconcile_customer_lifetime_value(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    previous = inp.previous.lazy() if inp.previous is not None else pl.LazyFrame(schema=_SNAPSHOT_SCHEMA)
    bought = month_purchases(inp)
    customers = pl.concat([bought.select("customer_id"), month_refunds(inp).select("customer_id")]).unique()
    return [
        Balance(
            "gross_sales_cents_added",
            total(gold, pl.col("gross_sales_cents")) - total(previous, pl.col("gross_sales_cents")),
            total(bought, pl.col("total_cents")),
        ),
        Balance("orders_added", total(gold, pl.col("orders")) - total(previous, pl.col("orders")), count_rows(bought)),
        Balance(
            "rows",
            count_rows(gold),
            count_rows(previous)
            + count_rows(customers.join(previous.select("customer_id"), on="customer_id", how="anti")),
        ),
    ]
