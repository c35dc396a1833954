"""Bounded listing of landed event files for the streaming planners (the sensors and the stream worker).

A full listing of ``events/`` costs what the landing zone holds (100 k files: 3.5 s a poll) although
only the newest day folders bring new files. The planners only need

- every day folder their cursor has not *closed* (``FileCursor.closed``: every file acknowledged and
  folded into a fingerprint): the newest days, new folders, reopened ones — listed every poll;
- a way to notice a *late* file in a closed folder (a producer that ``mv``'s files in, a replay).

So a poll lists ``events/`` and each event type folder (day folder names only: cost grows with
days, not files), lists the folders the cursor has not closed, and checks a bounded slice of the
closed ones for late files, continuing round-robin where the last poll stopped:

- **Local disk**: a folder's modification time changes whenever an entry is created, renamed in or
  removed (an ``mv`` keeping the file's old mtime included). Each folder listed is remembered
  (process-local) with the folder time read *before* listing it; a folder whose time is unchanged
  holds what was listed then, so it is not listed again (one ``stat``, no listing) — this applies to
  ``events/``, the type folders and the open day folders too. Times less than ``RACY_SECONDS`` old
  when read are not trusted (the clock that stamps them is coarse: a file added in the same tick
  would not change it), so such a folder is listed again. A poll checks up to ``STAMP_CHECKS`` closed
  folders by time: a late file is seen within ``ceil(closed folders / STAMP_CHECKS)`` polls. (A network
  file system stamps folders with the server's clock: one more than 2 s behind the host's could hide a
  late file until the process restarts; keep such landing zones' clocks in sync, or use the Azure path.)
- **Azure Blob / ADLS** (folders are name prefixes, without times), and local folders this process
  has not listed yet (a fresh worker or code server): closed folders are re-listed, at most
  ``sweep_folders`` per poll (``RETAIL_LANDING_SWEEP_FOLDERS``, default 8). A late file in a closed
  folder is seen within ``ceil(closed folders / sweep_folders)`` polls (docs/streaming.md gives the
  figures); landing retention keeps the number of closed folders bounded.

A closed folder whose listing no longer matches its fingerprint is handed to the planner, which
reopens it (``FileCursor.unacknowledged``); a matching one is left out of the listing, which the
planner treats exactly like a listed, unchanged closed folder.
"""

from __future__ import annotations

import datetime as dt
import time
from bisect import bisect_right
from collections.abc import Callable
from dataclasses import dataclass, field

from retail_assets.lib.landing import LandingZone, served_months, validate_entries
from retail_assets.lib.streaming.cursor import FileCursor, fingerprint

# A folder time read less than this long after it was set is not trusted (coarse file-system clocks, racy writes).
RACY_SECONDS = 2.0
# Closed folders checked by folder time per poll (local disk): one stat each, ~4 µs.
STAMP_CHECKS = 1_000

Entry = tuple[str, int, dt.datetime]  # path, size, modified
Listed = tuple[str, float, int]  # path, modified (epoch seconds), size: what the planner takes


@dataclass
class _Folder:
    """A day folder as listed: its valid files (planner form), its misnamed ones, and their fingerprint."""

    stamp: int | None  # folder time (ns) read before the listing, when trusted; None: list again to be sure
    served: tuple[dt.date, dt.date]  # the served months the files were validated against
    files: list[Listed]
    bad: list[tuple[str, str]]
    fingerprint: str  # of the valid files' names, as the cursor fingerprints a closed folder


@dataclass
class _Parent:
    """``events/`` or ``events/<type>`` as listed: sub-folder names and the files directly in it."""

    stamp: int | None
    names: list[str]
    loose: list[Entry]


@dataclass
class ListingStats:
    """What one poll's listing cost: directory listings made, entries they returned, folder times read."""

    listings: int = 0
    entries: int = 0
    stamps: int = 0
    needed_folders: int = 0  # day folders not closed (listed, or known unchanged)
    closed_folders: int = 0
    checked_folders: int = 0  # closed folders found unchanged by their time this poll
    swept_folders: int = 0  # closed folders listed this poll


@dataclass
class FolderMemory:
    """What this process listed per folder of one landing zone (never persisted: a restart lists again)."""

    folders: dict[str, _Folder] = field(default_factory=dict)
    parents: dict[str, _Parent] = field(default_factory=dict)
    last_checked: str = ""  # the closed folder the last poll's round stopped at


_MEMORY: dict[str, FolderMemory] = {}


def memory_for(landing: LandingZone) -> FolderMemory:
    return _MEMORY.setdefault(landing.root_uri, FolderMemory())


