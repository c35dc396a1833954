"""Dead runs never freeze the platform: a run whose process is gone is failed and its pool slots freed.

A run killed with SIGKILL (or whose machine rebooted) cannot report its own end. Dagster's run
monitoring only detects that with run launchers that can check a worker's health (Kubernetes, ECS);
with the default launcher on one machine — and for runs of ``retail-assets run``, which execute in
the CLI's own process — the run stays STARTED for ever, holding its pool slots (``duckdb``,
``stream``) and a place in the run queue, and every later run of those pools
waits with no end.

So every run records which process executes it (run tag ``retail/worker``: host, boot time, pid and
the process's start time, which tells a reused pid apart), and any process of the platform on that
host can tell a dead run from a live one and act:

- ``reap_dead_runs`` marks dead runs FAILURE (with a message saying who noticed and why) and frees the
  slots they hold or wait for; it also frees slots still held by runs that already ended.
- It runs in the ``dead_run_reaper`` sensor (every 15 s under ``dagster dev``), before every CLI
  command launches work, and in a watchdog thread of every live run process (every 15 s), so a run
  that is *waiting* on a dead run's slot frees itself within seconds, with nobody else around. The
  watchdog also logs, once a minute, what its run waits for: the pool and the run holding it.

Runs on other hosts are left alone (their own host's processes, or Dagster's run monitoring, see to
them). Runs without the tag (killed before their first step) fall to run monitoring's start timeout.

With steps on Celery workers (``RETAIL_EXECUTOR=celery``, lib/executors.py) the run's process only orchestrates:
it is registered the same way (``watched_orchestrator``), so a killed orchestrator is reaped like a killed
in-process run. A lost worker is Celery's to handle (late acknowledgement, re-sent steps), not this module's.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import psutil

WORKER_TAG = "retail/worker"
WATCH_SECONDS = 15.0
WAIT_LOG_SECONDS = 60.0
# A live process's start time as psutil reads it can differ from the one recorded by rounding only.
START_TIME_TOLERANCE = 1.0
ACTIVE = [dg.DagsterRunStatus.STARTED]


@dataclass(frozen=True)
class Worker:
    """The process executing a run."""

    host: str
    boot: float
    pid: int
    started: float

    def to_tag(self) -> str:
        return f"host={self.host};boot={self.boot:.0f};pid={self.pid};started={self.started:.2f}"

    @classmethod
    def from_tag(cls, text: str) -> Worker | None:
        try:
            fields = dict(part.split("=", 1) for part in text.split(";"))
            return cls(fields["host"], float(fields["boot"]), int(fields["pid"]), float(fields["started"]))
        except (KeyError, ValueError):
            return None

    @classmethod
    def this_process(cls) -> Worker:
        return cls(socket.gethostname(), psutil.boot_time(), os.getpid(), psutil.Process().create_time())

    def is_here(self) -> bool:
        return self.host == socket.gethostname()

    def gone(self) -> str | None:
        """Why this (local) process is certainly dead, or None while it may be alive."""
        if abs(self.boot - psutil.boot_time()) > 2:
            return f"host {self.host} restarted since the run began"
        try:
            process = psutil.Process(self.pid)
            if abs(process.create_time() - self.started) > START_TIME_TOLERANCE:
                return f"process {self.pid} on {self.host} is gone (the pid now belongs to another process)"
            if process.status() == psutil.STATUS_ZOMBIE:
                return f"process {self.pid} on {self.host} has exited (killed or crashed)"
        except psutil.NoSuchProcess:
            return f"process {self.pid} on {self.host} is gone (killed or crashed)"
        except psutil.AccessDenied:
            return None
        return None


def worker_tags() -> dict[str, str]:
    """Tags of a run this process executes itself (``execute_in_process``: ``retail-assets run``)."""
    return {WORKER_TAG: Worker.this_process().to_tag()}


def register_run_worker(instance: dg.DagsterInstance, run: dg.DagsterRun) -> None:
    """Record this process as ``run``'s worker (unless the run was created with that tag) and watch over it."""
    tag = Worker.this_process().to_tag()
    if run.tags.get(WORKER_TAG) != tag:
        instance.add_run_tags(run.run_id, {WORKER_TAG: tag})
    start_watchdog(instance)


