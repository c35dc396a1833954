"""The stream worker: one long-lived run applies landed batches to Bronze, the hot Silver facts and the minute
Gold KPIs; acknowledged once in Bronze, resumable, replay-safe, and visible in the catalog.

Real landing files, real Delta lake, the real job executed in process on a Dagster instance (the
worker stops after ``idle_seconds`` without new files, so each execution is one bounded stretch of a
stream).
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time
import warnings

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.defs.streaming import stream_worker, stream_worker_sensor
from retail_assets.lib.generator.output import write_dimensions
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets.lib.streaming.worker import STATE_KEY, load_state

JANUARY, FEBRUARY = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
RUN_CONFIG = {"ops": {"apply_landed_batches": {"config": {"idle_seconds": 1.0, "poll_seconds": 0.05, "report_seconds": 0.0}}}}


@pytest.fixture(scope="module")
def assets():
    return [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]


def dimensions(assets, resources, instance, *, silver: bool = True) -> None:
    layers = ("bronze", "silver") if silver else ("bronze",)
    keys = [k for a in assets if a.partitions_def is None for k in a.keys if k.path[0] in layers]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        assert dg.materialize(assets, selection=keys, resources=resources, instance=instance).success


def land(landing, events: pl.DataFrame, name: str) -> None:
    sink = LandingSink(landing, name=name)
    sink.send(events)
    sink.close()


def work(resources, instance) -> dg.ExecuteInProcessResult:
    return stream_worker.execute_in_process(run_config=RUN_CONFIG, resources=resources, instance=instance)


def receipts_by_minute(events: pl.DataFrame) -> pl.DataFrame:
    receipts = events.filter(pl.col("event_type") == "receipt_created").select(
        pl.col("ingest_timestamp").dt.truncate("1m").alias("ts"),
        pl.col("body").str.json_path_match("$.payload.store_id").cast(pl.Int64).alias("store_id"),
        pl.col("body").str.json_path_match("$.payload.total_cents").cast(pl.Int64).alias("total_cents"),
    )
    return (
        receipts.group_by("store_id", "ts")
        .agg(pl.len().cast(pl.Int64).alias("receipts"), pl.col("total_cents").sum().alias("total_sales_cents"))
        .sort("store_id", "ts")
    )


def gold_minutes(lake) -> pl.DataFrame:
    return lake.read("gold/sales_minute_store").select("store_id", "ts", "receipts", "total_sales_cents").sort("store_id", "ts")


def lake_state(lake) -> dict[str, pl.DataFrame]:
    tables = ["bronze/receipt_created", "silver/fact_receipts", "silver/fact_receipt_lines", "gold/sales_minute_store",
              "gold/top_products_15m", "gold/zone_dwell_minute", "gold/ble_presence_minute"]
    return {t: (f := lake.read(t).drop("_ingested_at", strict=False)).sort(f.columns, nulls_last=True) for t in tables}


def test_landed_batches_reach_the_minute_kpis_through_one_worker_run(tiny, window_events, lake, landing, resources, instance, assets):
    write_dimensions(tiny, [JANUARY, FEBRUARY], landing)
    dimensions(assets, resources, instance)
    cut = dt.datetime(2024, 1, 31, 12, tzinfo=dt.UTC)
    land(landing, window_events.filter(pl.col("ingest_timestamp") < cut), "first")

    sensor = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}))
    (request,) = sensor.run_requests
    assert request.run_key == "stream-worker:1"

    result = work(resources, instance)
    assert result.success
    assert gold_minutes(lake).equals(receipts_by_minute(window_events.filter(pl.col("ingest_timestamp") < cut)))

    # The catalog: a materialization per Bronze, Silver and Gold month touched, and the checks evaluated.
    materialized = {(e.asset_key.to_user_string(), e.partition) for e in result.get_asset_materialization_events()}
    assert {("bronze/receipt_created", "2024-01-01"), ("silver/fact_receipts", "2024-01-01"),
            ("gold/sales_minute_store", "2024-01-01"), ("gold/top_products_15m", "2024-01-01")} <= materialized
    evaluations = [e.event_specific_data for e in result.all_events if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION]
    checks = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}
    assert checks[("silver/fact_receipts", "reconciles_with_bronze")] is True
    assert checks[("gold/sales_minute_store", "reconciles_with_silver")] is True
    assert checks[("bronze/receipt_created", "schema_parity")] is True
    assert checks[("bronze/receipt_created", "nothing_quarantined")] is True
    assert checks[("silver/fact_receipts", "nothing_quarantined")] is True

    # Nothing waiting: the sensor starts no worker; a worker started anyway applies nothing.
    idle = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}, cursor="1"))
    assert not idle.run_requests
    before = lake_state(lake)
    assert work(resources, instance).get_asset_materialization_events() == []

    # The rest of the window lands (January's tail and February): the next run applies it; Gold has every receipt.
    land(landing, window_events.filter(pl.col("ingest_timestamp") >= cut), "second")
    assert work(resources, instance).success
    assert gold_minutes(lake).equals(receipts_by_minute(window_events))
    assert lake.read("gold/sales_minute_store", [FEBRUARY]).height > 0
    assert lake.read("silver/fact_receipts", [JANUARY]).height + lake.read("silver/fact_receipts", [FEBRUARY]).height == (
        window_events.filter(pl.col("event_type") == "receipt_created").height
    )
    assert before["gold/sales_minute_store"].height < lake.read("gold/sales_minute_store").height

    # A worker that lost its checkpoint applies every file again: nothing changes (Bronze commits nothing,
    # Silver appends nothing, Gold windows are rewritten with the same rows).
    settled = lake_state(lake)
    bronze_version = lake.version("bronze/receipt_created")
    instance.run_storage.set_cursor_values({STATE_KEY: ""})
    assert work(resources, instance).success
    assert lake.version("bronze/receipt_created") == bronze_version
    replayed = lake_state(lake)
    assert all(settled[t].equals(replayed[t]) for t in settled)


def test_a_month_whose_silver_fails_is_stale_until_a_rebuild_succeeds(tiny, window_events, lake, landing, resources, instance, assets):
    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance, silver=False)  # no Silver dimensions: the Silver facts cannot be built
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    land(landing, january, "only")

    result = work(resources, instance)
    assert result.success  # the worker keeps going: the batch is durably in Bronze
    state = load_state(instance)
    assert "2024-01-01" in state.stale and "dim_" in state.stale["2024-01-01"]
    assert lake.exists("bronze/receipt_created") and not lake.exists("gold/sales_minute_store")
    assert not state.cursor.inflight and state.cursor.done  # acknowledged all the same

    # The sensor restarts the worker for the stale month even with no new file; once the dimensions exist,
    # the month is rebuilt whole and Gold holds every receipt.
    request = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}))
    assert len(request.run_requests) == 1
    dimensions(assets, resources, instance)
    rebuilt = work(resources, instance)
    assert rebuilt.success
    assert not load_state(instance).stale
    assert gold_minutes(lake).equals(receipts_by_minute(january))
    # The month was rebuilt whole: its reconciliation counts the month back from the lake.
    (check,) = [
        e.event_specific_data for e in rebuilt.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.event_specific_data.asset_key == dg.AssetKey(["silver", "fact_receipts"])
        and e.event_specific_data.check_name == "reconciles_with_bronze"
    ]
    receipts = january.filter(pl.col("event_type") == "receipt_created").height
    assert check.passed and check.metadata["bronze_rows"].value == receipts == check.metadata["silver_rows"].value


def test_a_file_moved_in_with_an_old_mtime_reaches_bronze_once(tiny, window_events, lake, landing, resources, instance, assets):
    """A producer that writes elsewhere and mv's files in keeps their old modification time: the worker ingests
    them all the same (the cursor tracks file names, not times), and exactly once."""
    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance, silver=False)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    first, late = january.head(january.height - 40), january.tail(40)
    land(landing, first, "stream")
    assert work(resources, instance).success
    staged = landing.__class__(root_uri=str(landing._local_root.parent / "elsewhere"))
    land(staged, late, "moved")
    week_ago = time.time() - 7 * 86400
    for path, _, _ in staged._list("events/"):
        target = landing._local_path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.utime(staged._local_path(path), (week_ago, week_ago))
        os.replace(staged._local_path(path), target)  # what `mv` does: the old mtime stays
    assert work(resources, instance).success
    assert work(resources, instance).get_asset_materialization_events() == [], "nothing is ingested twice"
    stored = pl.concat([lake.read(f"bronze/{t}").select("trace_id") for t in january.get_column("event_type").unique()])
    assert stored.height == stored.n_unique() == january.height


def test_rejected_events_raise_the_warning_of_their_bronze_month(tiny, window_events, lake, landing, resources, instance, assets):
    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance, silver=False)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)).head(200)
    land(landing, january, "clean")
    day = january.filter(pl.col("event_type") == "receipt_created").get_column("ingest_timestamp").min()
    landing.write_bytes(f"events/receipt_created/{day:%Y-%m-%d}/broken.jsonl", b'{"event_type": "receipt_created"\n')
    result = work(resources, instance)
    assert result.success
    (warning,) = [
        e.event_specific_data for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.event_specific_data.asset_key == dg.AssetKey(["bronze", "receipt_created"])
        and e.event_specific_data.check_name == "nothing_quarantined"
    ]
    assert not warning.passed and warning.severity == dg.AssetCheckSeverity.WARN
    assert warning.metadata["by_reason"].value == {"malformed_json": 1}


def _receipt_files(window_events: pl.DataFrame) -> dict[str, list[str]]:
    """Three receipt files of one day sharing trace_ids: b repeats some of a's events exactly and one under another
    receipt_id (a conflict), c repeats one of b's. By the trace_id rule a's events win (its path sorts first): when a
    arrives last, the receipt b introduced must leave Silver although a's batch never mentions it."""
    receipts = window_events.filter(
        (pl.col("event_type") == "receipt_created") & (pl.col("ingest_timestamp").dt.date() == dt.date(2024, 1, 30))
    ).get_column("body").to_list()[:30]
    conflict = receipts[3].replace('"receipt_id":"', '"receipt_id":"X', 1)
    assert conflict != receipts[3]
    return {
        "a": receipts[:10],
        "b": receipts[5:20] + [conflict],
        "c": receipts[19:30],
    }


