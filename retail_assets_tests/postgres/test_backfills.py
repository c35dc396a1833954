"""Two backfills of different months from two processes at once, on one PostgreSQL instance, both complete.

Two ``dagster asset materialize`` processes (the platform's code location, one month each) rebuild two
minute-grain Gold tables and publish them to the serving DuckDB file, into one lake and one DuckDB file,
after the instance was opened once by ``retail-assets`` (what docs/scale-out.md asks of a new database).
Every step is in a pool of limit 1: the Gold writers in ``stream``, the DuckDB writers in ``duckdb``. Beyond
both runs succeeding:

- each pool's steps took turns across the two processes: the limit is enforced through the database (were
  it not, the second DuckDB writer would also fail on the file's lock);
- every Gold month holds the rows its materialization recorded in PostgreSQL, and the DuckDB file serves
  exactly those rows for each month (nothing lost between the lake, the record and the serving file);
- no pool slot is left claimed once both processes have exited.

The whole-lakehouse variant (two ``retail-assets run --month`` on an empty database, tiny profile) found
dagster-io/dagster#33552 on its first run: one of the two runs failed. It passes since commands set the pools'
limits, but took 180 s (53 s of CPU in its processes) on a busy 2-core machine where this one takes 27 s
(18 s): the same pools and instance, with Silver from the Gold tests' hand-made months (gold/scenario.py).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from retail_assets.lib.instance import open_instance
from retail_assets.lib.lake import LakeStore
from retail_assets_tests.gold.scenario import MONTHS, write_silver
from retail_assets_tests.gold.test_duckdb_pool import _materialize, _output

# Two of the four minute-grain Gold tables (all in the stream pool), and their serving tables (the duckdb pool).
TABLES = ("sales_minute_store", "top_products_15m")
SELECTION = " or ".join(f"key:{layer}/{table}" for table in TABLES for layer in ("gold", "serving"))
POOLED_STEPS = {"stream": "gold__", "duckdb": "serving__"}  # the step keys of each pool's writers in SELECTION


def _step_windows(instance: dg.DagsterInstance, run_id: str, prefix: str) -> list[tuple[float, float, str]]:
    """(start, end, run) of each step of ``run_id`` whose key starts with ``prefix``."""
    starts, ends = {}, {}
    for entry in instance.all_logs(run_id):
        event = entry.dagster_event
        if event is None or not (event.step_key or "").startswith(prefix):
            continue
        if event.event_type == dg.DagsterEventType.STEP_START:
            starts[event.step_key] = entry.timestamp
        elif event.event_type in (dg.DagsterEventType.STEP_SUCCESS, dg.DagsterEventType.STEP_FAILURE):
            ends[event.step_key] = entry.timestamp
    return [(starts[k], ends[k], run_id[:8]) for k in starts]


@pytest.mark.slow
def test_two_month_backfills_from_two_processes_both_complete_one_writer_at_a_time(tmp_path: Path, pg_home: Path) -> None:
    with open_instance():
        pass  # the new database's first open by the platform: tables (from the template here) and pool limits
    data = tmp_path / "data"
    lake = LakeStore(root_uri=str(data / "lake"))
    write_silver(lake)
    processes = [_materialize(month.isoformat(), pg_home, data, select=SELECTION) for month in MONTHS]
    try:
        for process in processes:
            process.wait(timeout=600)
        outputs = [_output(p) for p in processes]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.log.close()  # type: ignore[attr-defined]
    assert [p.returncode for p in processes] == [0, 0], outputs

    with dg.DagsterInstance.from_config(str(pg_home)) as instance:
        runs = instance.get_runs()
        assert sorted(r.tags["dagster/partition"] for r in runs) == sorted(m.isoformat() for m in MONTHS)
        assert {r.status for r in runs} == {dg.DagsterRunStatus.SUCCESS}
        for pool, prefix in POOLED_STEPS.items():
            steps = sorted(w for r in runs for w in _step_windows(instance, r.run_id, prefix))
            assert len(steps) == len(TABLES) * len(MONTHS), f"{pool}: {steps}"
            overlaps = [(a, b) for a, b in zip(steps, steps[1:]) if a[1] > b[0]]
            assert not overlaps, f"pool {pool} was not enforced across the two processes: {overlaps[:2]}"
        recorded = {}
        for run in runs:
            for entry in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
                materialization = entry.dagster_event.event_specific_data.materialization
                rows = materialization.metadata.get("dagster/row_count")
                if materialization.asset_key.path[0] == "gold" and rows is not None:
                    recorded[(materialization.asset_key.path[1], materialization.partition)] = rows.value
        storage = instance.event_log_storage
        assert storage.get_concurrency_run_ids() == set(), "a run left a pool slot claimed"
    assert set(recorded) == {(t, m.isoformat()) for t in TABLES for m in MONTHS}
    assert sum(recorded.values()) > 0, "the scenario builds rows"
    with duckdb.connect(str(data / "retail.duckdb"), read_only=True) as served:
        for (table, month), rows in recorded.items():
            in_lake = lake.read(f"gold/{table}", [dt.date.fromisoformat(month)]).height
            in_duckdb = served.execute(f"SELECT count(*) FROM {table} WHERE month_start = ?", [dt.date.fromisoformat(month)]).fetchone()[0]
            assert (in_lake, in_duckdb) == (rows, rows), f"gold/{table} {month}: recorded {rows}, lake {in_lake}, served {in_duckdb}"