class _WatchedExecutor(dg.Executor):
    """Dagster's in-process executor, plus the run's worker registration and watchdog before any step claims a
    pool slot (a step's own code only runs once it holds its slot: too late to watch a wait)."""

    def __init__(self, inner: dg.Executor):
        self._inner = inner

    @property
    def retries(self):
        return self._inner.retries

    @property
    def step_dependency_config(self):
        return self._inner.step_dependency_config

    def execute(self, plan_context, execution_plan):
        register_run_worker(plan_context.instance, plan_context.dagster_run)
        return self._inner.execute(plan_context, execution_plan)


class _WatchedOrchestrator(_WatchedExecutor):
    """An executor whose steps run in other processes (Celery workers): this process only orchestrates, so it is
    the run's worker. When it returns, every step it handed out has reported back (dagster-celery waits for each
    task's result, also after a failure), so a slot the run still holds belongs to a step whose task ended without a
    step event (its worker process died more often than the retries allow): it is freed at once rather than when a
    reaper or run monitoring notices the ended run."""

    def __init__(self, inner: dg.Executor, announce: str | None = None):
        super().__init__(inner)
        self._announce = announce

    def __getattr__(self, name: str):
        # dagster-celery's loop reads its own settings (app_args) from the run's executor, which is this wrapper.
        if name == "_inner":
            raise AttributeError(name)
        return getattr(self._inner, name)

    def execute(self, plan_context, execution_plan):
        register_run_worker(plan_context.instance, plan_context.dagster_run)
        if self._announce:
            plan_context.instance.report_engine_event(self._announce, plan_context.dagster_run)
        try:
            yield from self._inner.execute(plan_context, execution_plan)
        except dg.DagsterSubprocessError:
            _free_slots(plan_context.instance, plan_context.dagster_run.run_id)
            raise
        _free_slots(plan_context.instance, plan_context.dagster_run.run_id)


def watched_orchestrator(
    executor_def: dg.ExecutorDefinition, requirements: list[dg.ExecutorRequirement], announce: str | None = None
) -> dg.ExecutorDefinition:
    """``executor_def`` (steps in other processes), with the run's orchestrating process registered as its worker;
    ``announce`` is written to the run's events as it starts (where its steps go)."""

    @dg.executor(name=executor_def.name, config_schema=executor_def.config_schema, requirements=requirements)
    def _watched(init_context: dg.InitExecutorContext) -> dg.Executor:
        return _WatchedOrchestrator(executor_def.executor_creation_fn(init_context), announce)

    return _watched


@dg.executor(name="in_process", config_schema=dg.in_process_executor.config_schema)
def watched_in_process_executor(init_context: dg.InitExecutorContext) -> dg.Executor:
    """Executes every step in the run's process, like Dagster's ``in_process_executor``, and registers the
    process as the run's worker (``retail/worker``) so a killed run is detected and its slots freed."""
    return _WatchedExecutor(dg.in_process_executor.executor_creation_fn(init_context))


@dataclass(frozen=True)
class Reaped:
    run_id: str
    job_name: str
    reason: str
    slots_freed: bool


def dead_runs(instance: dg.DagsterInstance) -> list[tuple[dg.DagsterRun, str]]:
    """STARTED runs whose recorded worker process on this host is dead, with the reason."""
    dead = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)):
        worker = Worker.from_tag(run.tags.get(WORKER_TAG, ""))
        if worker is None or not worker.is_here():
            continue
        reason = worker.gone()
        if reason:
            dead.append((run, reason))
    return dead


