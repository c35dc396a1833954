"""Serving: Gold tables and conformed dimensions published into the DuckDB file, a star schema for SQL/BI.

``serving/<table>`` for every Gold table (monthly: a month is deleted and re-inserted in one DuckDB
transaction) and ``serving/<dimension>`` for the conformed dimensions (replaced in one transaction;
SCD2 dimensions as their current version and as ``<dimension>_history``), and ``serving/quarantine``: every
row Bronze and Silver rejected, as the DuckDB table ``quarantine`` (monthly, like Gold). Code in
``lib/serving.py``.

DuckDB lets one process write a file at a time (a second writer fails at once with "Could not set
lock on file"), so every asset here runs in the ``duckdb`` concurrency pool, whose limit is 1
(``dagster.yaml``: ``concurrency.pools.default_limit``): steps of concurrent runs, backfills
included, queue for the pool instead of failing on the lock. Each asset reads the lake first and then
holds the file only for its one transaction, through ``serving_writer`` (the writer lock it shares with
the stream worker's ``refresh_streamed_minutes``), so readers wait at most that long (``lib/serving.py``).

A Gold month or Silver dimension whose blocking check failed (its latest evaluation, ``lib/gates.py``) is not
published: the step fails at once naming the check, and DuckDB keeps what it served before.
"""

from typing import Any

import dagster as dg
from dagster_duckdb import DuckDBResource

from retail_assets.defs.bronze import bronze_key
from retail_assets.defs.gold import gold_asset_key
from retail_assets.defs.silver import silver_asset_key
from retail_assets.lib.code_refs import code_references, declaration, gold_spec, table_spec
from retail_assets.lib.checks import column_schema
from retail_assets.lib.gates import assert_not_gated
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import MONTHLY, months_of, partition_key
from retail_assets.lib.pools import DUCKDB_POOL
from retail_assets.lib.quarantine_tables import scan_quarantine
from retail_assets.lib.serving import (
    QUARANTINE,
    QUARANTINE_DESCRIPTION,
    QUARANTINE_SERVED_COLUMNS,
    SERVED_DIMENSIONS,
    ServedDimension,
    latest_view,
    publish_dimension_rows,
    publish_gold_frame,
    publish_quarantine_frame,
    read_gold,
    serving_writer,
)
from retail_assets.lib.specs import QUARANTINE_COLUMNS, REGISTRY, registry

LAYER = "serving"


def serving_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([LAYER, name])


def build_gold_serving_asset(table: GoldTable) -> dg.AssetsDefinition:
    view = f" and the view {latest_view(table)} (its latest month)" if table.kind == "snapshot" else ""

    @dg.asset(
        key=serving_asset_key(table.name),
        deps=[gold_asset_key(table.name)],
        group_name=LAYER,
        kinds={"duckdb"},
        tags={"layer": LAYER},
        pool=DUCKDB_POOL,
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"gold/{table.name} in the DuckDB file as table {table.name}{view}: each month deleted and re-inserted in "
            f"one transaction.\n\n{table.description}"
        ),
        metadata={
            "dagster/column_schema": column_schema(gold_columns(table)),
            "duckdb_table": table.name,
            **code_references(*gold_spec(table.name)),
        },
    )
    def _serve(context: dg.AssetExecutionContext, lake: LakeStore, duckdb: DuckDBResource) -> dg.MaterializeResult:
        months = months_of(context)
        assert_not_gated(context, months)
        frame = read_gold(lake, table, months)
        with serving_writer(duckdb.database, config=duckdb.connection_config) as con:
            published = publish_gold_frame(con, table, frame, months)
        for month, rows in published.items():
            context.add_asset_metadata(
                {"dagster/row_count": rows, "duckdb_table": table.name}, partition_key=partition_key(month)
            )
        context.log.info(f"serving/{table.name}: published {published}")
        return dg.MaterializeResult()

    return _serve


def build_dimension_serving_asset(served: ServedDimension) -> dg.AssetsDefinition:
    what = (
        "every SCD2 version"
        if served.history
        else ("the current version of each key" if served.source.history == "scd2" else "every key")
    )

    @dg.asset(
        key=serving_asset_key(served.name),
        deps=[silver_asset_key(served.source.name)],
        group_name=LAYER,
        kinds={"duckdb"},
        tags={"layer": LAYER},
        pool=DUCKDB_POOL,
        description=(
            f"silver/{served.source.name} in the DuckDB file as the conformed dimension {served.name} ({what}), "
            f"replaced in one transaction.\n\n{served.description}"
        ),
        metadata={
            "dagster/column_schema": column_schema(served.columns),
            "duckdb_table": served.name,
            **code_references(table_spec(served.source.name)),
        },
    )
    def _serve(context: dg.AssetExecutionContext, lake: LakeStore, duckdb: DuckDBResource) -> dg.MaterializeResult:
        assert_not_gated(context, [])
        frame = served.rows(lake)
        with serving_writer(duckdb.database, config=duckdb.connection_config) as con:
            rows = publish_dimension_rows(con, served, frame)
        metadata: dict[str, Any] = {"dagster/row_count": rows, "duckdb_table": served.name}
        return dg.MaterializeResult(metadata=metadata)

    return _serve


def build_quarantine_serving_asset() -> dg.AssetsDefinition:
    """``serving/quarantine``: runs after every Bronze and Silver asset of the month, the ones that quarantine rows."""
    sources = [
        *(bronze_key(name) for name in (*REGISTRY.tables, *REGISTRY.events_by_type)),
        *(silver_asset_key(name) for name in REGISTRY.tables),
    ]

    @dg.asset(
        key=serving_asset_key(QUARANTINE),
        deps=sources,
        group_name=LAYER,
        kinds={"duckdb"},
        tags={"layer": LAYER},
        pool=DUCKDB_POOL,
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"Every quarantine/<layer>/<table> Delta table in the DuckDB file as one table {QUARANTINE}: each month "
            f"deleted and re-inserted in one transaction, so SQL/BI users see what was rejected and why.\n\n"
            f"{QUARANTINE_DESCRIPTION} The same rows from the command line: retail-assets quarantine."
        ),
        metadata={
            "dagster/column_schema": column_schema(QUARANTINE_SERVED_COLUMNS),
            "duckdb_table": QUARANTINE,
            # The union of every quarantine table: its columns are declared once, for all of them, in the registry.
            **code_references(declaration(registry, QUARANTINE_COLUMNS, "columns of every quarantine table")),
        },
    )
    def _serve(context: dg.AssetExecutionContext, lake: LakeStore, duckdb: DuckDBResource) -> dg.MaterializeResult:
        months = months_of(context)
        frame = scan_quarantine(lake, months).collect()
        with serving_writer(duckdb.database, config=duckdb.connection_config) as con:
            published = publish_quarantine_frame(con, frame, months)
        for month, rows in published.items():
            context.add_asset_metadata(
                {"dagster/row_count": rows, "duckdb_table": QUARANTINE}, partition_key=partition_key(month)
            )
        context.log.info(f"serving/{QUARANTINE}: published {published}")
        return dg.MaterializeResult()

    return _serve


def build_serving_assets() -> list[dg.AssetsDefinition]:
    return [
        *(build_gold_serving_asset(t) for t in GOLD_TABLES),
        *(build_dimension_serving_asset(d) for d in SERVED_DIMENSIONS),
        build_quarantine_serving_asset(),
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_serving_assets())
