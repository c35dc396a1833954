"""deploy/dagster.yaml, as users copy it, opens a production instance on a real PostgreSQL server.

- The instance keeps runs, event logs and schedules in PostgreSQL, with the local instance's run queue, pools,
  sensor threads and run monitoring (the two files must not drift apart), and no secret in the file.
- A run (its events, materializations and pool slot claims) is in the database's own tables and read back by
  a new instance.
- ``retail-assets`` commands open it through ``lib/instance.py`` without the SQLite file lock, give the platform's
  pools their limits explicitly (Dagster's creation on first use fails racing runs on PostgreSQL), say which
  variables are missing, and report an unreachable server without printing its password.
- Their first open waits for the PostgreSQL advisory lock that orders first opens, names it on a timeout, and is
  not held up by a holder that died.

(The sensor ticks, through the real daemon, are in test_daemon.py.)
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import dagster as dg
import pytest
import yaml
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from filelock import FileLock

from retail_assets import cli
from retail_assets.lib.instance import LOCK_FILE, PG_OPEN_LOCK_KEY, InstanceLockTimeout, open_instance, set_pool_limits
from retail_assets.lib.liveness import WORKER_TAG, Worker
from retail_assets.lib.pools import PLATFORM_POOLS
from retail_assets_tests.operations.holders import POOLS
from retail_assets_tests.postgres.conftest import DEPLOY_YAML, REPO
from retail_assets_tests.postgres.server import PostgresServer

SHARED_SETTINGS = ("concurrency", "run_queue", "sensors", "run_monitoring", "telemetry")


def _env_leaves(section: object) -> list[object]:
    if isinstance(section, dict) and set(section) != {"env"}:
        return [leaf for value in section.values() for leaf in _env_leaves(value)]
    return [section]


def test_the_production_file_shares_the_local_limits_and_holds_no_secret() -> None:
    local = yaml.safe_load((REPO / "dagster.yaml").read_text())
    production = yaml.safe_load(DEPLOY_YAML.read_text())
    for section in SHARED_SETTINGS:
        assert production[section] == local[section], f"deploy/dagster.yaml {section} differs from dagster.yaml's"
    database = production["storage"]["postgres"]["postgres_db"]
    assert {k: v for k, v in database.items() if k != "scheme"} == {
        "hostname": {"env": "DAGSTER_PG_HOST"}, "port": {"env": "DAGSTER_PG_PORT"}, "username": {"env": "DAGSTER_PG_USER"},
        "password": {"env": "DAGSTER_PG_PASSWORD"}, "db_name": {"env": "DAGSTER_PG_DB"},
    }, "every connection setting comes from the environment"
    assert database["scheme"] == "postgresql+psycopg2"
    assert "postgres_url" not in production["storage"]["postgres"], "a URL would carry the password in the file"


def test_the_docs_name_every_variable_the_production_file_reads() -> None:
    text = (REPO / "docs" / "scale-out.md").read_text()
    section = text.split("## Production instance (PostgreSQL)", 1)[1].split("\n## ", 1)[0]
    variables = {leaf["env"] for leaf in _env_leaves(yaml.safe_load(DEPLOY_YAML.read_text())["storage"]) if isinstance(leaf, dict)}
    assert variables == {"DAGSTER_PG_HOST", "DAGSTER_PG_PORT", "DAGSTER_PG_USER", "DAGSTER_PG_PASSWORD", "DAGSTER_PG_DB"}
    assert all(f"| `{v}` |" in section for v in variables), "docs/scale-out.md's table of variables"


def test_the_instance_opens_on_an_empty_database_with_the_platform_limits(empty_pg_home: Path) -> None:
    with open_instance() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert type(instance.run_coordinator).__name__ == "QueuedRunCoordinator"
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 2
        assert concurrency.run_queue_config.tag_concurrency_limits == [
            {"key": "dagster/from_automation_condition", "value": "true", "limit": 1}]
        assert concurrency.pool_config.default_pool_limit == 1
        assert instance.event_log_storage.supports_global_concurrency_limits, "pools are enforced through the database"
        assert instance.run_monitoring_enabled and instance.run_monitoring_settings["max_resume_run_attempts"] == 0
        assert instance.get_settings("sensors") == {"use_threads": True, "num_workers": 4}
    assert [p.name for p in empty_pg_home.iterdir()] == ["dagster.yaml"], "opening writes nothing to DAGSTER_HOME"


def test_a_run_its_events_and_pool_slots_round_trip_through_postgres(
    pg_home: Path, postgres_server: PostgresServer, pg_database: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run with a step in each of three pools, executed in this process as ``retail-assets run`` does: the
    database holds the run, its events and its pools' slots (none claimed afterwards), and a new instance reads
    them back."""
    from retail_assets.commands.run import _execute
    from retail_assets_tests.operations.holders import defs

    monkeypatch.setenv("HOLD_SECONDS", "0")
    job = defs.resolve_implicit_global_asset_job_def()
    with open_instance() as instance:
        assert _execute(job, instance, dt.date(2024, 1, 1), dt.date(2024, 1, 1)) == 0
        (result,) = instance.get_runs()
        storage = instance.event_log_storage
        assert {p: storage.get_concurrency_info(p).slot_count for p in POOLS} == dict.fromkeys(POOLS, 1)
        assert storage.get_concurrency_run_ids() == set(), "every slot the steps claimed is released"
    (run,) = postgres_server.query(pg_database, "SELECT run_id, status FROM runs")
    assert run == (result.run_id, "SUCCESS")
    events = dict(postgres_server.query(
        pg_database, "SELECT dagster_event_type, count(*) FROM event_logs WHERE run_id = %s GROUP BY 1", result.run_id))
    assert events[dg.DagsterEventType.ASSET_MATERIALIZATION.value] == len(POOLS)
    assert events[dg.DagsterEventType.RUN_SUCCESS.value] == 1
    slots = dict(postgres_server.query(pg_database, "SELECT concurrency_key, count(*) FROM concurrency_slots GROUP BY 1"))
    assert slots == dict.fromkeys({*POOLS, *PLATFORM_POOLS}, 1)
    with dg.DagsterInstance.from_config(str(pg_home)) as reopened:
        (stored,) = reopened.get_runs()
        assert stored.tags["dagster/partition"] == "2024-01-01"
        assert Worker.from_tag(stored.tags[WORKER_TAG]) == Worker.this_process(), "the watched executor registered"
        keys = {e.dagster_event.asset_key.to_user_string()
                for e in reopened.all_logs(stored.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)}
        assert keys == {f"hold_{p}" for p in POOLS}


