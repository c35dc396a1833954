"""Fixtures of the production-instance tests: one real PostgreSQL server for the session (server.py),
a fresh database per test, and a DAGSTER_HOME holding a copy of deploy/dagster.yaml whose environment variables
point at that database."""

from __future__ import annotations

import itertools
import os
import shutil
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from retail_assets_tests.postgres.server import PostgresServer, start_postgres

REPO = Path(__file__).resolve().parents[2]
DEPLOY_YAML = REPO / "deploy" / "dagster.yaml"
_numbers = itertools.count()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A PostgreSQL server on a free loopback port for the whole session; stopped (and its files removed) whatever
    the tests did."""
    server = start_postgres()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def instance_template(postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> str:
    """A database holding the tables of an instance and nothing else, created once by Dagster itself: copying it
    takes 0.3 s where creating the tables takes 2-7 s on a busy machine. Pool limits are not set in it."""
    name = postgres_server.create_database("instance_template")
    home = production_home(tmp_path_factory.mktemp("template") / "home")
    with pytest.MonkeyPatch.context() as patch:
        for variable, value in postgres_server.dagster_env(name).items():
            patch.setenv(variable, value)
        dg.DagsterInstance.from_config(str(home)).dispose()
    return name


def _database(server: PostgresServer, template: str | None) -> Iterator[str]:
    name = server.create_database(f"test_{os.getpid()}_{next(_numbers)}", template=template)
    try:
        yield name
    finally:
        server.drop_database(name)


@pytest.fixture
def empty_database(postgres_server: PostgresServer) -> Iterator[str]:
    """A new empty database (what a user gives the production instance), dropped after the test with any connection
    the test's processes left open."""
    yield from _database(postgres_server, None)


@pytest.fixture
def pg_database(postgres_server: PostgresServer, instance_template: str) -> Iterator[str]:
    """A new database holding an instance's tables and nothing else (as after its first open), dropped after the test."""
    yield from _database(postgres_server, instance_template)


def production_home(path: Path) -> Path:
    """A DAGSTER_HOME holding an unmodified copy of deploy/dagster.yaml (what docs/scale-out.md tells users to do)."""
    path.mkdir(parents=True)
    shutil.copy(DEPLOY_YAML, path / "dagster.yaml")
    return path


def _point_at(home: Path, server: PostgresServer, database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name, value in server.dagster_env(database).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    return home


@pytest.fixture
def pg_home(tmp_path: Path, postgres_server: PostgresServer, pg_database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME with deploy/dagster.yaml, and the DAGSTER_PG_* variables naming this test's database (inherited
    by every process the test starts)."""
    return _point_at(production_home(tmp_path / "home"), postgres_server, pg_database, monkeypatch)


@pytest.fixture
def empty_pg_home(tmp_path: Path, postgres_server: PostgresServer, empty_database: str,
                  monkeypatch: pytest.MonkeyPatch) -> Path:
    """Like ``pg_home``, on an empty database: the instance's first open creates its tables."""
    return _point_at(production_home(tmp_path / "home"), postgres_server, empty_database, monkeypatch)


def open_pooled(home: Path) -> dg.DagsterInstance:
    """The instance of ``home``, its storages keeping their connections open as the webserver's do.

    Elsewhere Dagster opens a connection per storage call, and each costs PostgreSQL a new backend process:
    a test executing runs in its own process opens thousands. Pooling them changes nothing a test asserts
    (the SQL, transactions and locks are the same) and takes most of the CPU off the tests (measured on
    test_streaming.py: 40 s of CPU, 19 of them PostgreSQL's, down to 17 s, 2 of them PostgreSQL's)."""
    opened = dg.DagsterInstance.from_config(str(home))
    opened.optimize_for_webserver(statement_timeout=0, pool_recycle=3600, max_overflow=20)
    return opened


@pytest.fixture
def instance(pg_home: Path) -> Iterator[dg.DagsterInstance]:
    """The production instance on this test's database: replaces the root conftest's ephemeral instance, so tests
    of other packages imported here run unchanged against PostgreSQL."""
    with open_pooled(pg_home) as opened:
        yield opened
