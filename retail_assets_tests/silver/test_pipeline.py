"""Silver end to end: landed files → real Bronze assets → real Silver assets, on a local lake."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
from deltalake import DeltaTable

from retail_assets.defs.silver import check_names
from retail_assets.lib.silver.scd2 import as_of
from retail_assets.lib.specs import REGISTRY
from retail_assets_tests.silver.conftest import Pipeline
from retail_assets_tests.silver.landed import FEB, JAN, ts

UTC = dt.UTC


def silver(pipeline: Pipeline, table: str, month: dt.date | None = JAN) -> pl.DataFrame:
    return pipeline.lake.read(f"silver/{table}", [month] if month else None)


def quarantine(pipeline: Pipeline, table: str) -> pl.DataFrame:
    return pipeline.lake.read(f"quarantine/silver/{table}")


def one(df: pl.DataFrame, **where) -> dict:
    found = df.filter(*[pl.col(k) == v for k, v in where.items()])
    assert found.height == 1, f"expected one row where {where}, found {found.height}:\n{df}"
    return found.row(0, named=True)


def metadata(result: dg.ExecuteInProcessResult, table: str, partition: str = "2024-01-01") -> dict:
    for event in result.get_asset_materialization_events():
        m = event.materialization
        if m.asset_key == dg.AssetKey(["silver", table]) and m.partition == partition:
            return {k: v.value for k, v in m.metadata.items()}
    raise AssertionError(f"no materialization of silver/{table} {partition}")


def test_every_run_succeeds(pipeline: Pipeline) -> None:
    assert pipeline.dimensions.success and pipeline.january.success and pipeline.february.success


def test_all_silver_tables_land_in_january(pipeline: Pipeline) -> None:
    for table in REGISTRY.facts:
        assert silver(pipeline, table.name).height > 0, table.name
    for table in REGISTRY.dimensions:
        assert silver(pipeline, table.name, None).height > 0, table.name


# ---- every event type onto its fact -------------------------------------------------------------


def test_receipt_created_maps_money_to_cents(pipeline: Pipeline) -> None:
    receipts = silver(pipeline, "fact_receipts")
    carried = one(receipts, receipt_id="R3")  # the event carries *_cents: they win
    assert (carried["gross_subtotal_cents"], carried["discount_cents"], carried["subtotal_cents"]) == (1150, 150, 1000)
    assert (carried["tax_cents"], carried["total_cents"], carried["campaign_id"]) == (80, 1080, "CAMP1")
    assert carried["receipt_type"] == "SALE" and carried["return_for_receipt_id"] is None
    dollars = one(receipts, receipt_id="R4")  # dollars only: round(x * 100), 1.005 -> 101, 1.085 -> 109
    assert (dollars["subtotal_cents"], dollars["tax_cents"], dollars["total_cents"]) == (101, 8, 109)
    # Neither discount nor gross in the event: discount 0 and gross = subtotal (documented choice).
    assert (dollars["discount_cents"], dollars["gross_subtotal_cents"]) == (0, 101)
    assert dollars["payment_method"] == "MOBILE_PAY" and dollars["trace_id"] == "rc-4"
    assert dollars["event_ts"] == ts(10)


def test_receipt_line_added_derives_the_line_discount(pipeline: Pipeline) -> None:
    line = one(silver(pipeline, "fact_receipt_lines"), receipt_id="R3", line_number=1)
    assert (line["unit_price_cents"], line["quantity"], line["ext_price_cents"]) == (250, 2, 450)
    assert line["discount_cents"] == 50 and line["promo_code"] == "PROMO20" and line["trace_id"] == "rl-3"


def test_payment_processed_uses_processing_time(pipeline: Pipeline) -> None:
    payment = one(silver(pipeline, "fact_payments"), transaction_id="TXN3")
    assert payment["event_ts"] == dt.datetime(2024, 1, 10, 12, 0, 1, tzinfo=UTC)
    assert (payment["receipt_id"], payment["order_id"], payment["amount_cents"]) == ("R3", None, 1080)


def test_inventory_updated_goes_to_the_store_or_the_dc_fact(pipeline: Pipeline) -> None:
    store = one(silver(pipeline, "fact_store_inventory_txn"), trace_id="inv-store")
    assert (store["quantity"], store["txn_type"], store["source"], store["balance"]) == (-2, "SALE", "R3", None)
    dc = one(silver(pipeline, "fact_dc_inventory_txn"), trace_id="inv-dc")
    assert (dc["dc_id"], dc["quantity"], dc["txn_type"], dc["source"], dc["balance"]) == (
        1,
        -40,
        "OUTBOUND_SHIPMENT",
        "SHIP1",
        None,
    )
    assert "inv-dc" not in silver(pipeline, "fact_store_inventory_txn")["trace_id"].to_list()
    both = one(quarantine(pipeline, "fact_store_inventory_txn"), reason_code="inconsistent_row")
    assert "inv-both" in both["reason"] and "both store_id and dc_id" in both["reason"]
    neither = one(quarantine(pipeline, "fact_dc_inventory_txn"), reason_code="inconsistent_row")
    assert "inv-none" in neither["reason"] and "neither store_id nor dc_id" in neither["reason"]


def test_stockout_reorder_foot_traffic_zone_change(pipeline: Pipeline) -> None:
    stockout = one(silver(pipeline, "fact_stockouts"), trace_id="so-3")
    assert stockout["event_ts"] == ts(10, 13) and stockout["last_known_quantity"] == 3 and stockout["dc_id"] is None
    reorder = one(silver(pipeline, "fact_reorders"), trace_id="ro-3")
    assert (reorder["reorder_quantity"], reorder["reorder_point"], reorder["priority"]) == (120, 10, "URGENT")
    traffic = one(silver(pipeline, "fact_foot_traffic"), trace_id="ce-3")
    assert (traffic["customer_count"], traffic["dwell_seconds"], traffic["zone"]) == (30, 60, "ENTRANCE_MAIN")
    change = one(silver(pipeline, "fact_customer_zone_changes"), trace_id="zc-3")
    assert change["event_ts"] == ts(10, 12, 5) and (change["from_zone"], change["to_zone"]) == ("GROCERY", "CHECKOUT")


def test_ble_ping_resolves_customer_from_the_version_valid_at_event_time(pipeline: Pipeline) -> None:
    january = silver(pipeline, "fact_ble_pings")
    assert one(january, trace_id="bp-known")["customer_id"] == 1  # BLE000001 is customer 1's device in January
    assert one(january, trace_id="bp-anon")["customer_id"] is None
    february = silver(pipeline, "fact_ble_pings", FEB)
    assert one(february, trace_id="bp-feb")["customer_id"] == 2  # ... and customer 2's from February


def test_truck_events_become_arrived_and_completed_moves(pipeline: Pipeline) -> None:
    moves = silver(pipeline, "fact_truck_moves")
    arrived = one(moves, shipment_id="SHIP1", status="ARRIVED")
    assert (arrived["truck_id"], arrived["event_ts"], arrived["eta"]) == (1, ts(10, 14), ts(10, 14))
    assert arrived["etd"] == ts(10, 14, 45) and arrived["unload_duration_minutes"] == 45
    completed = one(moves, shipment_id="SHIP1", status="COMPLETED")
    assert completed["event_ts"] == ts(10, 15, 10) and completed["unload_duration_minutes"] == 70
    assert completed["eta"] is None and completed["etd"] is None  # not in truck_departed
    bad = one(quarantine(pipeline, "fact_truck_moves"), reason_code="type_error")
    assert (bad["column_name"], bad["value"]) == ("truck_id", "TRK9")


def test_store_operations_and_their_consistency(pipeline: Pipeline) -> None:
    ops = silver(pipeline, "fact_store_ops")
    assert one(ops, trace_id="open-1")["operation_type"] == "opened"
    assert one(ops, trace_id="close-1")["event_ts"] == ts(11, 22)
    bad = one(quarantine(pipeline, "fact_store_ops"), reason_code="inconsistent_row")
    assert "open-bad" in bad["reason"] and "store_opened carries operation_type closed" in bad["reason"]


def test_ad_impression_promotion_and_order_created(pipeline: Pipeline) -> None:
    marketing = silver(pipeline, "fact_marketing")
    impression = one(marketing, impression_id="IMP3")
    assert (impression["cost_cents"], impression["device"], impression["customer_id"]) == (5, "DESKTOP", None)
    assert one(marketing, impression_id="IMP4")["customer_id"] == 2
    promotion = one(silver(pipeline, "fact_promotions"), receipt_id="R3")
    assert (promotion["discount_cents"], promotion["product_ids"], promotion["product_count"]) == (125, [1, 2], 2)
    unknown_product = one(quarantine(pipeline, "fact_promotions"), reason_code="fk_miss")
    assert unknown_product["column_name"] == "product_ids" and unknown_product["value"] == "999"
    order = one(silver(pipeline, "fact_online_order_headers"), order_id="O3")
    assert (order["subtotal_cents"], order["tax_cents"], order["total_cents"]) == (2000, 160, 2160)
    assert (order["payment_method"], order["order_status"], order["completed_ts"]) == ("PAYPAL", "CREATED", None)


def test_picked_and_shipped_update_the_lines_of_their_order(pipeline: Pipeline) -> None:
    lines = silver(pipeline, "fact_online_order_lines")
    store_line = one(lines, order_id="O1", line_number=1)
    assert (store_line["picked_ts"], store_line["shipped_ts"]) == (ts(10, 16), ts(11, 9))
    assert store_line["fulfillment_status"] == "SHIPPED"
    dc_line = one(lines, order_id="O1", line_number=2)  # fulfilled by the DC: the store's events do not touch it
    assert dc_line["picked_ts"] is None and dc_line["fulfillment_status"] == "CREATED"
    stream_only = one(quarantine(pipeline, "fact_online_order_lines"), reason_code="unmatched_update")
    assert stream_only["value"] == "O3" and "stream-only order" in stream_only["reason"]
    meta = metadata(pipeline.january, "fact_online_order_lines")
    assert meta["step_events_applied"] == 2 and meta["duplicates_dropped"] == 1


def test_every_event_type_lands_in_silver(pipeline: Pipeline) -> None:
    """Each of the 18 event types contributed rows (or line updates) to its fact this month."""
    landed = set()
    for table in REGISTRY.facts:
        meta = metadata(pipeline.january, table.name)
        landed |= {k for k, v in meta["rows_out_by_source"].items() if k != "batch" and v}
    lines = silver(pipeline, "fact_online_order_lines")
    if lines.filter(pl.col("picked_ts").is_not_null()).height:
        landed.add("online_order_picked")
    if lines.filter(pl.col("shipped_ts").is_not_null()).height:
        landed.add("online_order_shipped")
    assert landed == set(REGISTRY.events_by_type)


# ---- union, duplicates, quarantine ------------------------------------------------------------------


def test_batch_and_stream_of_the_same_month_are_unioned(pipeline: Pipeline) -> None:
    meta = metadata(pipeline.january, "fact_receipts")
    assert meta["rows_from_batch"] == 3 and meta["rows_from_stream"] == 2  # R1, R2, R5 | R3, R4
    assert meta["rows_in_by_source"] == {"batch": 7, "receipt_created": 4}
    assert sorted(silver(pipeline, "fact_receipts")["receipt_id"]) == ["R1", "R2", "R3", "R4", "R5"]


def test_exact_duplicates_are_dropped_and_counted(pipeline: Pipeline) -> None:
    meta = metadata(pipeline.january, "fact_receipts")
    assert meta["duplicates_dropped"] == 2  # R1 twice in the batch file, R3 sent twice
    assert one(silver(pipeline, "fact_receipts"), receipt_id="R3")["trace_id"] == "rc-3"  # the first one stays


def test_an_event_disagreeing_with_its_batch_row_is_quarantined_and_the_batch_row_kept(pipeline: Pipeline) -> None:
    # The batch is the system of record (docs/silver.md): R5's batch row stays, the event saying otherwise is rejected.
    assert one(silver(pipeline, "fact_receipts"), receipt_id="R5")["total_cents"] == 1080
    conflict = one(quarantine(pipeline, "fact_receipts"), reason_code="conflicts_with_batch")
    assert conflict["source_file"] == "events/receipt_created/2024-01-10/batch-0.jsonl"
    assert (conflict["column_name"], conflict["value"]) == ("total_cents", "9999")
    assert "key (receipt_id=R5)" in conflict["reason"] and "total_cents: event 9999, batch 1080" in conflict["reason"]
    assert "trace_id rc-5" in conflict["reason"] and json.loads(conflict["record"])["total_cents"] == 9999
    assert quarantine(pipeline, "fact_receipts").filter(pl.col("reason_code") == "conflicting_duplicate").height == 0


def test_foreign_key_misses_are_quarantined(pipeline: Pipeline) -> None:
    misses = quarantine(pipeline, "fact_receipts").filter(pl.col("reason_code") == "fk_miss")
    by_value = {r["value"]: r for r in misses.iter_rows(named=True)}
    assert "is not a dim_stores.store_id" in by_value["99"]["reason"]
    # Store 3 exists, but only from its February version: a January receipt cannot resolve to it.
    assert "no dim_stores version valid at 2024-01-10T12:00:00Z" in by_value["3"]["reason"]
    assert by_value["3"]["batch_id"] == "part-0" and by_value["3"]["month_start"] == JAN
    # In February the same store resolves.
    assert one(silver(pipeline, "fact_receipts", FEB), receipt_id="R11")["store_id"] == 3


def test_bad_values_and_inconsistent_rows_are_quarantined(pipeline: Pipeline) -> None:
    refund = one(quarantine(pipeline, "fact_receipts"), reason_code="not_allowed")
    assert (refund["column_name"], refund["value"]) == ("receipt_type", "REFUND")
    both = one(quarantine(pipeline, "fact_payments"), reason_code="inconsistent_row")
    assert "exactly one of receipt_id and order_id" in both["reason"]
    out_of_range = one(quarantine(pipeline, "dim_geographies"), reason_code="out_of_range")
    assert (out_of_range["column_name"], out_of_range["value"]) == ("latitude", "95.0")
    assert 3 not in silver(pipeline, "dim_geographies", None)["geography_id"].to_list()


def test_quarantine_rows_name_their_table_partition_and_source(pipeline: Pipeline) -> None:
    rows = quarantine(pipeline, "fact_receipts")
    assert rows.height == 4
    assert set(rows["table_name"]) == {"fact_receipts"} and set(rows["month_start"]) == {JAN}
    assert rows["source_file"].null_count() == 0 and rows["batch_id"].null_count() == 0
    assert all(r.startswith("silver fact_receipts 2024-01: ") for r in rows["reason"])


# ---- SCD2 ------------------------------------------------------------------------------------------


def test_dim_stores_keeps_history_as_scd2(pipeline: Pipeline) -> None:
    stores = silver(pipeline, "dim_stores", None).sort("store_id", "valid_from")
    store1 = stores.filter(pl.col("store_id") == 1)
    feb = dt.datetime(2024, 2, 1, tzinfo=UTC)
    assert store1.select("store_format", "valid_from", "valid_to", "is_current").rows() == [
        ("standard", dt.datetime(2024, 1, 1, tzinfo=UTC), feb, False),
        ("superstore", feb, None, True),
    ]
    # Store 2 did not change: one version, not two.
    assert stores.filter(pl.col("store_id") == 2).height == 1
    meta = pipeline.dimensions.get_asset_materialization_events()
    stores_meta = next(
        e.materialization.metadata for e in meta if e.materialization.asset_key == dg.AssetKey(["silver", "dim_stores"])
    )
    assert stores_meta["versions_collapsed"].value == 1 and stores_meta["current_versions"].value == 3


def test_facts_join_the_dimension_version_valid_at_event_time(pipeline: Pipeline) -> None:
    receipts = pl.concat([silver(pipeline, "fact_receipts"), silver(pipeline, "fact_receipts", FEB)])
    joined = as_of(
        receipts.lazy(), silver(pipeline, "dim_stores", None).lazy(), key="store_id", at="event_ts", columns=["store_format"]
    ).collect()
    assert one(joined, receipt_id="R1")["store_format"] == "standard"  # January: store 1 was standard
    assert one(joined, receipt_id="R10")["store_format"] == "superstore"  # February: superstore


# ---- checks ----------------------------------------------------------------------------------------


def test_checks_pass_per_partition_for_every_silver_table(pipeline: Pipeline) -> None:
    evaluations = pipeline.january.get_asset_check_evaluations()
    silver_evals = [e for e in evaluations if e.asset_key.path[0] == "silver"]
    quarantined = quarantine_counts(pipeline)
    for table in REGISTRY.facts:
        got = {e.check_name: e for e in silver_evals if e.asset_key.path[1] == table.name}
        assert set(got) == set(check_names(table.name)), table.name
        for name, evaluation in got.items():
            assert evaluation.partition == "2024-01-01"
            if name == "nothing_quarantined":  # the WARN a month raises when it rejects rows (issue 12, 6b)
                assert evaluation.passed == (not quarantined.get(table.name)), (table.name, evaluation.description)
                assert evaluation.severity == dg.AssetCheckSeverity.WARN
            else:
                assert evaluation.passed, (table.name, name, evaluation.description)


def quarantine_counts(pipeline: Pipeline) -> dict[str, int]:
    """January's quarantined rows per Silver fact, read from the lake."""
    counts = {}
    for table in REGISTRY.facts:
        if pipeline.lake.exists(f"quarantine/silver/{table.name}"):
            counts[table.name] = pipeline.lake.read(f"quarantine/silver/{table.name}", [JAN]).height
    return counts


