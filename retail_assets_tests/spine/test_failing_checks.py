"""The blocking checks of Silver and Gold can fail, and a failure holds what is downstream.

Each test breaks one check the way a bug would: the transform builds a drifted column or a repeated key
(refused before writing: nothing lands), or a faulty writer stores a repeated key (caught on the month as
stored). Either way the check is recorded *failed* for the month, with the table, partition, columns and
values in its metadata; the downstream step of the same run does not run, and a later run of it fails fast
naming the check until the month is built again and passes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.serving import build_gold_serving_asset
from retail_assets.lib.gold import builders as gold_builders
from retail_assets.lib.gold.specs import gold_table
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.silver import pipeline as silver_pipeline
from retail_assets_tests.spine.test_gates import RECEIPTS, SALES_MINUTE, Lakehouse, lakehouse  # noqa: F401 - fixture

JAN = "2024-01-01"
SERVED_SALES_MINUTE = dg.AssetKey(["serving", "sales_minute_store"])


class ServedLakehouse(Lakehouse):
    """Bronze, Silver, Gold and the DuckDB serving asset of gold/sales_minute_store."""

    def __init__(self, lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance, database: Path):
        super().__init__(lake, landing, instance)
        self.assets = [*self.assets, build_gold_serving_asset(gold_table("sales_minute_store"))]
        self.defs = dg.Definitions(
            assets=self.assets,
            resources={"lake": lake, "landing": landing, "duckdb": DuckDBResource(database=str(database))},
        )


@pytest.fixture
def house(lakehouse: Lakehouse, tmp_path: Path) -> ServedLakehouse:  # noqa: F811 - the imported fixture
    served = ServedLakehouse(lakehouse.lake, lakehouse.landing, lakehouse.instance, tmp_path / "serving.duckdb")
    assert served.materialize([SERVED_SALES_MINUTE], JAN).success
    return served


def _evaluation(result: dg.ExecuteInProcessResult, key: dg.AssetKey, check: str) -> dg.AssetCheckEvaluation:
    [found] = [e for e in result.get_asset_check_evaluations() if e.asset_key == key and e.check_name == check]
    return found


def _materialized(result: dg.ExecuteInProcessResult) -> set[dg.AssetKey]:
    return {e.asset_key for e in result.get_asset_materialization_events()}


def _fails_fast(house: Lakehouse, key: dg.AssetKey, held_by: str) -> None:
    """A later run of ``key`` for January fails before it reads anything, naming the failed check."""
    result = house.materialize([key], JAN)
    assert not result.success and key not in _materialized(result)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert held_by in failure.event_specific_data.user_failure_data.description


def _faulty_silver_build(monkeypatch: pytest.MonkeyPatch, change) -> None:
    """The Silver transform of a fact month returns ``change(rows)`` (what a bug in lib/silver would build)."""
    build = silver_pipeline.build_fact_month

    def faulty(*args, **kwargs):
        built = build(*args, **kwargs)
        return dataclasses.replace(built, rows=change(built.rows))

    monkeypatch.setattr(silver_pipeline, "build_fact_month", faulty)


def _faulty_gold_build(monkeypatch: pytest.MonkeyPatch, change) -> None:
    """The transform of gold/sales_minute_store returns ``change(rows)``."""
    builder = gold_builders.BUILDERS["sales_minute_store"]
    monkeypatch.setitem(
        gold_builders.BUILDERS, "sales_minute_store", dataclasses.replace(builder, build=lambda i: change(builder.build(i)))
    )


def _faulty_writer(monkeypatch: pytest.MonkeyPatch, table: str) -> None:
    """``LakeStore.overwrite_months`` stores the first row of ``table`` twice (as a faulty writer would)."""
    overwrite = LakeStore.overwrite_months

    def twice(self, target, rows, *args, **kwargs):
        return overwrite(self, target, pl.concat([rows, rows.head(1)]) if target == table else rows, *args, **kwargs)

    monkeypatch.setattr(LakeStore, "overwrite_months", twice)


def test_silver_schema_parity_fails_on_a_drifted_output_and_holds_gold(house: ServedLakehouse, monkeypatch) -> None:
    silver_before = house.lake.read("silver/fact_receipts")
    _faulty_silver_build(monkeypatch, lambda rows: rows.with_columns(pl.col("item_count").cast(pl.Int64)))

    result = house.materialize([RECEIPTS, SALES_MINUTE], JAN)

    assert not result.success
    parity = _evaluation(result, RECEIPTS, "schema_parity")
    assert not parity.passed and parity.blocking and parity.partition == JAN
    assert parity.metadata["table"].value == "fact_receipts" and parity.metadata["partition"].value == JAN
    assert parity.metadata["mistyped_columns"].value == {"item_count": ["Int64", "int32"]}
    assert "nothing was written" in parity.description
    assert SALES_MINUTE not in _materialized(result), "Gold does not run on a month that failed its check"
    assert house.lake.read("silver/fact_receipts").equals(silver_before)

    monkeypatch.undo()
    _fails_fast(house, SALES_MINUTE, "silver/fact_receipts 2024-01 failed its blocking check schema_parity")
    assert house.materialize([RECEIPTS], JAN).success, "the fixed transform builds the month"
    assert house.materialize([SALES_MINUTE], JAN).success, "and releases Gold"


def test_silver_primary_key_unique_fails_on_a_repeated_key_and_holds_gold(house: ServedLakehouse, monkeypatch) -> None:
    silver_before = house.lake.read("silver/fact_receipts")
    _faulty_silver_build(monkeypatch, lambda rows: pl.concat([rows, rows.head(1)]))

    result = house.materialize([RECEIPTS, SALES_MINUTE], JAN)

    assert not result.success
    key = _evaluation(result, RECEIPTS, "primary_key_unique")
    assert not key.passed and key.blocking and key.partition == JAN
    assert key.metadata["duplicate_keys"].value == 2 and key.metadata["key"].value == ["receipt_id"]
    assert key.metadata["key_examples"].value == [{"receipt_id": "R1"}]
    assert SALES_MINUTE not in _materialized(result)
    assert house.lake.read("silver/fact_receipts").equals(silver_before)

    monkeypatch.undo()
    _fails_fast(house, SALES_MINUTE, "silver/fact_receipts 2024-01 failed its blocking check primary_key_unique")


def test_silver_primary_key_unique_evaluates_the_month_as_stored(house: ServedLakehouse, monkeypatch) -> None:
    _faulty_writer(monkeypatch, "silver/fact_receipts")

    result = house.materialize([RECEIPTS, SALES_MINUTE], JAN)

    assert not result.success and RECEIPTS in _materialized(result)  # written: the check read it back
    key = _evaluation(result, RECEIPTS, "primary_key_unique")
    assert not key.passed and key.metadata["duplicate_keys"].value == 2
    assert key.metadata["key_examples"].value == [{"receipt_id": "R1"}]
    assert "rows stored" in key.description
    assert _evaluation(result, RECEIPTS, "schema_parity").passed
    assert SALES_MINUTE not in _materialized(result)

    monkeypatch.undo()
    _fails_fast(house, SALES_MINUTE, "silver/fact_receipts 2024-01 failed its blocking check primary_key_unique")
    assert house.materialize([RECEIPTS], JAN).success
    assert house.materialize([SALES_MINUTE], JAN).success


def test_gold_grain_unique_fails_on_a_repeated_grain_row_and_holds_serving(house: ServedLakehouse, monkeypatch) -> None:
    gold_before = house.lake.read("gold/sales_minute_store")
    _faulty_gold_build(monkeypatch, lambda rows: pl.concat([rows, rows.head(1)]))

    result = house.materialize([SALES_MINUTE, SERVED_SALES_MINUTE], JAN)

    assert not result.success
    grain = _evaluation(result, SALES_MINUTE, "grain_unique")
    assert not grain.passed and grain.blocking and grain.partition == JAN
    assert grain.metadata["table"].value == "sales_minute_store" and grain.metadata["partition"].value == JAN
    assert grain.metadata["key"].value == ["store_id", "ts"] and grain.metadata["duplicate_rows"].value == 2
    [example] = grain.metadata["key_examples"].value
    assert set(example) == {"store_id", "ts"}
    assert SERVED_SALES_MINUTE not in _materialized(result), "serving does not publish a month that failed its check"
    assert house.lake.read("gold/sales_minute_store").equals(gold_before)

    monkeypatch.undo()
    _fails_fast(house, SERVED_SALES_MINUTE, "gold/sales_minute_store 2024-01 failed its blocking check grain_unique")
    assert house.materialize([SALES_MINUTE], JAN).success
    assert house.materialize([SERVED_SALES_MINUTE], JAN).success


def test_gold_grain_unique_evaluates_the_month_as_stored(house: ServedLakehouse, monkeypatch) -> None:
    _faulty_writer(monkeypatch, "gold/sales_minute_store")

    result = house.materialize([SALES_MINUTE, SERVED_SALES_MINUTE], JAN)

    assert not result.success and SALES_MINUTE in _materialized(result)
    grain = _evaluation(result, SALES_MINUTE, "grain_unique")
    assert not grain.passed and grain.metadata["duplicate_keys"].value == 2 and "as stored" in grain.description
    assert _evaluation(result, SALES_MINUTE, "schema_parity").passed
    assert SERVED_SALES_MINUTE not in _materialized(result)

    monkeypatch.undo()
    _fails_fast(house, SERVED_SALES_MINUTE, "gold/sales_minute_store 2024-01 failed its blocking check grain_unique")


def test_gold_schema_parity_fails_on_a_drifted_output_and_holds_serving(house: ServedLakehouse, monkeypatch) -> None:
    gold_before = house.lake.read("gold/sales_minute_store")
    _faulty_gold_build(monkeypatch, lambda rows: rows.with_columns(pl.col("receipts").cast(pl.Float64)))

    result = house.materialize([SALES_MINUTE, SERVED_SALES_MINUTE], JAN)

    assert not result.success
    parity = _evaluation(result, SALES_MINUTE, "schema_parity")
    assert not parity.passed and parity.blocking and parity.partition == JAN
    assert parity.metadata["mistyped_columns"].value == {"receipts": ["Float64", "int64"]}
    assert parity.metadata["partition"].value == JAN
    assert SERVED_SALES_MINUTE not in _materialized(result)
    assert house.lake.read("gold/sales_minute_store").equals(gold_before)

    monkeypatch.undo()
    _fails_fast(house, SERVED_SALES_MINUTE, "gold/sales_minute_store 2024-01 failed its blocking check schema_parity")


def test_gold_schema_parity_fails_on_nulls_in_a_required_column(house: ServedLakehouse, monkeypatch) -> None:
    _faulty_gold_build(monkeypatch, lambda rows: rows.with_columns(pl.lit(None, dtype=pl.Int64).alias("receipts")))

    result = house.materialize([SALES_MINUTE], JAN)

    assert not result.success
    parity = _evaluation(result, SALES_MINUTE, "schema_parity")
    assert not parity.passed and parity.metadata["null_columns"].value == {"receipts": 1}


def test_gold_schema_parity_fails_on_rows_outside_the_month(house: ServedLakehouse, monkeypatch) -> None:
    first_row = pl.int_range(pl.len()) == 0
    _faulty_gold_build(
        monkeypatch,
        lambda rows: rows.with_columns(
            pl.when(first_row).then(pl.lit(dt.date(2024, 2, 1))).otherwise(pl.col("month_start")).alias("month_start")
        ),
    )

    result = house.materialize([SALES_MINUTE, SERVED_SALES_MINUTE], JAN)

    assert not result.success and SERVED_SALES_MINUTE not in _materialized(result)
    parity = _evaluation(result, SALES_MINUTE, "schema_parity")
    assert not parity.passed and parity.blocking and parity.metadata["rows_outside"].value == 1


def test_a_silver_dimension_with_a_repeated_key_fails_its_check_and_holds_the_facts(
    house: ServedLakehouse, monkeypatch
) -> None:
    stores = dg.AssetKey(["silver", "dim_stores"])
    before = house.lake.read("silver/dim_stores")
    build = silver_pipeline.build_dimension
    monkeypatch.setattr(
        silver_pipeline,
        "build_dimension",
        lambda *a, **k: (lambda b: dataclasses.replace(b, rows=pl.concat([b.rows, b.rows.head(1)])))(build(*a, **k)),
    )

    result = house.materialize([stores])

    assert not result.success
    key = _evaluation(result, stores, "primary_key_unique")
    assert not key.passed and key.blocking and key.partition is None
    assert key.metadata["table"].value == "dim_stores" and key.metadata["duplicate_keys"].value == 2
    assert house.lake.read("silver/dim_stores").equals(before)

    monkeypatch.undo()
    _fails_fast(house, RECEIPTS, "silver/dim_stores failed its blocking check primary_key_unique")
    assert house.materialize([stores]).success
    assert house.materialize([RECEIPTS], JAN).success
