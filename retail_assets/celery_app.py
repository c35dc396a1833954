"""The Celery app of the workers that execute steps when ``RETAIL_EXECUTOR=celery`` (docs/scale-out.md).

Start a worker with ``retail-assets worker`` (every setting checked first), or with Celery's own command:
``celery -A retail_assets.celery_app worker -Q dagster --concurrency 1 --prefetch-multiplier 1``.

It is dagster-celery's app — the ``execute_plan`` task, which executes one step of a run against the run's
Dagster instance, as ``dagster_celery.app`` builds it — with this platform's Celery settings from
``lib/executors.py``, so the executor and its workers cannot disagree. Nothing is written to disk (``dagster-celery
worker start -y`` writes the broker URL, password included, into a config module under DAGSTER_HOME).

This module loads no polars: Celery forks its worker processes from the process that imports it, and a process
that forked after loading polars can deadlock. Each worker process loads the code location as it starts instead
(:func:`load_code_location`).
"""

from __future__ import annotations

import json
import logging

import celery
from celery.signals import worker_process_init
import dagster as dg
from dagster_celery.make_app import make_app
from dagster_celery.tasks import create_task

from retail_assets.lib import executors
from retail_assets.lib.settings import executor_settings

logger = logging.getLogger(__name__)


class StepOfLiveRun(celery.Task):
    """Executes a step only while its run is STARTED.

    A run whose orchestrating process died is failed by lib/liveness.py (or run monitoring), which frees its pool
    slots; a run can also be cancelled. Steps it had already sent wait in the queue meanwhile: executing them would
    write outside the pool (two DuckDB writers at once) for a run nobody follows. They are dropped instead, with a
    warning in the worker's log; no step event is written, so the run's history says what really ran.
    """

    def __call__(self, *args, **kwargs):
        packed = kwargs["execute_step_args_packed"] if "execute_step_args_packed" in kwargs else args[0]
        step = dg.deserialize_value(json.dumps(packed))
        run = _instance(packed["instance_ref"], step.instance_ref).get_run_by_id(step.run_id)
        if run is None or run.status != dg.DagsterRunStatus.STARTED:
            status = run.status.value if run else "unknown to this worker's instance"
            logger.warning("dropped step %s of run %s: the run is %s", step.step_keys_to_execute, step.run_id, status)
            return []
        return super().__call__(*args, **kwargs)


_instances: dict[str, dg.DagsterInstance] = {}


def _instance(packed_ref: object, ref) -> dg.DagsterInstance:
    """One instance per worker process and Dagster instance: opening a SQLite instance costs ~0.3 s per step."""
    key = json.dumps(packed_ref, sort_keys=True)
    if key not in _instances:
        _instances[key] = dg.DagsterInstance.from_ref(ref)
    return _instances[key]


@worker_process_init.connect
def load_code_location(**_) -> None:
    """Each worker process loads the code location once, as it starts: not inside its first step, which would then
    take seconds longer (and count them against the visibility timeout, after which a step is handed out again)."""
    from retail_assets.definitions import defs

    defs()


def build_app() -> celery.Celery:
    settings = executor_settings()
    config = executors.celery_executor_config(settings)
    worker_app = make_app(
        {
            "broker": executors.broker_url(settings),
            "backend": executors.backend_url(settings),
            "include": [],
            "config_source": config["config_source"],
        }
    )
    create_task(worker_app, base=StepOfLiveRun)
    return worker_app


app = build_app()
