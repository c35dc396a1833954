"""The streaming hot path: a landed batch, run as the landing sensor requests it, reaches the Gold minute KPIs.

One run per batch and month carries Bronze (one step for every event type), the Silver facts the
events map to that feed a minute-grain Gold table, and those Gold tables (docs/streaming.md,
Performance). Real landing files, real Delta lake, real Dagster runs on one instance.
"""

from __future__ import annotations

import datetime as dt
import warnings

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.defs.streaming import RUN_KEY_TAG, landing_events_sensor
from retail_assets.lib.generator.output import write_dimensions
from retail_assets.lib.streaming.cursor import FileCursor
from retail_assets.lib.streaming.sinks import LandingSink


@pytest.fixture(scope="module")
def assets():
    return [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]


def tick(landing, instance, cursor):
    return landing_events_sensor(dg.build_sensor_context(cursor=cursor, resources={"landing": landing}, instance=instance))


def run(request: dg.RunRequest, assets, resources, instance) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.materialize(
            assets,
            selection=request.asset_selection,
            partition_key=request.partition_key,
            run_config=request.run_config,
            tags={**request.tags, RUN_KEY_TAG: request.run_key},
            resources=resources,
            instance=instance,
            raise_on_error=False,
        )


def land(landing, events: pl.DataFrame) -> None:
    sink = LandingSink(landing, name="hot")
    sink.send(events)
    sink.close()


def expected_minutes(events: pl.DataFrame) -> pl.DataFrame:
    receipts = events.filter(pl.col("event_type") == "receipt_created").select(
        pl.col("ingest_timestamp").dt.truncate("1m").alias("ts"),
        pl.col("body").str.json_path_match("$.payload.store_id").cast(pl.Int64).alias("store_id"),
        pl.col("body").str.json_path_match("$.payload.total_cents").cast(pl.Int64).alias("total_cents"),
    )
    return receipts.group_by("store_id", "ts").agg(
        pl.len().cast(pl.Int64).alias("receipts"), pl.col("total_cents").sum().alias("total_sales_cents")
    )


def test_a_landed_batch_reaches_the_gold_minute_kpis_in_the_run_the_sensor_requests(
    tiny, window_events, lake, landing, resources, instance, assets
):
    write_dimensions(tiny, [dt.date(2024, 1, 1)], landing)
    dims = [k for a in assets if a.partitions_def is None for k in a.keys if k.path[0] in ("bronze", "silver")]
    assert dg.materialize(assets, selection=dims, resources=resources, instance=instance).success
    land(landing, window_events)

    result = tick(landing, instance, None)
    requests = sorted(result.run_requests, key=lambda r: r.partition_key)
    assert [r.partition_key for r in requests] == ["2024-01-01", "2024-02-01"]
    selection = {k.to_user_string() for k in requests[0].asset_selection}
    assert {"bronze/receipt_created", "silver/fact_receipts", "gold/sales_minute_store"} <= selection
    assert {"gold/zone_dwell_minute", "gold/ble_presence_minute", "gold/top_products_15m"} <= selection
    # Only the hot path: daily Gold and Silver facts no minute KPI reads follow by automation.
    assert not selection & {"gold/store_performance_daily", "silver/fact_payments", "silver/fact_marketing"}
    assert list(requests[0].run_config["ops"]) == ["bronze_events"]

    for request in requests:
        executed = run(request, assets, resources, instance)
        assert executed.success
        # Bronze is one step whatever the number of event types in the batch.
        assert sum(s.step_key.startswith("bronze") for s in executed.get_step_success_events()) == 1

    gold = lake.read("gold/sales_minute_store").select("store_id", "ts", "receipts", "total_sales_cents")
    expected = expected_minutes(window_events)
    assert expected.height > 0
    assert gold.sort("store_id", "ts").equals(expected.select(gold.columns).sort("store_id", "ts"))
    settled = tick(landing, instance, result.cursor)
    assert settled.run_requests == [] and not FileCursor.from_json(settled.cursor).inflight


def test_a_failed_silver_step_stops_gold_but_the_durable_bronze_batch_is_acknowledged(
    window_events, lake, landing, resources, instance, assets
):
    # No Silver dimensions: the Silver facts of the batch cannot be built, so the run fails after Bronze.
    land(landing, window_events.filter(pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)))
    result = tick(landing, instance, None)
    (request,) = result.run_requests
    executed = run(request, assets, resources, instance)
    assert not executed.success
    assert lake.exists("bronze/receipt_created") and not lake.exists("gold/sales_minute_store")
    # The batch is in Bronze, durably: acknowledged, not ingested again.
    settled = tick(landing, instance, result.cursor)
    cursor = FileCursor.from_json(settled.cursor)
    assert settled.run_requests == [] and not cursor.inflight and not cursor.failed and cursor.done
