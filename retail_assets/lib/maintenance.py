"""Lake maintenance: compact the small files of what was written since the last maintenance, checkpoint, vacuum.

Streamed tables grow by one small file per batch and table: a month of Bronze events written by 3,600
appends is 3,600 Parquet files and as many commits, and every scan of the month opens them all. Per
table, :func:`maintain_table`

1. finds the partitions (months) written since the last maintenance: the files of the current version
   that the version the last maintenance left did not have (whatever wrote them: appends, month
   rebuilds, merges, a restore). Their partition values are the months to compact;
2. compacts those months with delta-rs's ``optimize.compact`` (one commit; rows, their order and the
   table's version history are unchanged; the small files are only marked removed);
3. vacuums files no version younger than the retention needs (``vacuum(full=True)``: removed files whose
   removal is older than the retention, and files a crashed writer left outside the log, older than the
   retention). The current version's files are never deleted; time travel to versions older than the
   retention is gone afterwards;
4. writes a checkpoint of the newest version, so readers replay one Parquet file instead of every commit
   (written after the vacuum: it then drops the vacuumed removals from the log state, and the next vacuum
   has nothing left to list).

Where maintenance left each table is kept in the lake, in the ledger table ``ops/maintenance`` (one row
per table that had anything new, per run): it survives restarts and travels with the lake. A table whose
version is still the one recorded is not touched at all ("nothing new"). A run killed part-way records
nothing for the tables it did not finish; the next run redoes them, and compacting an already compacted
month is a no-op, so it converges.

Compaction only marks files removed and adds their merged copy with ``dataChange=false``. Delta's
conflict detection protects concurrent writers: a compaction that read files a concurrent overwrite
removed fails to commit (nothing is changed, the month is retried a few times and otherwise left for the
next run), and a writer whose month a compaction rewrote meanwhile gets a commit conflict that
``LakeStore`` retries on the new version. Concurrent appends do not conflict with it at all.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import polars as pl
from deltalake import CommitProperties, DeltaTable
from deltalake.exceptions import CommitFailedError

from retail_assets.lib.gold.delivery import LEDGER as ALERT_LEDGER
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.lake import LakeStore, _without_backtrace
from retail_assets.lib.quarantine_tables import registered as registered_quarantine
from retail_assets.lib.specs import REGISTRY

LEDGER = "ops/maintenance"
WRITTEN_BY = "lake_maintenance"
# Attempts to compact a table's months while concurrent writers keep winning the commit race.
COMPACT_ATTEMPTS = 3
LEDGER_SCHEMA = {
    "table": pl.String,
    "dagster_run_id": pl.String,
    "started_at": pl.Datetime("us", "UTC"),
    "seconds": pl.Float64,
    "outcome": pl.String,
    "months": pl.String,
    "version_before": pl.Int64,
    "version_after": pl.Int64,
    "maintained_through": pl.Int64,
    "files_before": pl.Int64,
    "bytes_before": pl.Int64,
    "files_after": pl.Int64,
    "bytes_after": pl.Int64,
    "files_compacted": pl.Int64,
    "files_written": pl.Int64,
    "files_vacuumed": pl.Int64,
}


class MaintenanceError(RuntimeError):
    """A table could not be maintained; the message names it and why."""


# ---- which tables ----------------------------------------------------------------------------


def registered_tables() -> set[str]:
    """Every lake table the platform writes, by name (works on any storage)."""
    bronze = {*REGISTRY.tables, *REGISTRY.events_by_type}
    return {
        *(f"bronze/{name}" for name in bronze),
        *(f"silver/{name}" for name in REGISTRY.tables),
        *(f"gold/{table.name}" for table in GOLD_TABLES),
        *(q.path for q in registered_quarantine()),
        ALERT_LEDGER,
    }


def asset_tables() -> set[str]:
    """Lake tables that are Dagster assets (key = the table's path): maintenance is reported on their pages too."""
    bronze = {*REGISTRY.tables, *REGISTRY.events_by_type}
    return {
        *(f"bronze/{name}" for name in bronze),
        *(f"silver/{name}" for name in REGISTRY.tables),
        *(f"gold/{table.name}" for table in GOLD_TABLES),
    }


def _on_local_disk(lake: LakeStore) -> set[str]:
    """Every Delta table under a local lake root, however it was named (a table added later is never missed).
    Does not descend into tables: their partition folders can hold many thousands of files."""
    if not lake.is_local:
        return set()
    root = Path(lake.uri("x")).parent
    found: set[str] = set()
    for folder, subfolders, _files in os.walk(root):
        if "_delta_log" in subfolders:
            found.add(Path(folder).relative_to(root).as_posix())
            subfolders.clear()
        else:
            subfolders[:] = [s for s in subfolders if not s.startswith((".", "_"))]
    return found


def lake_tables(lake: LakeStore) -> list[str]:
    """The Delta tables maintenance looks after: all that exist, except its own ledger (kept by :func:`record`)."""
    candidates = (registered_tables() | _on_local_disk(lake)) - {LEDGER}
    return sorted(t for t in candidates if lake.exists(t))


def maintained_through(lake: LakeStore) -> dict[str, int | None]:
    """Per table, the version the last maintenance that saw anything new left it at (from the ledger; None: its
    months are all looked at again)."""
    if not lake.exists(LEDGER):
        return {}
    latest = (
        lake.scan(LEDGER)
        .sort("started_at")
        .group_by("table")
        .agg(pl.col("maintained_through").last())
        .collect()
    )
    return dict(zip(latest["table"].to_list(), latest["maintained_through"].to_list(), strict=True))


# ---- one table -------------------------------------------------------------------------------


@dataclass
class TableMaintenance:
    """What maintenance did to one table; ``maintained_through`` is where the next run starts looking."""

    table: str
    outcome: str
    started_at: dt.datetime
    version_before: int
    version_after: int
    maintained_through: int | None
    seconds: float = 0.0
    months: list[str] = field(default_factory=list)
    files_before: int = 0
    bytes_before: int = 0
    files_after: int = 0
    bytes_after: int = 0
    files_compacted: int = 0
    files_written: int = 0
    files_vacuumed: int = 0
    checkpoint: bool = False

    @property
    def changed(self) -> bool:
        """Anything new was seen or done (a "nothing new" table leaves no ledger row and no commit)."""
        moved = self.version_after != self.version_before or self.maintained_through != self.version_before
        return moved or self.files_vacuumed > 0 or self.checkpoint

    def metadata(self) -> dict[str, Any]:
        """Figures for Dagster's UI (plain values; the lake URI and credentials are never included)."""
        data = asdict(self)
        data["months"] = ", ".join(self.months) or "none"
        data["started_at"] = self.started_at.isoformat(timespec="seconds")
        data["seconds"] = round(self.seconds, 3)
        return data

    def ledger_row(self, run_id: str) -> dict[str, Any]:
        row = {k: v for k, v in asdict(self).items() if k in LEDGER_SCHEMA}
        row["months"] = ",".join(self.months)
        row["dagster_run_id"] = run_id
        return row


def _open(lake: LakeStore, table: str, version: int | None = None) -> DeltaTable:
    return DeltaTable(lake.uri(table), version=version, storage_options=lake.storage_options() or None)


def _files(table: DeltaTable) -> pl.DataFrame:
    """The current version's data files: path, size_bytes and partition values (``partition.<column>``)."""
    return pl.DataFrame(table.get_add_actions(flatten=True))


def _size(files: pl.DataFrame) -> tuple[int, int]:
    return files.height, int(files["size_bytes"].sum()) if files.height else 0


def _written_since(lake: LakeStore, table: str, files: pl.DataFrame, through: int | None, current: int) -> pl.DataFrame:
    """Files of the current version that version ``through`` did not have (all of them when that version is unknown:
    first maintenance, a re-created table, or a log already cleaned up)."""
    if through is None or through > current:
        return files
    try:
        before = _files(_open(lake, table, through))
    except Exception:  # noqa: BLE001 -- any reason the old version cannot be read means: look at everything
        return files
    if not before.height:
        return files
    return files.filter(~pl.col("path").is_in(before["path"].implode()))


def _label(value: Any) -> str:
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime) and value.day == 1:
        return f"{value:%Y-%m}"
    return str(value)


