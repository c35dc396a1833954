"""gold/sales_minute_store: its spec, build, reconciliation with Silver, chart and Eventhouse twin (``TWIN``,
kpi_twins.SALES_MINUTE_STORE).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, by_day, dollars, sums
from retail_assets.lib.gold.columns import count_column, date_key_column, inputs, ts_column
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import SALES_MINUTE_STORE as TWIN
from retail_assets.lib.specs.columns import cents, store_id

SALES_MINUTE_STORE = GoldTable(
    name="sales_minute_store",
    origin="reference gold.sales_minute_store",
    description=(
        "Store sales per minute: receipts, their total and the average basket. Returns are included as negative "
        "receipts, as in the reference. Eventhouse twin: mv_store_sales_minute / q_receipts_minute_by_store."
    ),
    grain="store × UTC minute with at least one receipt",
    refresh="stream",
    formula=(
        "kpi_twins.SALES_MINUTE_STORE over silver/fact_receipts: ts = event_ts truncated to the minute; "
        "total_sales_cents = Σ total_cents; receipts = count; avg_basket_cents = floor(total_sales_cents / receipts). "
        "The reference summed a column `total` that batch Silver did not have, so the table was skipped."
    ),
    reconciliation="Σ total_sales_cents = Σ silver/fact_receipts.total_cents and Σ receipts = Silver receipts, per month.",
    columns=(
        store_id(),
        ts_column("Minute (UTC) the receipts were closed in."),
        cents("total_sales_cents", "Σ receipt totals (returns negative).", signed=True),
        count_column("receipts", "Receipts closed in the minute (sales and returns)."),
        cents("avg_basket_cents", "floor(total_sales_cents / receipts).", signed=True),
        date_key_column(),
    ),
    key=("store_id", "ts"),
    time_column="ts",
    inputs=inputs("fact_receipts"),
    twin=TWIN.name,
)


def sales_minute_store(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TWIN.polars(inp.this_month("fact_receipts")), "ts", inp.month)


def reconcile_sales_minute_store(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    receipts = inp.this_month("fact_receipts").filter(pl.col("store_id").is_not_null())
    return [
        Balance("total_sales_cents", total(gold, pl.col("total_sales_cents")), total(receipts, pl.col("total_cents"))),
        Balance("receipts", total(gold, pl.col("receipts")), count_rows(receipts)),
    ]


CHART = ChartSpec(
    table="sales_minute_store",
    title="Store sales per day, all stores ($)",
    unit="$",
    bars=by_day(pl.col("ts").dt.date(), dollars("total_sales_cents")),
    headline=sums(total_sales_usd=("total_sales_cents", 100), receipts=("receipts", 1)),
)
