"""Concurrent runs writing the DuckDB file queue for the ``duckdb`` pool instead of failing on its lock.

What is proven, with real processes against one Dagster instance (sqlite storage, the repository's
``dagster.yaml`` concurrency settings):

1. DuckDB's lock: while one process holds the file for writing, another process's ``duckdb.connect``
   fails at once — the failure the pool prevents.
2. The pool: the test process takes the ``duckdb`` pool's only slot, then starts two
   ``dagster asset materialize`` processes that publish different months of ``serving/sales_minute_store``
   into the same file. Both steps report "blocked by limit for pool duckdb" while the slot is held, so
   both runs were in flight together. Once the slot is released both runs succeed, their writing steps
   do not overlap in time, and the file holds both months.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import yaml

from retail_assets.lib.gold.pipeline import materialize_gold_month
from retail_assets.lib.lake import LakeStore
from retail_assets_tests.gold.scenario import write_silver
from retail_assets_tests.gold.silver_rows import FEB, JAN

REPO = Path(__file__).resolve().parents[2]
POOL = "duckdb"
BLOCKED = f"Step blocked by limit for pool {POOL}"
HOLDER = ("test-holder-run", "test-holder-step")


def test_a_second_process_cannot_open_a_duckdb_file_being_written(tmp_path: Path) -> None:
    path = tmp_path / "locked.duckdb"
    with duckdb.connect(str(path)) as writer:
        writer.execute("CREATE TABLE t AS SELECT 1 AS x")
        probe = textwrap.dedent(f"""
            import duckdb
            try:
                duckdb.connect({str(path)!r}, read_only=True)
            except duckdb.IOException as exc:
                print("LOCKED", exc)
        """)
        out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert "LOCKED" in out.stdout and "Could not set lock" in out.stdout, out.stdout + out.stderr


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME with sqlite storage and the repository's concurrency settings."""
    repo = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config = {
        "storage": {"sqlite": {"base_dir": str(tmp_path / "home" / "storage")}},
        "concurrency": repo["concurrency"],
        "telemetry": {"enabled": False},
    }
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text(yaml.safe_dump(config))
    return tmp_path / "home"


def _materialize(month: str, home: Path, data: Path, select: str = "serving/sales_minute_store") -> subprocess.Popen:
    """``dagster asset materialize`` of ``select`` (the platform's code location) for ``month``, in a new process."""
    # Output goes to a file, not a pipe: nobody reads a pipe while the run waits for the pool, and a
    # full pipe (64 KiB of load-time warnings) would block the process before it even creates its run.
    log = open(home.parent / f"materialize-{month}.log", "w+")  # noqa: SIM115 - closed by the test
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "dagster",
            "asset",
            "materialize",
            "-m",
            "retail_assets.definitions",
            "--select",
            select,
            "--partition",
            month,
        ],
        cwd=REPO,
        env={**os.environ, "DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(data)},
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def _output(process: subprocess.Popen) -> str:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()[-3000:]  # type: ignore[attr-defined]


def _blocked_runs(instance: dg.DagsterInstance) -> set[str]:
    return {
        run.run_id
        for run in instance.get_runs()
        if any(BLOCKED in (entry.user_message or "") for entry in instance.all_logs(run.run_id))
    }


def _step_window(instance: dg.DagsterInstance, run_id: str) -> tuple[float, float]:
    times = {e.dagster_event.event_type_value: e.timestamp for e in instance.all_logs(run_id) if e.dagster_event}
    return times["STEP_START"], times["STEP_SUCCESS"]


def test_two_concurrent_runs_both_succeed_one_writer_at_a_time(home: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    lake = LakeStore(root_uri=str(data / "lake"))
    write_silver(lake)
    for month in (JAN, FEB):
        materialize_gold_month(lake, "sales_minute_store", month)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        assert storage.initialize_concurrency_limit_to_default(POOL)
        assert storage.get_concurrency_info(POOL).slot_count == 1  # dagster.yaml: pools default_limit 1
        assert storage.claim_concurrency_slot(POOL, *HOLDER).is_claimed
        processes = [_materialize(m, home, data) for m in ("2024-01-01", "2024-02-01")]
        try:
            deadline = time.monotonic() + 120
            while len(_blocked_runs(instance)) < 2:
                assert time.monotonic() < deadline, "both runs should be waiting for the duckdb pool"
                assert all(p.poll() is None for p in processes), [_output(p) for p in processes]
                time.sleep(0.5)
            storage.free_concurrency_slot_for_step(*HOLDER)
            for p in processes:
                p.wait(timeout=120)
            outputs = [_output(p) for p in processes]
        finally:
            for p in processes:
                if p.poll() is None:
                    p.kill()
                p.log.close()  # type: ignore[attr-defined]
        assert [p.returncode for p in processes] == [0, 0], outputs
        runs = instance.get_runs()
        assert [r.status for r in runs] == [dg.DagsterRunStatus.SUCCESS] * 2
        (first, second) = sorted(_step_window(instance, r.run_id) for r in runs)
        assert first[1] <= second[0], f"the two DuckDB writers overlapped: {first} and {second}"
    with duckdb.connect(str(data / "retail.duckdb"), read_only=True) as con:
        months = con.execute("SELECT DISTINCT month_start FROM sales_minute_store ORDER BY 1").fetchall()
    assert months == [(JAN,), (FEB,)]
