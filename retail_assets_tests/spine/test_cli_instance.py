"""Many CLI processes opening one fresh Dagster instance at once leave it usable (issue 12, part 8).

Dagster creates a SQLite storage on first open and stamps its alembic revision without a lock across
processes; two processes doing it together left two alembic heads and every later command failed.
These tests run the real command line in separate processes, together, on fresh ``DAGSTER_HOME``s.
"""

from __future__ import annotations

import contextlib
import io
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from filelock import FileLock

from retail_assets import cli
from retail_assets.lib.instance import LOCK_FILE, InstanceLockTimeout, open_instance

REPO = Path(__file__).resolve().parents[2]
PROCESSES = 3
# Without the instance lock every run of this test failed: 3-5 of the 9 first opens (5 runs, measured).
TRIALS = 3


def fresh_home(path: Path) -> Path:
    path.mkdir(parents=True)
    (path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return path


def _open_each_home_together(homes: list[str], barrier, results) -> None:
    """One CLI process: for each fresh home, wait for the others, then ``retail-assets runs`` in it.

    The process imports once and runs ``cli.main`` per home, so the trials start within a
    millisecond of each other instead of a second apart (interpreter start-up jitter).
    """
    cli.build_parser()  # imports every command's modules now, so the first trial starts as tightly as the rest
    for home in homes:
        os.environ["DAGSTER_HOME"] = home
        barrier.wait(timeout=120)
        try:
            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                outcome = cli.main(["runs"])
        except Exception as exc:  # noqa: BLE001 - the outcome is what the test checks
            outcome = f"{type(exc).__name__}: {exc}"
        results.put((home, outcome))


def test_processes_opening_a_fresh_instance_together_all_succeed_and_leave_it_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    homes = [str(fresh_home(tmp_path / f"home-{trial}")) for trial in range(TRIALS)]
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(PROCESSES), spawn.Queue()
    workers = [spawn.Process(target=_open_each_home_together, args=(homes, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    outcomes = [results.get(timeout=300) for _ in range(PROCESSES * TRIALS)]
    for worker in workers:
        worker.join(timeout=60)
    failed = [(home, outcome) for home, outcome in outcomes if outcome != 0]
    assert not failed, f"{len(failed)} of {len(outcomes)} concurrent first opens failed: {failed[:3]}"
    broken = []
    for home in homes:
        monkeypatch.setenv("DAGSTER_HOME", home)
        try:
            assert cli.main(["runs"]) == 0
        except Exception as exc:  # noqa: BLE001 - collected, so the message counts every broken instance
            broken.append(f"{type(exc).__name__}: {exc}")
    assert not broken, f"{len(broken)} of {TRIALS} instances unusable afterwards: {broken[:3]}"
    assert capsys.readouterr().out.count("0 most recent runs") == TRIALS


def test_a_held_lock_is_waited_for_with_a_message_and_times_out_naming_the_lock_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    home = fresh_home(tmp_path / "home")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    with FileLock(home / LOCK_FILE):
        with pytest.raises(InstanceLockTimeout, match=f"lock file {home / LOCK_FILE}"):
            open_instance(timeout=2.5)
    assert f"waiting for another process to finish opening the Dagster instance (lock {home / LOCK_FILE})" in (
        capsys.readouterr().err
    )


def test_a_killed_holder_leaves_nothing_locked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No freeze: the OS releases the lock of a process killed while holding it."""
    home = fresh_home(tmp_path / "home")
    holder = subprocess.Popen(
        [sys.executable, "-c", f"from filelock import FileLock; FileLock({str(home / LOCK_FILE)!r}).acquire(); "
         "print('held', flush=True); import time; time.sleep(600)"],
        stdout=subprocess.PIPE, text=True,
    )
    assert holder.stdout.readline().strip() == "held"
    holder.send_signal(signal.SIGKILL)
    holder.wait(timeout=30)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    started = time.monotonic()
    with open_instance(timeout=5) as instance:
        assert instance.get_run_records() == []
    assert time.monotonic() - started < 5


def start(*args: str, home: Path, log: Path, **env: str) -> subprocess.Popen:
    # Output to a file: nobody reads a pipe while the processes run together.
    with open(log, "w") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "retail_assets.cli", *args],
            cwd=REPO,
            env={**os.environ, "DAGSTER_HOME": str(home), **env},
            stdout=out,
            stderr=subprocess.STDOUT,
            text=True,
        )


def finish(process: subprocess.Popen, log: Path, timeout: float) -> str:
    process.wait(timeout=timeout)
    text = log.read_text()
    assert process.returncode == 0, text[-3000:]
    return text


@pytest.mark.slow
def test_two_first_runs_started_together_on_a_fresh_instance_both_succeed(tmp_path: Path) -> None:
    """The user's scenario: two ``retail-assets run`` at once on a fresh DAGSTER_HOME (tiny profile).

    Each run has its own data directory: what is shared, and tested, is the instance.
    """
    home = fresh_home(tmp_path / "home")
    runs = {
        month: start(
            "run", "--month", month, home=home, log=tmp_path / f"run-{month}.log",
            RETAIL_PROFILE="tiny", RETAIL_DATA_DIR=str(tmp_path / f"data-{month}"),
        )
        for month in ("2024-01", "2024-02")
    }
    for month, process in runs.items():
        assert f"retail_lakehouse {month}: success" in finish(process, tmp_path / f"run-{month}.log", timeout=300)
    listed = finish(start("runs", home=home, log=tmp_path / "runs.log"), tmp_path / "runs.log", timeout=120)
    assert "2 most recent runs" in listed
    assert listed.count("SUCCESS") == 2 and "2024-01" in listed and "2024-02" in listed
