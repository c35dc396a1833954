"""The Dagster daemon on the production instance: sensor ticks, the run queue, launched runs and the dead-run
reaper, each in its own process, all through PostgreSQL.

A run holding the ``duckdb`` pool's slot is SIGKILLed (the kill drill of operations/test_dead_runs.py). Then
``dagster-daemon run`` starts on the instance, serving location.py. Its sensor daemon evaluates the
platform's ``dead_run_reaper`` sensor, which fails the killed run and frees its slot, and a sensor that
requests one run; the run queue (deploy/dagster.yaml's limits) dequeues that run and launches it in a new
process, where it steps through the pools. Then: the killed run is failed by the sensor, the requested run
was queued, launched and succeeded, the ticks and the daemon's heartbeats are stored, and no slot is held.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.lib.liveness import WORKER_TAG, Worker
from retail_assets_tests.operations.drills import REPO, stop_process_group
from retail_assets_tests.operations.holders import POOLS
from retail_assets_tests.operations.test_dead_runs import _holder_run, _materialize, _output

DEADLINE_SECONDS = 180


def _daemon(home: Path) -> subprocess.Popen:
    log = open(home.parent / "daemon.log", "w+")  # noqa: SIM115 - closed by the test
    process = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-daemon")), "run", "-m", "retail_assets_tests.postgres.location"],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home), "HOLD_SECONDS": "0"},
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    process.log = log  # type: ignore[attr-defined]
    return process


def _ticks(instance: dg.DagsterInstance) -> dict[str, list]:
    return {state.instigator_name: instance.get_ticks(state.instigator_origin_id, state.selector_id)
            for state in instance.all_instigator_state()}


@pytest.mark.slow
def test_the_daemon_reaps_a_dead_run_and_launches_a_sensor_run_through_postgres(pg_home: Path) -> None:
    holder = _materialize("duckdb", pg_home, 600, "holder")
    daemon = None
    try:
        with dg.DagsterInstance.from_config(str(pg_home)) as instance:
            deadline = time.monotonic() + DEADLINE_SECONDS
            while not (killed := _holder_run(instance, "duckdb")):
                assert time.monotonic() < deadline and holder.poll() is None, _output(holder)
                time.sleep(0.3)
            os.kill(holder.pid, signal.SIGKILL)
            holder.wait(timeout=30)
            daemon = _daemon(pg_home)
            while True:
                requested = instance.get_runs(filters=dg.RunsFilter(tags={"dagster/run_key": "once"}))
                done = requested and requested[0].status in (dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE)
                if done and instance.get_run_by_id(killed).status == dg.DagsterRunStatus.FAILURE:
                    break
                assert time.monotonic() < deadline and daemon.poll() is None, _output(daemon)
                time.sleep(0.5)
            stop_process_group(daemon)

            (run,) = requested
            run = instance.get_run_by_id(run.run_id)
            assert run.status == dg.DagsterRunStatus.SUCCESS, _output(daemon)
            events = [e.dagster_event.event_type for e in instance.all_logs(run.run_id) if e.dagster_event]
            assert events.index(dg.DagsterEventType.RUN_ENQUEUED) < events.index(dg.DagsterEventType.RUN_STARTING), (
                "queued by the sensor, then launched by the run queue")
            assert events.count(dg.DagsterEventType.ASSET_MATERIALIZATION) == len(POOLS)
            worker = Worker.from_tag(run.tags[WORKER_TAG])
            assert worker.pid not in (os.getpid(), daemon.pid), "the run had its own process"

            failure = [e for e in instance.all_logs(killed) if e.dagster_event and e.dagster_event.is_run_failure]
            assert "marked failed by sensor dead_run_reaper" in failure[0].message
            assert instance.event_log_storage.get_concurrency_run_ids() == set(), "no slot held by anyone"

            ticks = _ticks(instance)
            assert any(t.status.value == "SUCCESS" and run.run_id in t.run_ids for t in ticks["request_one_run"])
            assert any("1 dead runs failed" in (t.skip_reason or "") for t in ticks["dead_run_reaper"])
            beating = {h.daemon_type for h in instance.get_daemon_heartbeats().values()}
            assert {"SENSOR", "QUEUED_RUN_COORDINATOR", "MONITORING"} <= beating, beating
    finally:
        if daemon is not None:
            stop_process_group(daemon)
            daemon.log.close()  # type: ignore[attr-defined]
        if holder.poll() is None:
            holder.kill()
        holder.log.close()  # type: ignore[attr-defined]
