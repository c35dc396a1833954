"""gold/ble_presence_minute: its spec, build and reconciliation with Silver."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, inputs, ts_column
from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs.columns import store_id

BLE_PRESENCE_MINUTE = GoldTable(
    name="ble_presence_minute",
    origin="reference gold.ble_presence_minute",
    description="Distinct shopper devices (and known customers) seen by each store's beacons per minute.",
    grain="store × UTC minute with at least one ping",
    refresh="stream",
    formula=(
        "Over silver/fact_ble_pings: devices = distinct customer_ble_id; known_customers = distinct non-null "
        "customer_id; pings = count."
    ),
    reconciliation="Σ pings = Silver BLE pings, per month.",
    columns=(
        store_id(),
        ts_column("Minute (UTC)."),
        count_column("devices", "Distinct device ids."),
        count_column("known_customers", "Distinct customers among the devices."),
        count_column("pings", "Pings."),
        date_key_column(),
    ),
    key=("store_id", "ts"),
    time_column="ts",
    inputs=inputs("fact_ble_pings"),
)


def ble_presence_minute(inp: GoldInputs) -> pl.LazyFrame:
    pings = inp.this_month("fact_ble_pings")
    minutes = pings.group_by("store_id", pl.col("event_ts").dt.truncate("1m").alias("ts")).agg(
        pl.col("customer_ble_id").n_unique().cast(pl.Int64).alias("devices"),
        pl.col("customer_id").drop_nulls().n_unique().cast(pl.Int64).alias("known_customers"),
        pl.len().cast(pl.Int64).alias("pings"),
    )
    return with_calendar(minutes, "ts", inp.month)


def reconcile_ble_presence_minute(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    return [Balance("pings", total(gold, pl.col("pings")), count_rows(inp.this_month("fact_ble_pings")))]
