"""The landed scenario run once per module through the real Bronze and Silver assets."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import dagster as dg
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.silver.scenario import land_all

FEBRUARY_TABLES = ("fact_receipts", "receipt_created", "fact_ble_pings", "ble_ping_detected")


@dataclass
class Pipeline:
    lake: LakeStore
    landing: LandingZone
    instance: dg.DagsterInstance
    assets: list[dg.AssetsDefinition]
    dimensions: dg.ExecuteInProcessResult
    january: dg.ExecuteInProcessResult
    february: dg.ExecuteInProcessResult

    @property
    def resources(self) -> dict[str, dg.ConfigurableResource]:
        return {"lake": self.lake, "landing": self.landing}

    def materialize(self, keys: Sequence[str], partition: str | None = None, **kwargs) -> dg.ExecuteInProcessResult:
        """Materialize the assets named ``layer/table`` (the rest of the graph is only there for lineage)."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            return dg.materialize(
                self.assets,
                selection=[dg.AssetKey(k.split("/")) for k in keys],
                resources=self.resources,
                instance=self.instance,
                partition_key=partition,
                **kwargs,
            )


def materialize_scenario(lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance) -> Pipeline:
    assets = [*build_bronze_assets(), *build_silver_assets()]
    dims = [k.to_user_string() for a in assets if a.partitions_def is None for k in a.keys]
    facts = [k.to_user_string() for a in assets if a.partitions_def is not None for k in a.keys]
    pipeline = Pipeline(lake, landing, instance, assets, None, None, None)  # type: ignore[arg-type]
    pipeline.dimensions = pipeline.materialize(dims)
    pipeline.january = pipeline.materialize(facts, "2024-01-01")
    february = [f"{layer}/{t}" for t in FEBRUARY_TABLES for layer in ("bronze", "silver") if f"{layer}/{t}" in facts]
    pipeline.february = pipeline.materialize(february, "2024-02-01")
    return pipeline


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Pipeline]:
    root = tmp_path_factory.mktemp("silver")
    lake = LakeStore(root_uri=str(root / "lake"))
    landing = LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    land_all(landing)
    with dg.DagsterInstance.ephemeral() as instance:
        yield materialize_scenario(lake, landing, instance)
