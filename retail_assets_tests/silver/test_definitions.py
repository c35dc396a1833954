"""The Silver graph as users see it: keys, groups, kinds, partitions, dependencies and checks."""

from __future__ import annotations

import dagster as dg

from retail_assets.definitions import defs
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.specs import REGISTRY

CHECKS = {
    "schema_parity",
    "primary_key_unique",
    "foreign_keys_resolve",
    "reconciles_with_bronze",
    "non_empty",
    "nothing_quarantined",
}
FACT_CHECKS = {"keeps_bronze_keys"}


def _graph():
    return defs().resolve_asset_graph()


def test_one_silver_asset_per_dimension_and_fact() -> None:
    graph = _graph()
    silver = {k.path[1] for k in graph.get_all_asset_keys() if k.path[0] == "silver"}
    assert silver == set(REGISTRY.tables)
    for name, table in REGISTRY.tables.items():
        node = graph.get(dg.AssetKey(["silver", name]))
        assert node.group_name == "silver"
        assert node.kinds == {"polars", "delta"}
        assert node.partitions_def == (MONTHLY if table.kind == "fact" else None)
        assert node.description and table.description in node.description


def test_facts_depend_on_bronze_batch_events_and_referenced_dimensions() -> None:
    graph = _graph()
    parents = {k.to_user_string() for k in graph.get(dg.AssetKey(["silver", "fact_store_inventory_txn"])).parent_keys}
    assert parents == {
        "bronze/fact_store_inventory_txn",
        "bronze/inventory_updated",
        "silver/dim_stores",
        "silver/dim_products",
    }
    lines = {k.to_user_string() for k in graph.get(dg.AssetKey(["silver", "fact_online_order_lines"])).parent_keys}
    assert {"bronze/online_order_picked", "bronze/online_order_shipped", "silver/dim_distribution_centers"} <= lines
    pings = {k.to_user_string() for k in graph.get(dg.AssetKey(["silver", "fact_ble_pings"])).parent_keys}
    assert "silver/dim_customers" in pings
    stores = {k.to_user_string() for k in graph.get(dg.AssetKey(["silver", "dim_stores"])).parent_keys}
    assert stores == {"bronze/dim_stores", "silver/dim_geographies"}


def test_check_names_blocking_and_partitioning() -> None:
    graph = _graph()
    for name, table in REGISTRY.tables.items():
        key = dg.AssetKey(["silver", name])
        specs = {s.name: s for s in graph.get(key).check_keys and (graph.get_check_spec(k) for k in graph.get(key).check_keys)}
        has_references = any(c.references for c in table.columns)
        expected = (CHECKS if has_references else CHECKS - {"foreign_keys_resolve"}) | (
            FACT_CHECKS if table.kind == "fact" else set()
        )
        assert set(specs) == expected, name
        assert {n for n, s in specs.items() if s.blocking} == {"schema_parity", "primary_key_unique"}
        assert all(s.partitions_def == (MONTHLY if table.kind == "fact" else None) for s in specs.values())
        assert all(s.description for s in specs.values()), name
