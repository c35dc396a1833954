"""Truck shipments from fact_truck_moves, as KQL fn_truck_sla() sees them (truck_dwell_daily and the truck alert)."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs, in_month
from retail_assets.lib.kpi_twins import shipment_dwell

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
