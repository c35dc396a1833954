"""Schema drift: a Silver month whose input or output does not match the spec writes nothing."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.checks import SpecValidationError
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.silver.pipeline import validate_output
from retail_assets.lib.specs import MONTH_START, REGISTRY, polars_schema, silver_columns
from retail_assets_tests.silver.conftest import Pipeline
from retail_assets_tests.silver.landed import JAN, event, land_batch, land_events, row, ts

DIMENSIONS = ["dim_geographies", "dim_stores", "dim_customers"]
RECEIPTS = ["bronze/fact_receipts", "bronze/receipt_created", "silver/fact_receipts"]


@pytest.fixture
def receipts_pipeline(lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance) -> Pipeline:
    from retail_assets.defs.bronze import build_bronze_assets
    from retail_assets.defs.silver import build_silver_assets

    for dim in DIMENSIONS:
        land_batch(landing, dim, JAN, [row(dim)])
    land_batch(landing, "fact_receipts", JAN, [row("fact_receipts")])
    land_events(landing, "receipt_created", [event("receipt_created", "rc-1", ts(10))])
    pipeline = Pipeline(lake, landing, instance, [*build_bronze_assets(), *build_silver_assets()], None, None, None)  # type: ignore[arg-type]
    assert pipeline.materialize([f"{layer}/{d}" for d in DIMENSIONS for layer in ("bronze", "silver")]).success
    assert pipeline.materialize(RECEIPTS, "2024-01-01").success
    return pipeline


def test_bronze_drift_fails_the_month_and_nothing_lands(receipts_pipeline: Pipeline) -> None:
    lake = receipts_pipeline.lake
    version = lake.version("silver/fact_receipts")
    before = lake.read("silver/fact_receipts")
    drifted = (
        lake.read("bronze/fact_receipts").with_columns(pl.col("total_cents").cast(pl.Float64)).rename({"tax_cents": "tax_amount"})
    )
    lake.replace("bronze/fact_receipts", drifted, partition_by=["month_start"])
    # The new landed receipt would change Silver if anything were written.
    lake.replace(
        "bronze/receipt_created",
        lake.read("bronze/receipt_created").with_columns(pl.lit("R99").alias("receipt_id")),
        partition_by=["month_start"],
    )

    result = receipts_pipeline.materialize(["silver/fact_receipts"], "2024-01-01", raise_on_error=False)

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    failure_data = failure.event_specific_data.user_failure_data
    message = failure_data.description
    assert failure_data.metadata["partition"].value == "2024-01-01"
    assert failure_data.metadata["missing_columns"].value == ["tax_cents"]
    assert "silver/fact_receipts 2024-01" in message and "bronze/fact_receipts" in message
    assert "missing columns ['tax_cents']" in message and "nothing was written" in message
    assert failure_data.metadata["extra_columns"].value == ["tax_amount"]
    assert failure_data.metadata["mistyped_columns"].value == {"total_cents": ["Float64", "int64"]}
    assert lake.version("silver/fact_receipts") == version
    assert lake.read("silver/fact_receipts").equals(before)


def _silver_frame(table: str, rows: list[dict]) -> pl.DataFrame:
    spec = REGISTRY.table(table)
    return pl.DataFrame(
        [{**r, MONTH_START.name: JAN} for r in rows], schema=polars_schema(silver_columns(table)), orient="row"
    ).select(*spec.column_names, MONTH_START.name)


def test_output_drift_is_refused_before_writing() -> None:
    frame = _silver_frame("fact_receipts", [row("fact_receipts")]).with_columns(pl.col("item_count").cast(pl.Int64))
    with pytest.raises(
        SpecValidationError, match=r"silver/fact_receipts 2024-01: output .*item_count \(Int64, expected int32\)"
    ):
        validate_output(frame, "fact_receipts", JAN)
    with pytest.raises(SpecValidationError, match="extra columns"):
        validate_output(
            _silver_frame("fact_receipts", [row("fact_receipts")]).with_columns(pl.lit(1).alias("x")), "fact_receipts", JAN
        )


def test_a_duplicated_or_null_key_is_refused_before_writing() -> None:
    duplicated = _silver_frame("fact_receipts", [row("fact_receipts"), row("fact_receipts", total_cents=5)])
    with pytest.raises(SpecValidationError, match=r"primary key \['receipt_id'\] has 0 null and 2 duplicated"):
        validate_output(duplicated, "fact_receipts", JAN)
    null_key = _silver_frame("fact_receipts", [row("fact_receipts", receipt_id=None)])
    with pytest.raises(SpecValidationError, match="has 1 null"):
        validate_output(null_key, "fact_receipts", JAN)


def test_scd2_needs_exactly_one_current_version_per_key() -> None:
    stores = pl.DataFrame(
        [
            {**row("dim_stores"), "valid_from": dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "valid_to": None, "is_current": True},
            {**row("dim_stores"), "valid_from": dt.datetime(2024, 2, 1, tzinfo=dt.UTC), "valid_to": None, "is_current": True},
        ],
        schema=polars_schema(silver_columns("dim_stores")),
        orient="row",
    )
    with pytest.raises(SpecValidationError, match="1 keys without exactly one current version"):
        validate_output(stores, "dim_stores", None)
