"""Daily volumes at the reference profile: real supermarket traffic on the reference's network.

The reference generator made ~256 receipts per store-day (research/anchor-datagen-bench.md); a
supermarket makes ~1,800 (FMI: 12,700 a week), so receipts and everything per receipt are 5-6x the
reference's, while BLE pings stay near its volume because only app users' phones answer beacons.
A full reference month is too much for the unit-test budget, so this checks the first full week of
January 2024 (Tuesday 2nd to Monday 8th: every weekday once, New Year's Day excluded) simulated with
``simulate(through=...)``, whose rows are identical to the full month's.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

pytestmark = pytest.mark.slow

from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.simulate import simulate
from retail_assets.lib.generator.tables import month_tables
from retail_assets.lib.specs import REGISTRY

FIRST, LAST = dt.date(2024, 1, 2), dt.date(2024, 1, 8)
DAYS = (LAST - FIRST).days + 1
# The reference generator's January 2024 daily averages; receipts-driven tables scale with receipts.
REFERENCE_PER_DAY = {"fact_receipts": 22_000, "fact_ble_pings": 285_000, "fact_payments": 23_000}
STORES = 86


@pytest.fixture(scope="module")
def per_day() -> dict[str, float]:
    config = load_config("reference", environ={})
    sim = simulate(config, dt.date(2024, 1, 1), through=LAST)
    start = dt.datetime.combine(FIRST, dt.time(), dt.UTC)
    counts = {}
    for table, frame in month_tables(sim):
        column = REGISTRY.table(table).time_column
        counts[table] = frame.filter(pl.col(column) >= start).height / DAYS
    return counts


def test_receipts_per_store_day_at_supermarket_scale(per_day):
    """Network average over the formats (hypermarkets to express) in January: 1,000-2,600 a day."""
    assert 1_000 <= per_day["fact_receipts"] / STORES <= 2_600, per_day["fact_receipts"] / STORES
    assert 1.0 <= per_day["fact_payments"] / per_day["fact_receipts"] <= 1.1


def test_ble_pings_stay_near_the_reference_volume(per_day):
    """5-6x the receipts, but pings only for app users' visits: within 0.6-1.6x the reference's."""
    ratio = per_day["fact_ble_pings"] / REFERENCE_PER_DAY["fact_ble_pings"]
    assert 0.6 <= ratio <= 1.6, f"{per_day['fact_ble_pings']:,.0f} pings per day"


def test_online_orders_follow_the_profile(per_day):
    config = load_config("reference", environ={})
    assert 0.75 * config.online_orders_per_day <= per_day["fact_online_order_headers"] <= 1.25 * config.online_orders_per_day


def test_foot_traffic_stays_per_store_hour(per_day):
    """Door counters report per store-hour and zone, whatever the traffic: 5 zones x ~15 open hours."""
    assert 5 * 10 * STORES <= per_day["fact_foot_traffic"] <= 5 * 24 * STORES


def test_lines_per_receipt_and_ledger_rows_per_line(per_day):
    """6-14 units per basket at ~1.4 units a line; a SALE movement per line plus online picks and deliveries."""
    lines = per_day["fact_receipt_lines"]
    assert 4.5 <= lines / per_day["fact_receipts"] <= 9.0
    assert 0.9 <= per_day["fact_store_inventory_txn"] / lines <= 1.6
