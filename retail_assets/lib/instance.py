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

An instance whose storage is a database server (``storage: postgres:`` in its ``dagster.yaml``, as in
``deploy/dagster.yaml``) is opened under a lock held by that server instead: a PostgreSQL session-level
advisory lock (``pg_advisory_lock``), so it orders the processes of every machine sharing the database, and
PostgreSQL releases it when the holder's connection ends, whatever the instant (a killed process never leaves
it held). Dagster alone is not safe here: each storage creates its tables and stamps its revision in one
transaction, and dagster-postgres retries the loser's duplicate-table error, but not the duplicate-type error
PostgreSQL raises when two ``CREATE TABLE alembic_version`` collide on the table's row type (CI lost one open
of four to "type \"alembic_version\" already exists"). Opening it writes nothing to ``DAGSTER_HOME`` (no lock
file). Dagster's own processes (webserver, daemon, run workers) open the instance without this lock: create
the tables first with one ``retail-assets`` command (docs/scale-out.md).
Before opening such an instance, the environment variables its storage reads are checked, and a server
that cannot be reached is a configuration error naming the cause, never the password. Once open, the
platform's pools are given their limits explicitly (:func:`set_pool_limits`: Dagster's own first-use
creation fails one of two runs racing on PostgreSQL).

Schema migrations after a Dagster upgrade stay an explicit step (``dagster instance migrate``), as
Dagster documents: a CLI should not migrate a storage that other deployments may share.
"""

from __future__ import annotations

import contextlib
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import yaml
from filelock import FileLock, Timeout

from retail_assets.lib.liveness import reap_dead_runs
from retail_assets.lib.pools import PLATFORM_POOLS
from retail_assets.lib.settings import SettingsError

HOME = "DAGSTER_HOME"
LOCK_FILE = ".retail-assets-instance.lock"
# Opening a fresh instance takes about a second; a minute means the holder is stuck.
LOCK_TIMEOUT_SECONDS = 60.0
# Wait this long silently before saying that another process holds the lock.
QUIET_WAIT_SECONDS = 2.0
# Keys of dagster.yaml's ``storage`` section that put runs, event logs and schedules on a database server.
SERVER_STORAGES = ("postgres", "mysql")
# The advisory lock key of the first open on PostgreSQL (any constant bigint; this one is "retail" in ASCII).
PG_OPEN_LOCK_KEY = 0x72_65_74_61_69_6C
# How often a process waiting for that lock asks again.
PG_LOCK_POLL_SECONDS = 0.05
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


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


def storage_server(home: Path) -> str | None:
    """The kind of database server (``postgres``, ``mysql``) holding the storage of the instance in ``home``, or
    None when its storage is SQLite files in ``home`` (the default, and whatever this cannot tell)."""
    try:
        text = (home / "dagster.yaml").read_text()
    except OSError:
        return None  # no file: Dagster's defaults (SQLite)
    if not any(kind in text for kind in SERVER_STORAGES):
        return None  # the local default, told in microseconds instead of a 2 ms YAML parse
    try:
        config = yaml.load(text, Loader=_YAML_LOADER)
    except yaml.YAMLError:
        return None  # Dagster rejects the file with its own message
    storage = config.get("storage") if isinstance(config, dict) else None
    if isinstance(storage, dict):
        return next((kind for kind in SERVER_STORAGES if kind in storage), None)
    return None


def _unset_variables(section: object) -> list[str]:
    """Environment variables named by ``{env: NAME}`` values in a dagster.yaml section that are not set."""
    if isinstance(section, dict):
        if set(section) == {"env"} and isinstance(section["env"], str):
            return [] if section["env"] in os.environ else [section["env"]]
        return [name for value in section.values() for name in _unset_variables(value)]
    if isinstance(section, list):
        return [name for value in section for name in _unset_variables(value)]
    return []


def _open_on_server(home: Path, kind: str, timeout: float) -> dg.DagsterInstance:
    config = yaml.load((home / "dagster.yaml").read_text(), Loader=_YAML_LOADER)
    unset = sorted(set(_unset_variables(config["storage"][kind])))
    if unset:
        raise SettingsError(
            f"the Dagster instance in {HOME}={home} keeps its runs and events in {kind} (dagster.yaml, storage: {kind}) "
            f"and these environment variables are not set: {unset}: set them (docs/scale-out.md, 'Production instance "
            f"(PostgreSQL)'), or point {HOME} at a directory whose dagster.yaml keeps them in SQLite"
        )
    try:
        with _server_open_lock(home, kind, config["storage"][kind], timeout):
            instance = dg.DagsterInstance.get()
    except Exception as exc:
        cause = _connection_failure(exc)
        if cause is None:
            raise
        raise SettingsError(
            f"the Dagster instance in {HOME}={home} cannot reach its {kind} database: {cause}: check that the server "
            "accepts connections and the connection variables of its dagster.yaml (host, port, user, password, database)"
        ) from exc
    set_pool_limits(instance)
    return instance


def _resolved(section: object) -> object:
    """A dagster.yaml section with its ``{env: NAME}`` values read from the environment."""
    if isinstance(section, dict):
        if set(section) == {"env"} and isinstance(section["env"], str):
            return os.environ[section["env"]]
        return {key: _resolved(value) for key, value in section.items()}
    if isinstance(section, list):
        return [_resolved(value) for value in section]
    return section


@contextlib.contextmanager
def _server_open_lock(home: Path, kind: str, storage: dict, timeout: float) -> Iterator[None]:
    """Hold PostgreSQL's session advisory lock :data:`PG_OPEN_LOCK_KEY` in the instance's database (see the module's
    docstring); a no-op for other servers. Polled with ``pg_try_advisory_lock`` so that a wait is logged once and
    ends with a message after ``timeout``."""
    if kind != "postgres":
        yield
        return
    import sqlalchemy
    from dagster_postgres.utils import pg_url_from_config, retry_pg_connection_fn

    engine = sqlalchemy.create_engine(pg_url_from_config(_resolved(storage)), poolclass=sqlalchemy.pool.NullPool)
    try:
        # Connected with Dagster's own retry (a server starting up is waited for, as the instance itself does).
        with retry_pg_connection_fn(engine.connect) as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            try_lock = sqlalchemy.text("SELECT pg_try_advisory_lock(:key)").bindparams(key=PG_OPEN_LOCK_KEY)
            started, told = time.monotonic(), False
            while not connection.execute(try_lock).scalar():
                waited = time.monotonic() - started
                if waited >= timeout:
                    raise InstanceLockTimeout(
                        f"the Dagster instance in {HOME}={home} stayed locked for {timeout:.0f} s by another process "
                        f"opening it (PostgreSQL advisory lock {PG_OPEN_LOCK_KEY}: see pg_locks where "
                        "locktype = 'advisory'): stop the process that hangs, then retry"
                    )
                if not told and waited >= QUIET_WAIT_SECONDS:
                    print("waiting for another process to finish opening the Dagster instance (PostgreSQL "
                          f"advisory lock {PG_OPEN_LOCK_KEY})", file=sys.stderr)
                    told = True
                time.sleep(PG_LOCK_POLL_SECONDS)
            try:
                yield
            finally:
                connection.execute(sqlalchemy.text("SELECT pg_advisory_unlock(:key)").bindparams(key=PG_OPEN_LOCK_KEY))
    finally:
        engine.dispose()


def set_pool_limits(instance: dg.DagsterInstance) -> list[str]:
    """Give each platform pool without a limit in this instance the default limit (``pools.default_limit``),
    explicitly; returns the pools set. A no-op without a default limit, and once done (one query).

    Dagster otherwise creates a pool's limit when the first run steps into it. On PostgreSQL two runs doing that
    at once fail one of them: the loser's insert aborts its transaction, and Dagster's fallback update then fails
    with "current transaction is aborted" (dagster-io/dagster#33552, open in Dagster 1.13). A limit set
    explicitly is never created by a run. Two commands setting one at once are harmless: the loser finds it set.
    """
    from sqlalchemy.exc import IntegrityError

    storage = instance.event_log_storage
    default = instance.get_concurrency_config().pool_config.default_pool_limit
    if default is None or not storage.supports_global_concurrency_limits:
        return []
    missing = [pool for pool in PLATFORM_POOLS if pool not in {limit.name for limit in storage.get_pool_limits()}]
    done = []
    for pool in missing:
        try:
            storage.set_concurrency_slots(pool, default)
            done.append(pool)
        except IntegrityError:
            continue  # another process set it between our query and our insert
    return done


def _connection_failure(exc: BaseException) -> str | None:
    """The driver's first line when ``exc`` comes from a database connection that failed (after Dagster's retries).

    The driver's message names host, port, user and database, never the password."""
    from sqlalchemy.exc import OperationalError

    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OperationalError):
            text = str(exc.orig if exc.orig is not None else exc).strip()
            return text.splitlines()[0] if text else type(exc).__name__
        exc = exc.__cause__ or exc.__context__
    return None


def open_instance(*, timeout: float = LOCK_TIMEOUT_SECONDS) -> dg.DagsterInstance:
    """The instance of :func:`dagster_home`, its storage created under the instance lock (or by its database
    server, see the module's docstring); ephemeral without one.

    Runs of this host whose process died are failed and their pool slots freed before the instance is returned.

    The caller owns the instance (use it as a context manager, or call ``dispose()``).
    """
    home = dagster_home()
    if home is None:
        return dg.DagsterInstance.ephemeral()
    kind = storage_server(home)
    instance = _open_on_server(home, kind, timeout) if kind else _open_under_lock(home, timeout)
    # Nothing a CLI command launches should wait for a run whose process died (lib/liveness.py).
    reap_dead_runs(instance, f"retail-assets (pid {os.getpid()})", log=lambda text: print(text, file=sys.stderr))
    return instance


def _open_under_lock(home: Path, timeout: float) -> dg.DagsterInstance:
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
        return dg.DagsterInstance.get()
    finally:
        lock.release()
