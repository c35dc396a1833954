"""A Celery "cluster" on loopback for the distributed executor tests: a private ``redis-server`` and real
``retail-assets worker`` processes, each loading the code location, sharing one temporary Dagster instance (SQLite).

Every process is started in its own session (process group), so a test can SIGKILL a whole worker — its main
process and the process executing a step — as a lost machine would be, and teardown stops whatever is left even
when a test failed.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import yaml

REPO = Path(__file__).resolve().parents[2]
# Variables from the developer's shell that would change what the workers and runs see.
CLEARED = ("RETAIL_", "AZURE_", "DAGSTER_HOME", "CELERY_")
WORKER_START_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def clean_environment(**settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(CLEARED)}
    return {**env, "PYTHONUNBUFFERED": "1", **settings}


def _stop(process: subprocess.Popen, timeout: float = 30.0) -> None:
    """SIGKILL the process's whole group (its own session): nothing here needs a graceful shutdown."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=timeout)


@dataclass
class Redis:
    process: subprocess.Popen
    port: int
    # A password, so the tests can check that a broker URL's password shows nowhere (events, logs, run config).
    password: str

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    @property
    def redacted_url(self) -> str:
        return f"redis://***@127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        _stop(self.process)


def start_redis(workdir: Path) -> Redis:
    """``redis-server`` on a free loopback port, nothing persisted, its files in ``workdir``."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError(
            "redis-server is not installed: the distributed executor tests start a private one on loopback. Install it "
            "with `sudo apt-get install redis-server` (Debian; .ci/run does it), then stop the service the package "
            "starts (`sudo service redis-server stop`)"
        )
    workdir.mkdir(parents=True, exist_ok=True)
    port, password = free_port(), secrets.token_hex(12)
    (workdir / "redis.conf").write_text(f"requirepass {password}\n")  # not on the command line, where ps shows it
    log = open(workdir / "redis.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [binary, str(workdir / "redis.conf"), "--port", str(port), "--bind", "127.0.0.1", "--dir", str(workdir),
         "--save", "", "--appendonly", "no", "--protected-mode", "yes", "--daemonize", "no"],
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"redis-server exited with {process.returncode}: {(workdir / 'redis.log').read_text()}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                conn.sendall(f"AUTH {password}\r\nPING\r\n".encode())
                if b"+PONG" in conn.recv(64):
                    return Redis(process, port, password)
        except OSError:
            pass
        time.sleep(0.1)
    _stop(process)
    raise RuntimeError("redis-server did not answer PING within 30 s")


def write_instance(home: Path) -> Path:
    """A DAGSTER_HOME with SQLite storage and the repository's concurrency settings (pools of one slot)."""
    repo = yaml.safe_load((REPO / "dagster.yaml").read_text())
    config = {
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        "concurrency": repo["concurrency"],
        "telemetry": {"enabled": False},
    }
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


@dataclass
class Worker:
    name: str
    process: subprocess.Popen
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def processes(self) -> set[int]:
        """This worker's main process and the processes it forked to execute steps."""
        try:
            main = psutil.Process(self.pid)
            return {self.pid, *(child.pid for child in main.children(recursive=True))}
        except psutil.NoSuchProcess:
            return set()

    def kill(self) -> None:
        """SIGKILL the whole worker at once, as a lost machine: nothing can report or hand back its step."""
        os.killpg(self.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def output(self) -> str:
        return self.log.read_text(errors="replace")[-4000:]


@dataclass
class Cluster:
    """Workers sharing one broker, instance and environment (lake, landing zone and DuckDB file in ``data``)."""

    redis: Redis
    home: Path
    data: Path
    workdir: Path
    settings: dict[str, str] = field(default_factory=dict)
    workers: list[Worker] = field(default_factory=list)

    def environment(self) -> dict[str, str]:
        return clean_environment(
            RETAIL_EXECUTOR="celery", RETAIL_CELERY_BROKER=self.redis.url, RETAIL_PROFILE="tiny",
            RETAIL_DATA_DIR=str(self.data), DAGSTER_HOME=str(self.home), **self.settings,
        )

    @property
    def live_workers(self) -> list[Worker]:
        return [w for w in self.workers if w.process.poll() is None]

    def ensure_workers(self, count: int) -> list[Worker]:
        """Start workers until ``count`` are alive (a test may have killed one); wait until each is ready."""
        started = []
        while len(self.live_workers) < count:
            name = f"w{len(self.workers) + 1}"
            log = self.workdir / f"worker-{name}.log"
            process = subprocess.Popen(
                [sys.executable, "-m", "retail_assets.cli", "worker", "--name", name, "--concurrency", "1"],
                cwd=REPO, env=self.environment(), stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
                start_new_session=True,
            )
            worker = Worker(name, process, log)
            self.workers.append(worker)
            started.append(worker)
        deadline = time.monotonic() + WORKER_START_SECONDS
        for worker in started:
            while not re.search(rf"{worker.name}@\S+ ready\.", worker.log.read_text(errors="replace")):
                if worker.process.poll() is not None:
                    raise RuntimeError(f"worker {worker.name} exited with {worker.process.returncode}:\n{worker.output()}")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"worker {worker.name} not ready in {WORKER_START_SECONDS:.0f} s:\n{worker.output()}")
                time.sleep(0.2)
        return self.live_workers

    def fresh_data(self) -> None:
        """An empty lake, landing zone and DuckDB file for the next backfill (the workers keep no state of them)."""
        shutil.rmtree(self.data, ignore_errors=True)

    def worker_of(self, pid: int) -> Worker | None:
        """The worker whose process (main or forked) ``pid`` is, among the live ones."""
        for worker in self.workers:
            if pid in worker.processes():
                return worker
        return None

    def stop(self) -> None:
        for worker in self.workers:
            _stop(worker.process)
