"""The edge domain's assets on a real lake: a tiny month generated, loaded, checked and summarised; a month that
breaks a fail expectation writes nothing and holds Gold."""

from __future__ import annotations

import datetime as dt
import io

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.edge import build_edge_assets, edge_key
from retail_assets.lib.edge.insights import simulate_feedback
from retail_assets.lib.edge.landing import edge_landing, land_events
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone

MARCH = "2024-03-01"


def _checks(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], bool]:
    return {
        (e.asset_check_key.asset_key.to_user_string(), e.asset_check_key.name): e.passed
        for e in result.get_asset_check_evaluations()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Every edge asset for March 2024, tiny profile, on a throw-away lake and landing zone."""
    root = tmp_path_factory.mktemp("edge")
    mp = pytest.MonkeyPatch()
    mp.setenv("RETAIL_PROFILE", "tiny")
    resources = {
        "lake": LakeStore(root_uri=str(root / "lake")),
        "landing": LandingZone(root_uri=str(root / "landing")),
        "duckdb": DuckDBResource(database=str(root / "serving.duckdb")),
    }
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        build_edge_assets(generator=True), partition_key=MARCH, resources=resources, instance=instance
    )
    yield result, resources, instance
    mp.undo()
    instance.dispose()


def test_a_generated_month_flows_to_gold_and_reconciles(built):
    result, resources, _ = built
    lake: LakeStore = resources["lake"]
    assert result.success
    truth = simulate_month(EdgeWorld(PROFILES["tiny"]), dt.date(2024, 3, 1))
    for table, event_type in (("stt_raw", "stt_transcript"), ("visual_stream", "visual_detection")):
        stored = lake.read(f"edge/bronze/{table}")
        assert stored.height == truth.events[event_type].get_column("trace_id").n_unique() > 0
    bronze = lake.read("edge/bronze/device_heartbeat")
    silver = lake.read("edge/silver/device_heartbeat")
    quarantined = lake.read("edge/quarantine/silver/device_heartbeat") if lake.exists(
        "edge/quarantine/silver/device_heartbeat") else pl.DataFrame()
    # The generator's devices are all registered in their store: nothing dropped, every heartbeat in Silver.
    assert bronze.height == silver.height + quarantined.height and quarantined.height == 0
    gold = lake.read("edge/gold/device_health_summary")
    assert gold.height == 3 * 31 and gold.select("device_id", "day").n_unique() == gold.height
    # Each simulated offline period shows as lost uptime on its days.
    for device, start, end in truth.offline.iter_rows():
        day = gold.filter((pl.col("device_id") == device) & (pl.col("day") == start.date()))
        assert day.item(0, "uptime_pct") < 100 and day.item(0, "offline_periods") >= 1
    full_days = gold.filter(pl.col("offline_periods") == 0)
    assert full_days.height and (full_days.get_column("uptime_pct") == 100).all()
    checks = _checks(result)
    gates = ("schema_parity", "primary_key_unique", "grain_unique", "expect_uptime_within_install")
    assert all(passed for (_, name), passed in checks.items() if name in gates)
    assert checks[("edge/bronze/device_heartbeat", "nothing_quarantined")]
    assert checks[("edge/silver/device_heartbeat", "reconciles_with_bronze")]
    assert checks[("edge/silver/annotated_events", "reconciles_with_bronze")]
    gold = ("device_health_summary", "store_interaction_metrics", "transcript_sentiment_analysis")
    assert all(checks[(f"edge/gold/{t}", "reconciles_with_silver")] for t in gold)


def test_rebuilding_a_month_changes_nothing(built):
    _, resources, instance = built
    lake: LakeStore = resources["lake"]
    tables = ("edge/bronze/device_heartbeat", "edge/silver/device_heartbeat", "edge/gold/device_health_summary")
    before = {t: lake.read(t) for t in tables}
    again = dg.materialize(
        build_edge_assets(generator=False), partition_key=MARCH, resources=resources, instance=instance,
        selection=[dg.AssetKey(t.split("/")) for t in tables],
    )
    assert again.success
    for table, frame in before.items():
        order = [c for c in ("trace_id", "device_id", "day") if c in frame.columns]
        stored = lake.read(table)
        if "_ingested_at" in frame.columns:  # Bronze's lineage says when the run started; the rows are the same
            stored, frame = stored.drop("_ingested_at"), frame.drop("_ingested_at")
        assert stored.sort(order).equals(frame.sort(order)), table


def test_a_registry_that_contradicts_the_devices_fails_silver_and_holds_gold(built):
    result, resources, instance = built
    lake: LakeStore = resources["lake"]
    zone = edge_landing(resources["landing"])
    path = "batch/dim_edge_devices/2024-03/edge-sim-2024-03.parquet"
    devices = pl.read_parquet(io.BytesIO(zone.read_bytes(path)))
    # Device 1 "installed" on March 20th, yet it reports days of uptime all month.
    broken = devices.with_columns(
        pl.when(pl.col("device_id") == 1)
        .then(pl.lit(dt.date(2024, 3, 20)))
        .otherwise("installed_on")
        .alias("installed_on")
    )
    buffer = io.BytesIO()
    broken.write_parquet(buffer)
    zone.write_bytes(path, buffer.getvalue())
    silver_before = lake.read("edge/silver/device_heartbeat")
    assets = build_edge_assets(generator=False)
    failed = dg.materialize(
        assets, partition_key=MARCH, resources=resources, instance=instance, raise_on_error=False,
        selection=[edge_key("bronze", "dim_edge_devices"), edge_key("silver", "device_heartbeat")],
    )
    assert not failed.success
    checks = _checks(failed)
    assert checks[("edge/silver/device_heartbeat", "expect_uptime_within_install")] is False
    assert checks[("edge/silver/device_heartbeat", "schema_parity")] is True
    assert lake.read("edge/silver/device_heartbeat").equals(silver_before)  # nothing of the month was written
    message = next(e for e in failed.all_events if e.event_type_value == "STEP_FAILURE").step_failure_data.error.message
    assert "edge/silver/device_heartbeat 2024-03: not written" in message and "uptime" in message
    gated = dg.materialize(
        assets, partition_key=MARCH, resources=resources, instance=instance, raise_on_error=False,
        selection=[edge_key("gold", "device_health_summary")],
    )
    assert not gated.success
    message = next(e for e in gated.all_events if e.event_type_value == "STEP_FAILURE").step_failure_data.error.message
    assert "held by a failed blocking check" in message and "expect_uptime_within_install" in message


def test_every_transcript_and_detection_is_annotated_or_quarantined_with_its_reason(built):
    result, resources, _ = built
    lake: LakeStore = resources["lake"]
    bronze = pl.concat([lake.read(f"edge/bronze/{t}").select("trace_id") for t in ("stt_raw", "visual_stream")])
    silver = lake.read("edge/silver/annotated_events")
    quarantined = lake.read("edge/quarantine/silver/annotated_events")
    assert set(silver.get_column("trace_id")).isdisjoint(quarantined.get_column("trace_id"))
    assert silver.get_column("trace_id").n_unique() + quarantined.height == bronze.height
    reasons = set(quarantined.get_column("reason_code"))
    assert reasons == {"expectation_transcript_readable", "expectation_detection_confident"}
    mentions = silver.filter(pl.col("annotation_type") == "mention")
    assert mentions.height > 0 and mentions.get_column("brand_id").null_count() == 0
    assert set(silver.get_column("annotation_type")) == {"mention", "presence", "pickup", "putback"}
    checks = _checks(result)
    assert checks[("edge/silver/annotated_events", "expect_known_product")]
    assert not checks[("edge/silver/annotated_events", "nothing_quarantined")]


def test_speech_and_vision_are_aligned_and_summarised_by_store_and_hour(built):
    _, resources, _ = built
    lake: LakeStore = resources["lake"]
    annotations = lake.read("edge/silver/annotated_events")
    aligned = lake.read("edge/silver/multimodal_aligned")
    speech = annotations.filter(pl.col("event_source") == "speech").select("trace_id", "annotation_seq").unique()
    assert aligned.select("speech_trace_id", "speech_seq").unique().height == speech.height
    assert aligned.filter(pl.col("brand_match")).height > 0
    assert (aligned.get_column("seconds_apart").drop_nulls().abs() <= 90).all()
    metrics = lake.read("edge/gold/store_interaction_metrics")
    kinds = annotations.get_column("annotation_type")
    assert metrics.get_column("brand_mentions").sum() == (kinds == "mention").sum()
    assert metrics.get_column("pickups").sum() == (kinds == "pickup").sum()
    rate = metrics.get_column("conversion_rate").drop_nulls()
    # The simulation picks up a named product with p = 0.6 (a second product of the same brand converts too).
    assert 0.45 < metrics.get_column("mentions_converted").sum() / metrics.get_column("brand_mentions").sum() < 0.75
    assert ((rate >= 0) & (rate <= 1)).all()


def test_customers_words_about_each_brand_are_scored_per_store_and_day(built):
    _, resources, _ = built
    lake: LakeStore = resources["lake"]
    scored = lake.read("edge/gold/transcript_sentiment_analysis")
    annotations = lake.read("edge/silver/annotated_events").filter(pl.col("annotation_type") == "mention")
    assert scored.get_column("mentions").sum() == annotations.select("trace_id", "brand_id").unique().height
    # The simulation ends 30 % of exchanges with praise and 15 % with a complaint.
    positive, negative = scored.get_column("positive_mentions").sum(), scored.get_column("negative_mentions").sum()
    assert positive > negative > 0
    assert set(scored.get_column("sentiment")) == {"positive", "neutral", "negative"}


def test_advisors_verdicts_land_as_events_and_join_their_insights(built):
    _, resources, instance = built
    lake: LakeStore = resources["lake"]
    found = lake.read("edge/gold/insight_feedback")
    assert found.height > 0 and found.get_column("verdict").null_count() == found.height
    assert "device_attention" in set(found.get_column("insight_type"))  # tiny's offline periods
    at = dt.datetime(2024, 3, 31, 23, tzinfo=dt.UTC)
    verdicts = simulate_feedback(found, seed=5, at=at, share=1.0)
    land_events(edge_landing(resources["landing"]), "insight_feedback_given", verdicts, "advisor-app")
    again = dg.materialize(
        build_edge_assets(generator=False), partition_key=MARCH, resources=resources, instance=instance,
        selection=[edge_key("bronze", "insight_feedback"), edge_key("gold", "insight_feedback")],
    )
    assert again.success
    judged = lake.read("edge/gold/insight_feedback")
    assert judged.get_column("insight_id").to_list() == found.get_column("insight_id").to_list()
    assert judged.get_column("verdict").null_count() == 0
    accepted = judged.group_by("insight_type").agg(
        (pl.col("verdict") == "accepted").mean().alias("expected"), pl.col("type_acceptance_rate").first()
    )
    assert accepted.filter(pl.col("expected") != pl.col("type_acceptance_rate")).height == 0


def test_edge_gold_and_its_dimensions_are_served_as_a_star_in_the_duckdb_file(built):
    _, resources, _ = built
    lake: LakeStore = resources["lake"]
    with duckdb.connect(resources["duckdb"].database, read_only=True) as con:
        served = con.execute("SELECT count(*) FROM edge_device_health_summary").fetchone()[0]
        by_region = con.execute(
            "SELECT b.region_name, count(*) AS device_days, avg(h.uptime_pct) AS uptime "
            "FROM edge_device_health_summary h JOIN edge_dim_sari_stores s USING (store_id) "
            "JOIN edge_dim_edge_barangays b USING (barangay_id) GROUP BY ALL ORDER BY 1"
        ).fetchall()
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
    assert served == lake.read("edge/gold/device_health_summary").height == sum(r[1] for r in by_region)
    assert all(0 < r[2] <= 100 for r in by_region)
    assert tables == {
        "edge_device_health_summary", "edge_store_interaction_metrics", "edge_transcript_sentiment_analysis",
        "edge_insight_feedback", "edge_dim_edge_barangays", "edge_dim_sari_stores", "edge_dim_fmcg_brands",
        "edge_dim_fmcg_products", "edge_dim_edge_devices",
    }