def _write(landing, name: str, lines: list[str]) -> None:
    landing.write_bytes(f"events/receipt_created/2024-01-30/{name}.jsonl", ("\n".join(lines) + "\n").encode())


@pytest.mark.parametrize("order", ["cba", "bca", "abc"])
def test_the_worker_gives_what_a_month_rebuild_gives_whatever_the_arrival_order(
    tiny, window_events, tmp_path, order, assets
):
    """The same files, arriving one at a time in different orders and applied by the worker, leave Bronze, its
    quarantine, the hot Silver fact and the minute Gold KPIs equal to a month rebuild from all the files."""
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone

    files = _receipt_files(window_events)

    def lakehouse(root):
        lake, landing = LakeStore(root_uri=str(root / "lake")), LandingZone(root_uri=str(root / "landing"))
        landing.ensure_root()
        write_dimensions(tiny, [JANUARY], landing)
        return lake, landing, {"lake": lake, "landing": landing}

    def state(lake) -> dict[str, pl.DataFrame]:
        tables = {"bronze/receipt_created": ["_ingested_at"], "quarantine/bronze/receipt_created": ["quarantined_at"],
                  "silver/fact_receipts": [], "gold/sales_minute_store": []}
        return {t: (f := lake.read(t).drop(drop, strict=False)).sort(f.columns, nulls_last=True) for t, drop in tables.items()}

    lake, landing, resources = lakehouse(tmp_path / "rebuild")
    for name, lines in files.items():
        _write(landing, name, lines)
    with dg.DagsterInstance.ephemeral() as instance:
        dimensions(assets, resources, instance)
        keys = [dg.AssetKey(k.split("/")) for k in ("bronze/receipt_created", "silver/fact_receipts", "gold/sales_minute_store")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            assert dg.materialize(assets, selection=keys, resources=resources, instance=instance, partition_key="2024-01-01").success
    rebuilt = state(lake)
    assert rebuilt["quarantine/bronze/receipt_created"].get_column("reason_code").to_list() == ["conflicting_duplicate"]

    lake, landing, resources = lakehouse(tmp_path / order)
    with dg.DagsterInstance.ephemeral() as instance:
        dimensions(assets, resources, instance)
        for name in order:
            _write(landing, name, files[name])
            assert work(resources, instance).success
    streamed = state(lake)
    for table, frame in rebuilt.items():
        assert streamed[table].equals(frame), f"{order}: {table} differs from the month rebuild"


def test_misnamed_files_are_quarantined_and_reported_once(tiny, window_events, lake, landing, resources, instance, assets):
    """A ``.json`` file and a day folder ``2024-01-32`` are never ingested: each gets one quarantine row, one warning
    (not one per poll), and the rest of the stream is applied."""
    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance)
    land(landing, window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)).head(100), "ok")
    for misnamed in ("events/receipt_created/2024-01-30/late.json", "events/receipt_created/2024-01-32/b.jsonl"):
        target = landing._local_path(misnamed)  # a producer outside the platform (write_bytes refuses such names)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(b"{}\n")
    sensor = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}))
    assert sensor.run_requests
    first, second = work(resources, instance), work(resources, instance)
    assert first.success and second.success
    logged = [entry.user_message for r in (first, second) for entry in instance.all_logs(r.run_id)]
    misnamed = [m for m in logged if "misnamed landing file" in m]
    assert len(misnamed) == 2, misnamed
    rows = lake.read("quarantine/bronze/receipt_created").filter(pl.col("reason_code") == "bad_file_name")
    assert sorted(rows.get_column("source_file").to_list()) == [
        "events/receipt_created/2024-01-30/late.json", "events/receipt_created/2024-01-32/b.jsonl"]
    assert lake.read("bronze/receipt_created").height > 0
    idle = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}, cursor="1"))
    assert not idle.run_requests, "reported misnamed files do not keep starting workers"


