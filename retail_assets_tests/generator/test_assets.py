"""The generator's Dagster assets: keys, partitions, the on/off switch, and Bronze ingesting their output."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import pytest

from retail_assets.defs import generator as generator_defs
from retail_assets.defs import landing as landing_defs
from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.lib.generator import DIMENSION_TABLES, FACT_TABLES, GENERATED_TABLES
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.settings import Settings, SettingsError
from retail_assets.lib.specs import REGISTRY


def _keys(defs: dg.Definitions) -> set[str]:
    keys = set()
    for a in defs.assets or []:
        keys |= {k.to_user_string() for k in (a.keys if isinstance(a, dg.AssetsDefinition) else [a.key])}
    return keys


def test_generator_replaces_the_landing_specs_of_generated_tables(monkeypatch):
    monkeypatch.setenv("RETAIL_GENERATOR", "on")
    generated = _keys(generator_defs.defs())
    external = _keys(landing_defs.defs())
    assert generated == {f"landing/{t}" for t in GENERATED_TABLES}
    assert not generated & external
    assert {f"landing/{e.event_type}" for e in REGISTRY.events} <= external
    facts = generator_defs.generated_facts
    assert facts.partitions_def == MONTHLY and facts.backfill_policy == dg.BackfillPolicy.single_run()
    assert {k.to_user_string() for k in facts.keys} == {f"landing/{t}" for t in FACT_TABLES}
    assert generator_defs.generated_dimensions.partitions_def is None
    assert {k.to_user_string() for k in generator_defs.generated_dimensions.keys} == {f"landing/{t}" for t in DIMENSION_TABLES}
    assert set(facts.group_names_by_key.values()) == {"generator"}
    monkeypatch.setenv("RETAIL_GENERATOR", "off")
    assert _keys(generator_defs.defs()) == set()
    assert {f"landing/{t}" for t in GENERATED_TABLES} <= _keys(landing_defs.defs())


def test_switch_and_profile_come_from_the_environment():
    assert Settings.from_env({}).generator_enabled and Settings.from_env({}).generator_profile is None
    assert not Settings.from_env({"RETAIL_GENERATOR": "off"}).generator_enabled
    assert Settings.from_env({"RETAIL_PROFILE": "Tiny"}).generator_profile == "tiny"
    with pytest.raises(SettingsError, match="RETAIL_GENERATOR='maybe'"):
        Settings.from_env({"RETAIL_GENERATOR": "maybe"})


def test_bronze_ingests_a_generated_month_without_drift_or_quarantine(resources, instance, monkeypatch):
    monkeypatch.setenv("RETAIL_PROFILE", "tiny")
    bronze = [a for a in build_bronze_assets() if {k.path[1] for k in a.keys} <= GENERATED_TABLES]
    result = dg.materialize(
        [generator_defs.generated_dimensions, generator_defs.generated_facts, *bronze],
        resources=resources,
        partition_key="2024-01-01",
        instance=instance,
    )
    assert result.success
    checks = result.get_asset_check_evaluations()
    parity = [c for c in checks if c.check_name == "schema_parity"]
    assert len(parity) == len(GENERATED_TABLES)
    # Every check passes, landed_files included: the generator lands every fact table.
    assert all(c.passed for c in checks), [(c.asset_key.to_user_string(), c.check_name) for c in checks if not c.passed]
    bronze_events = [
        e.materialization for e in result.get_asset_materialization_events() if e.materialization.asset_key.path[0] == "bronze"
    ]
    assert len(bronze_events) == len(GENERATED_TABLES)
    for event in bronze_events:
        assert event.metadata["quarantined_rows"].value == 0, event.asset_key
        assert event.metadata["landed_rows"].value == event.metadata["dagster/row_count"].value > 0, event.asset_key
    lake = resources["lake"]
    assert lake.read("bronze/dim_customers")["snapshot_month"].unique().to_list() == [dt.date(2024, 1, 1)]


def test_the_whole_code_location_loads_with_the_generator_on(monkeypatch):
    monkeypatch.setenv("RETAIL_GENERATOR", "on")
    from retail_assets.definitions import defs

    definitions = defs()
    dg.Definitions.validate_loadable(definitions)
    graph = definitions.resolve_asset_graph()
    assert graph.get(dg.AssetKey(["landing", "fact_receipts"])).is_materializable
    assert dg.AssetKey(["landing", "fact_receipts"]) in graph.get(dg.AssetKey(["bronze", "fact_receipts"])).parent_keys