def _sweep_default() -> int:
    from retail_assets.lib.settings import Settings

    return Settings.from_env().landing_sweep_folders


def _planner_form(files) -> list[Listed]:
    return [(f.path.path, f.modified.timestamp(), f.size) for f in files]


def list_event_files(
    landing: LandingZone,
    cursor: FileCursor | str | None,
    *,
    sweep_folders: int | None = None,
    stamp_checks: int = STAMP_CHECKS,
    memory: FolderMemory | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[list[Listed], list[tuple[str, str]], ListingStats]:
    """(path, modified, size) of the event files the planner needs, (path, reason) of misnamed ones, and the cost.

    ``cursor`` (a ``FileCursor`` or its JSON) says which day folders are closed; None lists everything, as
    ``LandingZone.scan("events/")`` does. The files of closed folders that are unchanged are left out."""
    if isinstance(cursor, str) or cursor is None:
        cursor = FileCursor.from_json(cursor) if cursor else None
    stats = ListingStats()
    if cursor is None:
        files, bad = landing.scan("events/")
        stats.listings, stats.entries = 1, len(files) + len(bad)
        return _planner_form(files), bad, stats
    sweep = sweep_folders if sweep_folders is not None else _sweep_default()
    memory = memory if memory is not None else memory_for(landing)
    served = served_months()
    now = clock()
    closed = cursor.closed

    def stamp_of(folder: str) -> int | None:
        stamp = landing.folder_stamp(folder)
        if stamp is not None:
            stats.stamps += 1
        return stamp

    def trusted(stamp: int | None) -> int | None:
        return stamp if stamp is not None and now - stamp / 1e9 >= RACY_SECONDS else None

    def children(folder: str) -> tuple[list[str], list[Entry]]:
        stamp = stamp_of(folder)
        seen = memory.parents.get(folder)
        if seen is None or stamp is None or seen.stamp != stamp:
            names, loose = landing.list_folders(folder)
            stats.listings += 1
            stats.entries += len(names) + len(loose)
            seen = memory.parents[folder] = _Parent(trusted(stamp), names, loose)
        return seen.names, seen.loose

    def remembered(folder: str, stamp: int | None) -> _Folder | None:
        """The folder as listed before, if its time says it has not changed since."""
        seen = memory.folders.get(folder)
        if seen is not None and stamp is not None and seen.stamp == stamp and seen.served == served:
            return seen
        return None

    def listed(folder: str, stamp: int | None) -> _Folder:
        entries = landing.list_folder(folder)
        stats.listings += 1
        stats.entries += len(entries)
        valid, rejected = validate_entries(entries, served)
        names = fingerprint(f.path.path for f in valid)
        seen = memory.folders[folder] = _Folder(trusted(stamp), served, _planner_form(valid), rejected, names)
        return seen

    files: list[Listed] = []
    bad: list[tuple[str, str]] = []

    def take(loose: list[Entry]) -> None:
        valid, rejected = validate_entries(loose, served)
        files.extend(_planner_form(valid))
        bad.extend(rejected)

    types, loose = children("events")
    take(loose)
    order: list[str] = []  # closed folders, sorted (types and days are listed sorted)
    for event_type in types:
        days, loose = children(f"events/{event_type}")
        take(loose)
        for day in days:
            folder = f"events/{event_type}/{day}"
            if folder in closed:
                order.append(folder)
                continue
            stats.needed_folders += 1
            stamp = stamp_of(folder)
            seen = remembered(folder, stamp) or listed(folder, stamp)
            files.extend(seen.files)
            bad.extend(seen.bad)
    # Closed folders: continue the round after the folder the last poll stopped at.
    stats.closed_folders = len(order)
    start = bisect_right(order, memory.last_checked)
    for i in range(len(order)):
        if stats.checked_folders >= stamp_checks or stats.swept_folders >= sweep:
            break
        folder = order[(start + i) % len(order)]
        memory.last_checked = folder
        stamp = stamp_of(folder)
        seen = remembered(folder, stamp)
        if seen is not None:
            stats.checked_folders += 1
        else:
            seen = listed(folder, stamp)
            stats.swept_folders += 1
        if seen.fingerprint != closed[folder]:
            files.extend(seen.files)  # a late file: the planner reopens the folder
            bad.extend(seen.bad)
    if len(memory.folders) > 2 * (stats.needed_folders + stats.closed_folders) + 1_000:
        present = set(order) | {p.rsplit("/", 1)[0] for p, _, _ in files}
        memory.folders = {f: v for f, v in memory.folders.items() if f in present}
    files.sort()
    return files, sorted(bad), stats
