"""Where a run's steps execute, chosen by ``RETAIL_EXECUTOR`` (``lib/settings.py``; docs/scale-out.md).

- ``in_process`` (the default): every step in the run's own process (``lib/liveness.py``), as before.
- ``celery``: dagster-celery's executor. The run's process orchestrates: it claims a step's pool slot, then sends
  the step to a Celery queue over the broker (Redis by default); a worker process executes it against the same
  Dagster instance and lake, and returns its events. Workers are ``retail-assets worker`` (or
  ``celery -A retail_assets.celery_app worker``), with the same ``RETAIL_*`` environment as the code location.
- ``k8s``: ``dagster_k8s.k8s_job_executor``, one Kubernetes job per step; its image, namespace and secrets come
  from the Helm chart's run launcher (deploy/).

The Celery settings below are the one source for both sides: the executor (which only sends) and the workers'
app (``retail_assets.celery_app``, which executes) must agree on broker, queue and acknowledgement rules. Broker and
backend URLs reach Dagster as ``{"env": name}`` config only, so a password in them is in no run config, log or
metadata; the one line about the broker (an event of each run: where its steps go) hides it (:func:`redact_url`).

dagster-celery and dagster-k8s are imported only when chosen: the in-process default loads neither.
"""

from __future__ import annotations

import os
import warnings
from urllib.parse import urlsplit, urlunsplit

import dagster as dg

from retail_assets.lib import settings as s
from retail_assets.lib.liveness import watched_in_process_executor, watched_orchestrator

# dagster-celery sends every step to this queue unless the step is tagged dagster-celery/queue.
CELERY_QUEUE = "dagster"
# A step whose worker process died is sent again at once, as an ordinary message (Celery's default is 3 minutes
# later). Any delay makes it an ETA message, which a busy worker may take and hold behind its current step while the
# visibility timeout runs.
WORKER_LOST_RETRY_DELAY_SECONDS = None
# How often a live worker looks for messages of vanished workers whose visibility timeout passed (Redis).
RESTORE_INTERVAL_SECONDS = 5


def broker_url(settings: s.ExecutorSettings) -> str:
    return os.environ[settings.celery_broker_env] if settings.celery_broker_env else s.DEFAULT_CELERY_BROKER


def backend_url(settings: s.ExecutorSettings) -> str:
    return os.environ[settings.celery_backend_env] if settings.celery_backend_env else broker_url(settings)


def redact_url(url: str) -> str:
    """``url`` with its password (and user name) replaced by ``***``: safe for logs and metadata."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=f"***@{host}"))


def celery_app_settings(settings: s.ExecutorSettings) -> dict[str, object]:
    """Celery settings of the executor's app and the workers' app (``config_source``).

    - A worker takes one step at a time and acknowledges it only once the step has ended (``acks_late``,
      prefetch 1): a step is never lost with its worker, and no worker holds a second step while it works.
    - The worker process executing a step dies (OOM kill, segfault): its worker sends the step again, up to
      ``RETAIL_CELERY_WORKER_LOST_RETRIES`` times, then reports a failure and the run fails
      (``retry_on_worker_lost``; a crash that always recurs cannot hold the run and its pool slots for ever).
    - The whole worker dies (SIGKILL, lost machine): its unacknowledged step goes back to the queue once
      ``RETAIL_CELERY_VISIBILITY_TIMEOUT`` has passed (Redis; checked every few seconds by the live workers).
    Re-executing a step is safe: every asset replaces its months (Delta overwrite by predicate, one DuckDB
    transaction per table).
    """
    return {
        "task_acks_late": True,
        "task_reject_on_worker_lost": True,
        "task_retry_on_worker_lost": True,
        "task_annotations": {
            "execute_plan": {
                "max_retries": settings.celery_worker_lost_retries,
                "default_retry_delay": WORKER_LOST_RETRY_DELAY_SECONDS,
            }
        },
        "worker_prefetch_multiplier": 1,
        # A worker process loads the code location as it starts (retail_assets/celery_app.py): seconds on a busy
        # machine, where Celery's default (4 s) would kill it as stuck.
        "worker_proc_alive_timeout": 300,
        "task_default_queue": CELERY_QUEUE,
        "broker_connection_retry_on_startup": True,
        "broker_transport_options": {
            # dagster-celery's publish retries, kept.
            "max_retries": 3,
            "interval_start": 0,
            "interval_step": 0.2,
            "interval_max": 0.5,
            "visibility_timeout": settings.celery_visibility_timeout,
            "unacked_restore_interval": RESTORE_INTERVAL_SECONDS,
            "unacked_restore_throttle": 1,
        },
    }


def _url_config(env_name: str | None, default: str) -> object:
    return {"env": env_name} if env_name else default


def celery_executor_config(settings: s.ExecutorSettings) -> dict[str, object]:
    """The ``celery`` executor's config: URLs as environment references, Dagster step retries on."""
    return {
        "broker": _url_config(settings.celery_broker_env, s.DEFAULT_CELERY_BROKER),
        "backend": _url_config(settings.celery_backend_env, s.DEFAULT_CELERY_BROKER),
        "config_source": celery_app_settings(settings),
        "retries": {"enabled": {}},
    }


def run_executor(settings: s.ExecutorSettings | None = None) -> dg.ExecutorDefinition:
    """The executor of every job of the code location, from ``RETAIL_EXECUTOR``."""
    settings = settings or s.executor_settings()
    if settings.executor == "celery":
        from celery.exceptions import DuplicateTaskNameWarning
        from dagster_celery import celery_executor

        # dagster-celery 0.29 registers its step task again for every step it sends; Celery 5.7 warns about it once
        # per process, while the task is the same one. Only that warning is muted.
        warnings.filterwarnings("ignore", category=DuplicateTaskNameWarning)

        where = f"Steps go to Celery queue {CELERY_QUEUE} at broker {redact_url(broker_url(settings))}"
        watched = watched_orchestrator(celery_executor, dg.multiple_process_executor_requirements(), where)
        return watched.configured(celery_executor_config(settings), name="celery")
    if settings.executor == "k8s":
        # Dagster's run monitoring and the executor's step health checks see to dead pods in Kubernetes
        # (lib/liveness.py only knows processes on one host): the executor is used as it is.
        from dagster_k8s import k8s_job_executor

        return k8s_job_executor
    return watched_in_process_executor


def job_of_code_location(name: str) -> dg.JobDefinition:
    """A job of the code location: the reconstructor of :func:`reconstructable_job` in every process that runs steps."""
    from retail_assets.definitions import defs

    return defs().resolve_job_def(name)


def reconstructable_job(name: str):
    """``name`` as a job other processes (Celery workers, Kubernetes pods) can load by module and function."""
    return dg.build_reconstructable_job(__name__, job_of_code_location.__name__, reconstructable_args=(name,))
