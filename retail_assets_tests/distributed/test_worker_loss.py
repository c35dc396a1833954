"""Workers killed with SIGKILL while they execute a step: the step is executed again, finally by the other worker,
and the backfill ends with exactly the tables of the in-process backfill.

Two losses hit the same step of one backfill (the generator's: the slice's longest step and one of its first):

1. The process executing the step is killed (what the OOM killer does): its worker sees the loss and sends the
   step again at once (``task_retry_on_worker_lost``, bounded by RETAIL_CELERY_WORKER_LOST_RETRIES).
2. Then the whole worker executing it again is killed (its main process and the step's process, as a lost
   machine): nothing is left to report anything, so Dagster's step retries (which react to a step's failure event)
   cannot help, and dagster-celery would wait for the step's result for ever. Celery's late acknowledgement does:
   the step is acknowledged only once it has ended, so the broker still holds it and hands it to the live worker
   once the visibility timeout has passed.

Executing a step again is safe: every asset replaces its months (lib/executors.py).
"""

from __future__ import annotations

import os
import signal
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


def _started(instance: dg.DagsterInstance, run_id: str, step_key: str, attempt: int) -> tuple[float, int] | None:
    """(time, pid) of the ``attempt``-th STEP_START of ``step_key``, once there is one."""
    starts = [e for e in instance.all_logs(run_id, of_type=dg.DagsterEventType.STEP_START) if e.step_key == step_key]
    return (starts[attempt - 1].timestamp, starts[attempt - 1].dagster_event.pid) if len(starts) >= attempt else None


def test_a_step_whose_process_then_whole_worker_are_killed_ends_on_the_other_worker_with_the_same_tables(
    cluster: Cluster, reference_tables: dict[str, list[int]]
) -> None:
    with dg.DagsterInstance.from_config(str(cluster.home)) as instance:
        earlier = {run.run_id for run in instance.get_runs()}
        backfill = celery_backfill(cluster, "silver")
        run_id = wait_for(lambda: next((r.run_id for r in instance.get_runs() if r.run_id not in earlier), None),
                          120, "the backfill's run")
        _, pid = wait_for(lambda: _started(instance, run_id, KILLED_STEP, 1), 180, f"{KILLED_STEP} to start")
        os.kill(pid, signal.SIGKILL)
        process_killed_at = time.time()
        _, pid = wait_for(lambda: _started(instance, run_id, KILLED_STEP, 2), 60, f"{KILLED_STEP} to start again")
        victim = cluster.worker_of(pid)
        assert victim is not None, f"{KILLED_STEP} started in process {pid}, which belongs to no worker"
        (survivor,) = [w for w in cluster.live_workers if w is not victim]
        victim_processes = victim.processes()
        worker_killed_at = time.time()
        victim.kill()
        # The step comes back after the visibility timeout; without late acknowledgement it never would.
        backfill.wait(timeout=VISIBILITY_TIMEOUT_SECONDS + 240)
        steps = steps_of(instance, run_id)
        survivor_processes = survivor.processes()
        status = instance.get_run_by_id(run_id).status

    assert status == dg.DagsterRunStatus.SUCCESS, backfill.output()
    retried = steps[KILLED_STEP]
    assert len(retried.starts) == 3 and retried.succeeded, retried
    (_, first_pid), (again_at, again_pid), (last_at, last_pid) = retried.starts
    # 1. Sent again at once by the worker that lost its process (long before any visibility timeout).
    assert first_pid != again_pid and again_at - process_killed_at < VISIBILITY_TIMEOUT_SECONDS / 2, retried
    # 2. Handed to the surviving worker by the broker once the lost worker's step was overdue.
    assert again_pid in victim_processes and last_pid in survivor_processes, (retried, victim, survivor)
    assert [name.split("@")[0] for name in retried.taken_by[1:]] == [victim.name, survivor.name]
    # The broker's clock runs from the step's delivery to the lost worker (a second or two before its STEP_START,
    # and before the kill, by as much as the kill took to follow it), which came after the first kill.
    assert last_at - process_killed_at >= VISIBILITY_TIMEOUT_SECONDS - 1, (process_killed_at, worker_killed_at, retried)
    assert all(len(s.starts) == 1 and s.succeeded for key, s in steps.items() if key != KILLED_STEP), steps

    tables = table_hashes(cluster.data)
    expected = {name: rows for name, rows in reference_tables.items() if name.startswith(("bronze/", "silver/"))}
    assert set(tables) == set(expected)
    assert differences(expected, tables) == []
