"""A Celery worker SIGKILLed while it executes a step: the other worker executes the step again and the backfill
ends with exactly the tables of the in-process backfill.

The whole worker is killed at once (its main process and the process executing the step), as a lost machine:
nothing is left to report a failure, so Dagster's step retries (which react to a step's failure event) cannot
help, and dagster-celery would wait for the step's result for ever. Celery's late acknowledgement does: the
worker acknowledges a step only once it has ended, so the broker still holds the killed worker's step and hands it
to a live worker after the visibility timeout (lib/executors.py). Executing a step twice is safe: every asset
replaces its months.
"""

from __future__ import annotations

import time

import dagster as dg
import pytest

from retail_assets_tests.distributed.cluster import Cluster
from retail_assets_tests.distributed.conftest import VISIBILITY_TIMEOUT_SECONDS, celery_backfill, wait_for
from retail_assets_tests.distributed.events import steps_of
from retail_assets_tests.distributed.lake import differences, table_hashes

pytestmark = pytest.mark.slow

# The generator: the longest step of the slice (seconds), and the first one, so the kill cannot miss it.
KILLED_STEP = "generated_facts"


def _started(instance: dg.DagsterInstance, run_id: str, step_key: str) -> tuple[float, int] | None:
    for entry in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START):
        if entry.step_key == step_key:
            return entry.timestamp, entry.dagster_event.pid
    return None


def test_a_worker_killed_mid_step_hands_the_step_to_the_other_worker(
    cluster: Cluster, reference_tables: dict[str, list[int]]
) -> None:
    with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
        earlier = {run.run_id for run in instance.get_runs()}
        backfill = celery_backfill(cluster, "silver")
        run_id = wait_for(lambda: next((r.run_id for r in instance.get_runs() if r.run_id not in earlier), None),
                          120, "the backfill's run")
        _, pid = wait_for(lambda: _started(instance, run_id, KILLED_STEP), 180, f"{KILLED_STEP} to start")
        victim = cluster.worker_of(pid)
        assert victim is not None, f"{KILLED_STEP} started in process {pid}, which belongs to no worker"
        (survivor,) = [w for w in cluster.live_workers if w is not victim]
        victim_processes = victim.processes()
        killed_at = time.time()
        victim.kill()
        # The step comes back after the visibility timeout; without late acknowledgement it never would.
        backfill.wait(timeout=VISIBILITY_TIMEOUT_SECONDS + 240)
        steps = steps_of(instance, run_id)
        survivor_processes = survivor.processes()
        status = instance.get_run_by_id(run_id).status

    assert status == dg.DagsterRunStatus.SUCCESS, backfill.output()
    retried = steps[KILLED_STEP]
    assert len(retried.starts) == 2 and retried.succeeded, retried
    (first_at, first_pid), (again_at, again_pid) = retried.starts
    assert first_pid in victim_processes and again_pid in survivor_processes, (retried, victim, survivor)
    assert [name.split("@")[0] for name in retried.taken_by] == [victim.name, survivor.name]
    # Handed out again by the broker once the killed worker's step was overdue, not re-sent at once by anyone.
    assert again_at - killed_at >= VISIBILITY_TIMEOUT_SECONDS - 1, (killed_at, again_at)
    assert all(len(s.starts) == 1 and s.succeeded for key, s in steps.items() if key != KILLED_STEP), steps

    tables = table_hashes(cluster.data)
    expected = {name: rows for name, rows in reference_tables.items() if name.startswith(("bronze/", "silver/"))}
    assert set(tables) == set(expected)
    assert differences(expected, tables) == []