def reap_dead_runs(instance: dg.DagsterInstance, noticed_by: str, log: Callable[[str], None] | None = None) -> list[Reaped]:
    """Fail the dead runs of this host and free every pool slot held or awaited by a run that is not alive."""
    reaped = []
    for run, reason in dead_runs(instance):
        current = instance.get_run_by_id(run.run_id)
        if current is None or current.status not in ACTIVE:
            continue  # it ended (or was reaped) meanwhile
        instance.report_run_failed(
            current,
            f"Run worker {reason}; marked failed by {noticed_by} and its pool slots freed. Re-run it (its writes are "
            "idempotent); a stream worker is restarted by stream_worker_sensor.",
        )
        freed = _free_slots(instance, run.run_id)
        reaped.append(Reaped(run.run_id, run.job_name, reason, freed))
        if log:
            log(f"run {run.run_id} ({run.job_name}): worker {reason}; marked failed, pool slots freed")
    reaped_ids = {r.run_id for r in reaped}
    storage = instance.event_log_storage
    if storage.supports_global_concurrency_limits:
        holders = storage.get_concurrency_run_ids() - reaped_ids
        if holders:
            ended = instance.get_runs(filters=dg.RunsFilter(run_ids=sorted(holders), statuses=_FINISHED))
            for run in ended:
                if _free_slots(instance, run.run_id) and log:
                    log(f"run {run.run_id} ({run.job_name}) ended {run.status.value.lower()} still holding pool slots; freed")
    return reaped


_FINISHED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _free_slots(instance: dg.DagsterInstance, run_id: str) -> bool:
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits or run_id not in storage.get_concurrency_run_ids():
        return False
    storage.free_concurrency_slots_for_run(run_id)
    return True


def slot_holders(instance: dg.DagsterInstance, pool: str) -> list[str]:
    """'run <id> (<step>)' for each claim holding a slot of ``pool``: what a waiting step's log names."""
    info = instance.event_log_storage.get_concurrency_info(pool)
    return [f"run {c.run_id[:8]} ({c.step_key})" for c in info.claimed_slots]


def waits_of_run(instance: dg.DagsterInstance, run_id: str) -> dict[str, dt.datetime]:
    """Pools this run has a step waiting on (not yet assigned a slot), with when it started waiting."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return {}
    waiting = {}
    for pool in storage.get_concurrency_keys():
        for step in storage.get_concurrency_info(pool).pending_steps:
            if step.run_id == run_id and step.assigned_timestamp is None:
                waiting[pool] = min(waiting.get(pool, step.enqueued_timestamp), step.enqueued_timestamp)
    return waiting


_watchdogs: set[str] = set()
_watchdogs_lock = threading.Lock()
# A watchdog stops after this long without an active run of its process (a test process, a finished CLI call).
IDLE_STOP_SECONDS = 300.0


def start_watchdog(instance: dg.DagsterInstance) -> None:
    """One thread per process and instance: reaps dead runs of this host, logs what this process's runs wait for."""
    if instance.is_ephemeral:
        return
    home = str(instance.root_directory)
    with _watchdogs_lock:
        if home in _watchdogs:
            return
        _watchdogs.add(home)
    threading.Thread(target=_watch, args=(instance, home), name="retail-run-watchdog", daemon=True).start()


def _watch(instance: dg.DagsterInstance, home: str) -> None:
    mine = Worker.this_process().to_tag()
    logged: dict[tuple[str, str], float] = {}
    last_active = time.monotonic()
    errors = 0
    try:
        while errors < 3 and time.monotonic() - last_active < IDLE_STOP_SECONDS:
            time.sleep(WATCH_SECONDS)
            try:
                own = [r for r in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE, tags={WORKER_TAG: mine}))]
                if own:
                    last_active = time.monotonic()
                reap_dead_runs(instance, f"the watchdog of process {os.getpid()}",
                               log=lambda text: instance.report_engine_event(text, own[0]) if own else None)
                now = time.monotonic()
                for run in own:
                    for pool, since in waits_of_run(instance, run.run_id).items():
                        if now - logged.get((run.run_id, pool), 0.0) < WAIT_LOG_SECONDS:
                            continue
                        logged[(run.run_id, pool)] = now
                        waited = (dt.datetime.now(dt.UTC) - since).total_seconds()
                        holders = ", ".join(slot_holders(instance, pool)) or "no run (a slot is about to be assigned)"
                        instance.report_engine_event(
                            f"waiting {waited:.0f} s for a slot of pool {pool}, held by {holders}; a holder whose "
                            "process died is failed and its slot freed within ~15 s", run,
                        )
                errors = 0
            except Exception:  # noqa: BLE001 - a watchdog must never take its run down; it tries again next round
                errors += 1
    finally:
        with _watchdogs_lock:
            _watchdogs.discard(home)
