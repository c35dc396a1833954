"""gold/truck_dwell_daily: its spec, build, reconciliation with Silver and Eventhouse twin (``TWIN``,
kpi_twins.TRUCK_DWELL_DAILY).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.columns import count_column, date_key_column, day_column, inputs
from retail_assets.lib.gold.frames import GoldInputs, count_rows, in_month, total, with_calendar
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.gold.shipments import SHIPMENT_KEYS, arrivals, departures, shipments_arrived
from retail_assets.lib.kpi_twins import TRUCK_DWELL_DAILY as TWIN
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs.columns import col

TRUCK_DWELL_DAILY = GoldTable(
    name="truck_dwell_daily",
    origin="reference gold.truck_dwell_daily",
    description=(
        "Average truck dwell per site and day of arrival, each shipment counted once. The reference averaged "
        "etd − eta over every status row, so each shipment counted up to six times and dwell was the planned unload "
        "time. Eventhouse twin: fn_truck_sla() / q_truck_dwell_by_site."
    ),
    grain="site (STORE_<id> or DC_<id>) × UTC day of arrival",
    refresh="daily",
    formula=(
        "kpi_twins.shipment_dwell over silver/fact_truck_moves (ARRIVED rows as arrivals, COMPLETED rows as "
        "departures, of this month and the next so that a stay across midnight at the month's end counts): one row "
        "per (truck_id, dc_id, store_id, shipment_id) with its first arrival and last departure, kept when the "
        "departure is after the arrival; then kpi_twins.TRUCK_DWELL_DAILY: avg_dwell_minutes = mean dwell, "
        "trucks = distinct trucks, shipments = count, by site and day of arrival."
    ),
    reconciliation=(
        "Σ shipments + shipments without a departure yet + shipments departing before arriving = distinct shipments "
        "with an ARRIVED row in the month (each shipment counted once)."
    ),
    columns=(
        col("site", D.STRING, "STORE_<store_id> when the truck unloads at a store, else DC_<dc_id>."),
        day_column("UTC day of arrival."),
        col("avg_dwell_minutes", D.FLOAT64, "Mean minutes from first arrival to last departure.", ge=0),
        count_column("trucks", "Distinct trucks."),
        count_column("shipments", "Shipments (each once)."),
        date_key_column(),
    ),
    key=("site", "day"),
    time_column="day",
    inputs=inputs(("fact_truck_moves", 0, 1)),
    twin=TWIN.name,
)


def truck_dwell_daily(inp: GoldInputs) -> pl.LazyFrame:
    return with_calendar(TWIN.polars(shipments_arrived(inp)), "day", inp.month)


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
