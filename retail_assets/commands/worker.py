"""``retail-assets worker``: a Celery worker that executes steps of runs when ``RETAIL_EXECUTOR=celery``.

Every setting is checked before the worker starts (one line, exit code 2), then this process becomes
``celery -A retail_assets.celery_app worker`` (same pid, so a supervisor or a test can stop it): a fresh
interpreter, because this command's own imports include polars, which must not precede Celery's fork of its
worker processes (``retail_assets/celery_app.py``). The worker needs the code location's environment
(``RETAIL_*``: lake, landing, DuckDB file) and reaches the Dagster instance through each step's message.
"""

from __future__ import annotations

import argparse
import os
import sys

from retail_assets.lib.settings import EXECUTOR, SettingsError, executor_settings


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("worker", help="Start a Celery worker that executes steps (RETAIL_EXECUTOR=celery).")
    parser.add_argument(
        "--concurrency", type=int, default=1,
        help="Steps executed at once, one process each (default 1: a step already uses every core through polars).",
    )
    parser.add_argument("--name", help="Worker name, unique per host (default retail-<pid>).")
    parser.add_argument("--loglevel", default="INFO", help="Celery log level (default INFO).")
    parser.set_defaults(handler=worker)


def celery_arguments(args: argparse.Namespace) -> list[str]:
    from retail_assets.lib.executors import CELERY_QUEUE

    name = args.name or f"retail-{os.getpid()}"
    return [
        sys.executable, "-m", "celery", "-A", "retail_assets.celery_app", "worker",
        "--queues", CELERY_QUEUE,
        "--concurrency", str(args.concurrency),
        "--prefetch-multiplier", "1",
        "--hostname", f"{name}@%h",
        "--loglevel", args.loglevel,
    ]


def worker(args: argparse.Namespace) -> int:
    if executor_settings().executor != "celery":
        raise SettingsError(
            f"retail-assets worker executes the steps of runs sent to Celery: set {EXECUTOR}=celery here and in the "
            "code location (and the RETAIL_CELERY_* settings both use), or run steps in-process without workers"
        )
    if args.concurrency < 1:
        raise SettingsError(f"--concurrency {args.concurrency} is not a number of processes >= 1")
    argv = celery_arguments(args)
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(argv[0], argv)
    return 0  # not reached: the process is now the Celery worker
