"""gold/top_products_15m: its spec, build, reconciliation with Silver and Eventhouse twin (``TWIN``,
kpi_twins.TOP_PRODUCTS_15M).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import date_key_column, inputs, ts_column
from retail_assets.lib.gold.frames import GoldInputs, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import TOP_PRODUCTS_15M as TWIN
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col, product_id

TOP_PRODUCTS_15M = GoldTable(
    name="top_products_15m",
    origin="reference gold.top_products_15m",
    description=(
        "Revenue and units per product and 15-minute window (every product sold, not only a top N; a queryset ranks "
        "them). Return lines count negative. Eventhouse twin: mv_top_products_15m / q_top_products_by_sales."
    ),
    grain="product × 15-minute UTC window with at least one line",
    refresh="stream",
    formula=(
        "kpi_twins.TOP_PRODUCTS_15M over silver/fact_receipt_lines: ts = start of the epoch-aligned 15-minute window; "
        "revenue_cents = Σ ext_price_cents (after discount); units = Σ quantity."
    ),
    reconciliation="Σ revenue_cents = Σ silver/fact_receipt_lines.ext_price_cents and Σ units = Σ quantity, per month.",
    columns=(
        product_id(),
        ts_column("Start of the 15-minute window (UTC)."),
        cents("revenue_cents", "Σ line amounts after discount.", signed=True),
        col("units", D.INT64, "Σ units (returns negative)."),
        date_key_column(),
    ),
    key=("product_id", "ts"),
    time_column="ts",
    inputs=inputs("fact_receipt_lines"),
    twin=TWIN.name,
)


def top_products_15m(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TWIN.polars(inp.this_month("fact_receipt_lines")), "ts", inp.month)


def reconcile_top_products_15m(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    lines = inp.this_month("fact_receipt_lines")
    return [
        Balance("revenue_cents", total(gold, pl.col("revenue_cents")), total(lines, pl.col("ext_price_cents"))),
        Balance("units", total(gold, pl.col("units")), total(lines, pl.col("quantity"))),
    ]
