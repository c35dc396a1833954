"""Incremental Silver and Gold (lib/streaming/incremental.py) give what a month rebuild gives.

Real landing files, real Bronze ingestion, real Delta tables: a month is built from its first
events and from batch files that also hold some of the later events' rows, then later batches are
applied incrementally (appends overlapping batch rows, a replay, a bad row, a key that comes back
with new content); at the end a full rebuild of the month must find nothing to change.
"""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import KEEPS_BRONZE_KEYS, build_silver_assets, worker_check_outcomes
from retail_assets.lib.checks import NOTHING_QUARANTINED

from retail_assets.lib.bronze import ingest_event_batch
from retail_assets.lib.generator.output import landing_path, parquet_bytes, write_dimensions
from retail_assets.lib.gold.pipeline import gold_path, materialize_gold_month
from retail_assets.lib.landing import parse_landing_path
from retail_assets.lib.silver.pipeline import materialize_fact_month, quarantine_table, silver_table
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.incremental import (
    HOT_SILVER,
    MINUTE_GOLD,
    aligned_window,
)
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets.lib.streaming.worker import apply_downstream

MONTH = dt.date(2024, 1, 1)
HOT_EVENTS = ("receipt_created", "receipt_line_added", "customer_entered", "ble_ping_detected")


def land(landing, events: pl.DataFrame, name: str) -> list[str]:
    sink = LandingSink(landing, name=name)
    sink.send(events)
    sink.close()
    return sorted(p for p, _, _ in landing._list("events/") if f"/{name}-" in p)


def ingest(lake, landing, files: list[str]) -> None:
    by_type: dict[str, list[str]] = {}
    for path in files:
        parsed = parse_landing_path(path)
        if parsed.month == MONTH:
            by_type.setdefault(parsed.table, []).append(path)
    for event_type, paths in sorted(by_type.items()):
        ingest_event_batch(lake, landing, event_type, MONTH, paths, dt.datetime.now(dt.UTC))


def apply(lake, files: list[str]) -> dict[str, dict]:
    """What the stream worker does after Bronze: append the hot Silver facts, refresh their Gold windows."""
    down = apply_downstream(lake, MONTH, files, HOT_EVENTS, rebuild=False)
    assert down.error is None, down.error
    return {"silver": down.silver, "gold": down.gold}


def snapshot(lake) -> dict[str, pl.DataFrame]:
    tables = {}
    for table in HOT_SILVER:
        key = list(REGISTRY.table(table).primary_key)
        tables[silver_table(table)] = lake.read(silver_table(table), [MONTH]).sort(key)
        if lake.exists(quarantine_table(table)):
            q = lake.read(quarantine_table(table), [MONTH]).drop("quarantined_at")
            tables[quarantine_table(table)] = q.sort(q.columns, nulls_last=True)
    for name in MINUTE_GOLD:
        g = lake.read(gold_path(name), [MONTH])
        tables[gold_path(name)] = g.sort(g.columns, nulls_last=True)
    return tables


def _dimensions(lake, landing) -> None:
    assets = [*build_bronze_assets(), *build_silver_assets()]
    dims = [k for a in assets if a.partitions_def is None for k in a.keys]
    assert dg.materialize(assets, selection=dims, resources={"lake": lake, "landing": landing}).success


