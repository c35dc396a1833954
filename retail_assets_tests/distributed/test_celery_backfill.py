"""A 3-month backfill on two Celery workers (``RETAIL_EXECUTOR=celery``, real processes, a private Redis).

One backfill (the ``serving`` slice, 2024-01..2024-03, tiny profile, one run) is shared by the tests below:

- it writes exactly the tables the same backfill writes in-process, row for row (every Delta table of the lake and
  every table of the DuckDB file), and its steps ran in both workers' processes, none in the orchestrator's;
- Dagster's pools still hold across workers: no two steps of the ``duckdb`` pool (nor of ``stream``) overlapped,
  although the workers ran steps side by side, one DuckDB writer even waited for the pool while a worker was free.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import dagster as dg
import pytest

from retail_assets.defs.jobs import MAIN_JOB
from retail_assets.lib.liveness import WORKER_TAG
from retail_assets.lib.liveness import Worker as LivenessWorker
from retail_assets_tests.distributed.backfill import SLICES
from retail_assets_tests.distributed.cluster import Cluster, Worker
from retail_assets_tests.distributed.conftest import Backfill, celery_backfill
from retail_assets_tests.distributed.events import Step, overlap, steps_of
from retail_assets_tests.distributed.lake import differences, table_hashes

pytestmark = pytest.mark.slow

POOL = "duckdb"
# dagster-celery's loop turns once a second: a ready step that needs no slot is sent within that (plus margin).
TICK_SECONDS = 1.5


@dataclass
class OnCelery:
    backfill: Backfill
    status: dg.DagsterRunStatus
    steps: dict[str, Step]
    workers: dict[str, Worker | None]  # step -> the worker whose process executed it
    tables: dict[str, list[int]]
    run_worker: LivenessWorker | None  # the process the run recorded as its worker (lib/liveness.py)
    announced: list[str]  # run-level engine events naming where the steps went


@pytest.fixture(scope="module")
def on_celery(cluster: Cluster) -> OnCelery:
    backfill = celery_backfill(cluster, "serving").wait()
    with backfill.instance() as instance:
        steps = steps_of(instance, backfill.run_id)
        run = instance.get_run_by_id(backfill.run_id)
        announced = [e.dagster_event.message for e in instance.all_logs(backfill.run_id, of_type=dg.DagsterEventType.ENGINE_EVENT)
                     if "Celery queue" in (e.dagster_event.message or "")]
    # Read while the workers (and the processes they forked to execute steps) are alive.
    workers = {key: cluster.worker_of(pid) for key, step in steps.items() for _, pid in step.starts[-1:]}
    return OnCelery(backfill, run.status, steps, workers, table_hashes(cluster.data),
                    LivenessWorker.from_tag(run.tags.get(WORKER_TAG, "")), announced)


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from retail_assets.definitions import defs

    return defs()


def test_the_backfill_on_two_workers_writes_exactly_what_the_in_process_backfill_writes(
    on_celery: OnCelery, reference_tables: dict[str, list[int]]
) -> None:
    assert on_celery.status == dg.DagsterRunStatus.SUCCESS, on_celery.backfill.output()
    assert "success on celery workers" in on_celery.backfill.output()
    assert {name.split("/")[0] for name in reference_tables} == {"bronze", "silver", "gold", "duckdb"}
    assert all(reference_tables.values()), "a reference table is empty: the comparison would prove little"
    assert differences(reference_tables, on_celery.tables) == []


def test_the_steps_ran_in_both_worker_processes_and_none_in_the_orchestrator(on_celery: OnCelery, cluster: Cluster) -> None:
    steps, workers = on_celery.steps, on_celery.workers
    assert all(step.succeeded and len(step.starts) == 1 for step in steps.values()), steps
    orchestrator = on_celery.backfill.process.pid
    assert orchestrator not in {pid for step in steps.values() for _, pid in step.starts}
    unknown = sorted(key for key, worker in workers.items() if worker is None)
    assert not unknown, f"steps that ran in no worker process: {unknown}"
    assert len({worker.name for worker in workers.values()}) == 2, {key: w.name for key, w in workers.items()}
    # The workers' own account (dagster-celery's engine event names the Celery worker that took each step) agrees.
    assert {key: [name.split("@")[0] for name in step.taken_by] for key, step in steps.items()} == {
        key: [worker.name] for key, worker in workers.items()
    }
    # The orchestrating process is the run's worker for lib/liveness.py: killed, its run is reaped and its slots freed.
    assert on_celery.run_worker is not None and on_celery.run_worker.pid == orchestrator
    assert on_celery.announced == [f"Steps go to Celery queue dagster at broker {cluster.redis.redacted_url}"]


def test_the_broker_password_shows_nowhere(on_celery: OnCelery, cluster: Cluster) -> None:
    """The broker URL holds the Redis password: not in the run's events, config or tags, nor in any process's log."""
    password = cluster.redis.password
    with on_celery.backfill.instance() as instance:
        run = instance.get_run_by_id(on_celery.backfill.run_id)
        events = [dg.serialize_value(entry) for entry in instance.all_logs(run.run_id)]
    assert events and not [e for e in events if password in e]
    assert password not in dg.serialize_value(run)
    for log in [on_celery.backfill.log, *(worker.log for worker in cluster.workers)]:
        assert password not in log.read_text(errors="replace"), log


def _pools(definitions: dg.Definitions, run_steps: dict[str, Step]) -> dict[str, str]:
    job = definitions.resolve_job_def(MAIN_JOB)
    return {node.name: node.definition.pool for node in job.graph.nodes if node.name in run_steps and node.definition.pool}


def _upstream(definitions: dg.Definitions, steps: dict[str, Step]) -> dict[str, set[str]]:
    """Step -> the steps of this run producing its assets' parents."""
    graph = definitions.resolve_asset_graph()
    producer = {key: graph.get(key).assets_def.node_def.name for key in graph.materializable_asset_keys}
    upstream: dict[str, set[str]] = {}
    for key in graph.materializable_asset_keys:
        step = producer[key]
        if step in steps:
            parents = {producer[p] for p in graph.get(key).parent_keys if p in producer} - {step}
            upstream.setdefault(step, set()).update(p for p in parents if p in steps)
    return upstream


