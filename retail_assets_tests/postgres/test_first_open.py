"""Processes opening an empty PostgreSQL database together all succeed and leave a sound instance.

The SQLite instance needed a file lock for this (spine/test_cli_instance.py); on PostgreSQL ``lib/instance.py``
takes a PostgreSQL advisory lock around the first open instead (it orders processes on every machine sharing the
database). Dagster alone is not enough: dagster-postgres retries a duplicate-table error but not the
duplicate-type error of two colliding ``CREATE TABLE alembic_version`` (CI lost one open of four to it while this
test trusted the retry). The same harness as the SQLite test starts the real command line (``retail-assets
runs``) in several processes released by one barrier, once per fresh database.

A control proves the harness catches the race: the same processes, right after, open more empty databases
without the advisory lock and with dagster-postgres's retry switched off, and some of those opens fail with
"already exists" (measured: one process of two failed in each of 6 trials; with three processes, 6 opens of 9
failed, some trials losing every process). Without the lock but with the retry, opens fail only sometimes (the
CI failure above), too rarely for a control.
"""

from __future__ import annotations

import contextlib
import multiprocessing
from pathlib import Path

import pytest
import yaml

from retail_assets import cli
from retail_assets_tests.postgres.conftest import production_home
from retail_assets_tests.postgres.server import PostgresServer
from retail_assets_tests.spine.test_cli_instance import _open_each_home_together

PROCESSES = 3
TRIALS = 2
# The control needs one collision among its trials (measured: every trial collides).
CONTROL_TRIALS = 2
# The storages of one instance, as one process creates them alone.
STORAGE_TABLES = {"runs", "event_logs", "jobs", "job_ticks", "alembic_version", "concurrency_slots", "secondary_indexes"}


def _database_home(path: Path, database: str) -> Path:
    """deploy/dagster.yaml with the database named in the file instead of DAGSTER_PG_DB: every trial's processes
    share the other connection variables from the environment, and each trial needs an empty database."""
    home = production_home(path)
    config = yaml.safe_load((home / "dagster.yaml").read_text())
    config["storage"]["postgres"]["postgres_db"]["db_name"] = database
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _open_as_shipped_then_unguarded(homes: list[str], control_homes: list[str], barrier, results) -> None:
    """One harness process: the first opens of ``homes`` as shipped, then those of ``control_homes`` without the
    advisory lock and with each storage's table creation tried once (dagster-postgres's retry switched off). One
    process for both: starting a process that imports the command line takes most of this test's time."""
    _open_each_home_together(homes, barrier, results)
    import dagster_postgres.event_log.event_log as event_log
    import dagster_postgres.run_storage.run_storage as run_storage
    import dagster_postgres.schedule_storage.schedule_storage as schedule_storage

    from retail_assets.lib import instance

    instance._server_open_lock = lambda *_, **__: contextlib.nullcontext()
    for module in (run_storage, event_log, schedule_storage):
        module.retry_pg_creation_fn = lambda create, **_: create()
    _open_each_home_together(control_homes, barrier, results)


def _race(homes: list[str], control_homes: list[str]) -> list[tuple[str, object]]:
    spawn = multiprocessing.get_context("spawn")
    barrier, results = spawn.Barrier(PROCESSES), spawn.Queue()
    workers = [spawn.Process(target=_open_as_shipped_then_unguarded,
                             args=(homes, control_homes, barrier, results)) for _ in range(PROCESSES)]
    for worker in workers:
        worker.start()
    try:
        return [results.get(timeout=300) for _ in range(PROCESSES * (len(homes) + len(control_homes)))]
    finally:
        for worker in workers:
            worker.join(timeout=60)
            if worker.is_alive():
                worker.kill()


def _soundness(server: PostgresServer, database: str) -> list[str]:
    """What is wrong with the instance in ``database`` (nothing: an empty list)."""
    problems = []
    tables = {t for (t,) in server.query(database, "SELECT tablename FROM pg_tables WHERE schemaname = 'public'")}
    if missing := STORAGE_TABLES - tables:
        problems.append(f"{database}: tables missing {sorted(missing)}")
    if "alembic_version" in tables:
        heads = server.query(database, "SELECT version_num FROM alembic_version")
        if len(heads) != 1:
            problems.append(f"{database}: {len(heads)} alembic heads {heads}")
    return problems


def _homes(tmp_path: Path, server: PostgresServer, name: str, trials: int) -> dict[str, str]:
    databases = {}
    for trial in range(trials):
        database = server.create_database(f"{name}_{trial}")
        databases[str(_database_home(tmp_path / f"{name}-{trial}", database))] = database
    return databases


@pytest.fixture
def connection_env(postgres_server: PostgresServer, monkeypatch: pytest.MonkeyPatch) -> None:
    for variable, value in postgres_server.dagster_env("unused").items():
        monkeypatch.setenv(variable, value)


@pytest.mark.slow
def test_processes_opening_an_empty_database_together_all_succeed_and_leave_it_sound(
    tmp_path: Path, postgres_server: PostgresServer, connection_env: None, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    databases = _homes(tmp_path, postgres_server, "first_open", TRIALS)
    controls = _homes(tmp_path, postgres_server, "no_retry", CONTROL_TRIALS)
    try:
        outcomes = _race(list(databases), list(controls))
        failed = [(home, outcome) for home, outcome in outcomes if home in databases and outcome != 0]
        assert not failed, f"{len(failed)} of {PROCESSES * TRIALS} concurrent first opens failed: {failed[:3]}"
        assert not [p for d in databases.values() for p in _soundness(postgres_server, d)]
        for home in databases:
            monkeypatch.setenv("DAGSTER_HOME", home)
            assert cli.main(["runs"]) == 0
        assert capsys.readouterr().out.count("0 most recent runs") == TRIALS
        # The control: the same processes, as closely together, without the lock and the retry.
        collided = [outcome for home, outcome in outcomes if home in controls and outcome != 0]
        assert collided, "no first open collided without the retry: this harness would not catch a race"
        assert all("already exists" in str(c) for c in collided), collided[:3]
    finally:
        for database in (*databases.values(), *controls.values()):
            postgres_server.drop_database(database)