def _land_batch_files(lake, landing, window_facts, start: dt.datetime, end: dt.datetime) -> dict[str, pl.DataFrame]:
    """January batch files of receipts and BLE pings holding the generator's rows of [start, end), as Bronze
    reads them. One receipt's total is off by a cent (its event, which carries the total, disagrees); one
    ping names another customer (an event's customer_id is resolved by Silver, never carried: no conflict)."""
    receipts = window_facts["fact_receipts"].filter(pl.col("event_ts").is_between(start, end, closed="left"))
    pings = window_facts["fact_ble_pings"].filter(
        pl.col("event_ts").is_between(start, end, closed="left") & pl.col("customer_id").is_not_null()
    )
    receipts = receipts.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.col("total_cents") + 1).otherwise(pl.col("total_cents")).alias("total_cents")
    )
    other = pings["customer_id"].filter(pings["customer_id"] != pings["customer_id"][0])[0]
    pings = pings.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit(other)).otherwise(pl.col("customer_id")).alias("customer_id")
    )
    batch = {"fact_receipts": receipts, "fact_ble_pings": pings}
    for table, frame in batch.items():
        landing.write_bytes(landing_path(table, MONTH), parquet_bytes(frame))
    assets = [*build_bronze_assets(), *build_silver_assets()]
    keys = [dg.AssetKey(["bronze", table]) for table in batch]
    result = dg.materialize(assets, selection=keys, resources={"lake": lake, "landing": landing}, partition_key=MONTH.isoformat())
    assert result.success
    return batch


