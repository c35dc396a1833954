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
Column types and comments come from the specs.

The file protocol (readers keep working while runs publish and the stream worker refreshes).
DuckDB lets one process hold a file for writing, and while it does every other open fails at once,
``read_only=True`` included ("Could not set lock on file"); a reader holding the file blocks writers
the same way. So:

- Writers (the serving assets and :func:`refresh_streamed_minutes`) hold the file only for short
  transactions: they read the lake first, then :func:`serving_writer` takes the writer lock
  (``<file>.writer.lock``, an OS file lock through ``filelock``, released by the kernel if the
  process dies), opens the file (retrying while a reader has it open), runs one transaction, closes
  the file and releases the lock. Writers of runs and the stream worker queue on that lock; runs
  also keep the ``duckdb`` concurrency pool (``defs/serving.py``) so their steps wait in Dagster, not
  on a file.
- Readers open the file through :func:`serving_reader` (or :func:`query_serving`): it passes the
  writer lock as a turnstile (waits while a writer holds it, then releases it at once, so a stream
  of readers cannot starve a writer), opens the file read-only, retrying the lock error until its
  timeout, and closes the file when done. A plain ``duckdb.connect(path, read_only=True)`` works too
  but must retry "Could not set lock" itself and must not keep the connection open (an idle BI
  connection blocks every writer; keep queries short or query a copy of the file).

A published read copy swapped with ``os.replace`` was measured and not chosen: every write would copy
the whole file (every month ever served), see ``docs/operations.md`` § Serving freshness.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import polars as pl
from filelock import FileLock, Timeout

from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.lake import LakeStore, to_arrow
from retail_assets.lib.months import month_bounds_utc
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


_EXPECTED_COLUMNS: dict[str, list[tuple[str, str]]] = {}


def _ensure_table(con: duckdb.DuckDBPyConnection, name: str, columns: Sequence[ColumnSpec], description: str) -> None:
    """Create the table from the spec, or check that the existing one has exactly the spec's columns and types."""
    if not _exists(con, name):
        con.execute(_ddl(name, columns))
        _describe(con, name, description, columns)
        return
    probe = _ddl("__expected", columns, temporary=True)
    expected = _EXPECTED_COLUMNS.get(probe)
    if expected is None:  # DuckDB's spelling of the spec's types, asked once per process (writers hold the file)
        con.execute(probe)
        expected = _EXPECTED_COLUMNS[probe] = _columns_of(con, "__expected", temporary=True)
        con.execute("DROP TABLE temp.__expected")
    found = _columns_of(con, name)
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


def read_gold(lake: LakeStore, table: GoldTable, months: Sequence[dt.date]) -> pl.DataFrame:
    """The rows of ``months`` of ``gold/<table>`` (read before the DuckDB file is opened: writers hold it briefly)."""
    return lake.read(gold_path(table.name), months)


