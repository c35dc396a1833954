"""Quarantine tables published to the DuckDB file as one table ``quarantine`` (issue 12, part 6).

Bronze writes the quarantine (``retail_assets_tests/quarantined.py``); ``serving/quarantine`` is
materialized by Dagster into a real DuckDB file, in the ``duckdb`` pool like every DuckDB writer.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.serving import build_quarantine_serving_asset
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs import QUARANTINE_COLUMNS
from retail_assets_tests.quarantined import EXPECTED, FEB, JAN, RANGE, fix_store_ops, materialize_rejects

PUBLISHED = ("layer", "quarantine_table", "month_start", "reason_code", "source_file", "row_number", "value")


@pytest.fixture
def duckdb_path(tmp_path: Path) -> Path:
    return tmp_path / "serving" / "retail.duckdb"


def publish(lake: LakeStore, duckdb_path: Path, instance: dg.DagsterInstance, **partitions) -> dg.ExecuteInProcessResult:
    result = dg.materialize(
        [build_quarantine_serving_asset()],
        resources={"lake": lake, "duckdb": DuckDBResource(database=str(duckdb_path))},
        instance=instance,
        **partitions,
    )
    assert result.success
    return result


def served(duckdb_path: Path, columns: tuple[str, ...] = PUBLISHED) -> list[tuple]:
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(f"SELECT {', '.join(columns)} FROM quarantine ORDER BY ALL").fetchall()


def test_every_quarantined_row_is_in_duckdb_with_its_layer_and_table(
    resources, lake: LakeStore, instance, duckdb_path: Path
) -> None:
    materialize_rejects(resources, instance)
    result = publish(lake, duckdb_path, instance, tags=RANGE)
    rows = served(duckdb_path)
    counted: dict[tuple, int] = {}
    for layer, table, month, reason_code, *_ in rows:
        counted[(layer, table, month, reason_code)] = counted.get((layer, table, month, reason_code), 0) + 1
    assert counted == EXPECTED
    assert ("bronze", "fact_store_ops", FEB, "type_error", "batch/fact_store_ops/2024-02/stores.csv", 2, "four") in rows
    metadata = {
        m.partition: m.metadata["dagster/row_count"].value
        for m in (e.materialization for e in result.get_asset_materialization_events())
    }
    assert metadata == {"2024-01-01": 4, "2024-02-01": 1}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        columns = [c for c, *_ in con.execute("DESCRIBE quarantine").fetchall()]
        comment = con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'quarantine'").fetchall()[0][0]
    assert columns == ["layer", "quarantine_table", *(c.name for c in QUARANTINE_COLUMNS)]
    assert "rejected" in comment


def test_publishing_is_idempotent_and_replaces_exactly_its_months(
    resources, lake: LakeStore, instance, duckdb_path: Path
) -> None:
    materialize_rejects(resources, instance)
    publish(lake, duckdb_path, instance, tags=RANGE)
    first = served(duckdb_path, ("*",))
    publish(lake, duckdb_path, instance, tags=RANGE)
    assert served(duckdb_path, ("*",)) == first
    # The producer fixes January's store-ops file; Bronze clears that quarantine; January is re-published.
    fix_store_ops(resources, instance, JAN)
    publish(lake, duckdb_path, instance, partition_key="2024-01-01")
    tables = {(table, month) for _, table, month, *_ in served(duckdb_path)}
    assert tables == {("fact_store_ops", FEB), ("receipt_created", JAN)}


def test_a_column_a_quarantine_table_gains_is_published_too(
    resources, lake: LakeStore, instance, duckdb_path: Path
) -> None:
    """Quarantine tables grow nullable columns (as trace_id once did); the DuckDB table follows without a rebuild."""
    materialize_rejects(resources, instance)
    publish(lake, duckdb_path, instance, tags=RANGE)
    # A quarantine table written after the spec gained a column has it; the older tables do not.
    wider = lake.read("quarantine/bronze/fact_store_ops", [FEB]).with_columns(
        pl.lit("receipt_line_added").alias("table_name"), pl.lit("line-7").alias("producer_note")
    )
    lake.overwrite_months("quarantine/bronze/receipt_line_added", wider, [FEB])
    publish(lake, duckdb_path, instance, partition_key="2024-02-01")
    rows = served(duckdb_path, ("quarantine_table", "month_start", "producer_note"))
    assert rows == [
        ("fact_store_ops", JAN, None),
        ("fact_store_ops", FEB, None),
        ("receipt_created", JAN, None),
        ("receipt_created", JAN, None),
        ("receipt_created", JAN, None),
        ("receipt_line_added", FEB, "line-7"),
    ]


def test_an_empty_lake_publishes_an_empty_table_with_the_spec_columns(
    lake: LakeStore, instance, duckdb_path: Path
) -> None:
    result = publish(lake, duckdb_path, instance, partition_key="2024-01-01")
    assert served(duckdb_path) == []
    (materialization,) = [e.materialization for e in result.get_asset_materialization_events()]
    assert materialization.metadata["dagster/row_count"].value == 0
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        assert {c for c, *_ in con.execute("DESCRIBE quarantine").fetchall()} >= {c.name for c in QUARANTINE_COLUMNS}


def test_serving_quarantine_follows_every_bronze_and_silver_table_in_the_duckdb_pool() -> None:
    asset = build_quarantine_serving_asset()
    parents = {k.to_user_string() for k in asset.dependency_keys}
    assert {"bronze/fact_store_ops", "bronze/receipt_created", "silver/fact_receipts", "silver/dim_stores"} <= parents
    assert asset.op.pool == "duckdb"
    assert asset.partitions_def is not None and asset.backfill_policy == dg.BackfillPolicy.single_run()
