"""Sensor cursors that acknowledge a batch only once its run has succeeded.

A sensor requests a run per batch and remembers it as *in flight*. Only when that run has
succeeded (the batch is durably in Bronze) is the batch *acknowledged*: its files join ``done``
(file sources, tracked by name, never by modification time) or its offset range advances the
partition's ``acked`` sequence number (Event Hubs). A failed or cancelled run is requested again under a new run key, up to
``MAX_ATTEMPTS``; after that the batch is parked in ``failed`` (never acknowledged, shown in
the sensor's log) until an operator re-runs it. A batch whose run cannot be found (the tick that
requested it did not submit it) is requested again under the same key, which Dagster
deduplicates. Everything here is pure: the sensors pass in listings and run statuses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import PurePosixPath

MAX_ATTEMPTS = 3
SUCCESS, FAILED = "SUCCESS", ("FAILURE", "CANCELED")


@dataclass
class Batch:
    """One requested run: a group (month, partition id, ...) and what it ingests."""

    key: str
    group: str
    files: dict[str, float] = field(default_factory=dict)  # path -> modified time (file sources)
    first: int | None = None  # first sequence number (Event Hubs, inclusive)
    last: int | None = None  # last sequence number (inclusive)
    attempt: int = 1

    @property
    def run_key(self) -> str:
        return self.key if self.attempt == 1 else f"{self.key}#attempt{self.attempt}"


def batch_key(prefix: str, group: str, paths: Iterable[str]) -> str:
    """Deterministic run key for a set of files: same files, same key."""
    ordered = sorted(paths)
    digest = hashlib.sha256("\n".join(ordered).encode()).hexdigest()[:16]
    return f"{prefix}:{group}:{len(ordered)}-files:{digest}"


@dataclass
class Followed:
    """What a tick decided: batches to (re)request and messages for the sensor's log."""

    requests: list[Batch] = field(default_factory=list)
    acknowledged: list[Batch] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def follow_inflight(inflight: dict[str, Batch], failed: dict[str, Batch], status: Callable[[str], str | None]) -> Followed:
    """Advance in-flight batches by the status of their runs (mutates ``inflight`` and ``failed``)."""
    out = Followed()
    for key, batch in list(inflight.items()):
        state = status(batch.run_key)
        if state == SUCCESS:
            out.acknowledged.append(inflight.pop(key))
        elif state in FAILED:
            if batch.attempt >= MAX_ATTEMPTS:
                failed[key] = inflight.pop(key)
                out.notes.append(f"batch {key} failed {batch.attempt} times; parked, not acknowledged")
            else:
                batch.attempt += 1
                out.requests.append(batch)
                out.notes.append(f"batch {key} run {state.lower()}; requested again as {batch.run_key}")
        elif state is None:
            out.requests.append(batch)
    return out


def folder_of(path: str) -> str:
    """The folder a file lands in (for events, its day folder ``events/<type>/<date>``)."""
    return str(PurePosixPath(path).parent)


def fingerprint(paths: Iterable[str]) -> str:
    """Count and digest of a folder's file names: equal fingerprints, same files."""
    ordered = sorted(paths)
    return f"{len(ordered)}:{hashlib.sha256(chr(10).join(ordered).encode()).hexdigest()[:16]}"


# Folders kept open per parent folder (event type): the newest ones, where files still arrive.
OPEN_FOLDERS = 2


