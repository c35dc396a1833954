"""Gold and serving end to end on a lake: one single-run backfill of Jan–Feb through the real assets."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.gold import GRAIN_UNIQUE, RECONCILES_WITH_SILVER, alert_check_name
from retail_assets.lib import alerts as rules
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.gold.specs import GOLD, GOLD_TABLES
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs import REGISTRY
from retail_assets_tests.gold.conftest import RANGE, GoldRun, materialize
from retail_assets_tests.gold.scenario import write_silver
from retail_assets_tests.gold.silver_rows import FEB, JAN, silver


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.to_user_string(), e.check_name, e.partition): e for e in result.get_asset_check_evaluations()}


def _gold(run: GoldRun, table: str, month=JAN) -> pl.DataFrame:
    return run.lake.read(gold_path(table), [month])


def test_every_gold_table_has_rows_and_every_month_is_checked(gold_run: GoldRun) -> None:
    assert gold_run.result.success
    for table in GOLD_TABLES:
        assert _gold(gold_run, table.name).height > 0, table.name
    evaluations = _evaluations(gold_run.result)
    for table in GOLD_TABLES:
        for month in ("2024-01-01", "2024-02-01"):
            for check in ("schema_parity", GRAIN_UNIQUE, RECONCILES_WITH_SILVER):
                evaluation = evaluations[(f"gold/{table.name}", check, month)]
                assert evaluation.passed, (table.name, check, month, evaluation.description)


def test_alert_checks_warn_and_name_the_entities(gold_run: GoldRun) -> None:
    evaluations = _evaluations(gold_run.result)
    truck = evaluations[("gold/truck_dwell_daily", alert_check_name(rules.TRUCK_DWELL_OVER_SLA), "2024-01-01")]
    assert not truck.passed and truck.severity == dg.AssetCheckSeverity.WARN
    assert truck.metadata["shipment_ids"].value == ["S1", "S3"]
    assert truck.metadata["alerts"].value == 2
    stockout = evaluations[("gold/stockouts_daily", alert_check_name(rules.STOCKOUT), "2024-01-01")]
    assert (stockout.metadata["store_ids"].value, stockout.metadata["product_ids"].value) == ([1, 2], [2, 3])
    zone = evaluations[("gold/zone_dwell_minute", alert_check_name(rules.OVERCROWDED_ZONE), "2024-01-01")]
    assert (zone.metadata["store_ids"].value, zone.metadata["zones"].value) == ([2], ["CHECKOUT"])
    assert evaluations[("gold/sales_minute_store", alert_check_name(rules.HIGH_VALUE_RECEIPT), "2024-01-01")].metadata[
        "receipt_ids"
    ].value == ["BIG"]
    assert evaluations[("gold/marketing_cost_daily", alert_check_name(rules.CAMPAIGN_OVER_BUDGET), "2024-01-01")].passed
    assert evaluations[("gold/stockouts_daily", alert_check_name(rules.STOCKOUT), "2024-02-01")].passed
    alerts = _gold(gold_run, "alerts")
    assert sorted(alerts["alert_id"]) == [
        "high_value_receipt:BIG",
        "overcrowded_zone:2:CHECKOUT:2024-01-10T09:02Z",
        "stockout:s1",
        "stockout:s2",
        "truck_dwell_over_sla:S1",
        "truck_dwell_over_sla:S3",
        "urgent_reorder:r1",
    ]


def test_snapshots_carry_february_from_january(gold_run: GoldRun) -> None:
    february = {
        (r["store_id"], r["product_id"]): r
        for r in _gold(gold_run, "inventory_position_current", FEB).iter_rows(named=True)
    }
    assert february[(1, 2)]["on_hand"] == 22  # 24 carried in January, -2 streamed without a balance
    assert february[(1, 1)]["on_hand"] == 49  # 47, +2 returned
    clv = {r["customer_id"]: r for r in _gold(gold_run, "customer_lifetime_value", FEB).iter_rows(named=True)}
    assert (clv[1]["refund_cents"], clv[1]["gross_sales_cents"]) == (980, 980 + 2160)  # R1 returned in February
    assert clv[2]["orders"] == 2 and clv[3]["gross_sales_cents"] == 150_000


def test_rerunning_a_month_changes_nothing(gold_run: GoldRun) -> None:
    tables = ["inventory_position_current", "customer_lifetime_value", "truck_dwell_daily", "alerts"]
    before = {t: _gold(gold_run, t, FEB) for t in tables}
    keys = [f"gold/{t}" for t in tables] + [f"serving/{t}" for t in tables]
    assert gold_run.materialize(keys, partition="2024-02-01").success
    for table in tables:
        assert _gold(gold_run, table, FEB).equals(before[table]), table
    with duckdb.connect(str(gold_run.duckdb_path), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM alerts").fetchall() == [(7,)]
        months = con.execute(
            "SELECT month_start, count(*) FROM inventory_position_current GROUP BY 1 ORDER BY 1"
        ).fetchall()
    assert [m for m, _ in months] == [JAN, FEB]


def test_serving_publishes_gold_and_the_conformed_dimensions(gold_run: GoldRun) -> None:
    with duckdb.connect(str(gold_run.duckdb_path), read_only=True) as con:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        views = {r[0] for r in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert set(GOLD) <= tables
        assert {d.name for d in REGISTRY.dimensions} | {"dim_stores_history", "dim_customers_history"} <= tables
        assert {"inventory_position_current_latest", "customer_lifetime_value_latest"} <= views
        for table in GOLD_TABLES:
            counted = con.execute(f"SELECT count(*) FROM {table.name}").fetchall()[0][0]
            assert counted == gold_run.lake.read(gold_path(table.name)).height, table.name
        assert con.execute("SELECT store_format FROM dim_stores WHERE store_id = 1").fetchall() == [("superstore",)]
        assert con.execute("SELECT count(*) FROM dim_stores_history WHERE store_id = 1").fetchall() == [(2,)]
        latest = con.execute("SELECT month_start, on_hand FROM inventory_position_current_latest WHERE product_id = 2")
        assert latest.fetchall() == [(FEB, 22)]
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE table_name = 'sales_minute_store'"
            ).fetchall()
        )
        assert (types["total_sales_cents"], types["ts"], types["month_start"]) == (
            "BIGINT",
            "TIMESTAMP WITH TIME ZONE",
            "DATE",
        )
        comment = con.execute(
            "SELECT comment FROM duckdb_columns() WHERE table_name = 'alerts' AND column_name = 'alert_id'"
        )
        assert "Deterministic id" in comment.fetchall()[0][0]


@pytest.fixture
def silver_lake(tmp_path) -> LakeStore:
    lake = LakeStore(root_uri=str(tmp_path / "lake"))
    write_silver(lake)
    return lake


def _resources(lake: LakeStore) -> dict:
    return {"lake": lake, "duckdb": DuckDBResource(database=str(Path(lake.root_uri).parent / "unused.duckdb"))}


def test_a_snapshot_month_without_its_previous_month_fails_and_names_it(silver_lake: LakeStore, instance) -> None:
    lake = silver_lake
    result = materialize(
        _resources(lake), instance, ["gold/inventory_position_current"], partition="2024-02-01", raise_on_error=False
    )
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    message = failure.step_failure_data.error.message
    assert "starts from the 2024-01 snapshot" in message and "materialize gold/inventory_position_current" in message
    assert not lake.exists(gold_path("inventory_position_current"))


def test_silver_drift_fails_before_anything_lands(silver_lake: LakeStore, instance) -> None:
    lake = silver_lake
    drifted = silver("fact_stockouts", [dict(trace_id="s9")]).with_columns(pl.lit(1).alias("severity"))
    lake.replace("silver/fact_stockouts", drifted, partition_by=["month_start"])
    result = materialize(_resources(lake), instance, ["gold/stockouts_daily"], tags=RANGE, raise_on_error=False)
    assert not result.success
    (failure,) = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert "input silver/fact_stockouts does not match its spec (extra columns ['severity'])" in (
        failure.step_failure_data.error.message
    )
    assert not lake.exists(gold_path("stockouts_daily"))