def _commit_properties(run_id: str) -> CommitProperties:
    return CommitProperties(custom_metadata={"dagster_run_id": run_id, "written_by": WRITTEN_BY})


def _compact(
    lake: LakeStore, table: str, column: str | None, values: list[Any] | None, run_id: str, target_size: int | None
) -> dict[str, Any] | None:
    """Compact the partitions ``values`` of ``column`` (the whole table when None); None when writers kept winning."""
    filters = None if column is None or values is None else [(column, "in", [str(v) for v in values])]
    for attempt in range(1, COMPACT_ATTEMPTS + 1):
        try:
            return _open(lake, table).optimize.compact(
                partition_filters=filters, target_size=target_size, commit_properties=_commit_properties(run_id)
            )
        except CommitFailedError:
            if attempt == COMPACT_ATTEMPTS:
                return None
            time.sleep(0.2 * attempt)
    raise AssertionError("unreachable")


def _vacuum(lake: LakeStore, table: str, retention_hours: int, run_id: str) -> int:
    """Delete files no version younger than ``retention_hours`` needs; returns how many were deleted.

    delta-rs lists a removed file as deletable again on every vacuum until its removal expires from the log
    (``delta.deletedFileRetentionDuration``, 7 days), committing VACUUM START/END each time: on a local lake the
    files already gone are left out first, so a vacuum with nothing to delete commits nothing.
    """
    options = {"retention_hours": retention_hours, "enforce_retention_duration": False, "full": True}
    candidates = _open(lake, table).vacuum(dry_run=True, **options)
    if lake.is_local:
        root = Path(lake.uri(table))
        candidates = [p for p in candidates if (root / p).exists()]
    if not candidates:
        return 0
    deleted = _open(lake, table).vacuum(dry_run=False, commit_properties=_commit_properties(run_id), **options)
    return len(set(deleted) & set(candidates)) if lake.is_local else len(deleted)


