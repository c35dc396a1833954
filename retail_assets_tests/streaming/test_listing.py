"""Bounded streaming listings and landing retention.

A poll lists only the day folders its cursor still needs; a late file in a settled (closed) folder is
still found — at the next poll on local disk (folder times), within the documented sweep bound where
folders have no time (Azure) — and ingested once. Retention archives or deletes only acknowledged
files, and a Bronze month rebuild afterwards gives the same rows (archive) or refuses (delete); by
default nothing is touched.

Real landing zones (local directories, Azurite), real Delta tables, the real Bronze assets on a real
instance; the landing zone is instrumented by a subclass that counts its listings.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import time
from typing import ClassVar

import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.streaming import listed_event_files
from retail_assets.lib.landing import ARCHIVE, LandingPrunedError, LandingZone
from retail_assets.lib.settings import Settings
from retail_assets.lib.streaming.cursor import FileCursor, plan_file_tick
from retail_assets.lib.streaming.listing import FolderMemory, list_event_files
from retail_assets.lib.streaming.retention import acknowledged_cursors, prune_landing
from retail_assets.lib.streaming.worker import WorkerState, save_state
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets_tests.conftest import azure_landing
from retail_assets_tests.streaming.conftest import materialize

OLD = time.time() - 30 * 86400  # folder and file times a month back: settled, trusted


class CountingLanding(LandingZone):
    """A real landing zone that records every listing it makes: (what, folder, entries returned)."""

    calls: ClassVar[list[tuple[str, str, int]]] = []

    def list_folders(self, folder):
        names, files = super().list_folders(folder)
        self.calls.append(("folders", folder, len(names) + len(files)))
        return names, files

    def list_folder(self, folder):
        entries = super().list_folder(folder)
        self.calls.append(("folder", folder, len(entries)))
        return entries

    def _list(self, prefix, hidden=False):
        entries = super()._list(prefix, hidden)
        self.calls.append(("list", prefix, len(entries)))
        return entries


class TimelessLanding(CountingLanding):
    """Local disk seen as blob storage sees folders: no folder times (as on Azure / ADLS through the Blob API)."""

    def folder_stamp(self, folder):
        return None


@pytest.fixture(autouse=True)
def _fresh_counts():
    CountingLanding.calls.clear()
    HELD.clear()


def build_days(landing: LandingZone, days: int, per_folder: int, event_type: str = "receipt_created") -> list[str]:
    """Empty event files in ``days`` day folders from 2024-01-01, aged a month (as a long stream leaves them)."""
    folders = []
    for d in range(days):
        folder = f"events/{event_type}/{dt.date(2024, 1, 1) + dt.timedelta(days=d)}"
        base = landing._local_path(folder)
        base.mkdir(parents=True, exist_ok=True)
        for n in range(per_folder):
            path = base / f"p-{n:05d}.jsonl"
            path.touch()
            os.utime(path, (OLD, OLD))
        os.utime(base, (OLD, OLD))
        folders.append(folder)
    for parent in (f"events/{event_type}", "events"):
        os.utime(landing._local_path(parent), (OLD, OLD))
    return folders


# What "Bronze" holds in the planning tests: every file a run was requested for (the runs succeed).
HELD: set[str] = set()


def known(folder: str) -> set[str]:
    """``known(folder)`` as the worker asks Bronze: the files of a reopened folder already ingested."""
    return {p for p in HELD if p.startswith(folder + "/")}


def plan(cursor: FileCursor, listed) -> tuple[FileCursor, list[str]]:
    """One tick that requests, one that acknowledges (the runs succeeded): the paths requested."""
    group = {"group_of": lambda p: p.split("/")[2], "prefix": "t", "known": known}
    cursor, tick = plan_file_tick(cursor, listed, lambda k: None, **group)
    cursor, _ = plan_file_tick(cursor, listed, lambda k: "SUCCESS", **group)
    requested = sorted(p for b in tick.requests for p in b.files)
    HELD.update(requested)
    return cursor, requested


def poll(landing, cursor, memory, sweep=8, stamp_checks=1000):
    listed, bad, stats = list_event_files(landing, cursor, memory=memory, sweep_folders=sweep, stamp_checks=stamp_checks)
    cursor, requested = plan(cursor, listed)
    return cursor, requested, stats


def settled_cursor(landing) -> FileCursor:
    """A cursor that acknowledged every landed file (from full listings, as before this change)."""
    cursor = FileCursor()
    for _ in range(2):
        cursor, _ = plan(cursor, listed_event_files(landing)[0])
    return cursor


def folder_listings(calls) -> list[str]:
    return [folder for what, folder, _ in calls if what == "folder"]


@pytest.mark.parametrize("days", [6, 30])
def test_a_poll_lists_only_the_day_folders_the_cursor_still_needs(tmp_path, days):
    landing = CountingLanding(root_uri=str(tmp_path / "landing"))
    folders = build_days(landing, days, per_folder=20)
    cursor = settled_cursor(landing)
    assert len(cursor.closed) == days - 2, "all but the two newest day folders are settled"
    memory = FolderMemory()
    # A fresh process (no memory) lists events/, the type folder (day names only) and the two open days once, and
    # re-lists closed folders at most `sweep` per poll: never the whole landing zone.
    for n in range(math.ceil((days - 2) / 8)):
        CountingLanding.calls.clear()
        cursor, requested, stats = poll(landing, cursor, memory)
        assert requested == [] and stats.swept_folders <= 8
        assert not any(what == "list" and folder in ("events/", "events") for what, folder, _ in CountingLanding.calls)
        if n == 0:
            assert [(w, f) for w, f, _ in CountingLanding.calls][:2] == [("folders", "events"), ("folders", "events/receipt_created")]
            assert set(folder_listings(CountingLanding.calls)) >= set(folders[-2:])
    assert set(memory.folders) == set(folders), "every folder seen once"
    # From then on a poll lists nothing: the folder times say nothing changed.
    CountingLanding.calls.clear()
    cursor, requested, stats = poll(landing, cursor, memory)
    assert requested == [] and CountingLanding.calls == [] and stats.entries == 0
    assert stats.checked_folders == days - 2 and stats.stamps == 2 + days
    # New files in the newest day: only that folder is listed, and only its new file is requested.
    new = landing._local_path(folders[-1]) / "p-new.jsonl"
    new.touch()
    CountingLanding.calls.clear()
    cursor, requested, stats = poll(landing, cursor, memory)
    assert requested == [f"{folders[-1]}/p-new.jsonl"]
    assert folder_listings(CountingLanding.calls) == [folders[-1]]


def test_a_late_file_moved_into_a_settled_folder_is_found_at_the_next_poll_and_ingested_once(tmp_path):
    landing = CountingLanding(root_uri=str(tmp_path / "landing"))
    folders = build_days(landing, 12, per_folder=5)
    cursor = settled_cursor(landing)
    memory = FolderMemory()
    for _ in range(3):
        cursor, _, stats = poll(landing, cursor, memory, sweep=4)
    assert set(memory.folders) == set(folders)
    staged = tmp_path / "elsewhere.jsonl"
    staged.touch()
    os.utime(staged, (OLD - 86400, OLD - 86400))  # older than everything acknowledged
    os.replace(staged, landing._local_path(folders[3]) / "late.jsonl")  # what `mv` does: its old mtime stays
    CountingLanding.calls.clear()
    cursor, requested, _ = poll(landing, cursor, memory, sweep=4)
    assert requested == [f"{folders[3]}/late.jsonl"]
    assert folder_listings(CountingLanding.calls) == [folders[3]], "the changed folder only"
    for _ in range(3):
        cursor, requested, _ = poll(landing, cursor, memory, sweep=4)
        assert requested == [], "acknowledged once"
    assert folders[3] in cursor.closed, "acknowledged again, the folder closes again"


@pytest.mark.parametrize(
    ("kind", "sweep", "stamp_checks"),
    [("no folder times", 1, 1000), ("no folder times", 3, 1000), ("folder times", 8, 2), ("folder times", 8, 5)],
)
def test_a_late_file_in_any_settled_folder_is_found_within_the_documented_bound(tmp_path, kind, sweep, stamp_checks):
    """Blob storage has no folder times: closed folders are re-listed, `sweep` per poll, so a late file is found
    within ceil(closed folders / sweep) polls, wherever it lands. With folder times (local disk, once seen), a poll
    checks `stamp_checks` closed folders by time: within ceil(closed folders / stamp_checks) polls."""
    landing = (TimelessLanding if kind == "no folder times" else CountingLanding)(root_uri=str(tmp_path / "landing"))
    folders = build_days(landing, 9, per_folder=3)
    cursor = settled_cursor(landing)
    closed = len(cursor.closed)
    memory = FolderMemory()

    def poll_(cursor):
        return poll(landing, cursor, memory, sweep=sweep, stamp_checks=stamp_checks)

    for _ in range(math.ceil(closed / sweep) + 1):  # this process has seen every folder; the round is under way
        cursor, _, _ = poll_(cursor)
    bound = math.ceil(closed / (sweep if kind == "no folder times" else stamp_checks))
    for target in (folders[0], folders[closed - 1], folders[closed // 2]):
        moved = landing._local_path(target) / "late.jsonl"
        moved.touch()
        os.utime(moved, (OLD, OLD))
        found = None
        for n in range(1, bound + 1):
            cursor, requested, stats = poll_(cursor)
            assert stats.swept_folders <= sweep and stats.checked_folders <= stamp_checks
            if requested:
                found = (n, requested)
                break
        assert found is not None and found[1] == [f"{target}/late.jsonl"], f"not found within {bound} polls"
        for _ in range(bound + 1):
            cursor, requested, _ = poll_(cursor)
            assert requested == [], "ingested once"


@pytest.mark.azurite
def test_on_blob_storage_only_needed_folders_are_listed_and_a_late_file_is_swept_in(azurite, tmp_path):
    landing = azure_landing(azurite, "listing")
    days = [dt.date(2024, 1, 1) + dt.timedelta(days=d) for d in range(6)]
    for day in days:
        for n in range(3):
            landing.write_bytes(f"events/receipt_created/{day}/p-{n}.jsonl", b"")
    cursor = settled_cursor(landing)
    assert len(cursor.closed) == 4
    memory = FolderMemory()
    listed, _, stats = list_event_files(landing, cursor, memory=memory, sweep_folders=2)
    assert stats.listings == 2 + 2 + 2, "events/, the type folder, the two open days, two swept closed days"
    assert stats.stamps == 0, "blob storage has no folder times"
    assert {p.split("/")[2] for p, _, _ in listed} == {str(days[-2]), str(days[-1])}, "settled days are left out"
    landing.write_bytes(f"events/receipt_created/{days[1]}/late.jsonl", b"")
    requested = []
    for _ in range(2):  # ceil(4 closed / 2 per poll)
        cursor, requested, _ = poll(landing, cursor, memory, sweep=2)
        if requested:
            break
    assert requested == [f"events/receipt_created/{days[1]}/late.jsonl"]


# ---- retention --------------------------------------------------------------------------------

JANUARY = "2024-01-01"
MARCH = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)
TYPES = ["receipt_created", "inventory_updated"]


def land_january(landing, window_events) -> None:
    january = window_events.filter(
        (pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)) & pl.col("event_type").is_in(TYPES)
    )
    for i, part in enumerate(january.iter_slices(max(january.height // 4, 1))):
        sink = LandingSink(landing, name=f"p{i}")
        sink.send(part)
        sink.close()
    # A line Bronze quarantines: the quarantine must survive a rebuild after retention too.
    landing.write_bytes("events/receipt_created/2024-01-30/zz-bad.jsonl", b'{"not": "an event"}\n')


def bronze_month(lake) -> dict[str, pl.DataFrame]:
    out = {}
    for t in TYPES:
        out[t] = lake.read(f"bronze/{t}").drop("_ingested_at").sort("_source_file", "trace_id")
        if lake.exists(f"quarantine/bronze/{t}"):
            out[f"quarantine/{t}"] = (
                lake.read(f"quarantine/bronze/{t}").drop("quarantined_at").sort("source_file", "row_number")
            )
    return out


def rebuild(lake, landing, instance, raise_on_error=True):
    keys = [f"bronze/{t}" for t in TYPES]
    return materialize(build_bronze_assets(), keys, {"lake": lake, "landing": landing}, instance, JANUARY,
                       raise_on_error=raise_on_error)


def live_event_files(landing) -> list[str]:
    return [p for p, _, _ in landing._list("events/")]


def test_retention_is_off_by_default_and_keeps_every_file(lake, landing, instance, window_events):
    land_january(landing, window_events)
    cursor = settled_cursor(landing)
    before = live_event_files(landing)
    settings = Settings.from_env({})
    assert settings.landing_retention_days is None and settings.landing_retention_mode == "archive"
    report = prune_landing(landing, [cursor], retention_days=settings.landing_retention_days, lake=lake, now=MARCH)
    assert report.archived == report.deleted == [] and live_event_files(landing) == before


def test_archived_files_rebuild_the_same_bronze_month(lake, landing, instance, window_events):
    land_january(landing, window_events)
    rebuild(lake, landing, instance)
    built = bronze_month(lake)
    assert built["receipt_created"].height > 0 and built["quarantine/receipt_created"].height > 0
    cursor = settled_cursor(landing)
    unacknowledged = "events/receipt_created/2024-01-31/arrived-after.jsonl"
    landing.write_bytes(unacknowledged, b"")
    report = prune_landing(landing, [cursor], retention_days=7, mode="archive", lake=lake, now=MARCH)
    january = [p for p in before_prune(report) if "/2024-01-" in p]
    assert january and all(p in report.archived for p in january)
    assert unacknowledged in report.kept, "only acknowledged files are touched"
    assert [p for p in live_event_files(landing) if "/2024-01-" in p] == [unacknowledged]
    assert landing._local_path(f"{ARCHIVE}/{january[0]}").is_file()
    landing._local_path(unacknowledged).unlink()
    rebuild(lake, landing, instance)
    after = bronze_month(lake)
    for name, frame in built.items():
        assert after[name].equals(frame), f"{name}: a month rebuild after archiving gives the same rows"
    again = prune_landing(landing, [cursor], retention_days=7, mode="archive", lake=lake, now=MARCH)
    assert again.archived == [], "re-running changes nothing"


def test_the_worker_cursor_saved_in_the_instance_decides_what_is_acknowledged(lake, landing, instance, window_events):
    """What `retail-assets landing prune` and the maintenance job use: the cursors stored in the instance."""
    land_january(landing, window_events)
    assert prune_landing(landing, acknowledged_cursors(instance), retention_days=7, now=MARCH).archived == []
    save_state(instance, WorkerState(cursor=settled_cursor(landing)))
    report = prune_landing(landing, acknowledged_cursors(instance), retention_days=7, now=MARCH)
    assert report.archived and not report.kept


def before_prune(report) -> list[str]:
    return [*report.archived, *report.deleted]


def test_deleted_files_make_a_month_rebuild_refuse_instead_of_dropping_rows(lake, landing, instance, window_events):
    land_january(landing, window_events)
    rebuild(lake, landing, instance)
    built = bronze_month(lake)
    cursor = settled_cursor(landing)
    # Acknowledged by the cursor but absent from Bronze: not provably held, so not deleted.
    stray = "events/receipt_created/2024-01-30/stray.jsonl"
    landing.write_bytes(stray, b"")
    cursor.done[stray] = 0.0
    report = prune_landing(landing, [cursor], retention_days=7, mode="delete", lake=lake, now=MARCH)
    assert report.deleted and stray in report.kept and "Bronze holds no row" in report.kept[stray]
    assert landing.deleted_files("events/receipt_created/2024-01")
    result = rebuild(lake, landing, instance, raise_on_error=False)
    assert not result.success
    refusal = r"bronze/receipt_created 2024-01: \d+ landing files of this month were deleted"
    with pytest.raises(LandingPrunedError, match=refusal):
        landing.event_listing("receipt_created", dt.date(2024, 1, 1))
    after = bronze_month(lake)
    for name, frame in built.items():
        assert after[name].equals(frame), f"{name}: the refused rebuild left the month as it was"


@pytest.mark.azurite
def test_archive_on_blob_storage_keeps_the_month_readable(azurite, lake, instance, window_events):
    landing = azure_landing(azurite, "retention")
    land_january(landing, window_events)
    rebuild(lake, landing, instance)
    built = bronze_month(lake)
    report = prune_landing(landing, [settled_cursor(landing)], retention_days=7, lake=lake, now=MARCH)
    assert report.archived and not [p for p in live_event_files(landing) if "/2024-01-" in p]
    rebuild(lake, landing, instance)
    after = bronze_month(lake)
    for name, frame in built.items():
        assert after[name].equals(frame), name
