"""Daily volumes at the reference profile against what the reference generator produced here.

A full reference month takes ~20 s and ~4.5 GB, too much for the unit-test budget, so this checks
the first full week of January 2024 (Tuesday 2nd to Monday 8th: every weekday once, New Year's Day
excluded) simulated with ``simulate(through=...)``, whose rows are identical to the full month's.
The reference's numbers are January 2024 daily averages (research/anchor-datagen-bench.md). Basket
size is no longer the reference's (issue 13: 6-14 units per basket, not 16.7), so lines per receipt and
the store inventory transactions the sale lines drive are checked against the realism calibration.
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.simulate import simulate
from retail_assets.lib.generator.tables import month_tables
from retail_assets.lib.specs import REGISTRY

FIRST, LAST = dt.date(2024, 1, 2), dt.date(2024, 1, 8)
DAYS = (LAST - FIRST).days + 1
REFERENCE_PER_DAY = {
    "fact_receipts": 22_000,
    "fact_ble_pings": 285_000,
    "fact_payments": 23_000,
    "fact_marketing": 5_400,
    "fact_online_order_headers": 880,
}


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


@pytest.mark.parametrize("table", sorted(REFERENCE_PER_DAY))
def test_daily_volume_within_25_percent_of_the_reference(per_day, table):
    expected = REFERENCE_PER_DAY[table]
    assert 0.75 * expected <= per_day[table] <= 1.25 * expected, f"{table}: {per_day[table]:,.0f} per day vs {expected:,}"


def test_lines_per_receipt_and_total_rows(per_day):
    receipts = per_day["fact_receipts"]
    assert 4.5 <= per_day["fact_receipt_lines"] / receipts <= 9.0  # 6-14 units per basket, ~1.4 units a line
    assert 0.9 <= per_day["fact_store_inventory_txn"] / per_day["fact_receipt_lines"] <= 1.3  # a SALE txn per line, plus deliveries
    assert 0.75 * 256 <= receipts / 86 <= 1.25 * 256
    total = sum(per_day.values())
    assert 750_000 <= total <= 1_250_000, f"{total:,.0f} fact rows per day"
