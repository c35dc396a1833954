"""Short reads of the serving DuckDB file for one page render (the file is never held between requests)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import duckdb
import polars as pl

from retail_assets.lib.serving import ServingLockTimeout, serving_reader


class ServingUnavailable(RuntimeError):
    """The serving file cannot be read (not published yet, or locked by a writer for too long)."""


class Reader:
    """One read-only session on the serving file: frames by SQL, and which tables exist."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self._con = con
        self.tables = {
            name
            for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE schema_name = 'main' UNION ALL "
                "SELECT view_name FROM duckdb_views() WHERE schema_name = 'main' AND NOT internal"
            ).fetchall()
        }

    def has(self, *tables: str) -> bool:
        return all(t in self.tables for t in tables)

    def frame(self, sql: str, parameters: Sequence[Any] | None = None) -> pl.DataFrame:
        return pl.from_arrow(self._con.sql(sql, params=parameters).to_arrow_table())

    def value(self, sql: str, parameters: Sequence[Any] | None = None) -> Any:
        rows = self._con.execute(sql, parameters).fetchall()  # all of them: DuckDB 2 refuses work after a partial fetch
        return rows[0][0] if rows else None


@contextmanager
def reading(database: str | Path) -> Iterator[Reader]:
    """A :class:`Reader` for the ``with`` block, through ``serving_reader`` (writers first, file closed after)."""
    if not Path(database).exists():
        raise ServingUnavailable(
            f"The serving file {database} does not exist yet: publish a month first "
            "(retail-assets run --month YYYY-MM)."
        )
    try:
        with serving_reader(database) as con:
            con.execute("SET TimeZone = 'UTC'")  # days and minutes are UTC in every Gold table
            yield Reader(con)
    except (duckdb.IOException, ServingLockTimeout) as exc:
        raise ServingUnavailable(f"The serving file {database} could not be read: {exc}") from exc


def utc(value: dt.datetime | None) -> dt.datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)
