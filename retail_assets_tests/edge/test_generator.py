"""The edge world and its monthly simulation: deterministic, on spec, with the faults the seed's devices have."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.bronze import load_dimension, load_event_month
from retail_assets.lib.edge.landing import edge_landing, land_month
from retail_assets.lib.edge.profiles import PROFILES, edge_profile
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.landing import LandingPathError, LandingZone
from retail_assets.lib.specs.registry import EDGE_REGISTRY, event_columns, polars_schema

MARCH = dt.date(2024, 3, 1)


@pytest.fixture(scope="module")
def world() -> EdgeWorld:
    return EdgeWorld(PROFILES["tiny"])


@pytest.fixture(scope="module")
def march(world):
    return simulate_month(world, MARCH)


def test_the_world_follows_the_edge_specs_and_its_keys_resolve(world):
    frames = world.dimension_frames()
    assert list(frames) == [t.name for t in EDGE_REGISTRY.dimensions]
    for spec in EDGE_REGISTRY.dimensions:
        frame = frames[spec.name]
        assert frame.schema == polars_schema(spec.columns), spec.name
        assert frame.height and frame.select(spec.primary_key).is_duplicated().sum() == 0, spec.name
        for c in spec.columns:
            if c.references:
                target = frames[c.references].get_column(EDGE_REGISTRY.table(c.references).primary_key[0])
                assert frame.get_column(c.name).is_in(target.implode()).all(), (spec.name, c.name)
    hierarchy = frames["dim_edge_barangays"].select("region_name", "province_name", "city_name").unique()
    assert {"NCR", "Region VII"} <= set(hierarchy.get_column("region_name"))
    assert world.devices.get_column("installed_on").max() < PROFILES["tiny"].start


def test_a_month_is_the_same_every_time_and_differs_from_the_next(world, march):
    again = simulate_month(EdgeWorld(edge_profile("tiny")), MARCH)
    for event_type, frame in march.events.items():
        assert frame.equals(again.events[event_type]), event_type
        assert frame.schema == polars_schema(event_columns(EDGE_REGISTRY.event(event_type)))
    april = simulate_month(world, dt.date(2024, 4, 1))
    assert not april.events["stt_transcript"].get_column("trace_id").is_in(
        march.events["stt_transcript"].get_column("trace_id").implode()
    ).any()
    assert april.events["device_heartbeat"].get_column("ingest_timestamp").dt.month().unique().to_list() == [4]


def test_offline_devices_send_nothing_and_reboot(march):
    beats = march.events["device_heartbeat"]
    assert march.offline.height > 0
    for device, start, end in march.offline.iter_rows():
        mine = beats.filter(pl.col("device_id") == device)
        assert mine.filter(pl.col("ingest_timestamp").is_between(start, end, closed="left")).height == 0
        after = mine.filter(pl.col("ingest_timestamp") >= end).sort("ingest_timestamp").head(1)
        if after.height:
            assert after.item(0, "uptime_seconds") <= (after.item(0, "ingest_timestamp") - end).total_seconds() + 1
    for name in ("stt_transcript", "visual_detection"):
        events = march.events[name]
        for device, start, end in march.offline.iter_rows():
            inside = events.filter((pl.col("device_id") == device) & pl.col("ingest_timestamp").is_between(start, end))
            assert inside.height == 0, name


def test_the_faults_of_real_devices_are_there(march, world):
    for frame in march.events.values():
        assert frame.get_column("trace_id").is_duplicated().any()  # duplicate sends
        duplicated = frame.filter(pl.col("trace_id").is_duplicated())
        assert duplicated.unique().height == duplicated.get_column("trace_id").n_unique()  # exact copies
    stt = march.events["stt_transcript"]
    assert stt.filter(pl.col("confidence") < 0.35).height > 0  # garbled
    brands = world.products.get_column("product_name").to_list()
    clean = stt.filter(pl.col("confidence") >= 0.5)
    assert clean.get_column("transcript").map_elements(lambda t: any(b in t for b in brands), pl.Boolean).all()
    visual = march.events["visual_detection"]
    assert visual.filter(pl.col("bbox_confidence") < 0.5).height > 0  # low-confidence detections
    assert set(visual.get_column("detection_type")) == {"person", "pickup", "putback"}
    picks = visual.filter(pl.col("detection_type") != "person")
    assert picks.get_column("brand_id").null_count() == 0
    drifting = march.devices.filter(pl.col("drift_seconds_per_day") > 0).get_column("device_id").to_list()
    assert drifting
    skew = (
        march.events["device_heartbeat"]
        .filter(pl.col("device_id") == drifting[0])
        .select((pl.col("device_clock") - pl.col("ingest_timestamp")).dt.total_seconds().alias("skew"))
        .get_column("skew")
    )
    assert skew.tail(10).min() > 25 * 5  # at least 5 s a day, ~4 weeks in


def test_hot_devices_overheat_in_the_afternoon():
    hot = PROFILES["tiny"].model_copy(update={"hot_device_rate": 1.0, "stores": 1})
    beats = simulate_month(EdgeWorld(hot), MARCH).events["device_heartbeat"]
    local_hour = (pl.col("ingest_timestamp").dt.hour() + 8) % 24
    afternoon = beats.filter(local_hour.is_between(13, 16)).get_column("cpu_temp_c")
    night = beats.filter(local_hour.is_between(1, 4)).get_column("cpu_temp_c")
    assert afternoon.mean() > 80 > night.max()


def test_landed_months_load_through_the_spines_bronze_exactly(tmp_path, world, march):
    zone = edge_landing(LandingZone(root_uri=str(tmp_path / "landing")))
    paths = land_month(zone, world, march)
    assert all((tmp_path / "landing" / "edge" / p).is_file() for p in paths)
    at = dt.datetime(2024, 4, 2, tzinfo=dt.UTC)
    for event_type, frame in march.events.items():
        load = load_event_month(zone, event_type, MARCH, at)
        expected = frame.unique("trace_id", keep="first", maintain_order=True).sort("trace_id")
        assert load.rows.select(expected.columns).sort("trace_id").equals(expected), event_type
        assert load.duplicates_dropped == frame.height - expected.height > 0
        assert load.quarantine.height == 0 and load.reconciles and load.drift.ok
    devices = load_dimension(zone, "dim_edge_devices", at)
    assert [d.month for d in devices] == [MARCH] and devices[0].rows.height == world.devices.height


def test_each_domain_lands_only_its_own_names(tmp_path):
    retail = LandingZone(root_uri=str(tmp_path / "landing"))
    edge = edge_landing(retail)
    assert edge.root_uri.endswith("/edge") and edge.domain == "edge"
    with pytest.raises(LandingPathError, match="unknown event type 'device_heartbeat'"):
        retail.write_bytes("events/device_heartbeat/2024-03-01/b.jsonl", b"{}\n")
    with pytest.raises(LandingPathError, match="unknown event type 'receipt_created'"):
        edge.write_bytes("events/receipt_created/2024-03-01/b.jsonl", b"{}\n")
    with pytest.raises(ValueError, match="edge profile 'huge' does not exist"):
        edge_profile("huge")