def _worker_in_thread(resources, instance, **config) -> tuple[threading.Thread, dict]:
    """The real worker job, executed in process on a thread (a long stretch of stream); its result lands in ``out``."""
    out: dict = {}
    run_config = {"ops": {"apply_landed_batches": {"config": {"poll_seconds": 0.05, "report_seconds": 3600.0, **config}}}}

    def run():
        out["result"] = stream_worker.execute_in_process(run_config=run_config, resources=resources, instance=instance)

    thread = threading.Thread(target=run)
    thread.start()
    return thread, out


def _wait(condition, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@pytest.fixture
def pool_instance(tmp_path):
    """Opens a persistent instance whose pools have one slot, as dagster.yaml's ``pools.default_limit`` (a context
    manager). The PostgreSQL tests (retail_assets_tests/postgres) run the hand-over test below on theirs."""

    def open_instance():
        (tmp_path / "home").mkdir()
        return dg.instance_for_test(temp_dir=str(tmp_path / "home"), overrides={"concurrency": {"pools": {"default_limit": 1}}})

    return open_instance


def test_the_worker_holds_the_stream_pool_and_hands_it_over_to_a_run_that_needs_it(
    tiny, window_events, lake, landing, resources, assets, pool_instance
):
    """The worker's op declares the stream pool, so its slot is held by Dagster itself for the run (no hand-made
    claims); a run that needs the pool (a month rebuild of a hot fact) makes the worker end after its batch, and
    the sensor does not start another worker while that run is active."""
    with pool_instance() as instance:
        write_dimensions(tiny, [JANUARY], landing)
        dimensions(assets, resources, instance)
        land(landing, window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)), "a")
        thread, out = _worker_in_thread(resources, instance, idle_seconds=60.0)
        storage = instance.event_log_storage
        assert _wait(lambda: lake.exists("gold/sales_minute_store"), 60.0), "the worker applied the batch"
        holders = {slot.run_id for slot in storage.get_concurrency_info("stream").claimed_slots}
        (worker_run,) = instance.get_runs(filters=dg.RunsFilter(job_name="stream_worker"))
        assert holders == {worker_run.run_id}, "the worker's run holds the pool's one slot"

        job = dg.Definitions(assets=assets, resources=resources).resolve_implicit_global_asset_job_def()
        rebuild = instance.create_run_for_job(
            job, asset_selection=frozenset({dg.AssetKey(["silver", "fact_receipts"])}), tags={"dagster/partition": "2024-01-01"}
        )
        thread.join(timeout=20.0)
        assert not thread.is_alive(), "the worker ended well before its 60 s idle time"
        assert out["result"].success
        logged = [e.user_message for e in instance.all_logs(worker_run.run_id)]
        assert any(f"run {rebuild.run_id[:8]}" in m and "handing it over" in m for m in logged), logged
        assert not storage.get_concurrency_info("stream").claimed_slots, "the slot is free for the rebuild"

        land(landing, window_events.filter(pl.col("ingest_timestamp") >= dt.datetime(2024, 2, 1, tzinfo=dt.UTC)), "b")
        sensor = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}))
        assert not sensor.run_requests and rebuild.run_id in sensor.skip_reason.skip_message
        instance.report_run_failed(instance.get_run_by_id(rebuild.run_id))
        sensor = stream_worker_sensor(dg.build_sensor_context(instance=instance, resources={"landing": landing}))
        assert len(sensor.run_requests) == 1, "files wait and no run needs the pool: a worker starts again"


