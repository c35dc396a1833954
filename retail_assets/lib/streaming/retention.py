"""Landing retention: acknowledged event files older than a configurable number of days are archived or deleted.

Default: keep everything (``RETAIL_LANDING_RETENTION_DAYS`` unset). A long-running stream lands files
for ever; they cost storage, and every folder is one more entry to look at. But Bronze month
rebuilds read the landing zone (an empty ``files`` config rebuilds a month from *every* landed file
of the type, replacing the month), so retention must never let a rebuild drop rows:

- ``archive`` (``RETAIL_LANDING_RETENTION_MODE``, the default mode): the file moves under
  ``archive/`` keeping its relative path. Its identity is unchanged — the landing path that is its
  rows' ``_source_file`` and decides the trace_id rule — and every month reader
  (``LandingZone.event_listing``, ``read_bytes``) finds it there: a rebuild gives the same rows.
- ``delete``: only files Bronze provably holds (rows or quarantined lines with that ``_source_file``
  in their month) are deleted, each after a tombstone under ``_pruned/``. A month rebuild that would
  need a deleted file refuses loudly (``LandingPrunedError``, naming table, month and a file)
  instead of silently dropping its rows. Choose it only for months you will never rebuild from landing.

Only acknowledged files are touched: a file named in a cursor's ``done``, or in a day folder the
cursor closed whose current listing still matches the closed fingerprint (so every file in it is
acknowledged), and in no batch in flight or parked. Age is the day folder's date (files moved in
keep old modification times, so file times decide nothing here either). Every step is idempotent:
a killed prune converges on re-run (an archive copy already there is replaced by the same bytes).

Who runs it: :func:`prune_landing` is the function for the daily maintenance job;
``retail-assets landing prune`` runs it by hand with the settings and the cursors of the instance.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.landing import LandingZone, parse_landing_path, served_months, validate_entries
from retail_assets.lib.streaming.cursor import FileCursor, fingerprint

LANDING_SENSOR = "landing_events_sensor"


@dataclass
class PruneReport:
    mode: str
    cutoff: dt.date | None  # day folders before this day are old enough; None: retention off
    archived: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    kept: dict[str, str] = field(default_factory=dict)  # old enough but left in place: path -> why
    folders: int = 0  # old enough day folders looked at

    def summary(self) -> str:
        if self.cutoff is None:
            return "landing retention is off (RETAIL_LANDING_RETENTION_DAYS unset): every landed file is kept"
        return (
            f"landing retention ({self.mode}, day folders before {self.cutoff}): {self.folders} folders, "
            f"{len(self.archived)} files archived, {len(self.deleted)} deleted, {len(self.kept)} kept"
        )


def acknowledged_cursors(instance) -> list[FileCursor]:
    """The cursors that acknowledge landing files: the stream worker's (instance key-value store) and the
    runs-mode landing sensor's, when they exist. A file acknowledged by either is durably in Bronze."""
    from retail_assets.lib.streaming.worker import load_state

    cursors = [load_state(instance).cursor]
    if instance.schedule_storage is None:  # an instance without sensors (ephemeral): no sensor cursor
        return cursors
    for state in instance.all_instigator_state():
        data = getattr(state, "instigator_data", None)
        if getattr(state, "name", None) == LANDING_SENSOR and getattr(data, "cursor", None):
            cursors.append(FileCursor.from_json(data.cursor))
    return cursors


def _acknowledged(cursors: Sequence[FileCursor], folder: str, names: list[str]) -> set[str]:
    settled = fingerprint(names)
    done: set[str] = set()
    for cursor in cursors:
        if cursor.closed.get(folder) == settled:
            done.update(names)
        done.update(n for n in names if n in cursor.done)
    return done - {p for cursor in cursors for p in cursor.pending_paths()}


def _held_by_bronze(lake, folder: str) -> set[str]:
    """Files of an event day folder that Bronze holds (rows or quarantined lines)."""
    parsed = parse_landing_path(f"{folder}/probe.jsonl")
    held: set[str] = set()
    tables = ((f"bronze/{parsed.table}", "_source_file"), (f"quarantine/bronze/{parsed.table}", "source_file"))
    for table, column in tables:
        if lake.exists(table):
            held.update(
                lake.scan(table, [parsed.month])
                .filter(pl.col(column).str.starts_with(f"{folder}/"))
                .select(pl.col(column).unique())
                .collect()
                .to_series()
                .to_list()
            )
    return held


def prune_landing(
    landing: LandingZone,
    cursors: Sequence[FileCursor],
    *,
    retention_days: int | None,
    mode: str = "archive",
    lake=None,
    now: dt.datetime | None = None,
    dry_run: bool = False,
) -> PruneReport:
    """Archive (or delete) the acknowledged event files of day folders older than ``retention_days``.

    ``cursors``: the cursors that acknowledge files (:func:`acknowledged_cursors`). ``lake`` is required for
    ``delete`` (only files Bronze holds are deleted). ``retention_days=None`` keeps everything."""
    if retention_days is None:
        return PruneReport(mode, None)
    if mode not in ("archive", "delete"):
        raise ValueError(f"landing retention mode {mode!r}: use archive or delete")
    if mode == "delete" and lake is None:
        raise ValueError("landing retention mode delete needs the lake: only files Bronze holds are deleted")
    today = (now or dt.datetime.now(dt.UTC)).date()
    report = PruneReport(mode, today - dt.timedelta(days=retention_days))
    served = served_months(now)
    types, _ = landing.list_folders("events")
    for event_type in types:
        days, _ = landing.list_folders(f"events/{event_type}")
        for day in days:
            try:
                when = dt.date.fromisoformat(day)
            except ValueError:
                continue  # a misnamed folder: never ingested, never pruned (retail-assets landing check lists it)
            if when >= report.cutoff:
                continue
            folder = f"events/{event_type}/{day}"
            files, _ = validate_entries(landing.list_folder(folder), served)
            if not files:
                continue
            report.folders += 1
            names = [f.path.path for f in files]
            acknowledged = _acknowledged(cursors, folder, names)
            held = _held_by_bronze(lake, folder) if mode == "delete" else None
            for name in names:
                if name not in acknowledged:
                    report.kept[name] = "not acknowledged by a stream cursor (new, in flight or parked)"
                elif held is not None and name not in held:
                    report.kept[name] = "Bronze holds no row or quarantined line of it"
                elif dry_run:
                    (report.archived if mode == "archive" else report.deleted).append(name)
                elif mode == "archive":
                    if landing.archive_file(name):
                        report.archived.append(name)
                elif landing.delete_file(name):
                    report.deleted.append(name)
    return report
