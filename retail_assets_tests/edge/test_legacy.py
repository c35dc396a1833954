"""Seed 003's legacy combined format: accepted at the gateway (wrapped, landed, typed by Bronze) and split in Silver
into the same heartbeats the typed stream gives."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.edge import build_edge_assets, edge_key
from retail_assets.lib.bronze import load_event_month
from retail_assets.lib.edge.landing import edge_landing, land_dimensions
from retail_assets.lib.edge.legacy import land_legacy, split_raw_events, to_legacy, wrap_legacy
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs.registry import EDGE_REGISTRY
from retail_assets.lib.landing import LandingZone

MARCH = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def world() -> EdgeWorld:
    return EdgeWorld(PROFILES["tiny"])


@pytest.fixture(scope="module")
def heartbeats(world) -> pl.DataFrame:
    return simulate_month(world, MARCH).events["device_heartbeat"].unique("trace_id", keep="first", maintain_order=True)


def test_every_kind_splits_back_into_the_events_it_was_made_from(world):
    month = simulate_month(world, MARCH)
    for event_type, frame in month.events.items():
        sample = frame.head(50)
        split, rejected = split_raw_events(wrap_legacy(to_legacy(sample, event_type), MARCH), event_type)
        assert rejected.height == 0
        # The payload and the time are carried; envelope fields the legacy format has no place for are not.
        payload = [c.name for c in EDGE_REGISTRY.event(event_type).payload]
        carried = ["event_type", "ingest_timestamp", "partition_key", *payload]
        assert split.select(carried).equals(sample.select(carried)), event_type
        assert split.get_column("correlation_id").is_null().all()
        assert split.get_column("trace_id").str.starts_with("legacy-").all()


def test_unreadable_records_are_rejected_naming_the_field():
    good = '{"device_id":1,"store_id":1,"type":"heartbeat","timestamp":"2024-03-02T00:00:00Z","data":%s}'
    raw = wrap_legacy(
        [good % '"not an object"', good % '{"device_clock":"2024-03-02T00:00:00Z","uptime_seconds":"ten"}'], MARCH
    )
    split, rejected = split_raw_events(raw, "device_heartbeat")
    assert split.height == 0
    assert rejected.get_column("column_name").to_list() == ["data", "uptime_seconds"]
    assert rejected.item(1, "reason").endswith('uptime_seconds = "ten" cannot be read as int64')


def test_the_gateway_lands_every_line_and_bronze_quarantines_what_it_cannot_type(tmp_path, heartbeats):
    zone = edge_landing(LandingZone(root_uri=str(tmp_path / "landing")))
    lines = to_legacy(heartbeats.head(20), "device_heartbeat")
    paths = land_legacy(zone, [*lines, lines[0], "garbage", '{"type":"heartbeat"}'], MARCH, "pi-legacy")
    assert paths == ["events/raw_event/2024-03-01/pi-legacy.jsonl"]
    load = load_event_month(zone, "raw_event", MARCH, dt.datetime(2024, 4, 1, tzinfo=dt.UTC))
    assert (load.landed_rows, load.rows.height, load.duplicates_dropped) == (23, 20, 1)
    assert load.reconciles and load.quarantine.height == 2
    assert set(load.quarantine.get_column("column_name")) <= {"kind", "device_id", "store_id", "recorded_at"}
    assert load.quarantine.filter(pl.col("record").str.contains("garbage")).height == 1


def test_silver_from_legacy_records_equals_silver_from_the_typed_stream(tmp_path, world, heartbeats):
    """A month whose devices all run the old firmware: Silver holds the same heartbeats (other trace_ids)."""
    landing = LandingZone(root_uri=str(tmp_path / "landing"))
    zone = edge_landing(landing)
    land_dimensions(zone, world, MARCH, "registry")
    by_day = heartbeats.with_columns(pl.col("ingest_timestamp").dt.date().alias("__day"))
    for (day,), rows in by_day.partition_by("__day", as_dict=True).items():
        land_legacy(zone, to_legacy(rows.drop("__day"), "device_heartbeat"), day, "pi-legacy")
    lake = LakeStore(root_uri=str(tmp_path / "lake"))
    keys = [edge_key("bronze", t) for t in ("dim_edge_devices", "dim_sari_stores", "device_heartbeat", "raw_events")]
    with dg.DagsterInstance.ephemeral() as instance:
        result = dg.materialize(
            build_edge_assets(generator=False), partition_key="2024-03-01", instance=instance,
            resources={"lake": lake, "landing": landing, "duckdb": DuckDBResource(database=str(tmp_path / "s.duckdb"))},
            selection=[*keys, edge_key("silver", "device_heartbeat")],
        )
    assert result.success
    assert lake.read("edge/bronze/device_heartbeat").height == 0
    silver = lake.read("edge/silver/device_heartbeat").sort("device_id", "received_at")
    assert silver.height == heartbeats.height
    assert silver.get_column("trace_id").str.starts_with("legacy-").all()
    expected = heartbeats.sort("device_id", "ingest_timestamp")
    for column in ("device_id", "device_clock", "uptime_seconds", "cpu_temp_c", "battery_pct", "firmware_version"):
        assert silver.get_column(column).equals(expected.get_column(column)), column
    assert silver.get_column("received_at").equals(expected.get_column("ingest_timestamp").alias("received_at"))