def test_pools_keep_duckdb_writers_one_at_a_time_across_workers(on_celery: OnCelery, definitions: dg.Definitions) -> None:
    steps, workers = on_celery.steps, on_celery.workers
    pools = _pools(definitions, steps)
    duckdb_steps = sorted(key for key, pool in pools.items() if pool == POOL)
    assert len(duckdb_steps) == len([k for k in SLICES["serving"] if k.startswith("serving/")]), pools
    for pool in set(pools.values()):
        members = [k for k, p in pools.items() if p == pool]
        for a, b in itertools.combinations(members, 2):
            shared = overlap(steps[a].window, steps[b].window)
            assert shared == 0, f"pool {pool}: {a} ({workers[a].name}) and {b} ({workers[b].name}) overlapped {shared:.2f} s"
    # Both workers were busy at once while a DuckDB writer ran: the other worker executed another step meanwhile.
    side_by_side = [
        (d, other) for d in duckdb_steps for other in steps
        if other not in duckdb_steps and workers[other] is not workers[d] and overlap(steps[d].window, steps[other].window) > 0
    ]
    assert side_by_side, "no step ran on the other worker during a DuckDB write: the run had no parallelism to hold back"
    # And the pool held a writer back: ready while another writer ran, it was sent only after that one ended, later
    # than dagster-celery sends a ready step that needs no slot. (serving/dim_stores and dim_stores_history become
    # ready together, when silver/dim_stores ends, so this happens in every run.)
    upstream = _upstream(definitions, steps)
    ready = {key: max(steps[p].end for p in upstream[key]) for key in duckdb_steps}
    held_back = [
        (waiting, writer) for waiting, writer in itertools.permutations(duckdb_steps, 2)
        if steps[waiting].submitted[-1] - ready[waiting] > TICK_SECONDS
        and ready[waiting] < steps[writer].end <= steps[waiting].submitted[-1]
    ]
    start = min(step.submitted[0] for step in steps.values())
    timeline = {key: (round(ready[key] - start, 2), round(steps[key].submitted[-1] - start, 2),
                      *(round(t - start, 2) for t in steps[key].window)) for key in duckdb_steps}
    assert held_back, f"no DuckDB writer waited for another (ready, sent, start, end): {timeline}"
