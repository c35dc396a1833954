"""The code location loads with every expected asset, group, partitioning and check — and stays that way."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.defs.resources import build_resources
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.settings import Settings, SettingsError
from retail_assets_tests.spine.test_specs import DIMENSION_NAMES, EVENT_TYPES, FACT_NAMES

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from retail_assets.definitions import defs

    return defs()


def _graph(definitions: dg.Definitions):
    return definitions.resolve_asset_graph()


def test_every_bronze_table_is_an_asset_in_the_bronze_group(definitions: dg.Definitions) -> None:
    graph = _graph(definitions)
    bronze = {k.path[1] for k in graph.get_all_asset_keys() if k.path[0] == "bronze"}
    assert bronze == DIMENSION_NAMES | FACT_NAMES | EVENT_TYPES
    for name in bronze:
        node = graph.get(dg.AssetKey(["bronze", name]))
        assert node.group_name == "bronze"
        assert {"polars", "delta"} <= set(node.kinds)
        assert node.description
        assert dg.AssetKey(["landing", name]) in node.parent_keys


def test_facts_and_events_share_the_monthly_partitions_and_dims_are_unpartitioned(definitions: dg.Definitions) -> None:
    graph = _graph(definitions)
    for name in FACT_NAMES | EVENT_TYPES:
        node = graph.get(dg.AssetKey(["bronze", name]))
        assert node.partitions_def == MONTHLY
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    for name in DIMENSION_NAMES:
        assert graph.get(dg.AssetKey(["bronze", name])).partitions_def is None
    assert MONTHLY.get_first_partition_key() == "2024-01-01"


def test_every_bronze_asset_has_a_blocking_schema_parity_and_a_warning_quarantine_check(definitions: dg.Definitions) -> None:
    graph = _graph(definitions)
    checks = {k: graph.get_check_spec(k) for k in graph.asset_check_keys if k.asset_key.path[0] == "bronze"}
    parity = {k.asset_key.path[1]: spec for k, spec in checks.items() if k.name == "schema_parity"}
    assert set(parity) == DIMENSION_NAMES | FACT_NAMES | EVENT_TYPES
    for name, spec in parity.items():
        assert spec.blocking
        assert spec.partitions_def == (None if name in DIMENSION_NAMES else MONTHLY)
    landed = {k.asset_key.path[1]: spec for k, spec in checks.items() if k.name == "landed_files"}
    assert set(landed) == FACT_NAMES
    assert not any(spec.blocking for spec in landed.values())
    quarantined = {k.asset_key.path[1]: spec for k, spec in checks.items() if k.name == "nothing_quarantined"}
    assert set(quarantined) == DIMENSION_NAMES | FACT_NAMES | EVENT_TYPES
    for name, spec in quarantined.items():
        assert not spec.blocking
        assert spec.partitions_def == (None if name in DIMENSION_NAMES else MONTHLY)
    assert {k.name for k in checks} == {"schema_parity", "landed_files", "nothing_quarantined"}


def test_bronze_assets_declare_their_column_schema(definitions: dg.Definitions) -> None:
    node = _graph(definitions).get(dg.AssetKey(["bronze", "inventory_updated"]))
    columns = [c.name for c in node.metadata["dagster/column_schema"].columns]
    assert columns[:3] == ["event_type", "trace_id", "ingest_timestamp"]
    assert "payload_source" in columns and columns[-3:] == ["_source_file", "_batch_id", "_ingested_at"]


def test_the_main_job_covers_every_retail_asset_for_a_month(definitions: dg.Definitions) -> None:
    job = definitions.resolve_job_def("retail_lakehouse")
    assert job.partitions_def == MONTHLY
    materializable = {k for k in _graph(definitions).get_all_asset_keys() if _graph(definitions).get(k).is_materializable}
    edge = {k for k in materializable if k.path[0] == "edge"}
    assert edge and job.asset_layer.executable_asset_keys >= materializable - edge
    assert not job.asset_layer.executable_asset_keys & edge  # the edge domain's own job builds it (docs/edge.md)


def test_the_explicit_merge_loads_every_module_of_the_defs_folder(definitions: dg.Definitions) -> None:
    import retail_assets
    from retail_assets.definitions import DEFS_DIR, DEFS_MODULES

    assert set(DEFS_MODULES) == {p.stem for p in DEFS_DIR.glob("*.py") if p.stem != "__init__"}
    # The same objects as Dagster's defs-folder loader (which also scans plugins, ~1 s per run process).
    folder = dg.load_from_defs_folder(path_within_project=Path(retail_assets.__file__).parent)
    ours, theirs = definitions.get_repository_def(), folder.get_repository_def()
    assert _graph(folder).get_all_asset_keys() == _graph(definitions).get_all_asset_keys()
    assert _graph(folder).asset_check_keys == _graph(definitions).asset_check_keys
    assert {s.name for s in theirs.sensor_defs} == {s.name for s in ours.sensor_defs}
    assert {j.name for j in theirs.get_all_jobs()} == {j.name for j in ours.get_all_jobs()}
    assert theirs.get_top_level_resources().keys() == ours.get_top_level_resources().keys()


def test_dagster_validates_the_workspace() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=180,
        env={**os.environ, "DAGSTER_HOME": ""},
    )
    assert "All code locations passed validation" in result.stderr + result.stdout, result.stderr[-3000:]


def test_local_is_the_default_and_needs_no_credentials(tmp_path: Path) -> None:
    settings = Settings.from_env({"RETAIL_DATA_DIR": str(tmp_path)})
    resources = build_resources(settings)
    assert resources["lake"].root_uri == str(tmp_path / "lake")
    assert resources["landing"].root_uri == str(tmp_path / "landing")


def test_azure_needs_its_uris_and_account() -> None:
    with pytest.raises(SettingsError, match=r"RETAIL_ENV=azure needs these environment variables: \['RETAIL_LAKE_URI', 'RETAIL_LANDING_URI'\]"):
        Settings.from_env({"RETAIL_ENV": "azure", "AZURE_STORAGE_ACCOUNT_NAME": "acct"})
    with pytest.raises(SettingsError, match="'cloud' is not one of"):
        Settings.from_env({"RETAIL_ENV": "cloud"})


def test_azure_credentials_are_referenced_from_the_environment_never_copied() -> None:
    env = {
        "RETAIL_ENV": "azure",
        "RETAIL_LAKE_URI": "abfss://lake@acct.dfs.core.windows.net/retail",
        "RETAIL_LANDING_URI": "abfss://landing@acct.dfs.core.windows.net/drop",
        "AZURE_STORAGE_ACCOUNT_NAME": "acct",
        "AZURE_STORAGE_ACCOUNT_KEY": "super-secret-key",
    }
    resources = build_resources(Settings.from_env(env))
    lake: LakeStore = resources["lake"]
    assert isinstance(lake.storage.account_key, dg.EnvVar)
    assert isinstance(resources["landing"].account_key, dg.EnvVar)
    assert "super-secret-key" not in repr(resources)


def test_the_code_location_loads_for_azure_by_configuration_alone(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "RETAIL_ENV": "azure",
        "RETAIL_LAKE_URI": "abfss://lake@acct.dfs.core.windows.net/retail",
        "RETAIL_LANDING_URI": "abfss://landing@acct.dfs.core.windows.net/drop",
        "AZURE_STORAGE_ACCOUNT_NAME": "acct",
    }
    script = "from retail_assets.definitions import defs; d = defs(); print(sorted(d.resources))"
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120, env=env, cwd=REPO)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "'lake'" in result.stdout and "'landing'" in result.stdout


def test_every_pool_a_step_declares_is_a_platform_pool(definitions: dg.Definitions) -> None:
    """lib/instance.py sets the limits of PLATFORM_POOLS on a PostgreSQL instance before any run can race to create
    them (dagster-io/dagster#33552): a pool missing from that list would be created by racing runs again."""
    from retail_assets.lib.pools import PLATFORM_POOLS

    declared = {node.pool for job in definitions.resolve_all_job_defs() for node in job.all_node_defs if node.pool}
    assert declared == set(PLATFORM_POOLS)
