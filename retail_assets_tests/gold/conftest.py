"""The Gold scenario run once per session: Silver in a lake, then every Gold and serving asset for Jan–Feb in one run."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.serving import build_serving_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.lake import LakeStore
from retail_assets_tests.gold.scenario import write_silver

RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-02-01"}


@dataclass
class GoldRun:
    lake: LakeStore
    duckdb_path: Path
    instance: dg.DagsterInstance
    result: dg.ExecuteInProcessResult

    @property
    def resources(self) -> dict:
        return {"lake": self.lake, "duckdb": DuckDBResource(database=str(self.duckdb_path))}

    def materialize(
        self, keys: Sequence[str], *, tags: dict | None = None, partition: str | None = None, **kwargs
    ) -> dg.ExecuteInProcessResult:
        return materialize(self.resources, self.instance, keys, tags=tags, partition=partition, **kwargs)


def all_assets() -> list[dg.AssetsDefinition]:
    return [*build_silver_assets(), *build_gold_assets(), *build_serving_assets()]


def materialize(
    resources: dict,
    instance: dg.DagsterInstance,
    keys: Sequence[str],
    *,
    tags: dict | None = None,
    partition: str | None = None,
    **kwargs,
) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.materialize(
            all_assets(),
            selection=[dg.AssetKey(k.split("/")) for k in keys],
            resources=resources,
            instance=instance,
            tags=tags,
            partition_key=partition,
            **kwargs,
        )


def gold_and_serving_keys() -> list[str]:
    return [k.to_user_string() for a in [*build_gold_assets(), *build_serving_assets()] for k in a.keys]


@pytest.fixture(scope="session")
def gold_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GoldRun]:
    root = tmp_path_factory.mktemp("gold")
    lake = LakeStore(root_uri=str(root / "lake"))
    write_silver(lake)
    duckdb_path = root / "serving" / "retail.duckdb"
    with dg.DagsterInstance.ephemeral() as instance:
        resources = {"lake": lake, "duckdb": DuckDBResource(database=str(duckdb_path))}
        result = materialize(resources, instance, gold_and_serving_keys(), tags=RANGE)
        yield GoldRun(lake, duckdb_path, instance, result)
