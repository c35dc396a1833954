"""Truck dwell (the fn_truck_sla twin) and the online fulfilment pipeline."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, count_rows, hours_between, in_month, total, utc_day, with_calendar
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.kpi_twins import TRUCK_DWELL_DAILY, shipment_dwell

SHIPMENT_KEYS = ["truck_id", "dc_id", "store_id", "shipment_id"]


def _moves(inp: GoldInputs, status: str, time_name: str) -> pl.LazyFrame:
    return (
        inp.fact("fact_truck_moves")
        .filter(pl.col("status") == status)
        .select(*SHIPMENT_KEYS, pl.col("event_ts").alias(time_name))
    )


def arrivals(inp: GoldInputs) -> pl.LazyFrame:
    """ARRIVED rows (this month and the next) as fn_truck_sla's truck_arrived."""
    return _moves(inp, "ARRIVED", "arrival_time")


def departures(inp: GoldInputs) -> pl.LazyFrame:
    """COMPLETED rows (this month and the next) as fn_truck_sla's truck_departed."""
    return _moves(inp, "COMPLETED", "departure_time")


def shipments_arrived(inp: GoldInputs) -> pl.LazyFrame:
    """One row per shipment arriving in the month, with its dwell (the fn_truck_sla twin, kpi_twins.shipment_dwell)."""
    return shipment_dwell(arrivals(inp), departures(inp)).filter(in_month("arrival_time", inp.month))


def truck_dwell_daily(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TRUCK_DWELL_DAILY.polars(shipments_arrived(inp)), "day", inp.month)


def reconcile_truck_dwell_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    first_arrivals = (
        arrivals(inp)
        .group_by(SHIPMENT_KEYS)
        .agg(pl.col("arrival_time").min())
        .filter(in_month("arrival_time", inp.month))
    )
    last_departures = departures(inp).group_by(SHIPMENT_KEYS).agg(pl.col("departure_time").max())
    stays = first_arrivals.join(last_departures, on=SHIPMENT_KEYS, how="left", nulls_equal=True)
    return [
        Balance(
            "shipments",
            total(gold, pl.col("shipments"))
            + count_rows(stays.filter(pl.col("departure_time").is_null()))
            + count_rows(stays.filter(pl.col("departure_time") <= pl.col("arrival_time"))),
            count_rows(first_arrivals),
        ),
    ]


def fulfillment_daily(inp: GoldInputs) -> pl.LazyFrame:
    lines = inp.this_month("fact_online_order_lines")
    daily = lines.group_by(utc_day("event_ts").alias("day"), "fulfillment_mode", "fulfillment_status").agg(
        pl.col("order_id").n_unique().cast(pl.Int64).alias("orders"),
        pl.len().cast(pl.Int64).alias("lines"),
        pl.col("quantity").sum().cast(pl.Int64).alias("units"),
        hours_between("event_ts", "shipped_ts").mean().alias("avg_hours_to_ship"),
        hours_between("event_ts", "delivered_ts").mean().alias("avg_hours_to_deliver"),
    )
    return with_calendar(daily, "day", inp.month)


def reconcile_fulfillment_daily(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    lines = inp.this_month("fact_online_order_lines")
    return [
        Balance("lines", total(gold, pl.col("lines")), count_rows(lines)),
        Balance("units", total(gold, pl.col("units")), total(lines, pl.col("quantity"))),
    ]