def _with_unknown_payload_field(events: pl.DataFrame) -> pl.DataFrame:
    """One receipt_created event whose payload carries a field the spec does not know (schema drift)."""
    index = events.with_row_index().filter(pl.col("event_type") == "receipt_created").get_column("index")[0]
    body = events.get_column("body")[index].replace('"payload":{', '"payload":{"loyalty_tier":"gold",', 1)
    assert "loyalty_tier" in body
    return events.with_columns(pl.when(pl.int_range(pl.len()) == index).then(pl.lit(body)).otherwise("body").alias("body"))


def test_a_blocking_check_failing_inside_the_worker_holds_downstream_at_once(
    tiny, window_events, lake, landing, resources, instance, assets
):
    """Bronze schema drift in a streamed batch: the failed blocking check is in the catalog while the worker still
    runs (not at the next report, nor when the run ends), the hot Silver facts and minute Gold of the month are not
    built from it, a Silver step for that month is refused, and the worker's run does not fail for it. A clean batch
    releases the month, which is then rebuilt with every receipt."""
    from retail_assets.lib.checks import BLOCKING_CHECKS
    from retail_assets.lib.gates import failed_gates

    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    half = january.height // 2
    land(landing, _with_unknown_payload_field(january.head(half)), "drifted")
    thread, out = _worker_in_thread(resources, instance, idle_seconds=4.0)
    bronze = dg.AssetKey(["bronze", "receipt_created"])
    checks = list(BLOCKING_CHECKS[bronze].items())
    assert _wait(lambda: failed_gates(instance, checks, [JANUARY]), 30.0), "the gate holds while the worker runs"
    assert thread.is_alive(), "reported at once, not when the run ends"
    thread.join()
    assert out["result"].success, "a failed check is not a failed worker run"
    assert not lake.exists("silver/fact_receipts") and not lake.exists("gold/sales_minute_store")
    assert "failed its blocking check schema_parity" in load_state(instance).stale["2024-01-01"]
    (gate,) = failed_gates(instance, checks, [JANUARY])
    assert gate.check.name == "schema_parity" and gate.partition == "2024-01-01"

    land(landing, january.tail(january.height - half), "clean")
    assert work(resources, instance).success
    assert not failed_gates(instance, checks, [JANUARY])
    assert not load_state(instance).stale
    receipts = january.filter(pl.col("event_type") == "receipt_created").height
    assert lake.read("silver/fact_receipts", [JANUARY]).height == receipts