def _only_ours(table: DeltaTable, since: int, run_id: str) -> bool:
    """Every commit after version ``since`` was made by this maintenance run."""
    newer = table.version() - since
    if newer <= 0:
        return True
    return all(
        c.get("dagster_run_id") == run_id and c.get("written_by") == WRITTEN_BY for c in table.history(newer)
    )


def maintain_table(
    lake: LakeStore,
    table: str,
    *,
    through: int | None,
    retention_hours: int,
    run_id: str,
    target_size: int | None = None,
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC),
) -> TableMaintenance:
    """Compact the months of ``table`` written after version ``through``, vacuum, checkpoint (module docstring).

    ``through`` is where the last maintenance left the table (None: never maintained). ``target_size`` is the
    compacted files' size in bytes (default: the table's ``delta.targetFileSize``, else 100 MB).
    """
    started, clock = now(), time.perf_counter()
    try:
        delta = _open(lake, table)
        version = delta.version()
        files = _files(delta)
        partitions = delta.metadata().partition_columns
    except Exception as exc:
        reason = _without_backtrace(exc)
        raise MaintenanceError(f"lake table {table}: cannot be read for maintenance: {reason}") from exc
    result = TableMaintenance(
        table=table, outcome="", started_at=started, version_before=version, version_after=version,
        maintained_through=version,
    )
    result.files_before, result.bytes_before = _size(files)
    outcomes: list[str] = []
    if through == version:
        outcomes.append(f"nothing new since version {version}")
    else:
        new = _written_since(lake, table, files, through, version)
        column = partitions[0] if partitions else None
        values: list[Any] | None = None
        if column is not None:
            values = sorted(new[f"partition.{column}"].unique().to_list(), key=lambda v: (v is None, str(v)))
            result.months = [_label(v) for v in values]
            # A null partition value cannot be selected by a filter: compact the whole table then.
            if None in values:
                values = None
        elif new.height:
            result.months = ["(whole table)"]
        if result.months:
            metrics = _compact(lake, table, column, values, run_id, target_size)
            if metrics is None:
                outcomes.append(
                    f"compaction lost {COMPACT_ATTEMPTS} commit races to concurrent writers of "
                    f"{', '.join(result.months)}: nothing was changed, the next run compacts them"
                )
                result.maintained_through = through
            else:
                result.files_compacted = int(metrics.get("numFilesRemoved", 0))
                result.files_written = int(metrics.get("numFilesAdded", 0))
                months = ", ".join(result.months)
                outcomes.append(
                    f"compacted {result.files_compacted} files of {months} into {result.files_written}"
                    if result.files_compacted
                    else f"{months} already compact"
                )
        else:
            outcomes.append("no data files" if through is None else f"versions {through}..{version} added no files")
    result.files_vacuumed = _vacuum(lake, table, retention_hours, run_id)
    if result.files_vacuumed:
        outcomes.append(f"vacuumed {result.files_vacuumed} files unused for over {retention_hours} h")
    delta = _open(lake, table)
    if delta.version() != version or through != version:
        delta.create_checkpoint()
        result.checkpoint = True
    after = _files(delta)
    result.files_after, result.bytes_after = _size(after)
    result.version_after = delta.version()
    if result.maintained_through == version:
        # Commits of other writers after ours are not looked at yet: start from before them next time.
        result.maintained_through = result.version_after if _only_ours(delta, version, run_id) else version
    result.outcome = "; ".join(outcomes)
    result.seconds = time.perf_counter() - clock
    return result


# ---- the ledger ------------------------------------------------------------------------------


def record(
    lake: LakeStore, results: Iterable[TableMaintenance], *, run_id: str, retention_hours: int
) -> TableMaintenance | None:
    """Append the tables that had anything new to the ledger (one commit), then keep the ledger itself compact.

    Returns what was done to the ledger, or None when no table had anything new (nothing is written then).
    """
    rows = [r.ledger_row(run_id) for r in results if r.changed]
    if not rows:
        return None
    lake.append(
        LEDGER,
        pl.DataFrame(rows, schema=LEDGER_SCHEMA),
        commit_metadata={"dagster_run_id": run_id, "written_by": WRITTEN_BY},
    )
    # The ledger is small and not partitioned: merging its per-run files each run keeps it one or two files.
    return maintain_table(lake, LEDGER, through=None, retention_hours=retention_hours, run_id=run_id)


def summary(results: Iterable[TableMaintenance]) -> Mapping[str, Any]:
    results = list(results)
    return {
        "tables": len(results),
        "tables_with_anything_new": sum(r.changed for r in results),
        "files_before": sum(r.files_before for r in results),
        "files_after": sum(r.files_after for r in results),
        "bytes_before": sum(r.bytes_before for r in results),
        "bytes_after": sum(r.bytes_after for r in results),
        "files_compacted": sum(r.files_compacted for r in results),
        "files_vacuumed": sum(r.files_vacuumed for r in results),
        "seconds": round(sum(r.seconds for r in results), 3),
    }
