"""Roll a lake table, or one month of it, back to an earlier Delta version (time travel).

- Whole table: Delta's own RESTORE (``DeltaTable.restore``): one new commit that re-adds the files of the
  target version and removes the others. History is kept, so a restore can itself be undone by restoring
  the version before it.
- One month: the month's rows as of the target version replace exactly that month of the current version,
  in one commit with a predicate on ``month_start``; other months are untouched (same files).

A target is refused, naming the table, what was asked and the oldest version that can still be restored,
when the version is not in the transaction log or when vacuum already deleted some of its data files
(restoring it would silently lose rows). A month the target version does not hold is refused unless the
caller allows emptying it (``allow_empty``).

Every commit carries who/what in its commit metadata (``retail_operation=restore``, ``restored_from_version``,
``as_of``, ``month``, ``command``, the Dagster run), visible in ``DeltaTable.history()``. Restoring again to
the same target converges: a whole-table restore commits nothing when the table already holds the target's
files, and still reports the months its earlier restore commit changed (a restore killed between its commit
and its report is completed by re-running it).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl
from deltalake import DeltaTable
from deltalake.fs import DeltaStorageHandler

from retail_assets.lib.lake import LakeError, LakeStore, months_predicate
from retail_assets.lib.specs import PARTITION_COLUMN

OPERATION = "restore"


class RestoreRefused(LakeError):
    """The asked version cannot be restored (not in the log, data files vacuumed, month not held)."""


@dataclass(frozen=True)
class Target:
    """The version a restore goes back to, and how it was asked for."""

    version: int
    committed_at: dt.datetime
    as_of: dt.datetime | None

    @property
    def asked(self) -> str:
        return f"as of {self.as_of.isoformat()}" if self.as_of else f"version {self.version}"

    def describe(self) -> str:
        return f"version {self.version} (as of {self.as_of.isoformat()})" if self.as_of else f"version {self.version}"


@dataclass(frozen=True)
class RestoreReport:
    table: str
    month: dt.date | None
    target: Target
    version_before: int
    # The version holding the restored state: the new commit, or the current version when nothing had to change.
    version_after: int
    committed: bool
    rows_before: int
    rows_after: int
    # Months whose content the restore changed (None: the table has no month partitions).
    changed_months: list[dt.date] | None
    changed: bool

    def summary(self) -> str:
        scope = f"{self.table} {self.month:%Y-%m}" if self.month else self.table
        as_of = f" (as of {self.target.as_of.isoformat()})" if self.target.as_of else ""
        what = (
            f"restored from version {self.target.version}{as_of}, committed "
            f"{self.target.committed_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        if not self.committed:
            return (
                f"{scope}: already holds version {self.target.version}'s data at version {self.version_after}; "
                "nothing committed"
            )
        months = ""
        if self.month is None and self.changed_months is not None:
            months = f", months changed: {', '.join(f'{m:%Y-%m}' for m in self.changed_months) or 'none'}"
        return (
            f"{scope}: {what}: version {self.version_before} -> {self.version_after}, rows {self.rows_before:,} -> "
            f"{self.rows_after:,}{months}"
        )


def commits(lake: LakeStore, table: str) -> list[tuple[int, dt.datetime]]:
    """(version, commit time) of every commit still in the table's log, oldest first."""
    history = lake.history(table)
    return sorted(
        (int(h["version"]), dt.datetime.fromtimestamp(int(h["timestamp"]) / 1000, dt.UTC)) for h in history
    )


def resolve_target(
    lake: LakeStore,
    table: str,
    *,
    version: int | None = None,
    as_of: dt.datetime | None = None,
    month: dt.date | None = None,
    allow_empty: bool = False,
) -> Target:
    """The restorable version asked for (by number, or the latest committed at or before ``as_of``), else refused.

    With ``month``: only that month's files must be intact, and the version must hold rows of it unless
    ``allow_empty``."""
    if (version is None) == (as_of is None):
        raise ValueError("give exactly one of version and as_of")
    log = commits(lake, table)
    current = log[-1][0]
    committed = dict(log)
    if as_of is not None:
        if as_of.tzinfo is None:
            as_of = as_of.replace(tzinfo=dt.UTC)
        before = [v for v, at in log if at <= as_of]
        if not before:
            raise RestoreRefused(
                f"lake table {table}: nothing to restore as of {as_of.isoformat()}: the oldest version in its log, "
                f"{log[0][0]}, was committed at {log[0][1].isoformat()}; "
                + _oldest_hint(lake, table, log, month)
            )
        target = Target(before[-1], committed[before[-1]], as_of)
    else:
        if version not in committed:
            raise RestoreRefused(
                f"lake table {table}: version {version} does not exist or is no longer in the transaction log "
                f"(log holds versions {log[0][0]}..{current}); " + _oldest_hint(lake, table, log, month)
            )
        target = Target(version, committed[version], None)
    missing = missing_files(lake, table, target.version, month)
    if missing:
        scope = f" of {month:%Y-%m}" if month else ""
        raise RestoreRefused(
            f"lake table {table}: cannot restore {target.describe()}: vacuum already removed "
            f"{len(missing)} of its data files{scope} (e.g. {missing[0]}); " + _oldest_hint(lake, table, log, month)
        )
    if month is not None and not allow_empty:
        _refuse_emptying(lake, table, target, month)
    return target


def _refuse_emptying(lake: LakeStore, table: str, target: Target, month: dt.date) -> None:
    if _rows(lake, lake.at_version(table, target.version), month):
        return
    current = lake.at_version(table, lake.version(table))
    raise RestoreRefused(
        f"lake table {table}: {target.describe()} holds no rows of {month:%Y-%m} (the current version "
        f"{current.version()} holds {_rows(lake, current, month):,}); restoring it would empty the month: pass "
        "--allow-empty to do that, or pick a version that holds the month"
    )