def test_nothing_quarantined_warns_with_counts_by_reason(pipeline: Pipeline) -> None:
    evaluations = {
        (e.asset_key.path[1], e.check_name): e
        for e in [*pipeline.january.get_asset_check_evaluations(), *pipeline.dimensions.get_asset_check_evaluations()]
        if e.asset_key.path[0] == "silver"
    }
    receipts = evaluations[("fact_receipts", "nothing_quarantined")]
    assert not receipts.passed and receipts.severity == dg.AssetCheckSeverity.WARN
    assert receipts.metadata["by_reason"].value == {"conflicts_with_batch": 1, "fk_miss": 2, "not_allowed": 1}
    assert receipts.metadata["quarantined_rows"].value == 4
    assert receipts.metadata["quarantine_table"].value.endswith("quarantine/silver/fact_receipts")
    geographies = evaluations[("dim_geographies", "nothing_quarantined")]  # latitude 95: out of range
    assert not geographies.passed and geographies.metadata["by_reason"].value == {"out_of_range": 1}
    assert evaluations[("dim_products", "nothing_quarantined")].passed


def test_reconciliation_counts_bronze_silver_quarantine_and_duplicates(pipeline: Pipeline) -> None:
    evaluation = next(
        e
        for e in pipeline.january.get_asset_check_evaluations()
        if e.asset_key == dg.AssetKey(["silver", "fact_receipts"]) and e.check_name == "reconciles_with_bronze"
    )
    counts = {k: v.value for k, v in evaluation.metadata.items()}
    assert (counts["bronze_rows"], counts["silver_rows"], counts["quarantined_rows"], counts["duplicates_dropped"]) == (
        11,
        5,
        4,
        2,
    )


