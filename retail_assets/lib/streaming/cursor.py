"""Sensor cursors that acknowledge a batch only once its run has succeeded.

A sensor requests a run per batch and remembers it as *in flight*. Only when that run has
succeeded (the batch is durably in Bronze) is the batch *acknowledged*: its files join ``done``
(file sources) or its offset range advances the partition's ``acked`` sequence number (Event
Hubs). A failed or cancelled run is requested again under a new run key, up to
``MAX_ATTEMPTS``; after that the batch is parked in ``failed`` (never acknowledged, shown in
the sensor's log) until an operator re-runs it. A batch whose run cannot be found (the tick that
requested it did not submit it) is requested again under the same key, which Dagster
deduplicates. Everything here is pure: the sensors pass in listings and run statuses.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field

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


@dataclass
class FileCursor:
    """Cursor of a file source (landing events, Event Hubs Capture).

    ``watermark``: every file modified at or before ``watermark - grace`` is acknowledged;
    ``done``: acknowledged files modified after that; the grace covers files that become visible
    a little after their modification time (a local write is renamed into place after it).
    """

    watermark: float = 0.0
    done: dict[str, float] = field(default_factory=dict)
    inflight: dict[str, Batch] = field(default_factory=dict)
    failed: dict[str, Batch] = field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | None) -> FileCursor:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            watermark=raw["watermark"],
            done=raw["done"],
            inflight={k: Batch(**v) for k, v in raw["inflight"].items()},
            failed={k: Batch(**v) for k, v in raw["failed"].items()},
        )

    def pending_paths(self) -> set[str]:
        return {p for batch in (*self.inflight.values(), *self.failed.values()) for p in batch.files}


def plan_file_tick(
    cursor: FileCursor,
    listed: Iterable[tuple[str, float, int]],
    status: Callable[[str], str | None],
    *,
    group_of: Callable[[str], str],
    prefix: str,
    grace: float = 60.0,
    max_files: int = 5_000,
    max_bytes: int = 1 << 30,
) -> tuple[FileCursor, Followed]:
    """One tick of a file sensor: acknowledge finished runs, then batch new files, one batch per group.

    A group (a month for landing events) with a batch in flight gets no new batch until that one
    is acknowledged, so one sensor never has two runs writing the same Bronze month.
    """
    out = follow_inflight(cursor.inflight, cursor.failed, status)
    for batch in out.acknowledged:
        cursor.done.update(batch.files)
    busy = {b.group for b in cursor.inflight.values()}
    pending = cursor.pending_paths()
    floor = cursor.watermark - grace
    held_back: list[float] = []
    new: dict[str, list[tuple[str, float, int]]] = {}
    for path, modified, size in sorted(listed, key=lambda f: (f[1], f[0])):
        if modified <= floor or path in cursor.done or path in pending:
            continue
        group = group_of(path)
        if group in busy:
            held_back.append(modified)
            continue
        new.setdefault(group, []).append((path, modified, size))
    for group, files in sorted(new.items()):
        chosen, total = [], 0
        for path, modified, size in files:
            if chosen and (len(chosen) >= max_files or total + size > max_bytes):
                held_back.append(modified)
                continue
            chosen.append((path, modified))
            total += size
        batch = Batch(key=batch_key(prefix, group, (p for p, _ in chosen)), group=group, files=dict(chosen))
        cursor.inflight[batch.key] = batch
        out.requests.append(batch)
    if cursor.done:
        # Advance over acknowledged files, never past a file that is listed but not yet requested.
        mark = max(cursor.done.values())
        if held_back:
            mark = min(mark, min(held_back) - 1e-6)
        cursor.watermark = max(cursor.watermark, mark)
        floor = cursor.watermark - grace
        cursor.done = {p: m for p, m in cursor.done.items() if m > floor}
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
