"""The edge domain in the code location: its keys under edge/, groups, partitions and checks, and retail's own
registry, assets and job unchanged by it."""

from __future__ import annotations

import dagster as dg
import pytest

from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.specs.registry import DOMAINS, EDGE_REGISTRY, REGISTRY

SILVER = {"device_heartbeat", "annotated_events", "multimodal_aligned"}
GOLD = {"device_health_summary", "store_interaction_metrics", "transcript_sentiment_analysis", "insight_feedback"}
BRONZE_EVENTS = {"stt_raw", "visual_stream", "device_heartbeat", "raw_events", "insight_feedback"}


@pytest.fixture(scope="module")
def graph():
    from retail_assets.definitions import defs

    return defs().resolve_asset_graph()


def test_the_edge_domain_lives_under_edge_with_seed_names(graph):
    edge = {k for k in graph.get_all_asset_keys() if k.path[0] == "edge"}
    layers = ("bronze", "silver", "gold", "serving")
    by_layer = {layer: {k.path[2] for k in edge if k.path[1] == layer} for layer in layers}
    assert by_layer == {
        "bronze": BRONZE_EVENTS | {t.name for t in EDGE_REGISTRY.dimensions},
        "silver": SILVER,
        "gold": GOLD,
        "serving": GOLD | {"dimensions"},
    }
    for key in edge:
        node = graph.get(key)
        assert node.group_name == f"edge_{key.path[1]}" and node.description
        monthly = key.path[2] in BRONZE_EVENTS if key.path[1] == "bronze" else key.path[2] != "dimensions"
        assert node.partitions_def == (MONTHLY if monthly else None), key


def test_every_edge_table_has_its_blocking_schema_and_key_checks_and_each_expectation_its_check(graph):
    checks = {k: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key.path[0] == "edge"}
    tables = ("bronze", "silver", "gold")
    for key in (k for k in graph.get_all_asset_keys() if k.path[0] == "edge" and k.path[1] in tables):
        parity = checks[dg.AssetCheckKey(key, "schema_parity")]
        assert parity.blocking
    for table in ("device_heartbeat", "annotated_events"):
        assert checks[dg.AssetCheckKey(dg.AssetKey(["edge", "silver", table]), "reconciles_with_bronze")].blocking
    expect = {
        (k.asset_key.path[2], k.name): spec.blocking for k, spec in checks.items() if k.name.startswith("expect_")
    }
    assert expect == {
        ("device_heartbeat", "expect_known_device"): False,
        ("device_heartbeat", "expect_device_in_its_store"): False,
        ("device_heartbeat", "expect_uptime_within_install"): True,
        ("device_heartbeat", "expect_clock_in_sync"): False,
        ("device_heartbeat", "expect_temperature_normal"): False,
        ("annotated_events", "expect_known_device"): False,
        ("annotated_events", "expect_device_in_its_store"): False,
        ("annotated_events", "expect_transcript_readable"): False,
        ("annotated_events", "expect_detection_confident"): False,
        ("annotated_events", "expect_known_product"): True,
        ("annotated_events", "expect_clock_in_sync"): False,
    }


def test_retail_keeps_its_registry_and_the_names_stay_unique_across_domains():
    assert len(REGISTRY.events) == 18 and len(REGISTRY.facts) == 19
    assert not set(REGISTRY.events_by_type) & set(EDGE_REGISTRY.events_by_type)
    assert not set(REGISTRY.tables) & set(EDGE_REGISTRY.tables)
    assert list(DOMAINS) == ["retail", "edge"]


def test_a_name_used_by_two_domains_is_refused(monkeypatch):
    from retail_assets.lib.specs import registry
    from retail_assets.lib.specs.model import SpecError

    clash = registry.Registry(dimensions=(), facts=(), events=(REGISTRY.event("receipt_created"),))
    monkeypatch.setitem(registry.DOMAINS, "other", clash)
    with pytest.raises(SpecError, match="'receipt_created' is a table or event type of both the retail and the other"):
        registry._check_domains()


def test_new_bronze_of_a_month_requests_that_month_downstream_and_a_registry_refresh_nothing():
    import warnings

    from retail_assets.defs.edge import build_edge_assets, edge_key
    from retail_assets.lib.lake import LakeStore

    from dagster_duckdb import DuckDBResource

    from retail_assets.lib.landing import LandingZone

    resources = {
        "lake": LakeStore(root_uri="unused"), "landing": LandingZone(root_uri="unused"),
        "duckdb": DuckDBResource(database=":memory:"),
    }
    defs = dg.Definitions(assets=build_edge_assets(generator=False), resources=resources)
    silver, gold = edge_key("silver", "device_heartbeat"), edge_key("gold", "device_health_summary")

    def requested(instance, cursor):
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=dg.AssetSelection.assets(silver, gold), cursor=cursor
        )
        found = {r.key: set(r.true_subset.expensively_compute_partition_keys()) for r in result.results}
        return found, result.cursor

    def update(instance, key: dg.AssetKey, partition: str | None = "2024-03-01") -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(key, partition=partition))

    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        _, cursor = requested(instance, None)
        update(instance, edge_key("bronze", "dim_edge_devices"), None)  # a registry refresh recomputes nothing
        found, cursor = requested(instance, cursor)
        assert found == {silver: set(), gold: set()}
        update(instance, edge_key("bronze", "device_heartbeat"))
        found, cursor = requested(instance, cursor)
        # Silver's month is requested, and Gold's with it (Dagster counts an upstream requested in the same tick).
        assert found == {silver: {"2024-03-01"}, gold: {"2024-03-01"}}
        update(instance, silver)
        update(instance, gold)
        found, cursor = requested(instance, cursor)
        assert found == {silver: set(), gold: set()}
        update(instance, edge_key("bronze", "device_heartbeat"), "2024-04-01")  # a late April batch: April only
        found, cursor = requested(instance, cursor)
        assert found == {silver: {"2024-04-01"}, gold: {"2024-04-01"}}


def test_the_bronze_silver_balance_fails_when_an_event_is_counted_twice_or_lost():
    from retail_assets.defs.edge import reconcile_outcome

    assert reconcile_outcome("s", bronze=10, silver=7, dropped=2, unreadable=1).passed
    doubled = reconcile_outcome("s", bronze=10, silver=8, dropped=2, unreadable=1)
    assert not doubled.passed and doubled.description == (
        "s: 10 Bronze events != 8 in Silver + 2 dropped by expectations + 1 unreadable legacy records"
    )
    assert not reconcile_outcome("s", bronze=10, silver=6, dropped=2, unreadable=1).passed


def test_a_gold_total_off_its_silver_count_fails_the_balance():
    from retail_assets.defs.edge import gold_balance

    assert gold_balance("g", {"pickups": (5, 5), "brand_mentions": (7, 7)}).passed
    off = gold_balance("g", {"pickups": (5, 5), "brand_mentions": (6, 7)})
    assert not off.passed
    assert off.description == "g: pickups 5 in Gold = 5 in Silver; brand_mentions 6 in Gold != 7 in Silver"
