"""Delta Lake tables under one root URI: the platform's only way to read and write the lake.

Every layer writes through :class:`LakeStore`. It writes month partitions itself, with an explicit
predicate (``month_start = ...`` or a range for single-run backfills), instead of going through
dagster-deltalake's IO manager, which can wipe a whole table on a one-month re-run
(dagster-io/dagster#34064). Each write is one Delta commit: a writer that dies mid-write leaves
the table at its previous version, and re-running converges to the same content.

The root is a local directory by default, or ``abfss://``/``az://`` on Azure; storage is
configured with dagster-deltalake's ``LocalConfig`` / ``AzureConfig`` / ``ClientConfig``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import re
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import dagster as dg
import polars as pl
import pyarrow as pa
from dagster_deltalake import AzureConfig, LocalConfig
from dagster_deltalake.config import ClientConfig
from deltalake import CommitProperties, DeltaTable, write_deltalake
from deltalake.exceptions import CommitFailedError, DeltaError, TableNotFoundError
from pydantic import Field, PrivateAttr

from retail_assets.lib.months import add_months
from retail_assets.lib.specs import PARTITION_COLUMN


T = TypeVar("T")


class LakeError(RuntimeError):
    """A lake read or write could not be done; the message names the table and why."""


@dataclass(frozen=True)
class WriteReport:
    table: str
    rows: int
    version: int
    predicate: str | None


def months_predicate(months: Sequence[dt.date], column: str = PARTITION_COLUMN) -> str:
    """SQL predicate selecting exactly ``months`` (a range when they are contiguous)."""
    if not months:
        raise ValueError("at least one month is required")
    ordered = sorted(set(months))
    if _contiguous(ordered):
        if len(ordered) == 1:
            return f"{column} = '{ordered[0].isoformat()}'"
        return f"{column} >= '{ordered[0].isoformat()}' AND {column} <= '{ordered[-1].isoformat()}'"
    listed = ", ".join(f"'{m.isoformat()}'" for m in ordered)
    return f"{column} IN ({listed})"


def _contiguous(months: Sequence[dt.date]) -> bool:
    for earlier, later in zip(months, months[1:], strict=False):
        if later != add_months(earlier, 1):
            return False
    return True


def to_arrow(df: pl.DataFrame):
    """Arrow for delta-rs; polars 2.1 ``write_delta`` panics on Categorical/Enum, so cast them first."""
    cats = [name for name, dtype in df.schema.items() if isinstance(dtype, (pl.Categorical, pl.Enum))]
    if cats:
        df = df.with_columns(pl.col(cats).cast(pl.String))
    return df.to_arrow()


AUTOMATION_TAG = "dagster/from_automation_condition"
# Niceness of automation runs' processes (the worker and runs people launch keep the default, 0).
BACKGROUND_NICENESS = 10


class LakeStore(dg.ConfigurableResource):
    """Delta tables under ``root_uri``; table names are paths like ``bronze/fact_receipts``."""

    root_uri: str = Field(description="Local directory, or abfss://container@account.dfs.core.windows.net/path on Azure.")
    storage: LocalConfig | AzureConfig = Field(
        default_factory=LocalConfig, discriminator="provider", description="Object-store credentials."
    )
    client: ClientConfig | None = Field(default=None, description="HTTP client options (allow_http for emulators).")
    endpoint: str | None = Field(
        default=None,
        description="Blob endpoint override, e.g. http://127.0.0.1:10000/devstoreaccount1 for Azurite.",
    )

    # Local tables opened before, by URI: (version, mtime of that version's commit file, table at that version).
    # Opening replays the transaction log (5-15 ms on a busy machine, growing with the commits since the last
    # checkpoint) and a streamed batch reads and writes the same few tables several times, so a table whose log
    # has not moved since is not opened again. A remembered table is never mutated (writes use a fresh one, which
    # is remembered once written), so lazy scans built on it keep reading the snapshot they were built on.
    _opened: dict[str, tuple[int, int, DeltaTable]] = PrivateAttr(default_factory=dict)

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        # Runs that declarative automation launched (other Silver facts, daily Gold following a streamed batch) are
        # background work: on a small machine they must not slow the stream worker's seconds-latency path.
        run = context.run
        if run is not None and run.tags.get(AUTOMATION_TAG) == "true" and hasattr(os, "nice"):
            os.nice(BACKGROUND_NICENESS)

    # ---- locations -------------------------------------------------------------------------

    @property
    def is_local(self) -> bool:
        return "://" not in self.root_uri or self.root_uri.startswith("file://")

    def uri(self, table: str) -> str:
        if not table or table.startswith("/") or ".." in table.split("/"):
            raise LakeError(f"invalid lake table name {table!r}: use a relative path like 'bronze/fact_receipts'")
        if self.is_local:
            root = Path(self.root_uri.removeprefix("file://")).expanduser().resolve()
            return str(root / table)
        return f"{self.root_uri.rstrip('/')}/{table}"

    def storage_options(self) -> dict[str, str]:
        """Options for delta-rs/object_store. Holds credentials: never log or emit it."""
        options = {k: v for k, v in self.storage.str_dict().items() if k != "provider"}
        if self.client is not None:
            options.update(self.client.str_dict())
        if self.endpoint:
            options["endpoint"] = self.endpoint
        return options

    # ---- reads -----------------------------------------------------------------------------

    def exists(self, table: str) -> bool:
        return DeltaTable.is_deltatable(self.uri(table), storage_options=self.storage_options())

    def _table(self, table: str, *, fresh: bool = False) -> DeltaTable:
        """The table at its latest version: the one opened before when its log has not moved (local tables), else
        opened now. ``fresh``: always opened now, for a caller that commits through it (which mutates it)."""
        uri = self.uri(table)
        if not fresh and self.is_local:
            known = self._opened.get(uri)
            if known is not None and _log_unmoved(uri, known[0], known[1]):
                return known[2]
        delta = self._open_table(table, uri)
        if not fresh:
            self._remember(uri, delta)
        return delta

    def _remember(self, uri: str, delta: DeltaTable) -> None:
        """Keep ``delta`` (never to be mutated again) for later reads of the same version."""
        if not self.is_local:
            return
        version = delta.version()
        try:
            stamp = os.stat(_commit_file(uri, version)).st_mtime_ns
        except OSError:  # e.g. a table whose only version is a checkpoint: just not remembered
            self._opened.pop(uri, None)
            return
        self._opened[uri] = (version, stamp, delta)

    def _open_table(self, table: str, uri: str) -> DeltaTable:
        try:
            return DeltaTable(uri, storage_options=self.storage_options())
        except TableNotFoundError:
            raise LakeError(f"lake table {table!r} does not exist yet at {self.uri(table)}; materialize it first") from None
        except DeltaError as exc:
            raise LakeError(self._unreadable_log(table, exc)) from None

    def _unreadable_log(self, table: str, exc: Exception) -> str:
        """One line naming the table, the commit file at fault (local tables) and what to do."""
        reason = _without_backtrace(exc)
        where = f"lake table {table} at {self.uri(table)}"
        if self.is_local:
            for commit in sorted(Path(self.uri(table), "_delta_log").glob("*.json"), reverse=True):
                try:
                    for line in commit.read_text().splitlines():
                        if line.strip():
                            json.loads(line)
                except (OSError, UnicodeDecodeError, json.JSONDecodeError):
                    version = int(commit.stem)
                    return (
                        f"{where}: transaction log version {version} (_delta_log/{commit.name}) is damaged ({reason}); "
                        f"restore that file from a backup, or, if it is the newest commit, move it away to roll the "
                        f"table back to version {version - 1} and re-run what wrote it"
                    )
        return f"{where}: the Delta transaction log cannot be read ({reason}); restore the table's _delta_log from a backup"

    def version(self, table: str) -> int | None:
        return self._table(table).version() if self.exists(table) else None

    def open(self, table: str) -> DeltaTable | None:
        """The table at its current version (None when it does not exist yet), for several reads of one snapshot.

        A caller reading one table several times passes it to :meth:`scan` (``opened=``): every read then sees
        the same version, even if a writer commits in between."""
        return self._table(table) if self.exists(table) else None

    def history(self, table: str, limit: int | None = None) -> list[dict[str, Any]]:
        """Commits, newest first: version, timestamp, operation, predicate and our commit metadata."""
        return self._table(table).history(limit)

    def scan(
        self,
        table: str,
        months: Sequence[dt.date] | None = None,
        *,
        partition_column: str = PARTITION_COLUMN,
        opened: DeltaTable | None = None,
    ) -> pl.LazyFrame:
        """Lazy scan of a table, optionally restricted to some month partitions (pruned by Delta).

        ``opened``: the table as :meth:`open` returned it (that snapshot is read; no second open)."""
        # Opened here (not by polars) so a missing table or a damaged log raises a LakeError naming the table.
        delta = opened if opened is not None else self._table(table)
        frame = pl.scan_delta(delta, storage_options=self.storage_options() or None)
        if months is not None:
            frame = frame.filter(pl.col(partition_column).is_in(sorted(set(months))))
        return frame

    def read(self, table: str, months: Sequence[dt.date] | None = None, **kwargs: Any) -> pl.DataFrame:
        if not self.exists(table):
            raise LakeError(f"lake table {table!r} does not exist yet at {self.uri(table)}; materialize it first")
        return self.scan(table, months, **kwargs).collect()

    def at_version(self, table: str, version: int) -> DeltaTable:
        """The table as of an earlier ``version`` (Delta time travel); a version no longer in the log is named."""
        current = self._table(table)
        try:
            return DeltaTable(self.uri(table), version=version, storage_options=self.storage_options())
        except DeltaError as exc:
            raise LakeError(
                f"lake table {table}: version {version} cannot be loaded (the table is at version {current.version()}; "
                f"{_without_backtrace(exc)})"
            ) from None

    # ---- writes ----------------------------------------------------------------------------

    def overwrite_months(
        self,
        table: str,
        df: pl.DataFrame,
        months: Sequence[dt.date],
        *,
        partition_column: str = PARTITION_COLUMN,
        extra_partition_by: Sequence[str] = (),
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteReport:
        """Replace exactly ``months`` of a month-partitioned table in one commit; other months are untouched.

        Every row of ``df`` must belong to one of ``months`` (checked before anything is written).
        Months in ``months`` with no rows in ``df`` end up empty.
        """
        if partition_column not in df.columns:
            raise LakeError(f"{table}: frame has no partition column {partition_column!r}")
        allowed = sorted(set(months))
        _refuse_stray_rows(table, df, allowed, partition_column)
        return self._write(
            table,
            df,
            predicate=months_predicate(allowed, partition_column),
            partition_by=[partition_column, *extra_partition_by],
            commit_metadata=commit_metadata,
        )

    def overwrite_months_streamed(
        self,
        table: str,
        chunks: Callable[[], Iterable[pl.DataFrame]],
        schema: Mapping[str, pl.DataType],
        months: Sequence[dt.date],
        *,
        partition_column: str = PARTITION_COLUMN,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteReport:
        """``overwrite_months`` for a month too large to hold: the frames ``chunks()`` yields are streamed into ONE
        Delta commit, so memory holds a chunk (and delta-rs's open file buffers), not the month.

        ``chunks`` is a factory: a commit lost to a concurrent writer is retried by producing the chunks again. Every
        chunk is cast to ``schema``; a row outside ``months`` raises a ``LakeError`` before the commit, so nothing of
        the write becomes visible (files already written stay unreferenced until vacuum). Any exception the chunks
        raise (a producer checking its totals after the last chunk, say) aborts the commit and is re-raised as is.
        """
        allowed = sorted(set(months))
        arrow_schema = to_arrow(pl.DataFrame(schema=dict(schema))).schema
        rows, failure = [0], []

        def batches() -> Iterator[pa.RecordBatch]:
            try:
                yield from produce()
            except BaseException as exc:  # delta-rs reports it as a DeltaError holding only its text
                failure.append(exc)
                raise

        def produce() -> Iterator[pa.RecordBatch]:
            rows[0] = 0
            for chunk in prefetched(chunks):
                if not chunk.height:
                    continue
                _refuse_stray_rows(table, chunk, allowed, partition_column)
                rows[0] += chunk.height
                yield from to_arrow(chunk.select([pl.col(n).cast(t) for n, t in schema.items()])).to_batches()

        try:
            return self._write(
                table,
                lambda: pa.RecordBatchReader.from_batches(arrow_schema, batches()),
                predicate=months_predicate(allowed, partition_column),
                partition_by=[partition_column],
                commit_metadata=commit_metadata,
                schema=arrow_schema,
                rows=lambda: rows[0],
            )
        except (LakeError, DeltaError):
            if failure:
                raise failure[-1] from None
            raise

    def replace(
        self,
        table: str,
        df: pl.DataFrame,
        *,
        predicate: str | None = None,
        partition_by: Sequence[str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteReport:
        """Replace the rows matching ``predicate`` (all rows when None) with ``df``, in one commit."""
        return self._write(table, df, predicate=predicate, partition_by=partition_by, commit_metadata=commit_metadata)

    def append(
        self,
        table: str,
        df: pl.DataFrame,
        *,
        partition_by: Sequence[str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> WriteReport:
        return self._write(
            table, df, predicate=None, partition_by=partition_by, commit_metadata=commit_metadata, mode="append"
        )

    def merge(
        self,
        table: str,
        df: pl.DataFrame,
        keys: Sequence[str],
        *,
        update_existing: bool = True,
        partition_by: Sequence[str] | None = None,
        commit_metadata: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Upsert ``df`` on ``keys``: update matching rows (unless ``update_existing`` is False), insert new ones."""
        if not keys:
            raise LakeError(f"{table}: merge needs at least one key column")
        missing = [k for k in keys if k not in df.columns]
        if missing:
            raise LakeError(f"{table}: merge keys {missing} are not columns of the frame")
        data = to_arrow(df)
        if self.is_local:
            Path(self.uri(table)).parent.mkdir(parents=True, exist_ok=True)
        # Never a blind first write: a concurrent writer may create the table meanwhile (see ``_write``).
        self._create_if_missing(table, data.schema, partition_by)
        condition = " AND ".join(f"t.{k} = s.{k}" for k in keys)

        def commit() -> dict[str, Any]:
            delta = self._table(table, fresh=True)
            merger = delta.merge(
                data,
                predicate=condition,
                source_alias="s",
                target_alias="t",
                merge_schema=True,
                commit_properties=_commit_properties(commit_metadata),
            )
            if update_existing:
                merger = merger.when_matched_update_all()
            metrics = merger.when_not_matched_insert_all().execute()
            self._remember(self.uri(table), delta)
            return metrics

        metrics = self._commit(table, f"merge on {list(keys)}", commit)
        metrics["version"] = self._table(table).version()
        return metrics

    def delete(self, table: str, predicate: str, *, commit_metadata: Mapping[str, str] | None = None) -> int:
        """Delete rows matching ``predicate``; returns the number deleted."""
        if not self.exists(table):
            return 0

        def commit() -> dict[str, Any]:
            delta = self._table(table, fresh=True)
            deleted = delta.delete(predicate, commit_properties=_commit_properties(commit_metadata))
            self._remember(self.uri(table), delta)
            return deleted

        metrics = self._commit(table, f"delete {predicate}", commit)
        return int(metrics.get("num_deleted_rows", 0))

    def restore_version(self, table: str, version: int, *, commit_metadata: Mapping[str, str] | None = None) -> int:
        """Delta's own RESTORE of the whole table to ``version``, as one new commit (history is kept); the new version."""

        def commit() -> DeltaTable:
            delta = self._table(table, fresh=True)  # the restore moves it: never a remembered table
            delta.restore(version, commit_properties=_commit_properties(commit_metadata))
            self._remember(self.uri(table), delta)
            return delta

        return self._commit(table, f"restore to version {version}", commit).version()

    def _write(
        self,
        table: str,
        df: pl.DataFrame | Callable[[], pa.RecordBatchReader],
        *,
        predicate: str | None,
        partition_by: Sequence[str] | None,
        commit_metadata: Mapping[str, str] | None,
        mode: str = "overwrite",
        schema: pa.Schema | None = None,
        rows: Callable[[], int] | None = None,
    ) -> WriteReport:
        """One commit of ``df``; a partial replacement (``predicate``) only ever touches what the predicate selects.

        A partial replacement of a table that does not exist yet first creates the table empty, then replaces
        with its predicate: writing the frame as the table's first version would, if another writer created the
        table in between, replace that writer's months too (seen: a January backfill wiping February). Commit
        conflicts (two writers of one table at once) are retried: every write here is a replacement of what it
        owns (or an append), so repeating it converges.
        """
        uri = self.uri(table)
        if self.is_local:
            Path(uri).parent.mkdir(parents=True, exist_ok=True)
        # A frame, or a factory of a stream of record batches (overwrite_months_streamed) made anew on every attempt.
        streamed = callable(df)
        data = None if streamed else to_arrow(df)
        options = self.storage_options()
        if predicate is not None and mode == "overwrite":
            self._create_if_missing(table, schema if streamed else data.schema, partition_by)

        def write() -> DeltaTable | None:
            # Opened by us (freshly on every attempt: a retry must see the winner's commit) and handed to delta-rs, so
            # the table is opened once per write, not twice (delta-rs would open it from the URI, then ``version``).
            delta = self._table(table, fresh=True) if self.exists(table) else None
            write_deltalake(
                uri if delta is None else delta,
                df() if streamed else data,
                mode=mode,
                predicate=predicate,
                partition_by=list(partition_by) if partition_by else None,
                # Full replacements take the frame's schema; partial writes may add columns.
                schema_mode="overwrite" if (mode == "overwrite" and predicate is None) else "merge",
                storage_options=options or None,
                commit_properties=_commit_properties(commit_metadata),
            )
            if delta is not None:
                self._remember(uri, delta)  # the write moved it to the version it committed
            return delta

        written = self._commit(table, f"replace {predicate}" if predicate else mode, write)
        version = (written if written is not None else self._table(table)).version()
        return WriteReport(table=table, rows=rows() if streamed else df.height, version=version, predicate=predicate)

    def _commit(self, table: str, what: str, commit: Callable[[], T]) -> T:
        """Run one Delta commit, retried while concurrent writers of the table win the race (each of our writes
        replaces or appends only what it owns, so repeating it converges); a damaged log is named."""
        for attempt in range(1, COMMIT_ATTEMPTS + 1):
            try:
                return commit()
            except CommitFailedError as exc:
                if attempt == COMMIT_ATTEMPTS:
                    raise LakeError(
                        f"{table}: {what}: {attempt} commits in a row lost to concurrent writers; nothing of this "
                        f"write was committed, re-run it ({_without_backtrace(exc)})"
                    ) from exc
                time.sleep(random.uniform(0.05, 0.2) * attempt)
            except DeltaError as exc:
                self._table(table, fresh=True)  # raises a LakeError naming the damaged commit, if that is the cause
                raise LakeError(f"{table}: {what} failed: {_without_backtrace(exc)}") from exc
        raise AssertionError("unreachable")

    def _create_if_missing(self, table: str, schema, partition_by: Sequence[str] | None) -> None:
        """Create an empty table (version 0) unless it exists; racing creators all end up with the one table."""
        if self.exists(table):
            return
        try:
            DeltaTable.create(
                self.uri(table),
                schema,
                mode="ignore",
                partition_by=list(partition_by) if partition_by else None,
                storage_options=self.storage_options() or None,
            )
        except (CommitFailedError, DeltaError):
            # Another writer created it first (version 0 exists); anything else shows when we write.
            if not self.exists(table):
                raise


# Attempts of one write when concurrent writers of the same table keep winning the commit race.
COMMIT_ATTEMPTS = 8


def _refuse_stray_rows(table: str, df: pl.DataFrame, allowed: Sequence[dt.date], partition_column: str) -> None:
    """Raise a ``LakeError`` naming the months of rows outside ``allowed`` (or with no month): nothing is written."""
    stray = df.filter(~pl.col(partition_column).is_in(allowed) | pl.col(partition_column).is_null())
    if stray.height:
        found = sorted({str(v) for v in stray.get_column(partition_column).unique().to_list()})
        raise LakeError(
            f"{table}: {stray.height} rows have {partition_column} in {found}, outside the months being "
            f"written ({', '.join(m.isoformat() for m in allowed)}); nothing was written"
        )


def prefetched(chunks: Callable[[], Iterable[T]], depth: int = 1) -> Iterator[T]:
    """``chunks()`` produced on a thread, up to ``depth`` ahead of the consumer: the next chunk is read and typed
    (polars, off the GIL) while delta-rs encodes and writes this one (Rust, off the GIL), so a streamed write keeps
    two cores busy instead of one. An exception of the producer is raised in the consumer; a consumer that stops
    early (its write failed) stops the producer."""
    import queue
    import threading

    handoff: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()
    end = object()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                handoff.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for chunk in chunks():
                if not put((chunk, None)):
                    return
            put((end, None))
        except BaseException as exc:  # handed to the consumer, which raises it
            put((end, exc))

    thread = threading.Thread(target=produce, name="lake-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item, error = handoff.get()
            if error is not None:
                raise error
            if item is end:
                return
            yield item
    finally:
        stop.set()
        thread.join()


def _commit_file(uri: str, version: int) -> str:
    return os.path.join(uri, "_delta_log", f"{version:020d}.json")


def _log_unmoved(uri: str, version: int, stamp: int) -> bool:
    """Whether ``version`` is still the latest commit of a local table, as it was written (no later commit; the
    commit file not rewritten, moved away or the table recreated)."""
    try:
        return os.stat(_commit_file(uri, version)).st_mtime_ns == stamp and not os.path.exists(
            _commit_file(uri, version + 1)
        )
    except OSError:
        return False


def _without_backtrace(exc: Exception) -> str:
    """delta-rs appends a native backtrace ("   0: <unknown>" ...) to its messages; users need the message."""
    text = re.split(r"\n\s+0: ", str(exc), maxsplit=1)[0].strip()
    return text or type(exc).__name__


def _commit_properties(metadata: Mapping[str, str] | None) -> CommitProperties | None:
    if not metadata:
        return None
    return CommitProperties(custom_metadata={str(k): str(v) for k, v in metadata.items()})