def test_the_stream_mode_picks_the_worker_or_one_run_per_batch(tmp_path):
    from retail_assets.defs.streaming import streaming_definitions
    from retail_assets.lib.settings import Settings, SettingsError

    def sensors(env: dict[str, str]) -> set[str]:
        return {s.name for s in streaming_definitions(Settings.from_env({"RETAIL_DATA_DIR": str(tmp_path), **env})).sensors}

    assert sensors({}) == {"stream_worker_sensor", "medallion_automation"}
    assert sensors({"RETAIL_STREAM_MODE": "runs"}) == {"landing_events_sensor", "medallion_automation"}
    with pytest.raises(SettingsError, match=r"RETAIL_STREAM_MODE='fast' is not one of \['worker', 'runs'\]"):
        Settings.from_env({"RETAIL_STREAM_MODE": "fast"})


NICENESS_PROBE = """
import os, sys
import dagster as dg
from retail_assets.lib.lake import LakeStore

@dg.op
def probe(lake: LakeStore):
    print("niceness", os.nice(0))

@dg.job
def job():
    probe()

tags = {"dagster/from_automation_condition": "true"} if sys.argv[1] == "automation" else {}
job.execute_in_process(resources={"lake": LakeStore(root_uri=sys.argv[2])}, tags=tags)
"""


