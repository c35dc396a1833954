"""gold/marketing_cost_daily: its spec, build, reconciliation with Silver, chart and Eventhouse twin (``TWIN``,
kpi_twins.MARKETING_COST_DAILY).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec, by_day, dollars, sums
from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import MARKETING_COST_DAILY as TWIN
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import cents, col

MARKETING_COST_DAILY = GoldTable(
    name="marketing_cost_daily",
    origin="reference gold.marketing_cost_daily",
    description="Ad impressions and their cost per campaign and UTC day. Eventhouse twin: q_marketing_cost_24h.",
    grain="campaign × UTC day",
    refresh="daily",
    formula="kpi_twins.MARKETING_COST_DAILY over silver/fact_marketing: impressions = count; cost_cents = Σ cost_cents.",
    reconciliation="Σ impressions = Silver impressions and Σ cost_cents = Σ silver/fact_marketing.cost_cents, per month.",
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        day_column(),
        count_column("impressions", "Impressions served."),
        cents("cost_cents", "Σ impression cost."),
        date_key_column(),
    ),
    key=("campaign_id", "day"),
    time_column="day",
    inputs=inputs("fact_marketing"),
    twin=TWIN.name,
)


def marketing_cost_daily(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TWIN.polars(inp.this_month("fact_marketing")), "day", inp.month)


def reconcile_marketing_cost_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    impressions = inp.this_month("fact_marketing").filter(
        pl.col("campaign_id").is_not_null() & (pl.col("campaign_id") != "")
    )
    return [
        Balance("impressions", total(gold, pl.col("impressions")), count_rows(impressions)),
        Balance("cost_cents", total(gold, pl.col("cost_cents")), total(impressions, pl.col("cost_cents"))),
    ]


CHART = ChartSpec(
    table="marketing_cost_daily",
    title="Marketing spend per day ($)",
    unit="$",
    bars=by_day(pl.col("day"), dollars("cost_cents")),
    headline=sums(spend_usd=("cost_cents", 100), impressions=("impressions", 1)),
)
