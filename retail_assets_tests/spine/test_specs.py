"""The spec registry: what it declares, and that a spec breaking a convention fails loudly at import."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import retail_assets
from retail_assets.lib.specs import REGISTRY, DType, SpecError, TableSpec, bronze_columns, event_columns, silver_columns
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.dimensions import DIMENSIONS
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.events import EVENTS
from retail_assets.lib.specs.facts import FACTS
from retail_assets.lib.specs.registry import Registry

# The reference system's tables and events by name (reference spec §4, §7, §9, §17). Spelled out
# here, not derived from the registry, so that losing one from the registry fails this test.
DIMENSION_NAMES = {
    "dim_geographies", "dim_distribution_centers", "dim_stores", "dim_trucks", "dim_customers", "dim_products",
    "dim_date",
}
FACT_NAMES = {
    "fact_receipts", "fact_receipt_lines", "fact_payments", "fact_store_inventory_txn", "fact_dc_inventory_txn",
    "fact_truck_moves", "fact_truck_inventory", "fact_foot_traffic", "fact_ble_pings", "fact_customer_zone_changes",
    "fact_marketing", "fact_online_order_headers", "fact_online_order_lines", "fact_store_ops", "fact_stockouts",
    "fact_promotions", "fact_promo_lines", "fact_reorders", "fact_marketing_attribution",
}
EVENT_TYPES = {
    "receipt_created", "receipt_line_added", "payment_processed", "inventory_updated", "stockout_detected",
    "reorder_triggered", "customer_entered", "customer_zone_changed", "ble_ping_detected", "truck_arrived",
    "truck_departed", "store_opened", "store_closed", "ad_impression", "promotion_applied", "online_order_created",
    "online_order_picked", "online_order_shipped",
}  # fmt: skip


def test_the_registry_declares_every_reference_table_and_event() -> None:
    assert {t.name for t in REGISTRY.dimensions} == DIMENSION_NAMES
    assert {t.name for t in REGISTRY.facts} == FACT_NAMES
    assert {e.event_type for e in REGISTRY.events} == EVENT_TYPES


def test_the_envelope_is_the_reference_envelope() -> None:
    # The 10 reference fields; the payload is flattened into columns beside the other nine.
    assert [c.name for c in ENVELOPE] == [
        "event_type", "trace_id", "ingest_timestamp", "schema_version", "source", "correlation_id",
        "partition_key", "session_id", "parent_event_id",
    ]  # fmt: skip
    assert {c.name for c in ENVELOPE if not c.nullable} == {
        "event_type", "trace_id", "ingest_timestamp", "schema_version", "source",
    }  # fmt: skip


def test_the_inventory_payload_source_keeps_the_reference_rename() -> None:
    column = next(c for c in REGISTRY.event("inventory_updated").payload if c.name == "payload_source")
    assert column.field == "source"
    assert "payload_source" in [c.name for c in event_columns(REGISTRY.event("inventory_updated"))]


def test_money_is_integer_cents_everywhere_in_the_tables() -> None:
    for table in REGISTRY.tables.values():
        for c in table.columns:
            assert c.dtype is not DType.FLOAT64 or c.name in {"latitude", "longitude", "daily_traffic_multiplier"}, (
                f"{table.name}.{c.name} is a float"
            )
            if c.name.endswith("_cents"):
                assert c.dtype is DType.INT64


def test_every_fact_is_partitioned_by_a_non_null_utc_timestamp() -> None:
    for fact in REGISTRY.facts:
        column = fact.column(fact.time_column)
        assert column.dtype is DType.TIMESTAMP and not column.nullable
        assert DType.TIMESTAMP.polars.time_zone == "UTC"


def test_every_event_maps_to_facts_that_list_it() -> None:
    for event in REGISTRY.events:
        for fact in event.facts:
            assert event.event_type in REGISTRY.table(fact).source_events
    mapped = {e for t in REGISTRY.facts for e in t.source_events}
    assert mapped == EVENT_TYPES


def test_foreign_keys_point_at_dimension_keys() -> None:
    targets = {c.references for t in REGISTRY.tables.values() for c in t.columns if c.references}
    assert targets == {"dim_stores", "dim_products", "dim_customers", "dim_distribution_centers", "dim_trucks", "dim_geographies"}


def test_layer_columns_add_partition_lineage_and_history() -> None:
    bronze = [c.name for c in bronze_columns("fact_receipts")]
    assert bronze[-4:] == ["month_start", "_source_file", "_batch_id", "_ingested_at"]
    assert [c.name for c in bronze_columns("dim_stores")][-4] == "snapshot_month"
    assert [c.name for c in silver_columns("dim_customers")][-3:] == ["valid_from", "valid_to", "is_current"]
    assert [c.name for c in silver_columns("dim_products")] == list(REGISTRY.table("dim_products").column_names)
    assert [c.name for c in silver_columns("fact_payments")][-1] == "month_start"


def _fact(**overrides) -> TableSpec:
    spec = {
        "name": "fact_test",
        "kind": "fact",
        "description": "A fact used to test validation.",
        "grain": "one row per test",
        "primary_key": ("test_id",),
        "time_column": "event_ts",
        "columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time.")),
    }
    spec.update(overrides)
    return TableSpec(**spec)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time."), col("total_price", DType.FLOAT64, "Money."))},
         "table 'fact_test': column 'total_price' looks like money stored as float"),
        ({"columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time."), col("tax_cents", DType.INT32, "Tax."))},
         "column 'tax_cents' holds cents and must be int64"),
        ({"primary_key": ("missing_id",)}, "primary key column 'missing_id' is not a column"),
        ({"time_column": None}, "a fact needs a time_column"),
        ({"name": "receipts"}, "must start with 'fact_'"),
        ({"columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time."), col("event_ts", DType.STRING, "Again."))},
         "column 'event_ts' is declared twice"),
        ({"columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time."), col("month_start", DType.DATE, "Part."))},
         "'month_start' is added by the platform"),
        ({"columns": (col("test_id", DType.STRING, "Key."), col("event_ts", DType.TIMESTAMP, "Time."), col("_loaded", DType.STRING, "Lineage."))},
         "leading underscores are reserved"),
    ],
)  # fmt: skip
def test_a_spec_breaking_a_convention_is_refused_with_table_and_column(overrides: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        _fact(**overrides)


def test_column_names_must_be_snake_case() -> None:
    with pytest.raises(ValueError, match="column 'StoreID': names must be snake_case"):
        col("StoreID", DType.INT64, "Store.")


def test_a_foreign_key_to_an_unknown_dimension_is_refused() -> None:
    bad = _fact(columns=(*_fact().columns, col("mall_id", DType.INT64, "Mall.", references="dim_malls")))
    with pytest.raises(SpecError, match="table 'fact_test': column 'mall_id' references 'dim_malls', which is not a dimension"):
        Registry(dimensions=DIMENSIONS, facts=(*FACTS, bad), events=EVENTS).validate()


def test_a_foreign_key_of_the_wrong_type_is_refused() -> None:
    bad = _fact(columns=(*_fact().columns, col("store_id", DType.STRING, "Store.", references="dim_stores")))
    with pytest.raises(SpecError, match="column 'store_id' is string but dim_stores.store_id is int64"):
        Registry(dimensions=DIMENSIONS, facts=(*FACTS, bad), events=EVENTS).validate()


def test_a_broken_spec_fails_the_code_location_at_import(tmp_path: Path) -> None:
    # Make the edit a developer would make, in a copy of the package, and load the code location from it.
    package = tmp_path / "retail_assets"
    shutil.copytree(Path(retail_assets.__file__).parent, package, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(Path(retail_assets.__file__).parents[1] / "pyproject.toml", tmp_path / "pyproject.toml")
    facts = package / "lib" / "specs" / "facts.py"
    facts.write_text(
        facts.read_text()
        + textwrap.dedent(
            """
            FACTS = FACTS + (TableSpec(name="fact_bad", kind="fact", description="A broken fact spec.",
                grain="one row", primary_key=("bad_id",), time_column="event_ts",
                columns=(col("bad_id", D.STRING, "Key."), col("event_ts", D.TIMESTAMP, "Time."),
                         col("store_id", D.INT64, "Store.", references="dim_nowhere"))),)
            """
        )
    )
    result = subprocess.run(
        [sys.executable, "-c", "from retail_assets.definitions import defs; defs()"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": str(tmp_path)},
    )
    assert result.returncode != 0
    assert "table 'fact_bad': column 'store_id' references 'dim_nowhere', which is not a dimension" in result.stderr
