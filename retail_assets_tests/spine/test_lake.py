"""LakeStore: month-partition writes on the local filesystem and on Azure storage (Azurite)."""

from __future__ import annotations

import datetime as dt
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import threading
import time
import uuid
from pathlib import Path

import polars as pl
import pytest

from retail_assets.lib.lake import LakeError, LakeStore, months_predicate
from retail_assets_tests.conftest import azure_lake

JAN, FEB, MAR, APR, MAY = (dt.date(2024, m, 1) for m in range(1, 6))
TABLE = "bronze/sales"


@pytest.fixture(params=["local", pytest.param("azurite", marks=pytest.mark.azurite)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> LakeStore:
    if request.param == "local":
        return LakeStore(root_uri=str(tmp_path / "lake"))
    return azure_lake(request.getfixturevalue("azurite"), f"lake{uuid.uuid4().hex[:12]}")


def month_frame(month: dt.date, values: list[int], label: str = "v1") -> pl.DataFrame:
    return pl.DataFrame(
        {
            "month_start": [month] * len(values),
            "amount_cents": values,
            "label": [label] * len(values),
            "event_ts": [dt.datetime(month.year, month.month, 2, tzinfo=dt.UTC)] * len(values),
        }
    )


def seed(store: LakeStore, months=(JAN, FEB, MAR, APR, MAY)) -> None:
    frames = [month_frame(m, [m.month * 10 + i for i in range(3)]) for m in months]
    store.overwrite_months(TABLE, pl.concat(frames), list(months))


def by_month(store: LakeStore) -> dict[dt.date, list[int]]:
    df = store.read(TABLE).sort("month_start", "amount_cents")
    return {m: g.get_column("amount_cents").to_list() for (m,), g in df.group_by("month_start", maintain_order=True)}


def test_rewriting_one_month_leaves_the_others_intact(store: LakeStore) -> None:
    seed(store)
    before = by_month(store)
    store.overwrite_months(TABLE, month_frame(FEB, [7, 8]), [FEB])
    after = by_month(store)
    assert after[FEB] == [7, 8]
    assert {m: v for m, v in after.items() if m != FEB} == {m: v for m, v in before.items() if m != FEB}


def test_a_three_month_range_write_replaces_exactly_those_months(store: LakeStore) -> None:
    seed(store)
    before = by_month(store)
    new = pl.concat([month_frame(FEB, [1]), month_frame(MAR, [2, 3]), month_frame(APR, [4])])
    report = store.overwrite_months(TABLE, new, [FEB, MAR, APR])
    after = by_month(store)
    assert report.predicate == "month_start >= '2024-02-01' AND month_start <= '2024-04-01'"
    assert after[FEB] == [1] and after[MAR] == [2, 3] and after[APR] == [4]
    assert after[JAN] == before[JAN] and after[MAY] == before[MAY]


def test_a_month_of_the_range_without_rows_ends_up_empty(store: LakeStore) -> None:
    seed(store)
    store.overwrite_months(TABLE, month_frame(FEB, [1]), [FEB, MAR])
    assert MAR not in by_month(store)


def test_rows_outside_the_months_are_refused_and_nothing_is_written(store: LakeStore) -> None:
    seed(store)
    version = store.version(TABLE)
    with pytest.raises(LakeError, match=r"rows have month_start in \['2024-03-01'\].*nothing was written"):
        store.overwrite_months(TABLE, pl.concat([month_frame(FEB, [1]), month_frame(MAR, [2])]), [FEB])
    assert store.version(TABLE) == version


SCHEMA = {"month_start": pl.Date, "amount_cents": pl.Int64, "label": pl.String, "event_ts": pl.Datetime("us", "UTC")}


def test_a_streamed_month_lands_in_one_commit_and_leaves_the_other_months(store: LakeStore) -> None:
    seed(store)
    before, version = by_month(store), store.version(TABLE)
    chunks = lambda: (month_frame(FEB, list(range(i * 4, i * 4 + 4))) for i in range(5))  # noqa: E731
    report = store.overwrite_months_streamed(TABLE, chunks, SCHEMA, [FEB])
    after = by_month(store)
    assert (report.rows, report.version) == (20, version + 1)
    assert after[FEB] == list(range(20))
    assert {m: v for m, v in after.items() if m != FEB} == {m: v for m, v in before.items() if m != FEB}


def test_a_stray_row_late_in_a_stream_commits_nothing(store: LakeStore) -> None:
    seed(store)
    before, version = by_month(store), store.version(TABLE)
    chunks = lambda: iter([month_frame(FEB, [1]), month_frame(FEB, [2]), month_frame(MAR, [3])])  # noqa: E731
    with pytest.raises(LakeError, match=r"month_start in \['2024-03-01'\].*nothing was written"):
        store.overwrite_months_streamed(TABLE, chunks, SCHEMA, [FEB])
    assert store.version(TABLE) == version and by_month(store) == before


def test_an_error_raised_by_the_chunks_reaches_the_caller_as_itself_and_commits_nothing(store: LakeStore) -> None:
    seed(store)
    before, version = by_month(store), store.version(TABLE)

    def chunks():
        yield month_frame(FEB, [1])
        raise ValueError("bronze/sales 2024-02: counts do not reconcile")

    with pytest.raises(ValueError, match="counts do not reconcile"):
        store.overwrite_months_streamed(TABLE, chunks, SCHEMA, [FEB])
    assert store.version(TABLE) == version and by_month(store) == before


def test_a_streamed_write_that_loses_a_commit_race_is_produced_again(store: LakeStore, monkeypatch) -> None:
    """The chunks cannot be replayed from a consumed iterator: a retried commit must call the factory again."""
    import retail_assets.lib.lake as lake_module

    seed(store)
    real, calls, made = lake_module.write_deltalake, [], []

    def losing_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            list(args[1])  # consume the stream, as a write that then loses the race would
            raise lake_module.CommitFailedError("a concurrent writer won")
        return real(*args, **kwargs)

    def chunks():
        made.append(1)
        return iter([month_frame(FEB, [1, 2]), month_frame(FEB, [3])])

    monkeypatch.setattr(lake_module, "write_deltalake", losing_once)
    report = store.overwrite_months_streamed(TABLE, chunks, SCHEMA, [FEB])
    assert (len(calls), len(made), report.rows) == (2, 2, 3)
    assert by_month(store)[FEB] == [1, 2, 3]


def test_a_new_column_is_added_and_older_months_read_it_as_null(store: LakeStore) -> None:
    seed(store, months=(JAN, FEB))
    store.overwrite_months(TABLE, month_frame(FEB, [5]).with_columns(pl.lit("web").alias("channel")), [FEB])
    df = store.read(TABLE)
    assert "channel" in df.columns
    assert df.filter(pl.col("month_start") == JAN).get_column("channel").null_count() == 3
    assert df.filter(pl.col("month_start") == FEB).get_column("channel").to_list() == ["web"]
    # Later writes without the new column still work (it becomes null for those rows).
    store.overwrite_months(TABLE, month_frame(JAN, [6]), [JAN])
    assert store.read(TABLE, [JAN]).get_column("channel").to_list() == [None]


def test_merge_updates_matching_keys_and_inserts_new_ones(store: LakeStore) -> None:
    first = pl.DataFrame({"store_id": [1, 2], "store_format": ["standard", "express"]})
    store.merge("silver/dim_stores", first, ["store_id"])
    metrics = store.merge(
        "silver/dim_stores", pl.DataFrame({"store_id": [2, 3], "store_format": ["superstore", "kiosk"]}), ["store_id"]
    )
    assert (metrics["num_target_rows_updated"], metrics["num_target_rows_inserted"]) == (1, 1)
    rows = store.read("silver/dim_stores").sort("store_id").rows()
    assert rows == [(1, "standard"), (2, "superstore"), (3, "kiosk")]


def test_history_records_each_commit_with_its_predicate_and_run(store: LakeStore) -> None:
    seed(store, months=(JAN,))
    seeded = store.version(TABLE)
    store.overwrite_months(TABLE, month_frame(JAN, [1]), [JAN], commit_metadata={"dagster_run_id": "run-42"})
    latest = store.history(TABLE)[0]
    assert latest["dagster_run_id"] == "run-42"
    assert latest["operationParameters"]["predicate"].startswith("month_start = '2024-01-01'")
    assert store.version(TABLE) == seeded + 1


def test_scan_prunes_to_the_requested_months(store: LakeStore) -> None:
    seed(store)
    assert store.scan(TABLE, [FEB, APR]).select("month_start").unique().collect().to_series().sort().to_list() == [FEB, APR]


def test_reading_a_table_that_does_not_exist_names_it(store: LakeStore) -> None:
    with pytest.raises(LakeError, match="silver/missing.*does not exist yet"):
        store.read("silver/missing")


def test_table_names_cannot_escape_the_root(store: LakeStore) -> None:
    with pytest.raises(LakeError, match="invalid lake table name"):
        store.uri("../outside")


def test_months_predicate_handles_gaps_and_year_ends() -> None:
    assert months_predicate([dt.date(2024, 12, 1), dt.date(2025, 1, 1)]) == (
        "month_start >= '2024-12-01' AND month_start <= '2025-01-01'"
    )
    assert months_predicate([JAN, MAR]) == "month_start IN ('2024-01-01', '2024-03-01')"


# ---- processes: concurrent writers and a writer killed mid-write ---------------------------------

WRITER = textwrap.dedent(
    """
    import datetime as dt, json, sys
    import polars as pl
    from retail_assets.lib.lake import LakeStore
    from dagster_deltalake import AzureConfig
    from dagster_deltalake.config import ClientConfig

    cfg = json.loads(sys.argv[1])
    if cfg.get("azure"):
        a = cfg["azure"]
        store = LakeStore(root_uri=cfg["root"], storage=AzureConfig(account_name=a["account"], account_key=a["key"]),
                          client=ClientConfig(allow_http=True), endpoint=a["endpoint"])
    else:
        store = LakeStore(root_uri=cfg["root"])
    month = dt.date.fromisoformat(cfg["month"])
    n = cfg["rows"]
    df = pl.DataFrame({
        "month_start": pl.repeat(month, n, eager=True),
        "amount_cents": pl.int_range(n, eager=True),
        "label": pl.int_range(n, eager=True).cast(pl.String),
        "event_ts": pl.repeat(dt.datetime(month.year, month.month, 2, tzinfo=dt.UTC), n, eager=True),
    })
    print("writing", flush=True)
    store.overwrite_months(cfg["table"], df, [month])
    print("done", flush=True)
    """
)


def _writer_config(store: LakeStore, month: dt.date, rows: int) -> str:
    import json

    cfg: dict = {"root": store.root_uri, "table": TABLE, "month": month.isoformat(), "rows": rows}
    if not store.is_local:
        cfg["azure"] = {
            "account": store.storage.account_name,
            "key": store.storage.account_key,
            "endpoint": store.endpoint,
        }
    return json.dumps(cfg)


def _spawn_writer(store: LakeStore, month: dt.date, rows: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, _writer_config(store, month, rows)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_concurrent_writers_to_different_months_all_land(store: LakeStore) -> None:
    seed(store)
    writers = {m: _spawn_writer(store, m, 1000 * m.month) for m in (FEB, MAR, APR)}
    for month, proc in writers.items():
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, f"writer for {month} failed: {err[-2000:]}"
    counts = store.read(TABLE).group_by("month_start").len().sort("month_start").rows()
    assert counts == [(JAN, 3), (FEB, 2000), (MAR, 3000), (APR, 4000), (MAY, 3)]


def _data_files(store: LakeStore) -> set[str]:
    if store.is_local:
        root = Path(store.uri(TABLE))
        return {str(p) for p in root.rglob("*") if p.is_file() and "_delta_log" not in p.parts}
    from azure.storage.blob import ContainerClient

    container = store.root_uri.split("://", 1)[1].split("@", 1)[0]
    client = ContainerClient(
        account_url=store.endpoint,
        container_name=container,
        credential={"account_name": store.storage.account_name, "account_key": store.storage.account_key},
    )
    # Uncommitted blobs are uploads in progress: seeing one means the writer is mid-write.
    blobs = client.list_blobs(name_starts_with="lake/bronze/sales/", include=["uncommittedblobs"])
    return {b.name for b in blobs if "_delta_log" not in b.name}


def test_a_writer_killed_mid_write_leaves_the_previous_version_and_a_rerun_converges(store: LakeStore) -> None:
    seed(store)
    version, before = store.version(TABLE), by_month(store)
    existing = _data_files(store)
    rows = 2_000_000
    proc = _spawn_writer(store, JAN, rows)
    assert proc.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 120
    # Kill as soon as the writer has put new data files down: the commit comes after them.
    while not (_data_files(store) - existing):
        assert proc.poll() is None, f"writer finished before it could be killed: {proc.stderr.read()[-2000:]}"
        assert time.monotonic() < deadline, "writer wrote no data file within 120 s"
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert _data_files(store) - existing, "the kill happened before any data file was written"
    assert store.version(TABLE) == version
    assert by_month(store) == before

    rerun = _spawn_writer(store, JAN, rows)
    _, err = rerun.communicate(timeout=300)
    assert rerun.returncode == 0, err[-2000:]
    after = store.read(TABLE)
    january = after.filter(pl.col("month_start") == JAN)
    assert january.height == rows
    assert january.get_column("amount_cents").sum() == rows * (rows - 1) // 2
    assert store.version(TABLE) == version + 1
    assert {m: v for m, v in by_month(store).items() if m != JAN} == {m: v for m, v in before.items() if m != JAN}


# ---- first writers of a table that does not exist yet ----------------------------------------------

# Each writer replaces its months with rows tagged by its name; JAN..MAR are written by two writers each.
FIRST_WRITERS = {"w1": [JAN], "w2": [FEB], "w3": [JAN, FEB, MAR], "w4": [APR], "w5": [MAR]}


def _writer_rows(name: str, months: list[dt.date]) -> pl.DataFrame:
    return pl.concat(
        [month_frame(m, [m.month * 100 + i for i in range(m.month + 1)], label=name) for m in months], how="vertical"
    )


def _race_first_writers(store: LakeStore, table: str) -> None:
    barrier = threading.Barrier(len(FIRST_WRITERS))
    errors: list[BaseException] = []

    def write(name: str, months: list[dt.date]) -> None:
        try:
            frame = _writer_rows(name, months)
            barrier.wait()
            store.overwrite_months(table, frame, months)
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)

    threads = [threading.Thread(target=write, args=item) for item in FIRST_WRITERS.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors


def _assert_each_month_is_one_writers_rows(store: LakeStore, table: str, trial: int) -> None:
    stored = store.read(table)
    for month in (JAN, FEB, MAR, APR):
        rows = stored.filter(pl.col("month_start") == month)
        labels = rows.get_column("label").unique().to_list()
        writers = [n for n, ms in FIRST_WRITERS.items() if month in ms]
        assert len(labels) == 1 and labels[0] in writers, f"trial {trial}, {month}: rows of {labels}, expected one of {writers}"
        expected = _writer_rows(labels[0], [month]).get_column("amount_cents").sort().to_list()
        assert rows.get_column("amount_cents").sort().to_list() == expected, f"trial {trial}, {month}: rows lost or doubled"


def test_concurrent_first_writers_of_a_new_table_never_lose_a_month(tmp_path: Path) -> None:
    """Five writers (overlapping months) race to create the same table, 50 times: every month holds exactly the
    rows of one of the writers that wrote it; none is lost to another writer's table creation."""
    store = LakeStore(root_uri=str(tmp_path / "lake"))
    for trial in range(50):
        table = f"bronze/race_{trial}"
        _race_first_writers(store, table)
        _assert_each_month_is_one_writers_rows(store, table, trial)


def test_a_damaged_transaction_log_is_named_with_its_version_and_what_to_do(tmp_path: Path) -> None:
    store = LakeStore(root_uri=str(tmp_path / "lake"))
    seed(store, months=(JAN,))
    store.overwrite_months(TABLE, month_frame(JAN, [1]), [JAN])
    newest = max(Path(store.uri(TABLE), "_delta_log").glob("*.json"))
    newest.write_text(newest.read_text()[: len(newest.read_text()) // 2])
    version = int(newest.stem)
    for attempt in (lambda: store.read(TABLE), lambda: store.version(TABLE), lambda: store.scan(TABLE),
                    lambda: store.overwrite_months(TABLE, month_frame(JAN, [2]), [JAN])):
        with pytest.raises(LakeError) as failure:
            attempt()
        message = str(failure.value)
        assert "\n" not in message
        assert f"lake table {TABLE} at {store.uri(TABLE)}" in message
        assert f"transaction log version {version} (_delta_log/{newest.name}) is damaged" in message
        assert f"roll the table back to version {version - 1}" in message


# ---- tables opened once and read many times (local lake) -------------------------------------------------------


def test_reads_follow_other_writers_a_rolled_back_log_and_a_recreated_table(tmp_path: Path) -> None:
    """A LakeStore that read a table before (and keeps it open) still reads what the log says now: commits by
    another writer (another process), a newest commit moved away (the documented rollback), a table recreated."""
    reader, writer = LakeStore(root_uri=str(tmp_path / "lake")), LakeStore(root_uri=str(tmp_path / "lake"))
    seed(writer, months=(JAN,))
    assert by_month(reader) == {JAN: [10, 11, 12]}
    writer.overwrite_months(TABLE, month_frame(JAN, [1]), [JAN])
    assert (reader.version(TABLE), by_month(reader)) == (writer.version(TABLE), {JAN: [1]})
    newest = max(Path(reader.uri(TABLE), "_delta_log").glob("*.json"))
    newest.rename(tmp_path / newest.name)  # roll back to the version before
    assert (reader.version(TABLE), by_month(reader)) == (int(newest.stem) - 1, {JAN: [10, 11, 12]})
    shutil.rmtree(reader.uri(TABLE))
    writer.overwrite_months(TABLE, month_frame(FEB, [5]), [FEB])  # a new table with as many versions as before
    writer.overwrite_months(TABLE, month_frame(FEB, [6]), [FEB])
    assert by_month(reader) == {FEB: [6]}


def test_a_lazy_scan_reads_the_version_it_was_built_on_even_after_a_write(tmp_path: Path) -> None:
    store = LakeStore(root_uri=str(tmp_path / "lake"))
    seed(store, months=(JAN,))
    before = store.scan(TABLE, [JAN])
    store.overwrite_months(TABLE, month_frame(JAN, [1]), [JAN])
    store.delete(TABLE, "amount_cents = 1")
    emptied = store.scan(TABLE, [JAN])
    store.restore_version(TABLE, store.version(TABLE) - 1)
    assert sorted(before.collect().get_column("amount_cents").to_list()) == [10, 11, 12]
    assert emptied.collect().height == 0
    assert store.read(TABLE).get_column("amount_cents").to_list() == [1]


def test_an_unchanged_table_is_opened_once_however_often_it_is_read(tmp_path: Path, monkeypatch) -> None:
    """Opening a table replays its log (milliseconds each time); the stream worker reads the same tables many
    times per batch. A write opens the table once more (a retry must see the winning commit), then reads use it."""
    import retail_assets.lib.lake as lake_module

    opened: list[str] = []

    class CountedDeltaTable(lake_module.DeltaTable):
        def __init__(self, uri, *args, **kwargs) -> None:
            opened.append(str(uri))
            super().__init__(uri, *args, **kwargs)

    seed(LakeStore(root_uri=str(tmp_path / "lake")), months=(JAN,))
    store = LakeStore(root_uri=str(tmp_path / "lake"))
    monkeypatch.setattr(lake_module, "DeltaTable", CountedDeltaTable)
    for _ in range(5):
        store.read(TABLE, [JAN])
        store.version(TABLE)
    assert len(opened) == 1
    store.overwrite_months(TABLE, month_frame(JAN, [1]), [JAN])
    assert store.read(TABLE, [JAN]).get_column("amount_cents").to_list() == [1]  # the written table, kept open
    assert len(opened) == 2
