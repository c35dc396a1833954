"""Publishing Gold and the conformed dimensions into one DuckDB file: a star schema for SQL and BI users.

Tables in the DuckDB file (``Settings.duckdb_path``):

- every Gold table under its own name, with ``month_start`` (the fact and mart tables of the star);
- ``<table>_latest`` views over the snapshot tables (the latest month: current inventory positions,
  current customer lifetime value);
- the conformed dimensions from Silver: the current version of SCD2 dimensions as ``dim_stores`` /
  ``dim_customers`` (with ``valid_from``) and their whole history as ``dim_stores_history`` /
  ``dim_customers_history``; the other dimensions as they are;
- ``quarantine``: every row Bronze and Silver rejected, from all ``quarantine/<layer>/<table>`` Delta
  tables, with ``layer`` and ``quarantine_table`` naming where it is in the lake, then the rows' own
  columns (``QUARANTINE_COLUMNS``, and any column a quarantine table gained since: new columns are
  added to the DuckDB table, older rows read them as NULL). Published per ``month_start`` like Gold
  (a dimension's rejected rows under their snapshot month).

DuckDB reads no Delta here: frames are read from the lake with polars and handed to DuckDB as Arrow.
A month is published by deleting and inserting exactly that month in one DuckDB transaction, so
readers see the old month or the new one, never a mix; a dimension is replaced in one transaction.
Column types and comments come from the specs. DuckDB allows one writing process per file, which is
why every writer runs under the ``duckdb`` concurrency pool (``defs/serving.py``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl

from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.lake import LakeStore, to_arrow
from retail_assets.lib.quarantine_tables import LAYER_COLUMN, TABLE_COLUMN, scan_quarantine
from retail_assets.lib.specs import (
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    REGISTRY,
    SCD2_COLUMNS,
    ColumnSpec,
    DType,
    TableSpec,
    silver_columns,
)

INCOMING = "__incoming"


class ServingError(RuntimeError):
    """The DuckDB file cannot take the data as it is (a table's columns differ from the spec)."""


def prepare_file(database: str) -> None:
    """Create the directory of a DuckDB file (DuckDB creates the file, not its folder)."""
    if database != ":memory:" and "://" not in database and not database.startswith("md:"):
        Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)


def quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


def literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ddl(name: str, columns: Sequence[ColumnSpec], *, temporary: bool = False) -> str:
    body = ", ".join(f"{quote(c.name)} {c.dtype.duckdb}{'' if c.nullable else ' NOT NULL'}" for c in columns)
    return f"CREATE {'TEMP ' if temporary else ''}TABLE {quote(name)} ({body})"


def _columns_of(con: duckdb.DuckDBPyConnection, name: str, temporary: bool = False) -> list[tuple[str, str]]:
    database = "'temp'" if temporary else "current_database()"
    return con.execute(
        "SELECT column_name, data_type FROM duckdb_columns() "
        f"WHERE database_name = {database} AND schema_name = 'main' AND table_name = ? ORDER BY column_index",
        [name],
    ).fetchall()


def _exists(con: duckdb.DuckDBPyConnection, name: str) -> bool:
    found = con.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE database_name = current_database() AND schema_name = 'main' "
        "AND table_name = ?",
        [name],
    ).fetchall()
    return bool(found[0][0])


def _describe(con: duckdb.DuckDBPyConnection, name: str, description: str, columns: Sequence[ColumnSpec]) -> None:
    con.execute(f"COMMENT ON TABLE {quote(name)} IS {literal(description)}")
    for c in columns:
        con.execute(f"COMMENT ON COLUMN {quote(name)}.{quote(c.name)} IS {literal(c.description)}")


def _ensure_table(con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[ColumnSpec], description: str) -> None:
    """Create the table from the spec, or check that the existing one has exactly the spec's columns and types."""
    if not _exists(con, name):
        con.execute(_ddl(name, columns))
        _describe(con, name, description, columns)
        return
    con.execute(_ddl("__expected", columns, temporary=True))
    expected, found = _columns_of(con, "__expected", temporary=True), _columns_of(con, name)
    con.execute("DROP TABLE temp.__expected")
    if expected != found:
        raise ServingError(
            f"DuckDB table {name} has columns {found} but the spec now has {expected}. Drop it "
            f"(DROP TABLE {quote(name)}) and re-publish every month of serving/{name} (a backfill over the whole range)."
        )


