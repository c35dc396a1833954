"""Bounded listing of landed event files for the streaming planners (the sensors and the stream worker).

A full listing of ``events/`` costs what the landing zone holds (100 k files: 3.5 s a poll) although
only the newest day folders bring new files. The planners only need

- every day folder their cursor has not *closed* (``FileCursor.closed``: every file acknowledged and
  folded into a fingerprint): the newest days, new folders, reopened ones — listed every poll;
- a way to notice a *late* file in a closed folder (a producer that ``mv``'s files in, a replay).

So a poll makes one directory listing of ``events/`` and one per event type (day folder names only:
cost grows with days, not files), lists the folders it needs, and checks closed folders cheaply:

- **Local disk**: a folder's modification time changes whenever an entry is created, renamed in or
  removed (an ``mv`` keeping the file's old mtime included). Each folder listed is remembered
  (process-local) with the folder time read *before* listing it; a folder whose time is unchanged
  holds what was listed then, so it is not listed again (a ``stat``, no listing). Times less than
  ``RACY_SECONDS`` old when read are not trusted (the clock that stamps them is coarse: a file added
  in the same tick would not change it), so such a folder is listed again. A late file is therefore
  seen at the next poll once this process has seen the folder.
- **Azure Blob / ADLS** (folders are name prefixes, without times), and local folders this process
  has not listed yet (a fresh worker or code server): closed folders are re-listed round-robin, at
  most ``sweep_folders`` per poll (``RETAIL_LANDING_SWEEP_FOLDERS``, default 8), least recently
  checked first. A late file in a closed folder is seen within ``ceil(closed folders / sweep_folders)``
  polls (docs/streaming.md gives the figures); landing retention keeps the number of closed folders
  bounded.

A closed folder whose listing no longer matches its fingerprint is handed to the planner, which
reopens it (``FileCursor.unacknowledged``); a matching one is left out of the listing, which the
planner treats exactly like a listed, unchanged closed folder.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from retail_assets.lib.landing import LandingZone, served_months, validate_entries
from retail_assets.lib.streaming.cursor import FileCursor, fingerprint

# A folder time read less than this long after it was set is not trusted (coarse file-system clocks, racy writes).
RACY_SECONDS = 2.0

Entry = tuple[str, int, dt.datetime]  # path, size, modified


@dataclass
class _Folder:
    stamp: int | None  # folder time (ns) read before the listing, when trusted; None: list again to be sure
    entries: list[Entry]
    checked: int  # poll number of the last listing (round-robin order of the sweep)
    fingerprint: str  # of its valid files' names, as the cursor fingerprints a closed folder


@dataclass
class ListingStats:
    """What one poll's listing cost: directory listings made, entries they returned, folder times read."""

    listings: int = 0
    entries: int = 0
    stamps: int = 0
    needed_folders: int = 0  # day folders not closed (listed, or known unchanged)
    closed_folders: int = 0
    swept_folders: int = 0  # closed folders listed this poll
    unverified_folders: int = 0  # closed folders still waiting for the sweep after this poll


@dataclass
class FolderMemory:
    """What this process listed per folder of one landing zone (never persisted: a restart lists again)."""

    folders: dict[str, _Folder] = field(default_factory=dict)
    polls: int = 0


_MEMORY: dict[str, FolderMemory] = {}


def memory_for(landing: LandingZone) -> FolderMemory:
    return _MEMORY.setdefault(landing.root_uri, FolderMemory())


def _sweep_default() -> int:
    from retail_assets.lib.settings import Settings

    return Settings.from_env().landing_sweep_folders


def list_event_files(
    landing: LandingZone,
    cursor: FileCursor | str | None,
    *,
    sweep_folders: int | None = None,
    memory: FolderMemory | None = None,
    clock: Callable[[], float] = time.time,
) -> tuple[list[tuple[str, float, int]], list[tuple[str, str]], ListingStats]:
    """(path, modified, size) of the event files the planner needs, (path, reason) of misnamed ones, and the cost.

    ``cursor`` (a ``FileCursor`` or its JSON) says which day folders are closed; None lists everything, as
    ``LandingZone.scan("events/")`` does. The files of closed folders that are unchanged are left out."""
    if isinstance(cursor, str) or cursor is None:
        cursor = FileCursor.from_json(cursor) if cursor else None
    stats = ListingStats()
    if cursor is None:
        files, bad = landing.scan("events/")
        stats.listings, stats.entries = 1, len(files) + len(bad)
        return [(f.path.path, f.modified.timestamp(), f.size) for f in files], bad, stats
    sweep = sweep_folders if sweep_folders is not None else _sweep_default()
    memory = memory if memory is not None else memory_for(landing)
    memory.polls += 1
    poll = memory.polls
    served = served_months()
    closed = cursor.closed

    def folders(folder: str) -> tuple[list[str], list[Entry]]:
        names, files = landing.list_folders(folder)
        stats.listings += 1
        stats.entries += len(names) + len(files)
        return names, files

    def listed(folder: str, stamp: int | None) -> _Folder:
        entries = landing.list_folder(folder)
        stats.listings += 1
        stats.entries += len(entries)
        trusted = stamp is not None and clock() - stamp / 1e9 >= RACY_SECONDS
        valid = validate_entries(entries, served)[0]
        seen = _Folder(stamp if trusted else None, entries, poll, fingerprint(f.path.path for f in valid))
        memory.folders[folder] = seen
        return seen

    def stamp_of(folder: str) -> int | None:
        stamp = landing.folder_stamp(folder)
        if stamp is not None:
            stats.stamps += 1
        return stamp

    types, entries = folders("events")
    entries = list(entries)
    due: dict[str, int | None] = {}  # closed folder -> its time read this poll
    present: set[str] = set()
    for event_type in types:
        days, loose = folders(f"events/{event_type}")
        entries += loose
        for day in days:
            folder = f"events/{event_type}/{day}"
            present.add(folder)
            stamp = stamp_of(folder)
            seen = memory.folders.get(folder)
            unchanged = seen is not None and stamp is not None and seen.stamp == stamp
            if folder not in closed:
                stats.needed_folders += 1
                entries += (seen if unchanged else listed(folder, stamp)).entries
                continue
            stats.closed_folders += 1
            if unchanged:
                if seen.fingerprint != closed[folder]:
                    entries += seen.entries  # a late file: the planner reopens the folder
                continue
            due[folder] = stamp
    # Folders gone from the landing zone (retention emptied them on Azure) are forgotten.
    for folder in [f for f in memory.folders if f not in present]:
        del memory.folders[folder]
    order = sorted(due, key=lambda f: (memory.folders[f].checked if f in memory.folders else -1, f))
    for folder in order[:sweep]:
        seen = listed(folder, due[folder])
        stats.swept_folders += 1
        if seen.fingerprint != closed[folder]:
            entries += seen.entries
    stats.unverified_folders = max(len(due) - sweep, 0)
    files, bad = validate_entries(sorted(entries), served)
    return [(f.path.path, f.modified.timestamp(), f.size) for f in files], bad, stats