def publish_gold(
    con: duckdb.DuckDBPyConnection, lake: LakeStore, table: GoldTable, months: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Publish ``months`` of ``gold/<table>``; returns the rows published per month (counted in DuckDB)."""
    return publish_gold_frame(con, table, read_gold(lake, table, months), months)


def publish_gold_frame(
    con: duckdb.DuckDBPyConnection, table: GoldTable, frame: pl.DataFrame, months: Sequence[dt.date]
) -> dict[dt.date, int]:
    """Publish ``months`` of a Gold table from its rows ``frame``; returns the rows published per month."""
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
    return publish_dimension_rows(con, served, served.rows(lake))


def publish_dimension_rows(con: duckdb.DuckDBPyConnection, served: ServedDimension, frame: pl.DataFrame) -> int:
    """Replace a served dimension with ``frame`` (its rows, read from the lake beforehand); returns its row count."""
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
    return publish_quarantine_frame(con, scan_quarantine(lake, months).collect(), months)


def publish_quarantine_frame(
    con: duckdb.DuckDBPyConnection, frame: pl.DataFrame, months: Sequence[dt.date]
) -> dict[dt.date, int]:
    """:func:`publish_quarantine` from the quarantined rows ``frame`` (``scan_quarantine``, read beforehand)."""
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


# ---- the file protocol: short writer transactions, readers that wait briefly -------------------

# A writer waits this long for the writer lock and for readers to leave before giving up: runs publish
# whole months (about a second for the largest table at the reference profile), so two minutes means stuck.
WRITE_TIMEOUT_SECONDS = 120.0
# A reader waits this long for writers; a refresh holds the file for tens of milliseconds.
READ_TIMEOUT_SECONDS = 10.0
RETRY_SECONDS = 0.005


class ServingLockTimeout(ServingError):
    """The DuckDB file stayed locked for longer than the caller's timeout."""


def writer_lock_path(database: str | Path) -> Path:
    return Path(f"{database}.writer.lock")


def _local_file(database: str | Path) -> bool:
    text = str(database)
    return text != ":memory:" and "://" not in text and not text.startswith("md:")


def _writer_lock(database: str | Path) -> FileLock:
    # A native OS lock (flock): the kernel drops it when the holder dies, so a killed worker never leaves it held.
    # preserve_lock_file keeps one lock path (no unlink on release) and refuses the soft fallback that would not.
    return FileLock(writer_lock_path(database), preserve_lock_file=True, thread_local=False)


def _is_lock_error(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _connect(
    database: str | Path, *, read_only: bool, deadline: float, config: Mapping[str, Any] | None, who: str
) -> duckdb.DuckDBPyConnection:
    """``duckdb.connect``, retrying DuckDB's "Could not set lock" until ``deadline`` (``time.monotonic``)."""
    while True:
        try:
            return duckdb.connect(str(database), read_only=read_only, config=dict(config or {}))
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                holder = "a writer" if read_only else "a reader (an open BI connection?) or a writer not using the lock"
                raise ServingLockTimeout(
                    f"{who}: the DuckDB file {database} stayed locked by {holder}; gave up. DuckDB said: {exc}"
                ) from None
            time.sleep(RETRY_SECONDS)


@dataclass
class LockWait:
    """How long one open of the file waited for others (filled in by :func:`serving_reader`/:func:`serving_writer`)."""

    seconds: float = 0.0  # from asking for the file to having a connection (lock waits included)
    retries: int = 0  # opens that failed on DuckDB's lock and were retried


@contextmanager
def serving_writer(
    database: str | Path,
    *,
    timeout: float = WRITE_TIMEOUT_SECONDS,
    config: Mapping[str, Any] | None = None,
    wait: LockWait | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-write connection to the serving file, held only for the ``with`` block: keep it short.

    Takes the writer lock (writers queue here, across processes), opens the file (retrying while a
    reader has it open) and closes it before releasing the lock, so the next reader or writer finds it free.
    Read the lake before entering. A database that is not a local file (``:memory:``) is opened as it is.
    """
    started = time.monotonic()
    deadline = started + timeout
    if not _local_file(database):
        con = duckdb.connect(str(database), config=dict(config or {}))
        try:
            yield con
        finally:
            con.close()
        return
    prepare_file(str(database))
    lock = _writer_lock(database)
    try:
        lock.acquire(timeout=timeout, poll_interval=RETRY_SECONDS)
    except Timeout:
        raise ServingLockTimeout(
            f"serving writer: another writer held {lock.lock_file} for more than {timeout:.0f} s"
        ) from None
    try:
        con = _connect(database, read_only=False, deadline=deadline, config=config, who="serving writer")
        if wait is not None:
            wait.seconds = time.monotonic() - started
        try:
            yield con
        finally:
            con.close()
    finally:
        lock.release()


@contextmanager
def serving_reader(
    database: str | Path,
    *,
    timeout: float = READ_TIMEOUT_SECONDS,
    config: Mapping[str, Any] | None = None,
    wait: LockWait | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A read-only connection to the serving file for one short query or a few: closed when the block ends.

    First passes the writer lock as a turnstile (waits while a writer holds it, releases it at once),
    so writers are not starved by readers; then opens read-only, retrying "Could not set lock" until
    ``timeout``. Where the lock file cannot be opened (a read-only mount), it only retries.
    """
    started = time.monotonic()
    deadline = started + timeout
    turnstile = _writer_lock(database)
    try:
        turnstile.acquire(timeout=timeout, poll_interval=RETRY_SECONDS)
    except Timeout:
        raise ServingLockTimeout(
            f"serving reader: a writer held {turnstile.lock_file} for more than {timeout:.0f} s"
        ) from None
    except OSError:
        pass  # no write access to the folder: retry the open only
    else:
        turnstile.release()
    retries = 0
    while True:
        try:
            con = duckdb.connect(str(database), read_only=True, config=dict(config or {}))
            break
        except duckdb.IOException as exc:
            if not _is_lock_error(exc):
                raise
            if time.monotonic() >= deadline:
                raise ServingLockTimeout(
                    f"serving reader: the DuckDB file {database} stayed locked for {timeout:.0f} s. DuckDB said: {exc}"
                ) from None
            retries += 1
            time.sleep(RETRY_SECONDS)
    if wait is not None:
        wait.seconds, wait.retries = time.monotonic() - started, retries
    try:
        yield con
    finally:
        con.close()


def query_serving(
    database: str | Path, sql: str, parameters: Sequence[Any] | None = None, *, timeout: float = READ_TIMEOUT_SECONDS
) -> list[tuple]:
    """Run one query on the serving file the way readers should: open read-only (waiting briefly), fetch, close."""
    with serving_reader(database, timeout=timeout) as con:
        return con.execute(sql, parameters).fetchall()


# ---- streaming refresh of the minute KPIs ---------------------------------------------------------

Span = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class MinuteWindow:
    """Rows of one minute-grain Gold table the stream worker rewrote: ``span`` of ``month`` (None: the whole month)."""

    table: str
    month: dt.date
    span: Span | None = None


@dataclass(frozen=True)
class MinuteRefresh:
    """What :func:`refresh_streamed_minutes` published for one table and month."""

    table: str
    month: dt.date
    spans: tuple[Span, ...]  # empty: the whole month
    rows: int  # rows of the refreshed spans (or month) now in DuckDB
    reason: str  # "window", "month" (asked), "month not served yet" or "table created"


@dataclass
class RefreshReport:
    refreshed: list[MinuteRefresh] = field(default_factory=list)
    read_seconds: float = 0.0  # reading the lake (the file not held)
    held_seconds: float = 0.0  # the file held: open, one transaction, close (summed over sessions)
    wait: LockWait = field(default_factory=LockWait)  # the longest wait for the file of the sessions


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


def _as_window(item: Any) -> MinuteWindow:
    """A :class:`MinuteWindow`, or anything shaped like the worker's ``GoldWindow`` (name, month, window)."""
    if isinstance(item, MinuteWindow):
        return item
    if hasattr(item, "name") and hasattr(item, "month") and hasattr(item, "window"):
        return MinuteWindow(item.name, item.month, item.window)
    if isinstance(item, tuple) and len(item) in (2, 3):
        return MinuteWindow(*item)
    raise TypeError(f"not a minute window: {item!r} (expected MinuteWindow(table, month, span) or a GoldWindow)")


def _minute_tables() -> dict[str, GoldTable]:
    from retail_assets.lib.gold.specs import GOLD_TABLES

    return {t.name: t for t in GOLD_TABLES if t.refresh == "stream"}


def _plan(windows: Iterable[Any]) -> dict[tuple[str, dt.date], tuple[Span, ...]]:
    """Per (table, month): the spans to refresh, merged where they touch; () for the whole month."""
    known = _minute_tables()
    asked: dict[tuple[str, dt.date], list[Span] | None] = {}
    for item in windows:
        w = _as_window(item)
        if w.table not in known:
            raise ServingError(f"serving refresh: {w.table!r} is not a minute-grain Gold table; known: {sorted(known)}")
        if w.month.day != 1:
            raise ServingError(f"serving refresh: {w.table} month {w.month} is not the first day of a month")
        key = (w.table, w.month)
        if w.span is None or asked.get(key, []) is None:
            asked[key] = None
            continue
        start, end = _utc(w.span[0]), _utc(w.span[1])
        first, after = month_bounds_utc(w.month)
        if not (first <= start < end <= after):
            raise ServingError(
                f"serving refresh: {w.table} span {start.isoformat()}..{end.isoformat()} is empty or outside "
                f"month_start {w.month.isoformat()}"
            )
        asked.setdefault(key, []).append((start, end))  # type: ignore[union-attr]
    plan: dict[tuple[str, dt.date], tuple[Span, ...]] = {}
    for key, spans in asked.items():
        merged: list[Span] = []
        for start, end in sorted(spans or []):
            if merged and start <= merged[-1][1]:
                merged[-1] = (merged[-1][0], max(merged[-1][1], end))
            else:
                merged.append((start, end))
        plan[key] = tuple(merged)
    return plan


def _in_spans(column: str, spans: Sequence[Span]) -> pl.Expr:
    expr = pl.lit(False)
    for start, end in spans:
        expr = expr | ((pl.col(column) >= start) & (pl.col(column) < end))
    return expr


def _sql_spans(column: str, spans: Sequence[Span]) -> tuple[str, list[Any]]:
    terms = " OR ".join(f"({quote(column)} >= ? AND {quote(column)} < ?)" for _ in spans)
    return f"({terms})", [v for span in spans for v in span]


def refresh_streamed_minutes(
    lake: LakeStore,
    database: str | Path,
    windows: Iterable[Any],
    *,
    timeout: float = WRITE_TIMEOUT_SECONDS,
) -> RefreshReport:
    """Bring the serving copies of the minute KPIs up to the lake for exactly the rows the stream worker rewrote.

    ``windows``: :class:`MinuteWindow` items, ``(table, month[, span])`` tuples or the worker's ``GoldWindow``
    values (``name``, ``month``, ``window``; a None window means the whole month). For every table and
    month, the rows of those spans are read from ``gold/<table>`` and replace the same spans in DuckDB —
    the windows of all tables in ONE short transaction, so readers see every minute table at one point;
    a whole month (asked with a None span) in a transaction of its own. A month the file does not hold
    yet, or a table it lacks (created from the spec), is published whole from the Gold month.
    Idempotent: replaying a refresh rewrites the same rows. The lake is read before the file is opened
    (see the module docstring's protocol). Raises :class:`ServingLockTimeout` when the file stayed locked
    for ``timeout``: nothing was written then, so call again with the same windows.
    """
    report = RefreshReport()
    plan = _plan(windows)
    # Windows of every table in one short transaction; each whole month in its own (a month of the largest
    # table holds the file for seconds at the reference volume: readers should not wait for four of them).
    windowed = {key: spans for key, spans in plan.items() if spans}
    sessions = [windowed] if windowed else []
    sessions += [{key: spans} for key, spans in plan.items() if not spans]
    for session in sessions:
        _refresh_session(lake, database, session, report, timeout)
    return report


def _refresh_session(
    lake: LakeStore,
    database: str | Path,
    plan: Mapping[tuple[str, dt.date], tuple[Span, ...]],
    report: RefreshReport,
    timeout: float,
) -> None:
    """One writer session of :func:`refresh_streamed_minutes`: read the lake, then one transaction in the file."""
    tables = _minute_tables()
    started = time.monotonic()
    frames: dict[tuple[str, dt.date], pl.DataFrame] = {}
    for (name, month), spans in plan.items():
        frame = lake.scan(gold_path(name), [month])
        if spans:
            frame = frame.filter(_in_spans(tables[name].time_column, spans))
        frames[name, month] = frame.collect()
    report.read_seconds += time.monotonic() - started
    held, wait = time.monotonic(), LockWait()
    with serving_writer(database, timeout=timeout, wait=wait) as con, _transaction(con):
        for (name, month), asked in plan.items():
            table, columns, spans = tables[name], gold_columns(tables[name]), asked
            reason = "window" if spans else "month"
            if not _exists(con, name):
                reason = "table created"
            elif (
                spans
                and not con.execute(
                    f"SELECT count(*) FROM {quote(name)} WHERE {PARTITION_COLUMN} = ?", [month]
                ).fetchall()[0][0]
            ):
                reason = "month not served yet"
            if reason in ("table created", "month not served yet"):
                spans = ()
                # Rare (the first refresh of a month or of a new file): read the whole month under the lock.
                frames[name, month] = read_gold(lake, table, [month])
            _ensure_table(con, name, columns, f"{table.description} Grain: {table.grain}.")
            where, values = f"{PARTITION_COLUMN} = ?", [month]
            if spans:
                condition, bounds = _sql_spans(table.time_column, spans)
                where, values = f"{where} AND {condition}", [*values, *bounds]
            con.execute(f"DELETE FROM {quote(name)} WHERE {where}", values)
            _insert(con, name, columns, frames[name, month])  # exactly the rows of the spans: the frame's count
            report.refreshed.append(MinuteRefresh(name, month, tuple(spans), frames[name, month].height, reason))
    report.held_seconds += time.monotonic() - held
    report.wait.seconds = max(report.wait.seconds, wait.seconds)
    report.wait.retries += wait.retries