def _insert(con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[ColumnSpec], frame: pl.DataFrame) -> None:
    names = ", ".join(quote(c.name) for c in columns)
    con.register(INCOMING, to_arrow(frame.select([c.name for c in columns])))
    try:
        con.execute(f"INSERT INTO {quote(name)} ({names}) SELECT {names} FROM {INCOMING}")
    finally:
        con.unregister(INCOMING)


@contextmanager
def _transaction(con: duckdb.DuckDBPyConnection) -> Iterator[None]:
    con.execute("BEGIN TRANSACTION")
    try:
        yield
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def publish_months(
    con: duckdb.DuckDBPyConnection,
    name: str,
    columns: Sequence[ColumnSpec],
    frame: pl.DataFrame,
    months: Sequence[dt.date],
    *,
    description: str,
) -> None:
    """Replace exactly ``months`` of a month-partitioned DuckDB table with ``frame``, in one transaction."""
    stray = frame.filter(~pl.col(PARTITION_COLUMN).is_in(list(months))).height
    if stray:
        raise ServingError(f"{name}: {stray} rows are outside the months being published; nothing was published")
    with _transaction(con):
        _ensure_table(con, name, columns, description)
        placeholders = ", ".join("?" for _ in months)
        con.execute(f"DELETE FROM {quote(name)} WHERE {PARTITION_COLUMN} IN ({placeholders})", list(months))
        _insert(con, name, columns, frame)


def replace_table(
    con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[ColumnSpec], frame: pl.DataFrame, *, description: str
) -> None:
    """Replace a whole DuckDB table with ``frame``, in one transaction."""
    with _transaction(con):
        con.execute(f"DROP TABLE IF EXISTS {quote(name)}")
        _ensure_table(con, name, columns, description)
        _insert(con, name, columns, frame)


def latest_view(table: GoldTable) -> str:
    return f"{table.name}_latest"