@pytest.mark.parametrize(("launched_by", "increase"), [("automation", 10), ("a person", 0)])
def test_automation_runs_yield_the_cpu_to_the_stream(tmp_path, launched_by, increase):
    import os
    import subprocess
    import sys

    probe = subprocess.run([sys.executable, "-c", NICENESS_PROBE, launched_by.split()[0], str(tmp_path)],
                           capture_output=True, text=True, timeout=120, check=True)
    assert f"niceness {os.nice(0) + increase}" in probe.stdout


def test_a_worker_killed_between_bronze_and_silver_loses_no_silver_row(
    tiny, window_events, lake, landing, resources, instance, assets, monkeypatch
):
    """The batch's files are acknowledged once in Bronze; a worker that dies before its Silver append (simulated:
    the process is interrupted right there) leaves the month stale in the same saved state, so the next worker
    rebuilds it and Silver and Gold hold every receipt. Before, the acknowledged files were never appended."""
    import retail_assets.defs.streaming as streaming

    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    land(landing, january, "only")

    def killed(*args, **kwargs):
        raise KeyboardInterrupt("the worker's process died here")

    monkeypatch.setattr(streaming, "apply_downstream", killed)
    with pytest.raises(KeyboardInterrupt):
        stream_worker.execute_in_process(run_config=RUN_CONFIG, resources=resources, instance=instance)
    state = load_state(instance)
    assert state.cursor.done and not state.cursor.inflight, "acknowledged: the files are in Bronze"
    assert "2024-01-01" in state.stale and not lake.exists("silver/fact_receipts")

    monkeypatch.undo()
    assert work(resources, instance).success
    assert not load_state(instance).stale
    receipts = january.filter(pl.col("event_type") == "receipt_created").height
    assert lake.read("silver/fact_receipts", [JANUARY]).height == receipts
    assert gold_minutes(lake).equals(receipts_by_minute(january))


def test_the_worker_keeps_the_serving_file_up_to_the_lake(tiny, window_events, tmp_path, lake, landing, resources, instance, assets):
    """With ``serving_database`` (what the sensor sets), the minute KPIs the worker writes reach the serving DuckDB
    file at each report: after a run it serves exactly Gold's rows, a second batch included."""
    from retail_assets.lib.serving import query_serving

    database = str(tmp_path / "retail.duckdb")
    config = {"ops": {"apply_landed_batches": {"config": {
        "idle_seconds": 1.0, "poll_seconds": 0.05, "report_seconds": 0.0, "serving_database": database}}}}
    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    half = january.height // 2
    for name, part in (("first", january.head(half)), ("second", january.tail(january.height - half))):
        land(landing, part, name)
        assert stream_worker.execute_in_process(run_config=config, resources=resources, instance=instance).success
        served = query_serving(database, "SELECT store_id, ts, receipts, total_sales_cents FROM sales_minute_store")
        served = pl.DataFrame(served, schema=["store_id", "ts", "receipts", "total_sales_cents"], orient="row")
        gold = gold_minutes(lake)
        assert served.height == gold.height > 0
        naive = lambda f: f.with_columns(pl.col("ts").dt.convert_time_zone("UTC").dt.replace_time_zone(None))  # noqa: E731
        assert sorted(naive(served).iter_rows()) == sorted(naive(gold).iter_rows())
    assert not load_state(instance).serving, "nothing left to serve"


