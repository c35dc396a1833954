"""Run committed KQL on DuckDB through duckdb-kql, over events built from the specs, to check behaviour.

duckdb-kql 1.1.2 has no ``count_distinct``; queries run with ``dcount`` instead, which duckdb-kql
executes as an exact ``COUNT(DISTINCT ...)`` (in Eventhouse ``dcount`` is an estimate, which is why
the committed KQL uses ``count_distinct``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import duckdb
import duckdb_kql
import polars as pl

from retail_assets.lib.specs.registry import REGISTRY, event_columns, polars_schema

NOW = dt.datetime(2024, 3, 5, 12, 7, 30, tzinfo=dt.UTC)


def ago(days: float = 0, hours: float = 0, minutes: float = 0, seconds: float = 0) -> dt.datetime:
    """NOW shifted back."""
    return NOW - dt.timedelta(days=days, hours=hours, minutes=minutes, seconds=seconds)


def events(event_type: str, rows: list[dict]) -> pl.DataFrame:
    """An event table (envelope + payload columns, spec types) holding ``rows``; other columns NULL."""
    schema = polars_schema(event_columns(REGISTRY.event(event_type)))
    base = {"event_type": event_type, "schema_version": "1.0", "source": "test"}
    return pl.DataFrame([{**base, "trace_id": f"{event_type}-{i}", **row} for i, row in enumerate(rows)], schema=schema)


def database(tables: Mapping[str, pl.DataFrame]) -> duckdb.DuckDBPyConnection:
    """A DuckDB with all 18 event tables (empty unless given) and any other tables given."""
    con = duckdb_kql.connect()
    for event in REGISTRY.events:
        load(con, event.table_name, tables.get(event.table_name, events(event.event_type, [])))
    for name, frame in tables.items():
        if name not in REGISTRY.events_by_type:
            load(con, name, frame)
    return con


def load(con: duckdb.DuckDBPyConnection, name: str, frame: pl.DataFrame) -> None:
    con.register(f"{name}_arrow", frame.to_arrow())
    con.execute(f"CREATE OR REPLACE TABLE {name} AS SELECT * FROM {name}_arrow")
    con.unregister(f"{name}_arrow")


def query_of(file_text: str) -> str:
    """The query of a rendered queryset or rule file (its comment header dropped)."""
    return "\n".join(line for line in file_text.splitlines() if not line.startswith("//"))


def stored_functions(validation: dict) -> list[str]:
    """The committed functions, as the parser read them from 03-functions.kql."""
    return [f".create-or-alter function {n}{f['parameters']} {f['body']}" for n, f in validation["functions"].items()]


def run(con: duckdb.DuckDBPyConnection, query: str, validation: dict, now: dt.datetime = NOW) -> pl.DataFrame:
    """Rows of ``query`` at time ``now``; datetimes as UTC (duckdb-kql returns bins without a zone)."""
    relation = duckdb_kql.kql(con, query.replace("count_distinct(", "dcount("), functions=stored_functions(validation),
                              query_now=now)
    return relation.pl().with_columns(pl.col(pl.Datetime(time_zone=None)).dt.replace_time_zone("UTC"))
