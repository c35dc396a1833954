"""The Gold, serving and alert definitions as users see them: keys, groups, partitions, checks, pools, specs."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest
import yaml

from retail_assets.defs.gold import check_names
from retail_assets.defs.streaming import stream_worker
from retail_assets.lib import alerts as rules
from retail_assets.lib.gold.kpis.alerts import ALERT_HOSTS
from retail_assets.lib.gold.model import GoldTable, SilverInput
from retail_assets.lib.gold.specs import GOLD, GOLD_TABLES
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.serving import SERVED_DIMENSIONS
from retail_assets.lib.specs import ColumnSpec, DType
from retail_assets.lib.specs.events import EVENTS
from retail_assets.lib.streaming.incremental import HOT_SILVER, MINUTE_GOLD

REPO = Path(__file__).resolve().parents[2]
# Reference spec §11: every table it names, and seed 002's marts. Gold has these and the KPIs defined here, which the
# registry lists (lib/gold/kpis/): adding one needs no edit here.
REFERENCE_TABLES = {
    "sales_minute_store",
    "top_products_15m",
    "inventory_position_current",
    "dc_inventory_position_current",
    "truck_dwell_daily",
    "online_sales_daily",
    "fulfillment_daily",
    "zone_dwell_minute",
    "ble_presence_minute",
    "marketing_cost_daily",
    "campaign_revenue_daily",
    "tender_mix_daily",
    "stockouts_daily",
    "reorders_daily",
    "promo_performance_daily",
    "store_ops_daily",
    "stockout_duration_daily",
    "reorder_cycle_daily",
    "promotion_effectiveness_daily",
    "store_performance_daily",
    "campaign_performance_daily",
}
SEED_002_MARTS = {
    "daily_sales_by_channel",
    "customer_lifetime_value",
    "product_returns_daily",
    "payments_refunds_daily",
}


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from retail_assets.definitions import defs

    return defs()


def test_every_reference_table_and_mart_is_a_monthly_gold_asset(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    gold = {k.path[1] for k in graph.get_all_asset_keys() if k.path[0] == "gold"}
    assert gold == set(GOLD)
    assert REFERENCE_TABLES | SEED_002_MARTS | {"alerts"} <= gold
    assert all(GOLD[n].origin.startswith("defined here") for n in gold - REFERENCE_TABLES - SEED_002_MARTS - {"alerts"})
    for name in gold:
        node = graph.get(dg.AssetKey(["gold", name]))
        assert (node.group_name, node.kinds, node.partitions_def) == ("gold", {"polars", "delta"}, MONTHLY)
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
        assert GOLD[name].grain in node.description and GOLD[name].formula in node.description


def test_checks_block_on_schema_and_grain_and_warn_on_alerts(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    for table in GOLD_TABLES:
        specs = {
            graph.get_check_spec(k).name: graph.get_check_spec(k)
            for k in graph.get(dg.AssetKey(["gold", table.name])).check_keys
        }
        assert set(specs) == set(check_names(table))
        assert {n for n, s in specs.items() if s.blocking} == {"schema_parity", "grain_unique"}
        assert all(s.partitions_def == MONTHLY for s in specs.values())
    assert set(ALERT_HOSTS) == set(rules.ALERTS)
    for alert, host in ALERT_HOSTS.items():
        assert f"alert_{alert}" in check_names(GOLD[host])


def test_windows_and_snapshots_are_declared_as_partition_mappings(definitions: dg.Definitions) -> None:
    graph = definitions.resolve_asset_graph()
    truck = dg.AssetKey(["gold", "truck_dwell_daily"])
    moves = dg.AssetKey(["silver", "fact_truck_moves"])
    parents = graph.get_parents_partitions(truck, "2024-01-01").parent_partitions
    assert {p.partition_key for p in parents if p.asset_key == moves} == {"2024-01-01", "2024-02-01"}
    positions = dg.AssetKey(["gold", "inventory_position_current"])
    parents = graph.get_parents_partitions(positions, "2024-02-01").parent_partitions
    assert {p.partition_key for p in parents if p.asset_key == positions} == {"2024-01-01"}


def test_every_duckdb_writer_is_in_the_duckdb_pool_of_one_slot(definitions: dg.Definitions) -> None:
    assets = [a for a in definitions.assets if isinstance(a, dg.AssetsDefinition)]
    writers = [a for a in assets if "duckdb" in a.required_resource_keys]
    every = {k.to_user_string() for a in writers for k in a.keys}
    # The store edge domain serves its Gold and dimensions into the same file, through the same pool (docs/edge.md).
    edge = {k for k in every if k.startswith("edge/serving/")}
    keys = every - edge
    assert keys == {f"serving/{t}" for t in GOLD} | {f"serving/{d.name}" for d in SERVED_DIMENSIONS} | {"serving/quarantine"}
    assert edge and {a.op.pool for a in writers} == {"duckdb"}
    # dagster.yaml gives every pool one slot, so no other asset may declare a pool, except the writers of what the
    # stream updates incrementally (pool stream, lib/pools.py): the Bronze event tables, which must not interleave
    # on a month, and the Silver facts and Gold tables the stream worker appends to — exactly those, in one pool,
    # which the worker's op holds while it runs.
    others = {k.to_user_string(): a.op.pool for a in assets if a not in writers for k in a.keys}
    hot = {f"silver/{t}" for t in HOT_SILVER} | {f"gold/{t}" for t in MINUTE_GOLD}
    assert {key for key, pool in others.items() if pool == "stream"} == hot | {f"bronze/{e.table_name}" for e in EVENTS}
    assert set(others.values()) == {None, "stream"}
    assert stream_worker.graph.node_defs[0].pool == "stream"
    config = yaml.safe_load((REPO / "dagster.yaml").read_text())
    assert config["concurrency"]["pools"]["default_limit"] == 1
    graph = definitions.resolve_asset_graph()
    for key in keys:
        node = graph.get(dg.AssetKey(key.split("/")))
        assert (node.group_name, node.kinds) == ("serving", {"duckdb"})


def test_the_main_job_and_the_alert_sensor(definitions: dg.Definitions) -> None:
    job = definitions.resolve_job_def("retail_lakehouse")
    executable = job.asset_layer.executable_asset_keys
    assert {
        dg.AssetKey(["gold", "alerts"]),
        dg.AssetKey(["serving", "alerts"]),
        dg.AssetKey(["serving", "dim_date"]),
    } <= executable
    sensor = definitions.resolve_sensor_def("deliver_alerts")
    assert {"lake", "alert_sink"} <= sensor.required_resource_keys
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING


def _table(**changes) -> GoldTable:
    base = GOLD["tender_mix_daily"].model_dump()
    base.update(changes)
    return GoldTable.model_validate(base)


def test_the_gold_model_refuses_float_money_and_tables_without_a_calendar_key() -> None:
    columns = list(GOLD["tender_mix_daily"].columns)
    with pytest.raises(ValueError, match="'avg_spend' looks like money stored as float"):
        _table(columns=(*columns, ColumnSpec(name="avg_spend", dtype=DType.FLOAT64, description="Spend.")))
    with pytest.raises(ValueError, match="carries 'date_key'"):
        _table(columns=tuple(c for c in columns if c.name != "date_key"))
    with pytest.raises(ValueError, match="is not a Silver fact"):
        SilverInput(table="dim_stores")
    with pytest.raises(ValueError, match="key column 'store_id' is not a column"):
        _table(key=("day", "store_id"))


def test_how_a_gold_table_is_kept_fresh_is_declared_not_read_from_its_grain() -> None:
    """The stream worker, serving's minute copies and the freshness policies select tables by ``refresh``: a table
    whose grain mentions a minute is not streamed unless it says so, and a snapshot cannot ask to be."""
    from retail_assets.lib.freshness import DAILY_GOLD
    from retail_assets.lib.streaming.incremental import MINUTE_GOLD

    assert set(MINUTE_GOLD) == {n for n, t in GOLD.items() if t.refresh == "stream"}
    assert "tender_mix_daily" in DAILY_GOLD and "inventory_position_current" not in DAILY_GOLD
    renamed = _table(grain="UTC minute × payment method")
    assert renamed.refresh == "daily"
    with pytest.raises(ValueError, match="Field required"):
        GoldTable.model_validate({k: v for k, v in GOLD["tender_mix_daily"].model_dump().items() if k != "refresh"})
    snapshot = GOLD["inventory_position_current"].model_dump()
    with pytest.raises(ValueError, match="refresh='stream' needs a time-grained table"):
        GoldTable.model_validate({**snapshot, "refresh": "stream"})


def test_automation_requests_a_gold_month_once_its_same_month_inputs_exist() -> None:
    import warnings

    from retail_assets.defs.gold import build_gold_assets
    from retail_assets.defs.silver import build_silver_assets
    from retail_assets.lib.lake import LakeStore

    gold = dg.AssetKey(["gold", "store_performance_daily"])  # reads receipts, foot traffic and stockouts of the month
    defs = dg.Definitions(
        assets=[*build_silver_assets(), *build_gold_assets()], resources={"lake": LakeStore(root_uri="unused")}
    )

    def requested(instance, cursor):
        result = dg.evaluate_automation_conditions(
            defs=defs, instance=instance, asset_selection=dg.AssetSelection.assets(gold), cursor=cursor
        )
        subset = next(r for r in result.results if r.key == gold).true_subset
        return set(subset.expensively_compute_partition_keys()), result.cursor

    def update(instance, table: str) -> None:
        instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["silver", table]), partition="2024-01-01"))

    with dg.DagsterInstance.ephemeral() as instance, warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        _, cursor = requested(instance, None)
        update(instance, "fact_receipts")  # streamed receipts, no foot traffic or stockouts yet
        keys, cursor = requested(instance, cursor)
        assert keys == set()
        update(instance, "fact_foot_traffic")
        update(instance, "fact_stockouts")
        keys, cursor = requested(instance, cursor)
        assert keys == {"2024-01-01"}
