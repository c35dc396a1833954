"""In-store traffic: sensor zones (the mv_zone_dwell_minute twin) and BLE presence."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, count_rows, total, with_calendar
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import ZONE_DWELL_MINUTE


def zone_dwell_minute(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(ZONE_DWELL_MINUTE.polars(inp.this_month("fact_foot_traffic")), "ts", inp.month)


def reconcile_zone_dwell_minute(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    readings = inp.this_month("fact_foot_traffic")
    return [Balance("customers", total(gold, pl.col("customers")), total(readings, pl.col("customer_count")))]


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