def test_the_workers_gold_checks_read_the_window_as_stored_and_can_fail(
    tiny, window_events, lake, landing, resources, instance, assets, monkeypatch
):
    """A faulty writer stores a minute row of gold/sales_minute_store twice when the worker replaces a window: the
    worker's ``grain_unique`` reads the window back from the lake, fails, and holds the month (stale, the gate in
    the catalog) instead of passing on the rows it meant to write. A rebuild with a sound writer releases it."""
    from retail_assets.lib.checks import BLOCKING_CHECKS
    from retail_assets.lib.gates import failed_gates
    from retail_assets.lib.lake import LakeStore

    write_dimensions(tiny, [JANUARY], landing)
    dimensions(assets, resources, instance)
    january = window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC))
    half = january.height // 2
    land(landing, january.head(half), "first")
    assert work(resources, instance).success
    gold = dg.AssetKey(["gold", "sales_minute_store"])
    checks = list(BLOCKING_CHECKS[gold].items())
    assert not failed_gates(instance, checks, [JANUARY])

    replace, overwrite_months = LakeStore.replace, LakeStore.overwrite_months

    def faulty(df: pl.DataFrame, table: str) -> pl.DataFrame:
        return pl.concat([df, df.head(1)]) if table == "gold/sales_minute_store" else df

    # Both writers of a minute Gold table: a window's replacement and a stale month's rebuild.
    monkeypatch.setattr(LakeStore, "replace", lambda self, table, df, **kw: replace(self, table, faulty(df, table), **kw))
    monkeypatch.setattr(
        LakeStore, "overwrite_months",
        lambda self, table, df, months, **kw: overwrite_months(self, table, faulty(df, table), months, **kw),
    )
    land(landing, january.tail(january.height - half), "second")
    # Idle for 3 s after the batch: a stale month is not rebuilt on its own straight after the batch that failed it
    # (that rebuild, by the whole-month writer, released the gate within the run whenever the batch took < 1 s: CI).
    idle = {"ops": {"apply_landed_batches": {"config": {**RUN_CONFIG["ops"]["apply_landed_batches"]["config"], "idle_seconds": 3.0}}}}
    result = stream_worker.execute_in_process(run_config=idle, resources=resources, instance=instance)
    assert result.success, "a failed check is not a failed worker run"
    (gate,) = failed_gates(instance, checks, [JANUARY])
    assert gate.check.name == "grain_unique" and gate.partition == "2024-01-01"
    assert "gold/sales_minute_store 2024-01 failed its blocking check grain_unique" in load_state(instance).stale["2024-01-01"]

    # Still faulty on the next batch: the month fails the same check again and stays held (the instance records a
    # second failed evaluation of the same check and partition: reported runless, Dagster refused it and the run failed).
    # A batch of events already in Bronze (dropped there as duplicates) is enough: the stale month is rebuilt whole.
    land(landing, january.tail(100), "third")
    assert work(resources, instance).success, "a check failing again is not a failed worker run"
    (again,) = failed_gates(instance, checks, [JANUARY])
    assert again.check.name == "grain_unique" and "grain_unique" in load_state(instance).stale["2024-01-01"]

    monkeypatch.undo()
    assert work(resources, instance).success
    assert not failed_gates(instance, checks, [JANUARY]) and not load_state(instance).stale
    assert gold_minutes(lake).equals(receipts_by_minute(january))