def test_batches_applied_incrementally_equal_a_rebuild_of_the_month(tiny, window_facts, window_events, lake, landing):
    write_dimensions(tiny, [MONTH], landing)
    _dimensions(lake, landing)
    events = window_events.filter(pl.col("event_type").is_in(HOT_EVENTS) & (pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)))
    cut = dt.datetime(2024, 1, 31, tzinfo=dt.UTC)
    later = events.filter(pl.col("ingest_timestamp") >= cut).sort("ingest_timestamp")
    assert later.height > 500  # three streamed batches of a few hundred events each
    chunks = [later.slice(0, later.height // 3), later.slice(later.height // 3, later.height // 3)]
    rest = later.slice(2 * (later.height // 3))
    # The batch files hold the first half of the first later batch's span: those events overlap batch rows.
    overlap_end = cut + (chunks[0]["ingest_timestamp"].max() - cut) / 2
    batch = _land_batch_files(lake, landing, window_facts, cut, overlap_end)

    first = land(landing, events.filter(pl.col("ingest_timestamp") < cut), "first")
    ingest(lake, landing, first)
    for table in HOT_SILVER:
        materialize_fact_month(lake, table, MONTH)
    for name in MINUTE_GOLD:
        materialize_gold_month(lake, name, MONTH)

    # 1. a batch overlapping batch rows: appended (never a month rebuild), each event judged against its batch
    #    row: the receipt whose total disagrees is quarantined, the ping with another customer is a duplicate.
    files = land(landing, chunks[0], "b1")
    ingest(lake, landing, files)
    applied = apply(lake, files)
    receipts, pings = applied["silver"]["fact_receipts"], applied["silver"]["fact_ble_pings"]
    assert all(a.mode == "append" for a in applied["silver"].values()), {t: a.reason for t, a in applied["silver"].items()}
    assert receipts.appended.height > 0 and receipts.reconciles and pings.reconciles
    assert receipts.build.quarantined_by_reason == {"conflicts_with_batch": 1}
    assert receipts.duplicates_of_stored == batch["fact_receipts"].height - 1
    assert pings.build.events_matching_batch == 1 and pings.build.quarantine.height == 0
    assert pings.duplicates_of_stored + pings.build.events_matching_batch == batch["fact_ble_pings"].height
    assert receipts.quarantine_codes["reason_code"].to_list() == ["conflicts_with_batch"]
    reported = worker_check_outcomes(lake, receipts)  # what the worker reports for the month (a WARN, no rebuild)
    assert set(reported) == {NOTHING_QUARANTINED} and not reported[NOTHING_QUARANTINED].passed
    assert reported[NOTHING_QUARANTINED].metadata["by_reason"] == {"conflicts_with_batch": 1}
    window = receipts.window
    assert window is not None and window[0].minute % 15 == 0 and (window[1] - window[0]) >= dt.timedelta(minutes=15)
    gold = applied["gold"]["sales_minute_store"]
    assert gold.mode == "window" and all(b.holds for b in gold.balances) and gold.balances
    assert_a_rebuild_changes_nothing(lake)

    # 2. the same batch again: nothing appended, nothing changes.
    before = snapshot(lake)
    again = apply(lake, files)
    assert all(a.mode == "append" and a.appended.height == 0 for a in again["silver"].values())
    assert again["silver"]["fact_receipts"].duplicates_of_stored == receipts.appended.height + receipts.duplicates_of_stored
    after = snapshot(lake)
    assert before.keys() == after.keys() and all(before[k].equals(after[k]) for k in before)

    # 3. a batch with a receipt for an unknown store: quarantined, the rest appended.
    bad = chunks[1].with_columns(
        pl.when(pl.col("event_type") == "receipt_created")
        .then(pl.col("body").str.replace(r'"store_id":\s*\d+', '"store_id":999999', literal=False))
        .otherwise(pl.col("body"))
        .alias("body")
    )
    files = land(landing, bad, "b2")
    ingest(lake, landing, files)
    applied = apply(lake, files)
    receipts = applied["silver"]["fact_receipts"]
    assert receipts.mode == "append" and receipts.quarantined > 0 and receipts.reconciles
    assert receipts.build.quarantined_by_reason.get("fk_miss", 0) > 0
    assert_a_rebuild_changes_nothing(lake)

    # 4. a receipt that comes back with another total under a new trace id: the month is rebuilt and both
    #    versions are quarantined as a conflict, exactly as a rebuild decides.
    original = rest.filter(pl.col("event_type") == "receipt_created").head(1)
    changed = original.with_columns(
        pl.col("body").map_elements(lambda b: _retotal(b), return_dtype=pl.String)
    )
    files = land(landing, pl.concat([rest, changed]), "b3")
    ingest(lake, landing, files)
    applied = apply(lake, files)
    assert applied["silver"]["fact_receipts"].mode == "rebuild"
    assert applied["gold"]["sales_minute_store"].mode == "month"
    reported = worker_check_outcomes(lake, applied["silver"]["fact_receipts"])
    assert reported[KEEPS_BRONZE_KEYS].passed and reported[KEEPS_BRONZE_KEYS].metadata["batch_keys"] == batch["fact_receipts"].height
    # step 3's unknown stores, the two versions of the changed receipt, the receipt disagreeing with its batch row
    assert set(reported[NOTHING_QUARANTINED].metadata["by_reason"]) == {"fk_miss", "conflicting_duplicate", "conflicts_with_batch"}

    assert_a_rebuild_changes_nothing(lake)


def assert_a_rebuild_changes_nothing(lake) -> None:
    incremental = snapshot(lake)
    for table in HOT_SILVER:
        materialize_fact_month(lake, table, MONTH)
    for name in MINUTE_GOLD:
        materialize_gold_month(lake, name, MONTH)
    rebuilt = snapshot(lake)
    assert incremental.keys() == rebuilt.keys()
    for name in rebuilt:
        assert incremental[name].height > 0 or name.startswith("quarantine"), name
        assert incremental[name].equals(rebuilt[name]), name


def _retotal(body: str) -> str:
    event = json.loads(body)
    event["trace_id"] = event["trace_id"] + "-again"
    event["payload"]["total_cents"] = event["payload"]["total_cents"] + 100
    event["payload"]["total"] = round(event["payload"]["total"] + 1, 2)
    return json.dumps(event)


def test_aligned_window_covers_whole_15_minute_buckets_inside_the_month():
    times = pl.Series([dt.datetime(2024, 1, 31, 23, 50, 1, tzinfo=dt.UTC), dt.datetime(2024, 1, 31, 10, 7, tzinfo=dt.UTC)])
    assert aligned_window(times, MONTH) == (
        dt.datetime(2024, 1, 31, 10, 0, tzinfo=dt.UTC),
        dt.datetime(2024, 2, 1, 0, 0, tzinfo=dt.UTC),
    )
    assert aligned_window(pl.Series([], dtype=pl.Datetime("us", "UTC")), MONTH) is None
