"""Lake maintenance on real Delta tables: small files compacted, rows kept, only what is new, vacuum by age, the job.

Tables are written through ``LakeStore`` the way streamed tables grow (one small append per batch), under the
names of real tables so the job puts them in their writers' pools.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import uuid
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable
from deltalake.exceptions import CommitFailedError

from retail_assets.defs.bronze import BRONZE_EVENTS_POOL
from retail_assets.defs.maintenance import (
    GROUPS,
    JOB,
    MAINTAIN_OPS,
    SCHEDULE,
    lake_maintenance,
    maintenance_schedule,
    table_group,
)
from retail_assets.defs.silver import HOT_POOL
from retail_assets.lib import settings as s
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.maintenance import LEDGER, WRITTEN_BY, lake_tables, maintain_table, maintained_through
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.incremental import HOT_SILVER
from retail_assets_tests.conftest import azure_lake

JAN, FEB, MAR = dt.date(2024, 1, 1), dt.date(2024, 2, 1), dt.date(2024, 3, 1)
EVENTS = f"bronze/{sorted(REGISTRY.events_by_type)[0]}"
HOT = f"silver/{HOT_SILVER[0]}"
OTHER = "silver/dim_stores"


def _batch(month: dt.date, batch: int, rows: int = 3) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month_start": [month] * rows,
            "event_id": [f"{month:%Y%m}-{batch}-{i}" for i in range(rows)],
            "amount": [batch * 10 + i for i in range(rows)],
        }
    )


def _stream(lake: LakeStore, table: str, month: dt.date, batches: int, start: int = 0) -> None:
    for b in range(start, start + batches):
        lake.append(table, _batch(month, b), partition_by=["month_start"])


def _rows(lake: LakeStore, table: str, version: int | None = None) -> pl.DataFrame:
    if version is not None:
        frame = pl.read_delta(lake.uri(table), version=version, storage_options=lake.storage_options() or None)
    else:
        frame = lake.read(table)
    return frame.sort("event_id")


def _files(lake: LakeStore, table: str) -> dict[dt.date, set[str]]:
    delta = DeltaTable(lake.uri(table), storage_options=lake.storage_options() or None)
    actions = pl.DataFrame(delta.get_add_actions(flatten=True))
    return {m: set(g["path"]) for (m,), g in actions.group_by("partition.month_start")}


def _live(lake: LakeStore, table: str) -> int:
    return sum(len(paths) for paths in _files(lake, table).values())


def _on_disk(lake: LakeStore, table: str) -> set[str]:
    root = Path(lake.uri(table))
    return {p.relative_to(root).as_posix() for p in root.glob("month_start=*/*.parquet")}


@pytest.fixture(params=["local", pytest.param("azurite", marks=pytest.mark.azurite)])
def any_lake(request: pytest.FixtureRequest, lake: LakeStore) -> LakeStore:
    if request.param == "local":
        return lake
    return azure_lake(request.getfixturevalue("azurite"), f"lake{uuid.uuid4().hex[:12]}")


def _landing(lake: LakeStore) -> LandingZone:
    """An empty landing zone next to the lake (the job's retention step reads it; retention is off by default)."""
    zone = LandingZone(root_uri=str(Path(lake.root_uri).parent / "landing"))
    zone.ensure_root()
    return zone


def test_compacts_only_the_months_written_since_the_last_maintenance(any_lake: LakeStore):
    lake = any_lake
    _stream(lake, EVENTS, JAN, 20)
    last = lake.version(EVENTS)  # where a previous maintenance left the table
    _stream(lake, EVENTS, FEB, 25)
    rows, before = _rows(lake, EVENTS), _files(lake, EVENTS)

    result = maintain_table(lake, EVENTS, through=last, retention_hours=168, run_id="run-1")

    after = _files(lake, EVENTS)
    assert result.months == ["2024-02"]
    assert (result.files_compacted, result.files_written) == (25, 1)
    assert len(after[FEB]) == 1
    assert after[JAN] == before[JAN], "a month not written since the last maintenance is not rewritten"
    assert (result.files_before, result.files_after) == (45, 21)
    assert result.bytes_before > 0 and result.bytes_after > 0
    assert_frame_equal_checksum(_rows(lake, EVENTS), rows)
    delta = DeltaTable(lake.uri(EVENTS), storage_options=lake.storage_options() or None)
    commit = delta.history(1)[0]
    assert commit["operation"] == "OPTIMIZE" and commit["written_by"] == WRITTEN_BY
    # Nothing but our commit since: the next run starts after it. A checkpoint of that version was written.
    assert result.maintained_through == result.version_after == last + 25 + 1
    assert result.checkpoint and lake_tables(lake) == [EVENTS]
    if lake.is_local:
        assert (Path(lake.uri(EVENTS)) / "_delta_log" / f"{result.version_after:020d}.checkpoint.parquet").exists()
    again = maintain_table(lake, EVENTS, through=result.maintained_through, retention_hours=168, run_id="run-2")
    assert not again.changed and lake.version(EVENTS) == result.version_after


def assert_frame_equal_checksum(got: pl.DataFrame, want: pl.DataFrame) -> None:
    assert got.height == want.height
    assert got.hash_rows().sum() == want.hash_rows().sum()
    assert got.equals(want)


def test_a_second_run_with_nothing_new_does_nothing(lake: LakeStore):
    _stream(lake, EVENTS, JAN, 10)
    first = maintain_table(lake, EVENTS, through=None, retention_hours=168, run_id="run-1")
    assert first.changed and first.files_after == 1
    version, files = lake.version(EVENTS), _on_disk(lake, EVENTS)

    again = maintain_table(lake, EVENTS, through=first.maintained_through, retention_hours=168, run_id="run-2")

    assert not again.changed
    assert again.outcome == f"nothing new since version {version}"
    assert lake.version(EVENTS) == version and _on_disk(lake, EVENTS) == files
    # New appends to one month: that month only, then nothing new again.
    _stream(lake, EVENTS, MAR, 4)
    third = maintain_table(lake, EVENTS, through=again.maintained_through, retention_hours=168, run_id="run-3")
    assert third.months == ["2024-03"] and third.files_compacted == 4
    fourth = maintain_table(lake, EVENTS, through=third.maintained_through, retention_hours=168, run_id="run-4")
    assert not fourth.changed


def test_vacuum_deletes_only_files_unused_for_longer_than_the_retention(lake: LakeStore):
    _stream(lake, EVENTS, JAN, 6)
    small = _on_disk(lake, EVENTS)
    old_version = lake.version(EVENTS)
    rows = _rows(lake, EVENTS)
    partition = Path(lake.uri(EVENTS)) / "month_start=2024-01-01"
    # Files a crashed writer left outside the log: one two hours old, one just written.
    stale, fresh = partition / "crashed-old.parquet", partition / "crashed-new.parquet"
    for orphan in (stale, fresh):
        orphan.write_bytes(b"not committed")
    two_hours_ago = time.time() - 2 * 3600
    os.utime(stale, (two_hours_ago, two_hours_ago))

    compacted = maintain_table(lake, EVENTS, through=None, retention_hours=1, run_id="run-1")

    # The small files were removed from the table seconds ago: kept for time travel; the old orphan is gone.
    assert compacted.files_vacuumed == 1
    assert not stale.exists() and fresh.exists()
    assert small <= _on_disk(lake, EVENTS)
    assert_frame_equal_checksum(_rows(lake, EVENTS, old_version), rows)

    # A zero retention (allowed in the library, refused by the settings) deletes them; current files stay.
    vacuumed = maintain_table(
        lake, EVENTS, through=compacted.maintained_through, retention_hours=0, run_id="run-2"
    )
    assert vacuumed.files_vacuumed == len(small) + 1  # the small files and the fresh orphan
    remaining = _on_disk(lake, EVENTS)
    assert not (small & remaining) and len(remaining) == 1
    assert_frame_equal_checksum(_rows(lake, EVENTS), rows)
    with pytest.raises(Exception, match="(?i)not found|no such file|object at location"):
        _rows(lake, EVENTS, old_version)
    # Those removals are now out of the log's state: the next vacuum has nothing to list and commits nothing.
    version = lake.version(EVENTS)
    again = maintain_table(lake, EVENTS, through=vacuumed.maintained_through, retention_hours=0, run_id="run-3")
    assert not again.changed and lake.version(EVENTS) == version


def test_compaction_loses_to_a_concurrent_month_overwrite_and_nothing_is_lost(lake: LakeStore):
    """Delta's conflict detection, as maintenance relies on it for tables written by month runs (no pool)."""
    _stream(lake, OTHER, JAN, 5)
    planned = DeltaTable(lake.uri(OTHER))  # compaction planned on this version...
    rebuilt = _batch(JAN, 99, rows=7)
    lake.overwrite_months(OTHER, rebuilt, [JAN])  # ...while a month run replaces the month
    with pytest.raises(CommitFailedError):
        planned.optimize.compact()
    assert_frame_equal_checksum(_rows(lake, OTHER), rebuilt.sort("event_id"))

    # Both at once for real: every overwrite lands whole, whatever maintenance commits in between.
    stop, overwrites = threading.Event(), []

    def month_runs() -> None:
        generation = 0
        while not stop.is_set() and generation < 40:
            generation += 1
            frame = pl.concat([_batch(JAN, generation * 100 + b) for b in range(3)])
            lake.overwrite_months(OTHER, frame, [JAN])
            lake.append(OTHER, _batch(JAN, generation * 100 + 50), partition_by=["month_start"])
            overwrites.append(pl.concat([frame, _batch(JAN, generation * 100 + 50)]).sort("event_id"))

    writer = threading.Thread(target=month_runs)
    writer.start()
    through, outcomes = None, []
    try:
        for run in range(8):
            result = maintain_table(lake, OTHER, through=through, retention_hours=168, run_id=f"run-{run}")
            through = result.maintained_through
            outcomes.append(result.outcome)
    finally:
        stop.set()
        writer.join()
    assert_frame_equal_checksum(_rows(lake, OTHER), overwrites[-1])
    final = maintain_table(lake, OTHER, through=through, retention_hours=168, run_id="run-final")
    assert final.files_after == 1
    assert_frame_equal_checksum(_rows(lake, OTHER), overwrites[-1])


def test_the_job_maintains_every_table_in_its_writers_pool_and_records_it(
    lake: LakeStore, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
):
    monkeypatch.delenv(s.VACUUM_RETENTION_HOURS, raising=False)
    _stream(lake, EVENTS, JAN, 12)
    _stream(lake, HOT, JAN, 6)
    lake.overwrite_months(OTHER, _batch(JAN, 1), [JAN])
    checksums = {t: _rows(lake, t).hash_rows().sum() for t in (EVENTS, HOT, OTHER)}
    assert set(lake_tables(lake)) == {EVENTS, HOT, OTHER}
    assert [table_group(t) for t in (EVENTS, HOT, OTHER)] == list(GROUPS)

    result = lake_maintenance.execute_in_process(resources={"lake": lake, "landing": _landing(lake)}, instance=instance)

    assert result.success
    assert {t: _rows(lake, t).hash_rows().sum() for t in (EVENTS, HOT, OTHER)} == checksums
    assert [_live(lake, t) for t in (EVENTS, HOT, OTHER)] == [1, 1, 1]
    # Per table: the step's output metadata, and an observation on the asset's page.
    outputs = {
        e.step_key: e.event_specific_data.metadata
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key.startswith("maintain_")
    }
    events = outputs["maintain_bronze_event_tables[" + EVENTS.replace("/", "__") + "]"]
    assert (events["files_before"].value, events["files_after"].value) == (12, 1)
    assert events["bytes_before"].value > events["bytes_after"].value > 0
    assert events["months"].value == "2024-01" and events["seconds"].value > 0
    observed = instance.fetch_observations(dg.AssetKey(EVENTS.split("/")), limit=5).records
    assert len(observed) == 1
    assert observed[0].asset_observation.metadata["files_after"].value == 1
    # The run's summary: one typed row per table, the UI's table of what maintenance did.
    [summary] = [
        e.event_specific_data.metadata
        for e in result.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key == "record_lake_maintenance"
    ]
    per_table = {r.data["table"]: r.data for r in summary["per_table"].value.records}
    assert set(per_table) == {EVENTS, HOT, OTHER}
    assert (per_table[EVENTS]["files_before"], per_table[EVENTS]["files_after"]) == (12, 1)
    through = maintained_through(lake)
    assert through == {t: lake.version(t) for t in (EVENTS, HOT, OTHER)}
    ledger_version = lake.version(LEDGER)

    # Nothing new: a second run commits nothing anywhere and says so.
    again = lake_maintenance.execute_in_process(resources={"lake": lake, "landing": _landing(lake)}, instance=instance)
    assert again.success
    assert lake.version(LEDGER) == ledger_version
    assert maintained_through(lake) == through
    outcomes = [
        e.event_specific_data.metadata["outcome"].value
        for e in again.all_events
        if e.event_type_value == "STEP_OUTPUT" and e.step_key.startswith("maintain_")
    ]
    assert sorted(outcomes) == sorted(f"nothing new since version {lake.version(t)}" for t in (EVENTS, HOT, OTHER))
    assert len(instance.fetch_observations(dg.AssetKey(EVENTS.split("/")), limit=5).records) == 1


def test_a_run_killed_after_compacting_converges_on_the_next_run(lake: LakeStore, instance: dg.DagsterInstance):
    _stream(lake, EVENTS, JAN, 8)
    rows = _rows(lake, EVENTS)
    # The killed run compacted the table but never reached the ledger.
    maintain_table(lake, EVENTS, through=None, retention_hours=168, run_id="killed")
    assert not lake.exists(LEDGER)

    assert lake_maintenance.execute_in_process(resources={"lake": lake, "landing": _landing(lake)}, instance=instance).success
    assert len(_on_disk(lake, EVENTS)) == 1 + 8  # nothing compacted twice (the 8 small files await vacuum)
    assert_frame_equal_checksum(_rows(lake, EVENTS), rows)
    assert maintained_through(lake) == {EVENTS: lake.version(EVENTS)}


def test_maintenance_steps_wait_for_the_pool_their_writers_hold(lake: LakeStore, tmp_path: Path):
    """A Bronze event table is not compacted while a writer holds the bronze events pool's slot."""
    _stream(lake, EVENTS, JAN, 5)
    with dg.instance_for_test(temp_dir=str(tmp_path)) as instance:
        _wait_for_pool(lake, instance)


def _wait_for_pool(lake: LakeStore, instance: dg.DagsterInstance) -> None:
    storage = instance.event_log_storage
    storage.set_concurrency_slots(BRONZE_EVENTS_POOL, 1)
    assert storage.claim_concurrency_slot(BRONZE_EVENTS_POOL, "writer-run", "writer-step").is_claimed
    runs: list[dg.ExecuteInProcessResult] = []
    job = threading.Thread(
        target=lambda: runs.append(lake_maintenance.execute_in_process(resources={"lake": lake, "landing": _landing(lake)}, instance=instance))
    )
    job.start()
    try:
        time.sleep(4)
        assert job.is_alive() and len(_on_disk(lake, EVENTS)) == 5, "compacted while the writer held the pool"
    finally:
        storage.free_concurrency_slots_for_run("writer-run")
    job.join(timeout=120)
    assert runs and runs[0].success
    assert len(_on_disk(lake, EVENTS)) == 6  # compacted once the slot was free (the small files await vacuum)


def test_steps_are_in_the_pools_of_the_writers():
    assert MAINTAIN_OPS["bronze_event_tables"].pools == {BRONZE_EVENTS_POOL}
    assert MAINTAIN_OPS["hot_tables"].pools == {HOT_POOL}
    assert MAINTAIN_OPS["other_tables"].pools == set()
    assert table_group(f"quarantine/{EVENTS}") == "bronze_event_tables"
    assert table_group("gold/sales_minute_store") == "hot_tables"
    assert table_group("gold/daily_sales_by_channel") == "other_tables"


def test_the_schedule_runs_the_job_at_the_configured_time(monkeypatch: pytest.MonkeyPatch):
    from retail_assets.definitions import defs

    monkeypatch.delenv(s.MAINTENANCE_CRON, raising=False)
    schedule = defs().get_schedule_def(SCHEDULE)
    assert (schedule.cron_schedule, schedule.job_name) == ("0 3 * * *", JOB)
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING

    monkeypatch.setenv(s.MAINTENANCE_CRON, "30 1 * * *")
    monkeypatch.setenv(s.VACUUM_RETENTION_HOURS, "72")
    settings = s.Settings.from_env()
    assert maintenance_schedule(settings).cron_schedule == "30 1 * * *" and settings.vacuum_retention_hours == 72
    assert defs().get_schedule_def(SCHEDULE).cron_schedule == "30 1 * * *"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        (s.MAINTENANCE_CRON, "3am", "RETAIL_MAINTENANCE_CRON='3am' is not a cron schedule"),
        (s.VACUUM_RETENTION_HOURS, "0", "RETAIL_VACUUM_RETENTION_HOURS='0' is not a whole number of hours"),
        (s.VACUUM_RETENTION_HOURS, "a week", "RETAIL_VACUUM_RETENTION_HOURS='a week'"),
    ],
)
def test_bad_maintenance_settings_are_refused_by_name(name: str, value: str, message: str):
    with pytest.raises(s.SettingsError, match=message):
        s.Settings.from_env({name: value})


