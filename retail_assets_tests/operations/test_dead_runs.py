"""A killed run never freezes the platform: its pool slots are freed and the runs waiting for them complete.

Real processes on one Dagster instance (sqlite, the repository's concurrency and run-monitoring settings):
for each pool of the platform (duckdb, bronze_events, stream_hot) a run takes the pool's only slot and
holds it; a second run of the pool is started and waits; the holder is killed with SIGKILL. With nobody
else around (no daemon, no operator), the waiting run's own watchdog finds the holder's process gone,
marks that run failed and frees its slot, and the waiting run completes — within two minutes of the kill.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import psutil
import pytest

from retail_assets.lib.liveness import WORKER_TAG, Worker, dead_runs
from retail_assets_tests.operations.drills import drill_home
from retail_assets_tests.operations.holders import POOLS

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """A DAGSTER_HOME with sqlite storage and the repository's concurrency and run-monitoring settings."""
    return drill_home(tmp_path)


def _materialize(pool: str, home: Path, hold: float, name: str) -> subprocess.Popen:
    log = open(home.parent / f"{name}.log", "w+")  # noqa: SIM115 - closed by the test
    process = subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "retail_assets_tests.operations.holders",
         "--select", f"hold_{pool}"],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home), "HOLD_SECONDS": str(hold)},
        stdout=log, stderr=subprocess.STDOUT,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def _output(process: subprocess.Popen) -> str:
    process.log.seek(0)  # type: ignore[attr-defined]
    return process.log.read()[-3000:]  # type: ignore[attr-defined]


def _holder_run(instance: dg.DagsterInstance, pool: str) -> str | None:
    claimed = instance.event_log_storage.get_concurrency_info(pool).claimed_slots
    return claimed[0].run_id if claimed else None


def _waiting_runs(instance: dg.DagsterInstance, pool: str) -> set[str]:
    return {s.run_id for s in instance.event_log_storage.get_concurrency_info(pool).pending_steps if s.assigned_timestamp is None}


@pytest.mark.slow
def test_killing_the_run_holding_each_pool_frees_it_for_the_waiting_run(home: Path) -> None:
    processes: list[subprocess.Popen] = []
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            holders = {pool: _materialize(pool, home, 600, f"holder-{pool}") for pool in POOLS}
            processes += holders.values()
            held: dict[str, str] = {}
            deadline = time.monotonic() + 120
            while len(held) < len(POOLS):
                assert time.monotonic() < deadline, {p: _output(h) for p, h in holders.items()}
                held.update({pool: run for pool in POOLS if (run := _holder_run(instance, pool))})
                time.sleep(0.5)
            waiters = {pool: _materialize(pool, home, 0, f"waiter-{pool}") for pool in POOLS}
            processes += waiters.values()
            deadline = time.monotonic() + 120
            while any(not _waiting_runs(instance, pool) - {held[pool]} for pool in POOLS):
                assert time.monotonic() < deadline, {p: _output(w) for p, w in waiters.items()}
                time.sleep(0.5)
            for pool, run_id in held.items():
                tag = Worker.from_tag(instance.get_run_by_id(run_id).tags[WORKER_TAG])
                assert tag is not None and tag.pid == holders[pool].pid, "the run records the process executing it"
            for process in holders.values():
                os.kill(process.pid, signal.SIGKILL)
                process.wait(timeout=30)
            killed = time.monotonic()
            for pool, waiter in waiters.items():
                waiter.wait(timeout=max(1.0, 120 - (time.monotonic() - killed)))
                assert waiter.returncode == 0, _output(waiter)
            assert time.monotonic() - killed < 120
            for pool, run_id in held.items():
                run = instance.get_run_by_id(run_id)
                assert run.status == dg.DagsterRunStatus.FAILURE, f"{pool}: the killed run is {run.status}"
                failure = [e for e in instance.all_logs(run_id) if e.is_dagster_event and e.dagster_event.is_run_failure]
                assert "is gone (killed or crashed); marked failed by" in failure[0].message
                assert run_id not in instance.event_log_storage.get_concurrency_run_ids()
            assert all(r.status != dg.DagsterRunStatus.STARTED for r in instance.get_runs())
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
            process.log.close()  # type: ignore[attr-defined]


def test_a_worker_tag_tells_a_dead_or_reused_process_from_a_live_one() -> None:
    live = Worker.this_process()
    assert Worker.from_tag(live.to_tag()) == live and live.gone() is None
    finished = subprocess.Popen([sys.executable, "-c", "pass"])
    started = psutil.Process(finished.pid).create_time()
    finished.wait()
    assert "is gone (killed or crashed)" in Worker(live.host, live.boot, finished.pid, started).gone()
    reused = Worker(live.host, live.boot, os.getpid(), live.started - 3600)
    assert "the pid now belongs to another process" in reused.gone()
    assert "restarted" in Worker(live.host, live.boot - 86400, os.getpid(), live.started).gone()
    assert Worker.from_tag("pid=12") is None


def test_only_runs_of_this_host_are_judged(home: Path) -> None:
    with dg.DagsterInstance.from_config(str(home)) as instance:
        elsewhere = Worker("another-host", 0.0, 1, 0.0)
        assert elsewhere.is_here() is False
        assert dead_runs(instance) == []


@pytest.mark.slow
def test_a_killed_stream_worker_resumes_by_itself_and_every_event_reaches_bronze_once(tmp_path: Path) -> None:
    """Under ``dagster dev``: events stream in, the stream worker run is SIGKILLed mid-stream; the dead_run_reaper
    sensor fails it, stream_worker_sensor starts a new worker, and every landed event is in Bronze exactly once."""
    from retail_assets_tests.operations.drills import kill_stream_worker

    report = kill_stream_worker(1, rate=150.0, between=8.0, root=tmp_path)
    assert report.trials == 1 and report.stalls == 0, report.notes
    assert report.lost_rows == 0 and report.duplicated_rows == 0, report.notes
    assert report.converged == 1, report.notes
    assert report.seconds[0] < 120, f"streaming resumed {report.seconds[0]:.0f} s after the kill"


def test_any_cli_command_fails_a_dead_run_and_frees_its_slot(home: Path) -> None:
    """No daemon, no waiting run: the next CLI command that opens the instance notices the dead holder."""
    holder = _materialize("duckdb", home, 600, "cli-holder")
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 120
            while not (run_id := _holder_run(instance, "duckdb")):
                assert time.monotonic() < deadline and holder.poll() is None, _output(holder)
                time.sleep(0.3)
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
            listed = subprocess.run([sys.executable, "-m", "retail_assets.cli", "runs"], cwd=REPO, capture_output=True,
                                    text=True, timeout=120, env={**os.environ, "DAGSTER_HOME": str(home)})
            assert listed.returncode == 0, listed.stderr[-2000:]
            assert f"run {run_id}" in listed.stderr and "marked failed, pool slots freed" in listed.stderr
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
            assert not instance.event_log_storage.get_concurrency_info("duckdb").claimed_slots
    finally:
        if holder.poll() is None:
            holder.kill()
        holder.log.close()  # type: ignore[attr-defined]


def test_the_run_command_records_its_own_process_as_the_worker(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import datetime as dt

    from retail_assets.commands.run import _execute
    from retail_assets_tests.operations.holders import defs

    monkeypatch.setenv("HOLD_SECONDS", "0")
    job = defs.resolve_implicit_global_asset_job_def()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        assert _execute(job, instance, dt.date(2024, 1, 1), dt.date(2024, 1, 1)) == 0
        (run,) = instance.get_runs()
        assert Worker.from_tag(run.tags[WORKER_TAG]) == Worker.this_process()