def _oldest_hint(lake: LakeStore, table: str, log: list[tuple[int, dt.datetime]], month: dt.date | None) -> str:
    oldest = oldest_restorable(lake, table, [v for v, _ in log], month)
    at = dict(log)[oldest]
    return f"the oldest version still restorable is {oldest} (committed {at.isoformat()})"


def _add_actions(table: DeltaTable) -> pl.DataFrame:
    actions = pl.DataFrame(table.get_add_actions(flatten=True))
    column = f"partition.{PARTITION_COLUMN}"
    if column not in actions.columns:
        return actions.select("path", pl.lit(None, dtype=pl.Date).alias("month"))
    return actions.select("path", pl.col(column).cast(pl.Date).alias("month"))


def missing_files(lake: LakeStore, table: str, version: int, month: dt.date | None = None) -> list[str]:
    """Data files of ``version`` (only ``month``'s when given) that are no longer in storage."""
    old = lake.at_version(table, version)
    actions = _add_actions(old)
    if month is not None:
        actions = actions.filter(pl.col("month") == month)
    paths = actions.get_column("path").to_list()
    if not paths:
        return []
    handler = DeltaStorageHandler(lake.uri(table), lake.storage_options() or None)
    return sorted(info.path for info in handler.get_file_info(paths) if info.type.name == "NotFound")


def oldest_restorable(lake: LakeStore, table: str, versions: list[int], month: dt.date | None = None) -> int:
    """The oldest version in ``versions`` (ascending) whose data files are all present, found by bisection.

    Vacuum deletes the files only older versions reference, so "restorable" holds from some version on; an empty
    early version (the table's creation) is restorable again but is not what anyone means."""
    low, high = 0, len(versions) - 1
    while low < high:
        middle = (low + high) // 2
        if missing_files(lake, table, versions[middle], month):
            low = middle + 1
        else:
            high = middle
    return versions[low]


def _month_files(table: DeltaTable) -> dict[dt.date | None, frozenset[str]]:
    actions = _add_actions(table)
    return {month: frozenset(group.get_column("path").to_list()) for (month,), group in actions.group_by("month")}


def _scan(lake: LakeStore, table: DeltaTable) -> pl.LazyFrame:
    return pl.scan_delta(table, storage_options=lake.storage_options() or None)


def _rows(lake: LakeStore, table: DeltaTable, month: dt.date | None) -> int:
    frame = _scan(lake, table)
    if month is not None:
        frame = frame.filter(pl.col(PARTITION_COLUMN) == month)
    return int(frame.select(pl.len()).collect().item())


def restore(
    lake: LakeStore,
    table: str,
    target: Target,
    *,
    month: dt.date | None = None,
    allow_empty: bool = False,
    commit_metadata: Mapping[str, str] | None = None,
) -> RestoreReport:
    """Restore ``table`` (or ``month`` of it) to ``target`` (from :func:`resolve_target`); one commit at most."""
    metadata = {
        "retail_operation": OPERATION,
        "restored_from_version": str(target.version),
        "as_of": target.as_of.isoformat() if target.as_of else "",
        "month": f"{month:%Y-%m}" if month else "all",
        **(commit_metadata or {}),
    }
    current = lake.at_version(table, lake.version(table))
    old = lake.at_version(table, target.version)
    if month is not None:
        return _restore_month(lake, table, target, month, current, old, allow_empty, metadata)
    before, wanted = _month_files(current), _month_files(old)
    base = current
    committed = before != wanted
    if committed:
        after_version = lake.restore_version(table, target.version, commit_metadata=metadata)
    else:
        after_version = current.version()
        # Converging after a restore that committed but died before reporting: its parent is the state replaced.
        latest = lake.history(table, 1)[0]
        if latest.get("retail_operation") == OPERATION and latest.get("restored_from_version") == str(target.version):
            base = lake.at_version(table, after_version - 1)
            before = _month_files(base)
    partitioned = any(m is not None for m in (*before, *wanted))
    changed = sorted(m for m in set(before) | set(wanted) if before.get(m) != wanted.get(m))
    return RestoreReport(
        table=table,
        month=None,
        target=target,
        version_before=current.version(),
        version_after=after_version,
        committed=committed,
        rows_before=_rows(lake, base, None),
        rows_after=_rows(lake, old, None),
        changed_months=[m for m in changed if m is not None] if partitioned else None,
        changed=bool(changed),
    )


def _restore_month(
    lake: LakeStore,
    table: str,
    target: Target,
    month: dt.date,
    current: DeltaTable,
    old: DeltaTable,
    allow_empty: bool,
    metadata: dict[str, str],
) -> RestoreReport:
    partition_columns = list(current.metadata().partition_columns)
    if PARTITION_COLUMN not in current.schema().to_arrow().names:
        raise RestoreRefused(
            f"lake table {table} has no {PARTITION_COLUMN} column: it cannot be restored by month; restore the whole "
            "table (without --month)"
        )
    rows = _scan(lake, old).filter(pl.col(PARTITION_COLUMN) == month).collect()
    rows_before = _rows(lake, current, month)
    if not rows.height and not allow_empty:
        _refuse_emptying(lake, table, target, month)
    predicate = months_predicate([month])
    if rows.height:
        version = lake.replace(
            table, rows, predicate=predicate, partition_by=partition_columns or None, commit_metadata=metadata
        ).version
    else:
        lake.delete(table, predicate, commit_metadata=metadata)
        version = lake.version(table)
    return RestoreReport(
        table=table,
        month=month,
        target=target,
        version_before=current.version(),
        version_after=version,
        committed=True,
        rows_before=rows_before,
        rows_after=rows.height,
        changed_months=[month],
        changed=True,
    )