def publish_gold(
    con: duckdb.DuckDBPyConnection, lake: LakeStore, table: GoldTable, months: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Publish ``months`` of ``gold/<table>``; returns the rows published per month (counted in DuckDB)."""
    frame = lake.read(gold_path(table.name), months)
    columns = gold_columns(table)
    publish_months(con, table.name, columns, frame, months, description=f"{table.description} Grain: {table.grain}.")
    if table.kind == "snapshot":
        con.execute(
            f"CREATE OR REPLACE VIEW {quote(latest_view(table))} AS SELECT * FROM "
            f"{quote(table.name)} WHERE {PARTITION_COLUMN} = (SELECT max({PARTITION_COLUMN}) FROM {quote(table.name)})"
        )
    return _rows_per_month(con, table.name, months)


def _rows_per_month(con: duckdb.DuckDBPyConnection, name: str, months: Sequence[dt.date]) -> dict[dt.date, int]:
    rows = con.execute(
        f"SELECT {PARTITION_COLUMN}, count(*) FROM {quote(name)} WHERE {PARTITION_COLUMN} IN "
        f"({', '.join('?' for _ in months)}) GROUP BY ALL",
        list(months),
    ).fetchall()
    counted = dict(rows)
    return {m: counted.get(m, 0) for m in months}


@dataclass(frozen=True)
class ServedDimension:
    """A conformed dimension table of the star schema, from a Silver dimension."""

    name: str
    source: TableSpec
    history: bool  # all SCD2 versions (``*_history``) rather than the current one

    @property
    def columns(self) -> tuple[ColumnSpec, ...]:
        if self.history:
            return silver_columns(self.source.name)
        if self.source.history == "scd2":
            return (*self.source.columns, SCD2_COLUMNS[0])
        return self.source.columns

    @property
    def description(self) -> str:
        if self.history:
            return f"{self.source.description} Every SCD2 version: valid_from <= t < valid_to (NULL: current)."
        if self.source.history == "scd2":
            return f"{self.source.description} Current version of each key (valid since valid_from); history in {self.name}_history."
        return self.source.description

    def rows(self, lake: LakeStore) -> pl.DataFrame:
        frame = lake.scan(f"silver/{self.source.name}")
        if self.source.history == "scd2" and not self.history:
            frame = frame.filter(pl.col("is_current"))
        return frame.select([c.name for c in self.columns]).sort(list(self.source.primary_key)).collect()


SERVED_DIMENSIONS: tuple[ServedDimension, ...] = tuple(
    served
    for dim in REGISTRY.dimensions
    for served in (
        (ServedDimension(dim.name, dim, False), ServedDimension(f"{dim.name}_history", dim, True))
        if dim.history == "scd2"
        else (ServedDimension(dim.name, dim, False),)
    )
)


def publish_dimension(con: duckdb.DuckDBPyConnection, lake: LakeStore, served: ServedDimension) -> int:
    frame = served.rows(lake)
    replace_table(con, served.name, served.columns, frame, description=served.description)
    return con.execute(f"SELECT count(*) FROM {quote(served.name)}").fetchall()[0][0]


QUARANTINE = "quarantine"
QUARANTINE_DESCRIPTION = (
    "Every row Bronze and Silver rejected, with the reason, the file and row/line it came from and the whole "
    "original record; layer and quarantine_table name its Delta table, quarantine/<layer>/<quarantine_table>."
)
# The columns the spec knows of; a quarantine table may carry more, which are published too.
QUARANTINE_SERVED_COLUMNS: tuple[ColumnSpec, ...] = (
    ColumnSpec(name=LAYER_COLUMN, dtype=DType.STRING, description="Layer that rejected the row: bronze or silver."),
    ColumnSpec(
        name=TABLE_COLUMN,
        dtype=DType.STRING,
        description="Quarantine table in that layer (a table, an event type, or unroutable_events).",
    ),
    *QUARANTINE_COLUMNS,
)


def _add_missing_columns(con: duckdb.DuckDBPyConnection, name: str, incoming: str) -> list[str]:
    """Add to table ``name`` the columns of relation ``incoming`` it lacks (nullable); returns their names."""
    have = {column for column, _ in _columns_of(con, name)}
    added = []
    for column, dtype, *_ in con.execute(f"DESCRIBE SELECT * FROM {incoming}").fetchall():
        if column not in have:
            con.execute(f"ALTER TABLE {quote(name)} ADD COLUMN {quote(column)} {dtype}")
            added.append(column)
    return added


def publish_quarantine(con: duckdb.DuckDBPyConnection, lake: LakeStore, months: Sequence[dt.date]) -> dict[dt.date, int]:
    """Replace ``months`` of the DuckDB table ``quarantine`` with the lake's quarantined rows, in one transaction.

    The columns are not fixed: the table takes the columns the quarantine tables have (created from
    them, and widened when a quarantine table gains one), and rows are inserted by column name.
    Returns the rows published per month (counted in DuckDB).
    """
    frame = scan_quarantine(lake, months).collect()
    with _transaction(con):
        con.register(INCOMING, to_arrow(frame))
        try:
            if _exists(con, QUARANTINE):
                added = _add_missing_columns(con, QUARANTINE, INCOMING)
            else:
                con.execute(f"CREATE TABLE {quote(QUARANTINE)} AS SELECT * FROM {INCOMING} LIMIT 0")
                con.execute(f"COMMENT ON TABLE {quote(QUARANTINE)} IS {literal(QUARANTINE_DESCRIPTION)}")
                added = frame.columns
            described = {c.name: c.description for c in QUARANTINE_SERVED_COLUMNS}
            for column in added:
                if column in described:
                    con.execute(f"COMMENT ON COLUMN {quote(QUARANTINE)}.{quote(column)} IS {literal(described[column])}")
            placeholders = ", ".join("?" for _ in months)
            con.execute(f"DELETE FROM {quote(QUARANTINE)} WHERE {PARTITION_COLUMN} IN ({placeholders})", list(months))
            con.execute(f"INSERT INTO {quote(QUARANTINE)} BY NAME SELECT * FROM {INCOMING}")
        finally:
            con.unregister(INCOMING)
    return _rows_per_month(con, QUARANTINE, months)