@dataclass
class FileCursor:
    """Cursor of a file source (landing events, Event Hubs Capture): which files are acknowledged, by name.

    Modification times decide nothing: a file moved into place keeping an old mtime, or landed late in an
    old folder, is still found and ingested once. ``done`` lists the acknowledged files of *open* folders;
    a folder whose files are all acknowledged and that is not among the ``OPEN_FOLDERS`` newest of its
    parent is *closed*: only the fingerprint (count + digest) of its file names is kept, so the cursor
    stays small however many files a day brings. When a closed folder's listing no longer matches its
    fingerprint (a late file), the folder reopens: its files are candidates again and ``known`` (what
    Bronze already holds from it) tells the new ones apart; without ``known`` they are all requested
    again, which is safe because ingesting a file twice changes nothing.
    """

    done: dict[str, float] = field(default_factory=dict)
    closed: dict[str, str] = field(default_factory=dict)
    inflight: dict[str, Batch] = field(default_factory=dict)
    failed: dict[str, Batch] = field(default_factory=dict)
    # Misnamed files already reported (path -> reason): reported once, forgotten when the file goes away.
    bad: dict[str, str] = field(default_factory=dict)
    # Only set when reading a cursor of the former format (acknowledged by modification time): applied once.
    legacy_watermark: float | None = None

    def to_json(self) -> str:
        raw = asdict(self)
        if raw["legacy_watermark"] is None:
            del raw["legacy_watermark"]
        return json.dumps(raw, sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> FileCursor:
        if not text:
            return cls()
        raw = json.loads(text)
        legacy = raw.get("legacy_watermark")
        if "closed" not in raw and raw.get("watermark"):
            legacy = raw["watermark"] - 60.0  # the former grace: files at or before this were acknowledged
        return cls(
            done=raw["done"],
            closed=raw.get("closed", {}),
            inflight={k: Batch(**v) for k, v in raw["inflight"].items()},
            failed={k: Batch(**v) for k, v in raw["failed"].items()},
            bad=raw.get("bad", {}),
            legacy_watermark=legacy,
        )

    def new_bad_files(self, bad: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
        """The misnamed files of a listing not reported before; remembers them, forgets those gone."""
        listed = dict(bad)
        new = [(p, r) for p, r in listed.items() if self.bad.get(p) != r]
        self.bad = listed
        return new

    def pending_paths(self) -> set[str]:
        return {p for batch in (*self.inflight.values(), *self.failed.values()) for p in batch.files}

    def unacknowledged(
        self, listed: Iterable[tuple[str, float, int]], known: Callable[[str], set[str]] | None = None
    ) -> list[tuple[str, float, int]]:
        """Listed files not acknowledged yet (in flight and parked ones included)."""
        by_folder: dict[str, list[tuple[str, float, int]]] = {}
        for entry in listed:
            by_folder.setdefault(folder_of(entry[0]), []).append(entry)
        out = []
        for folder, files in by_folder.items():
            if folder in self.closed:
                if fingerprint(p for p, _, _ in files) == self.closed[folder]:
                    continue
                # A late file in a closed folder: reopen it; what Bronze holds from it is acknowledged.
                del self.closed[folder]
                held = known(folder) if known is not None else set()
                self.done.update({p: m for p, m, _ in files if p in held})
            if self.legacy_watermark is not None:
                self.done.update({p: m for p, m, _ in files if m <= self.legacy_watermark})
            out += [f for f in files if f[0] not in self.done]
        self.legacy_watermark = None
        return out

    def close_folders(self, listed: Iterable[tuple[str, float, int]]) -> None:
        """Fold the acknowledged files of settled folders into fingerprints."""
        by_folder: dict[str, list[str]] = {}
        for path, _, _ in listed:
            by_folder.setdefault(folder_of(path), []).append(path)
        pending = {folder_of(p) for p in self.pending_paths()}
        by_parent: dict[str, list[str]] = {}
        for folder in by_folder:
            by_parent.setdefault(str(PurePosixPath(folder).parent), []).append(folder)
        for folders in by_parent.values():
            for folder in sorted(folders)[:-OPEN_FOLDERS]:
                files = by_folder[folder]
                if folder in pending or not all(p in self.done for p in files):
                    continue
                self.closed[folder] = fingerprint(files)
                for path in files:
                    del self.done[path]


def plan_file_tick(
    cursor: FileCursor,
    listed: Iterable[tuple[str, float, int]],
    status: Callable[[str], str | None],
    *,
    group_of: Callable[[str], str],
    prefix: str,
    max_files: int = 5_000,
    max_bytes: int = 1 << 30,
    known: Callable[[str], set[str]] | None = None,
) -> tuple[FileCursor, Followed]:
    """One tick of a file sensor: acknowledge finished runs, then batch new files, one batch per group.

    A group (a month for landing events) with a batch in flight gets no new batch until that one
    is acknowledged, so one sensor never has two runs writing the same Bronze month. ``known(folder)``:
    the files of a folder already in Bronze, asked only when a closed folder gets a late file.
    """
    listed = list(listed)
    out = follow_inflight(cursor.inflight, cursor.failed, status)
    for batch in out.acknowledged:
        cursor.done.update(batch.files)
    busy = {b.group for b in cursor.inflight.values()}
    pending = cursor.pending_paths()
    new: dict[str, list[tuple[str, float, int]]] = {}
    for path, modified, size in sorted(cursor.unacknowledged(listed, known), key=lambda f: (f[1], f[0])):
        if path in pending:
            continue
        group = group_of(path)
        if group in busy:
            continue
        new.setdefault(group, []).append((path, modified, size))
    for group, files in sorted(new.items()):
        chosen, total = [], 0
        for path, modified, size in files:
            if chosen and (len(chosen) >= max_files or total + size > max_bytes):
                continue
            chosen.append((path, modified))
            total += size
        batch = Batch(key=batch_key(prefix, group, (p for p, _ in chosen)), group=group, files=dict(chosen))
        cursor.inflight[batch.key] = batch
        out.requests.append(batch)
    cursor.close_folders(listed)
    return cursor, out


@dataclass
class OffsetCursor:
    """Cursor of an Event Hubs consumer: per partition, the last sequence number durably in Bronze
    (``acked``) and the last one requested (``requested``)."""

    acked: dict[str, int] = field(default_factory=dict)
    requested: dict[str, int] = field(default_factory=dict)
    inflight: dict[str, Batch] = field(default_factory=dict)
    failed: dict[str, Batch] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> OffsetCursor:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            acked=raw["acked"],
            requested=raw["requested"],
            inflight={k: Batch(**v) for k, v in raw["inflight"].items()},
            failed={k: Batch(**v) for k, v in raw["failed"].items()},
        )


def range_key(hub: str, consumer_group: str, partition: str, first: int, last: int) -> str:
    return f"eventhubs:{hub}:{consumer_group}:{partition}:{first}-{last}"


def plan_offset_tick(
    cursor: OffsetCursor,
    last_enqueued: Mapping[str, int],
    checkpoints: Mapping[str, int],
    status: Callable[[str], str | None],
    *,
    hub: str,
    consumer_group: str,
    first_available: Mapping[str, int] | None = None,
    max_events: int = 500_000,
) -> tuple[OffsetCursor, Followed]:
    """One tick of the Event Hubs sensor: acknowledge finished ranges, then request the next range
    per partition (one in flight per partition, at most ``max_events`` long).

    ``checkpoints`` (the blob checkpoint store: last sequence number durably ingested) seed a
    partition the cursor does not know, so a sensor whose cursor was reset resumes where Bronze is.
    """
    out = follow_inflight(cursor.inflight, cursor.failed, status)
    for batch in out.acknowledged:
        cursor.acked[batch.group] = max(cursor.acked.get(batch.group, -1), batch.last)
    for partition, done in checkpoints.items():
        cursor.acked[partition] = max(cursor.acked.get(partition, -1), done)
    busy = {b.group for b in (*cursor.inflight.values(), *cursor.failed.values())}
    for partition, last in sorted(last_enqueued.items()):
        if partition in busy:
            continue
        first = max(cursor.acked.get(partition, -1), cursor.requested.get(partition, -1)) + 1
        # Events older than the hub's retention are gone; start at the oldest one still there.
        first = max(first, (first_available or {}).get(partition, 0))
        if last < first:
            continue
        end = min(last, first + max_events - 1)
        batch = Batch(key=range_key(hub, consumer_group, partition, first, end), group=partition, first=first, last=end)
        cursor.inflight[batch.key] = batch
        cursor.requested[partition] = end
        out.requests.append(batch)
    return cursor, out