def test_creating_a_pool_limit_that_another_process_created_fails_in_dagster_on_postgres(
    instance: dg.DagsterInstance,
) -> None:
    """Why commands set the pools' limits: what the second of two runs stepping into a new pool at once does
    (dagster-io/dagster#33552). Its insert of the default limit collides, PostgreSQL aborts the transaction, and
    Dagster's fallback update fails; the run fails. (Found by test_backfills.py's first version: two months built
    at once, one run failed.) When Dagster fixes it, this fails: set_pool_limits can then go."""
    from sqlalchemy.exc import InternalError

    storage = instance.event_log_storage
    assert storage.initialize_concurrency_limit_to_default("duckdb")
    with pytest.raises(InternalError, match="current transaction is aborted"):
        storage.initialize_concurrency_limit_to_default("duckdb")


def test_commands_give_the_platform_pools_explicit_limits_once(pg_home: Path) -> None:
    with open_instance() as instance:
        limits = {limit.name: limit for limit in instance.event_log_storage.get_pool_limits()}
        assert {name: (limits[name].limit, limits[name].from_default) for name in PLATFORM_POOLS} == {
            name: (1, False) for name in PLATFORM_POOLS}, "explicit: no run will create them"
        assert set_pool_limits(instance) == [], "already set: nothing to do"


def test_commands_ignore_the_sqlite_lock_of_a_postgres_instance(pg_home: Path) -> None:
    """The file lock orders first opens of a SQLite instance; on PostgreSQL the database does, so a lock held in
    DAGSTER_HOME (another tool, a stuck process) does not hold up or time out a command."""
    with FileLock(pg_home / LOCK_FILE):
        with open_instance(timeout=0.5) as instance:
            assert instance.get_run_records() == []


def test_a_held_open_lock_is_waited_for_named_on_timeout_and_freed_when_its_holder_dies(
    pg_home: Path, postgres_server: PostgresServer, pg_database: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """The first open on PostgreSQL is ordered by a PostgreSQL advisory lock (test_first_open.py): a command
    waits for the process holding it, says so once, gives up with a message naming the lock instead of hanging,
    and opens as soon as the holder's connection ends without unlocking (a killed process)."""
    holder = postgres_server.connect(pg_database)
    with holder.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_lock(%s)", (PG_OPEN_LOCK_KEY,))
    try:
        with pytest.raises(InstanceLockTimeout, match=f"PostgreSQL advisory lock {PG_OPEN_LOCK_KEY}"):
            open_instance(timeout=2.5)
        assert capsys.readouterr().err.count("waiting for another process to finish opening") == 1
    finally:
        holder.close()  # no unlock: the server frees a dead session's advisory locks
    with open_instance(timeout=2.5) as instance:
        assert instance.get_run_records() == []


def test_missing_connection_variables_are_named(pg_home: Path, monkeypatch: pytest.MonkeyPatch,
                                                capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.delenv("DAGSTER_PG_PASSWORD")
    monkeypatch.delenv("DAGSTER_PG_HOST")
    assert cli.main(["runs"]) == cli.CONFIGURATION_ERROR
    err = capsys.readouterr().err
    assert "these environment variables are not set: ['DAGSTER_PG_HOST', 'DAGSTER_PG_PASSWORD']" in err, err


def test_a_wrong_password_is_a_configuration_error_that_never_shows_the_password(
    pg_home: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """About 12 s: Dagster retries a failed connection five times, with backoff, before giving up."""
    wrong = "not-the-password-4f9c2e"
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", wrong)
    assert cli.main(["runs"]) == cli.CONFIGURATION_ERROR
    out, err = capsys.readouterr()
    assert err.startswith("retail-assets: the Dagster instance in DAGSTER_HOME=") and "password authentication failed" in err
    assert "Retrying failed database connection" in caplog.text, "Dagster's own retries were logged"
    assert wrong not in out + err + caplog.text
