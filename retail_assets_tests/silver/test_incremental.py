"""A Silver month reads only its own Bronze month: other months' files are never opened."""

from __future__ import annotations

import shutil
from pathlib import Path

import dagster as dg
import polars as pl

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.silver.conftest import Pipeline
from retail_assets_tests.silver.landed import FEB, JAN, event, land_batch, land_events, row, ts

DIMENSIONS = ["dim_geographies", "dim_stores", "dim_customers"]
RECEIPTS = ["bronze/fact_receipts", "bronze/receipt_created", "silver/fact_receipts"]


def test_february_builds_without_january_bronze(lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance) -> None:
    for dim in DIMENSIONS:
        land_batch(landing, dim, JAN, [row(dim)])
    land_batch(landing, "fact_receipts", JAN, [row("fact_receipts")])
    land_batch(landing, "fact_receipts", FEB, [row("fact_receipts", receipt_id="R2", event_ts=ts(3, month=2))])
    land_events(
        landing,
        "receipt_created",
        [event("receipt_created", "jan", ts(10)), event("receipt_created", "feb", ts(4, month=2), receipt_id="R4")],
    )
    pipeline = Pipeline(lake, landing, instance, [*build_bronze_assets(), *build_silver_assets()], None, None, None)  # type: ignore[arg-type]
    assert pipeline.materialize([f"{layer}/{d}" for d in DIMENSIONS for layer in ("bronze", "silver")]).success
    assert pipeline.materialize(RECEIPTS, "2024-01-01").success
    assert pipeline.materialize(RECEIPTS, "2024-02-01").success
    january = lake.read("silver/fact_receipts", [JAN])
    february = lake.read("silver/fact_receipts", [FEB])

    # Remove January's Bronze data files: a February build that opened them would fail.
    for table in ("fact_receipts", "receipt_created"):
        shutil.rmtree(Path(lake.uri(f"bronze/{table}")) / "month_start=2024-01-01")

    assert pipeline.materialize(["silver/fact_receipts"], "2024-02-01").success
    assert lake.read("silver/fact_receipts", [FEB]).sort("receipt_id").equals(february.sort("receipt_id"))
    assert sorted(february["receipt_id"]) == ["R2", "R4"]
    assert lake.read("silver/fact_receipts", [JAN]).equals(january)
    assert lake.scan("silver/fact_receipts").select(pl.col("month_start").n_unique()).collect().item() == 2
