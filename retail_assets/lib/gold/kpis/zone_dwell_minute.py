"""gold/zone_dwell_minute: its spec, build, reconciliation with Silver and Eventhouse twin (``TWIN``,
kpi_twins.ZONE_DWELL_MINUTE).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, inputs, ts_column
from retail_assets.lib.gold.frames import GoldInputs, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import ZONE_DWELL_MINUTE as TWIN
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col, store_id

ZONE_DWELL_MINUTE = GoldTable(
    name="zone_dwell_minute",
    origin="reference gold.zone_dwell_minute",
    description=(
        "People counted and their average dwell per store zone and minute. Eventhouse twin: mv_zone_dwell_minute / "
        "q_zone_dwell_heatmap."
    ),
    grain="store × sensor zone × UTC minute",
    refresh="stream",
    formula=(
        "kpi_twins.ZONE_DWELL_MINUTE over silver/fact_foot_traffic: avg_dwell_seconds = mean dwell_seconds of the "
        "readings; customers = Σ customer_count."
    ),
    reconciliation="Σ customers = Σ silver/fact_foot_traffic.customer_count, per month.",
    columns=(
        store_id(),
        col("zone", D.STRING, "Sensor zone."),
        ts_column("Minute (UTC) of the readings."),
        col("avg_dwell_seconds", D.FLOAT64, "Mean dwell of the readings, seconds.", ge=0),
        count_column("customers", "Σ people counted."),
        date_key_column(),
    ),
    key=("store_id", "zone", "ts"),
    time_column="ts",
    inputs=inputs("fact_foot_traffic"),
    twin=TWIN.name,
)


def zone_dwell_minute(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TWIN.polars(inp.this_month("fact_foot_traffic")), "ts", inp.month)


def reconcile_zone_dwell_minute(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    readings = inp.this_month("fact_foot_traffic")
    return [Balance("customers", total(gold, pl.col("customers")), total(readings, pl.col("customer_count")))]
