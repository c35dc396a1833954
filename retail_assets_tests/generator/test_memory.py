"""Landing a month holds a stage's data only until its tables are written, and tables built in parts
(sale lines, ledger rows, BLE pings) equal the tables built whole: that is what keeps the reference
month under its memory budget without changing a row."""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
from polars.testing import assert_frame_equal

from retail_assets.lib.generator import FACT_TABLES
from retail_assets.lib.generator import inventory as inv
from retail_assets.lib.generator import output
from retail_assets.lib.generator import simulate as sim_module
from retail_assets.lib.generator import tables as tbl
from retail_assets.lib.generator.facts import month_facts
from retail_assets.lib.generator.simulate import RELEASED_AFTER
from retail_assets.lib.landing import LandingZone

MONTH = dt.date(2024, 1, 1)


def _landing(tmp_path) -> LandingZone:
    landing = LandingZone(root_uri=str(tmp_path))
    landing.ensure_root()
    return landing


def test_a_stage_data_is_dropped_once_its_tables_are_landed(tmp_path, tiny_config, monkeypatch):
    simulated = []
    real = output.simulate

    def keep_a_handle(*args, **kwargs):
        simulated.append(real(*args, **kwargs))
        return simulated[-1]

    monkeypatch.setattr(output, "simulate", keep_a_handle)
    report = output.write_month(tiny_config, MONTH, _landing(tmp_path))

    assert set(report.rows) == set(FACT_TABLES) and all(report.rows.values())
    sim = simulated[0]
    dropped = {name: getattr(sim, name) is None for stage in ("store days", "sales") for name in RELEASED_AFTER[stage]}
    assert all(dropped.values()), f"still held after their tables were landed: {[n for n, d in dropped.items() if not d]}"
    assert sim.store_ledger is not None and sim.store_ledger.size > 0


def test_tables_built_in_parts_equal_the_tables_built_whole(tmp_path, tiny_config, monkeypatch):
    with monkeypatch.context() as small:
        small.setattr(tbl, "BLOCK_ROWS", 997)
        small.setattr(inv, "BALANCE_BLOCK_ROWS", 1_500)
        report = output.write_month(tiny_config, MONTH, _landing(tmp_path))
    whole = month_facts(tiny_config, MONTH)
    for table in ("fact_receipt_lines", "fact_store_inventory_txn", "fact_ble_pings", "fact_promotions", "fact_promo_lines"):
        assert whole[table].height > 997, f"{table}: too few rows at tiny to be built in several parts"
    for table in FACT_TABLES:
        landed = pl.read_parquet(tmp_path / report.files[table])
        assert_frame_equal(landed, whole[table], check_exact=True)


def test_the_store_ledger_is_assembled_only_after_the_month_sales_are_dropped(tmp_path, tiny_config, monkeypatch):
    events = []
    real_release, real_ledger = sim_module.Simulation.release, sim_module.inv.store_ledger_rows

    def release(self, stage):
        real_release(self, stage)
        events.append(f"released {stage}")

    def ledger(*args, **kwargs):
        events.append("store ledger")
        return real_ledger(*args, **kwargs)

    def slow_parts(sim, table):
        if table in sim_module.STAGES["sales"]:
            time.sleep(0.5)  # the sales tables are still being written when the ledger could start
        return real_parts(sim, table)

    real_parts = output.table_parts
    monkeypatch.setattr(sim_module.Simulation, "release", release)
    monkeypatch.setattr(sim_module.inv, "store_ledger_rows", ledger)
    monkeypatch.setattr(output, "table_parts", slow_parts)
    output.write_month(tiny_config, MONTH, _landing(tmp_path))

    assert events.index("released sales") < events.index("store ledger")


def test_landing_a_month_streams_its_sales_day_by_day(tmp_path, tiny_config, monkeypatch):
    """The month's sales are never concatenated: each day is written as it is simulated (the month's
    sale lines were the largest arrays of a month, and they grow with the stores)."""
    days = []
    real_day = output._DayStreams.day

    def whole_month(*args, **kwargs):
        raise AssertionError("the month's sales were concatenated")

    def day(self, sim):
        days.append(set(sim.sales.day.tolist()))
        real_day(self, sim)

    monkeypatch.setattr(sim_module, "concat_batches", whole_month)
    monkeypatch.setattr(output._DayStreams, "day", day)
    report = output.write_month(tiny_config, MONTH, _landing(tmp_path))

    assert set(report.rows) == set(FACT_TABLES) and all(report.rows.values())
    # The straddling day and the month's 31 days, then the next month's first hours (24/7 stores only: none at tiny).
    assert len(days) == 33 and all(len(d) == 1 for d in days[:32]) and len(days[32]) <= 1
