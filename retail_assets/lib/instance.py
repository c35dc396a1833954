"""The Dagster instance of ``DAGSTER_HOME``, opened safely by many CLI processes at once.

Opening an instance whose SQLite storage does not exist yet creates its tables and stamps their
alembic revision; Dagster does this without a lock across processes. Two ``retail-assets run``
started together on a fresh ``DAGSTER_HOME`` both stamped the run storage, leaving two alembic heads
("Version table 'alembic_version' has more than one head present"), and every later command failed
until the storage was deleted. So every CLI entry point opens the instance through
:func:`open_instance`: the first open (which creates and stamps every storage: runs, event log index,
schedules) happens under an exclusive file lock in ``DAGSTER_HOME``; once open, the lock is released
and the instance is used as usual (later opens only read the stamps, and per-run event logs are one
file per run, so nothing else races).

The lock is an OS file lock (``filelock``): it is released when its process dies, whatever the
instant, so a killed CLI never leaves the instance locked. A wait for it is logged once, and it
times out with a message naming the lock file.

Schema migrations after a Dagster upgrade stay an explicit step (``dagster instance migrate``), as
Dagster documents: a CLI should not migrate a storage that other deployments may share.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import dagster as dg
from filelock import FileLock, Timeout

from retail_assets.lib.liveness import reap_dead_runs
from retail_assets.lib.settings import SettingsError

HOME = "DAGSTER_HOME"
LOCK_FILE = ".retail-assets-instance.lock"
# Opening a fresh instance takes about a second; a minute means the holder is stuck.
LOCK_TIMEOUT_SECONDS = 60.0
# Wait this long silently before saying that another process holds the lock.
QUIET_WAIT_SECONDS = 2.0


class InstanceLockTimeout(RuntimeError):
    """Another process held the instance lock for longer than the timeout."""


def dagster_home(cwd: Path | None = None) -> Path | None:
    """The instance directory: ``DAGSTER_HOME``, else the working directory when it holds a ``dagster.yaml``.

    The second case is the README's: commands run from the repository root record their runs where
    ``DAGSTER_HOME=$PWD dagster dev`` shows them. ``None`` means no persistent instance (an ephemeral one).
    The chosen directory is exported as ``DAGSTER_HOME`` so Dagster and child processes agree.
    """
    raw = os.environ.get(HOME)
    if raw is None:
        here = cwd or Path.cwd()
        if not (here / "dagster.yaml").is_file():
            return None
        raw = str(here.resolve())
        os.environ[HOME] = raw
    home = Path(raw)
    if not raw or not home.is_absolute() or not home.is_dir():
        raise SettingsError(
            f"{HOME}={raw!r} is not an absolute path to an existing directory: create it (mkdir -p) and set "
            f"{HOME} to its absolute path, or unset {HOME} to use the repository's dagster.yaml or a temporary instance"
        )
    return home


def open_instance(*, timeout: float = LOCK_TIMEOUT_SECONDS) -> dg.DagsterInstance:
    """The instance of :func:`dagster_home`, its storage created under the instance lock; ephemeral without one.

    Runs of this host whose process died are failed and their pool slots freed before the instance is returned.

    The caller owns the instance (use it as a context manager, or call ``dispose()``).
    """
    home = dagster_home()
    if home is None:
        return dg.DagsterInstance.ephemeral()
    lock = FileLock(home / LOCK_FILE)
    try:
        lock.acquire(timeout=min(QUIET_WAIT_SECONDS, timeout))
    except Timeout:
        print(
            f"waiting for another process to finish opening the Dagster instance (lock {lock.lock_file})",
            file=sys.stderr,
        )
        try:
            lock.acquire(timeout=max(timeout - QUIET_WAIT_SECONDS, 0))
        except Timeout:
            raise InstanceLockTimeout(
                f"the Dagster instance in {HOME}={home} stayed locked for {timeout:.0f} s by another process "
                f"(lock file {lock.lock_file}): stop the retail-assets process that hangs, then retry"
            ) from None
    try:
        instance = dg.DagsterInstance.get()
    finally:
        lock.release()
    # Nothing a CLI command launches should wait for a run whose process died (lib/liveness.py).
    reap_dead_runs(instance, f"retail-assets (pid {os.getpid()})", log=lambda text: print(text, file=sys.stderr))
    return instance