def test_the_job_applies_landing_retention_to_acknowledged_files_only(
    lake: LakeStore, instance: dg.DagsterInstance, monkeypatch: pytest.MonkeyPatch
):
    """With RETAIL_LANDING_RETENTION_DAYS set, the daily job archives the acknowledged event files of old day folders
    (their landing path kept under archive/, where month rebuilds still read them) and leaves the rest."""
    from retail_assets.lib.streaming.cursor import FileCursor
    from retail_assets.lib.streaming.worker import WorkerState, save_state

    landing = _landing(lake)
    old, unacked = "events/receipt_created/2024-01-03/a-000001.jsonl", "events/receipt_created/2024-01-03/b-000001.jsonl"
    for path in (old, unacked):
        landing.write_bytes(path, b"{}\n")
    save_state(instance, WorkerState(cursor=FileCursor(done={old: time.time()})))
    monkeypatch.setenv("RETAIL_LANDING_RETENTION_DAYS", "7")
    result = lake_maintenance.execute_in_process(resources={"lake": lake, "landing": landing}, instance=instance)
    assert result.success
    root = Path(landing.root_uri)
    assert not (root / old).exists() and (root / "archive" / old).exists(), "acknowledged and old: archived"
    assert (root / unacked).exists(), "never acknowledged: left in place"
    metadata = result.output_for_node("prune_landing_files") is None and next(
        e.event_specific_data.metadata for e in result.all_events
        if e.event_type == dg.DagsterEventType.STEP_OUTPUT and e.step_key == "prune_landing_files"
    )
    assert metadata["files_archived"].value == 1