# ---- incremental -----------------------------------------------------------------------------------


def test_rerunning_a_month_changes_nothing_and_touches_only_that_month(pipeline: Pipeline) -> None:
    lake = pipeline.lake
    before_jan = silver(pipeline, "fact_receipts").sort("receipt_id")
    before_feb = silver(pipeline, "fact_receipts", FEB).sort("receipt_id")
    before_quarantine = quarantine(pipeline, "fact_receipts").drop("quarantined_at").sort("reason")
    version = lake.version("silver/fact_receipts")
    feb_files = {f for f in DeltaTable(lake.uri("silver/fact_receipts")).file_uris() if "month_start=2024-02-01" in f}

    result = pipeline.materialize(["silver/fact_receipts"], "2024-01-01")

    assert result.success
    assert silver(pipeline, "fact_receipts").sort("receipt_id").equals(before_jan)
    assert silver(pipeline, "fact_receipts", FEB).sort("receipt_id").equals(before_feb)
    assert quarantine(pipeline, "fact_receipts").drop("quarantined_at").sort("reason").equals(before_quarantine)
    assert lake.version("silver/fact_receipts") == version + 1  # one commit ...
    last = lake.history("silver/fact_receipts", 1)[0]
    assert "2024-01-01" in last["operationParameters"]["predicate"]  # ... replacing January only
    assert {f for f in DeltaTable(lake.uri("silver/fact_receipts")).file_uris() if "month_start=2024-02-01" in f} == feb_files


def test_a_month_is_built_from_its_own_bronze_month_only(pipeline: Pipeline) -> None:
    assert sorted(silver(pipeline, "fact_receipts", FEB)["receipt_id"]) == ["R10", "R11"]
    assert metadata(pipeline.february, "fact_receipts", "2024-02-01")["rows_in_by_source"] == {"batch": 2}
    assert metadata(pipeline.february, "fact_ble_pings", "2024-02-01")["rows_in_by_source"] == {
        "batch": 1,
        "ble_ping_detected": 1,
    }
