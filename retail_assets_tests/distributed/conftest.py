"""Fixtures of the distributed executor tests: one private Redis and two real Celery worker processes for the
session, and the in-process reference backfill every Celery result is compared with (started first, so it runs
while the workers start).

Everything lives in a temporary directory on tmpfs (``/dev/shm``) when there is one: the SQLite instance writes
every Dagster event with an fsync, 26 ms each on this machine's disk against 4.5 ms on tmpfs, and a backfill writes
hundreds.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from retail_assets_tests.distributed.backfill import RUN_ID
from retail_assets_tests.distributed.cluster import REPO, Cluster, _stop, clean_environment, start_redis, write_instance
from retail_assets_tests.distributed.lake import table_hashes

BACKFILL_SECONDS = 600.0
# Seconds after which a step of a vanished worker goes to another worker (RETAIL_CELERY_VISIBILITY_TIMEOUT): short, so
# the worker-loss test waits little, and still twice the longest step of these backfills on a busy 2-core machine
# (the generator's, ~10-15 s; workers load the code location before their first step, so no step pays for that).
VISIBILITY_TIMEOUT_SECONDS = 30


@dataclass
class Backfill:
    """A months backfill running in its own process (``retail_assets_tests.distributed.backfill``)."""

    process: subprocess.Popen
    data: Path
    home: Path
    log: Path

    def wait(self, timeout: float = BACKFILL_SECONDS) -> Backfill:
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            _stop(self.process)
            pytest.fail(f"the backfill did not end within {timeout:.0f} s:\n{self.output()}", pytrace=False)
        assert self.process.returncode == 0, self.output()
        return self

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-5000:]

    @property
    def run_id(self) -> str:
        found = RUN_ID.search(self.log.read_text(errors="replace"))
        assert found, self.output()
        return found.group(1)

    def instance(self) -> dg.DagsterInstance:
        return dg.DagsterInstance.from_config(str(self.home))


def start_backfill(slice_name: str, env: dict[str, str], data: Path, home: Path, log: Path) -> Backfill:
    process = subprocess.Popen(
        [sys.executable, "-m", "retail_assets_tests.distributed.backfill", slice_name],
        cwd=REPO, env=env, stdout=open(log, "w"), stderr=subprocess.STDOUT, start_new_session=True,  # noqa: SIM115
    )
    return Backfill(process, data, home, log)


@pytest.fixture(scope="session")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    if os.path.isdir("/dev/shm") and os.access("/dev/shm", os.W_OK):
        path = Path(tempfile.mkdtemp(prefix="retail-distributed-", dir="/dev/shm"))
        try:
            yield path
        finally:
            shutil.rmtree(path, ignore_errors=True)
    else:
        yield tmp_path_factory.mktemp("distributed")


@pytest.fixture(scope="session")
def reference(workdir: Path):
    """The ``serving`` slice backfilled in-process (the default executor): what every Celery run must reproduce."""
    data, home = workdir / "reference" / "data", write_instance(workdir / "reference" / "home")
    env = clean_environment(RETAIL_PROFILE="tiny", RETAIL_DATA_DIR=str(data), DAGSTER_HOME=str(home))
    backfill = start_backfill("serving", env, data, home, workdir / "reference" / "backfill.log")
    try:
        yield backfill
    finally:
        _stop(backfill.process)


@pytest.fixture(scope="module")
def reference_tables(reference: Backfill) -> dict[str, list[int]]:
    # Module scope, requested after a module's backfill fixture: it waits for the reference only once the workers are
    # up (a session fixture is set up before module ones, and would wait before anything else starts).
    return table_hashes(reference.wait().data)


@pytest.fixture(scope="session")
def cluster(reference: Backfill, workdir: Path) -> Cluster:
    """A private redis-server on a free loopback port and two workers (``retail-assets worker``), for the session."""
    try:
        redis = start_redis(workdir / "redis")
    except RuntimeError as exc:
        pytest.fail(str(exc), pytrace=False)
    home = write_instance(workdir / "celery" / "home")
    cluster = Cluster(
        redis, home, workdir / "celery" / "data", workdir / "celery",
        {"RETAIL_CELERY_VISIBILITY_TIMEOUT": str(VISIBILITY_TIMEOUT_SECONDS)},
    )
    try:
        cluster.ensure_workers(2)
        yield cluster
    finally:
        cluster.stop()
        redis.stop()


def celery_backfill(cluster: Cluster, slice_name: str) -> Backfill:
    """Start ``slice_name`` on an empty lake, orchestrated by its own process, every step sent to two live workers."""
    cluster.ensure_workers(2)
    cluster.fresh_data()
    log = cluster.workdir / f"backfill-{slice_name}-{time.monotonic_ns()}.log"
    return start_backfill(slice_name, cluster.environment(), cluster.data, cluster.home, log)


def wait_for(condition, timeout: float, what: str, interval: float = 0.2):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}", pytrace=False)
