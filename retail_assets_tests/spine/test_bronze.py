"""Bronze assets run through Dagster on a temporary lake: what lands, what is quarantined, what blocks."""

from __future__ import annotations

import datetime as dt
import json

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import bronze_key, build_bronze_assets, build_dimension_asset, build_event_assets, build_fact_asset
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.specs import REGISTRY, bronze_columns, polars_schema
from retail_assets_tests.factories import land_events, land_table, sample_events, sample_rows

JAN, FEB, MAR, APR = (dt.date(2024, m, 1) for m in range(1, 5))
RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-03-01"}


def materialize(assets, resources, instance, *, partition: str | None = None, tags=None, selection=None, ok=True):
    result = dg.materialize(
        assets,
        resources=resources,
        instance=instance,
        partition_key=partition,
        tags=tags,
        selection=selection,
        raise_on_error=False,
    )
    if ok:
        assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return result


def materializations(result: dg.ExecuteInProcessResult, key: dg.AssetKey) -> dict[str, dict]:
    return {
        m.partition: {k: v.value for k, v in m.metadata.items()}
        for m in (e.materialization for e in result.get_asset_materialization_events())
        if m.asset_key == key
    }


def check_results(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str, str | None], bool]:
    """(asset, check, partition) -> passed, for every check evaluation of the run."""
    return {
        (d.asset_key.to_user_string(), d.check_name, d.partition): d.passed
        for d in (e.asset_check_evaluation_data for e in result.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION")
    }


def failure_messages(result: dg.ExecuteInProcessResult) -> str:
    return "\n".join(
        str(e.event_specific_data.error.message) for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    )


def store_ops(month: dt.date, n: int) -> pl.DataFrame:
    return sample_rows("fact_store_ops", n, month).with_columns(pl.format("op-{}-{}", pl.lit(f"{month:%m}"), pl.int_range(n)).alias("trace_id"))


def test_every_table_and_event_lands_with_matching_schema_and_nothing_quarantined(resources, instance, landing, lake) -> None:
    for table in REGISTRY.dimensions:
        land_table(landing, table.name, sample_rows(table.name, 5), JAN)
    for table in REGISTRY.facts:
        land_table(landing, table.name, sample_rows(table.name, 5), JAN)
    for event in REGISTRY.events:
        land_events(landing, event.event_type, sample_events(event.event_type, 4), JAN)
    result = materialize(build_bronze_assets(), resources, instance, partition="2024-01-01")
    checks = check_results(result)
    # schema_parity and nothing_quarantined everywhere, landed_files on facts
    assert len(checks) == 44 + 44 + 19 and all(checks.values())
    for name in [*REGISTRY.tables, *REGISTRY.events_by_type]:
        table = lake.read(f"bronze/{name}")
        assert table.height == (4 if name in REGISTRY.events_by_type else 5), name
        assert dict(table.select(polars_schema(bronze_columns(name)).names()).schema) == dict(polars_schema(bronze_columns(name)))
        assert not lake.exists(f"quarantine/bronze/{name}")


def test_a_fact_month_from_parquet_and_csv_with_lineage_and_reasons(resources, instance, landing, lake) -> None:
    land_table(landing, "fact_store_ops", store_ops(JAN, 3), JAN, "stores-a.parquet")
    csv = "trace_id,event_ts,store_id,operation_type\nt1,2024-01-03T08:00:00Z,4,opened\nt2,2024-01-03T22:00:00Z,four,closed\n"
    landing.write_bytes("batch/fact_store_ops/2024-01/stores-b.csv", csv.encode())
    result = materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01")

    bronze = lake.read("bronze/fact_store_ops")
    assert bronze.height == 4
    assert sorted(bronze.get_column("_batch_id").unique()) == ["stores-a", "stores-b"]
    assert bronze.filter(pl.col("trace_id") == "t1").get_column("_source_file").to_list() == [
        "batch/fact_store_ops/2024-01/stores-b.csv"
    ]
    quarantine = lake.read("quarantine/bronze/fact_store_ops").row(0, named=True)
    assert (quarantine["column_name"], quarantine["value"], quarantine["row_number"]) == ("store_id", "four", 2)
    assert quarantine["reason"] == (
        "table fact_store_ops, file batch/fact_store_ops/2024-01/stores-b.csv, row 2: column store_id: cannot read four as int64"
    )
    assert json.loads(quarantine["record"])["trace_id"] == "t2"
    meta = materializations(result, bronze_key("fact_store_ops"))["2024-01-01"]
    assert (meta["landed_rows"], meta["dagster/row_count"], meta["quarantined_rows"]) == (5, 4, 1)
    checks = check_results(result)
    # The typing rejection is never silent: the month's nothing_quarantined check warns; the others pass.
    assert checks.pop(("bronze/fact_store_ops", "nothing_quarantined", "2024-01-01")) is False
    assert set(checks.values()) == {True}


def test_rerunning_a_month_yields_the_same_table_and_touches_no_other_month(resources, instance, landing, lake) -> None:
    asset = build_fact_asset("fact_store_ops")
    for month in (JAN, FEB):
        land_table(landing, "fact_store_ops", store_ops(month, 4), month)
        materialize([asset], resources, instance, partition=month.isoformat())
    before = lake.read("bronze/fact_store_ops").drop("_ingested_at").sort("trace_id")
    feb_files = set(lake.read("bronze/fact_store_ops", [FEB]).get_column("_source_file"))
    materialize([asset], resources, instance, partition="2024-01-01")
    after = lake.read("bronze/fact_store_ops").drop("_ingested_at").sort("trace_id")
    assert after.equals(before)
    last = lake.history("bronze/fact_store_ops")[0]
    assert last["operationParameters"]["predicate"].startswith("month_start = '2024-01-01'")
    assert set(lake.read("bronze/fact_store_ops", [FEB]).get_column("_source_file")) == feb_files


def test_a_three_month_single_run_writes_exactly_those_months(resources, instance, landing, lake) -> None:
    asset = build_fact_asset("fact_store_ops")
    for month, n in ((JAN, 1), (FEB, 2), (MAR, 3), (APR, 4)):
        land_table(landing, "fact_store_ops", store_ops(month, n), month)
    materialize([asset], resources, instance, partition="2024-04-01")
    april_version = lake.version("bronze/fact_store_ops")

    result = materialize([asset], resources, instance, tags=RANGE)
    assert len(instance.get_runs()) == 2  # the April run above and this one run for three months
    counts = dict(lake.read("bronze/fact_store_ops").group_by("month_start").len().rows())
    assert counts == {JAN: 1, FEB: 2, MAR: 3, APR: 4}
    commits = lake.history("bronze/fact_store_ops")[:3]
    assert [c["operationParameters"]["predicate"].split("::")[0] for c in commits] == [
        "month_start = '2024-03-01'",
        "month_start = '2024-02-01'",
        "month_start = '2024-01-01'",
    ]
    assert lake.history("bronze/fact_store_ops")[3]["version"] == april_version
    per_month = materializations(result, bronze_key("fact_store_ops"))
    assert {k: v["dagster/row_count"] for k, v in per_month.items()} == {"2024-01-01": 1, "2024-02-01": 2, "2024-03-01": 3}
    assert check_results(result) == {
        ("bronze/fact_store_ops", check, m): True
        for check in ("schema_parity", "landed_files", "nothing_quarantined")
        for m in ("2024-01-01", "2024-02-01", "2024-03-01")
    }


def test_a_file_missing_a_required_column_fails_and_leaves_bronze_as_it_was(resources, instance, landing, lake) -> None:
    asset = build_fact_asset("fact_store_ops")
    land_table(landing, "fact_store_ops", store_ops(JAN, 3), JAN)
    materialize([asset], resources, instance, partition="2024-01-01")
    version, before = lake.version("bronze/fact_store_ops"), lake.read("bronze/fact_store_ops")

    land_table(landing, "fact_store_ops", store_ops(JAN, 2).drop("store_id"), JAN, "late.parquet")
    result = materialize([asset], resources, instance, partition="2024-01-01", ok=False)
    assert not result.success
    message = failure_messages(result)
    assert "table fact_store_ops, file batch/fact_store_ops/2024-01/late.parquet: required columns ['store_id'] are missing" in message
    assert lake.version("bronze/fact_store_ops") == version
    assert lake.read("bronze/fact_store_ops").equals(before)


def test_an_unreadable_file_fails_naming_it(resources, instance, landing) -> None:
    landing.write_bytes("batch/fact_store_ops/2024-01/broken.parquet", b"this is not parquet")
    result = materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01", ok=False)
    assert "table fact_store_ops: landed file batch/fact_store_ops/2024-01/broken.parquet cannot be read as .parquet" in failure_messages(result)


def test_a_month_with_nothing_landed_is_empty_with_a_warning(resources, instance, lake) -> None:
    result = materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-02-01")
    assert lake.read("bronze/fact_store_ops", [FEB]).height == 0
    evaluations = {
        e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert evaluations["schema_parity"].passed
    warning = evaluations["landed_files"]
    assert (warning.passed, warning.severity, warning.partition) == (False, dg.AssetCheckSeverity.WARN, "2024-02-01")
    assert warning.description == "no file landed under batch/fact_store_ops/2024-02/"


def test_rows_filed_under_the_wrong_month_are_quarantined(resources, instance, landing, lake) -> None:
    land_table(landing, "fact_store_ops", pl.concat([store_ops(JAN, 2), store_ops(FEB, 1)]), JAN)
    materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01")
    assert lake.read("bronze/fact_store_ops").height == 2
    rejected = lake.read("quarantine/bronze/fact_store_ops")
    assert rejected.get_column("reason_code").to_list() == ["wrong_partition"]
    assert "is in 2024-02, but the file is filed under 2024-01" in rejected.get_column("reason")[0]


def test_drift_fails_the_blocking_check_and_stops_downstream_for_that_month(resources, instance, landing, lake) -> None:
    land_table(landing, "fact_store_ops", store_ops(JAN, 2), JAN)
    land_table(landing, "fact_store_ops", store_ops(FEB, 2).with_columns(pl.lit("x").alias("shift_manager")), FEB)

    @dg.asset(key=["silver", "fact_store_ops"], deps=[bronze_key("fact_store_ops")], partitions_def=MONTHLY)
    def downstream() -> None:
        return None

    asset = build_fact_asset("fact_store_ops")
    good = materialize([asset, downstream], resources, instance, partition="2024-01-01")
    assert good.asset_materializations_for_node("silver__fact_store_ops")

    bad = materialize([asset, downstream], resources, instance, partition="2024-02-01", ok=False)
    assert not bad.success
    evaluation = next(e.asset_check_evaluation_data for e in bad.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION")
    assert (evaluation.passed, evaluation.partition) == (False, "2024-02-01")
    assert evaluation.metadata["extra_columns"].value == ["shift_manager"]
    assert not bad.asset_materializations_for_node("silver__fact_store_ops")
    # Bronze kept the typed columns; the landed file is untouched, so nothing is lost.
    assert lake.read("bronze/fact_store_ops", [FEB]).height == 2
    assert "shift_manager" in pl.read_parquet(landing.read_bytes("batch/fact_store_ops/2024-02/part-0.parquet")).columns


def test_bad_events_are_quarantined_or_deduplicated_and_counted(resources, instance, landing, lake) -> None:
    good = sample_events("receipt_created", 3)
    conflicting = {**good[1], "payload": {**good[1]["payload"], "total": 999.0}}
    lines = [*good, good[0], conflicting, "{broken", {**good[2], "trace_id": "other", "schema_version": "2.0"}]
    land_events(landing, "receipt_created", lines, JAN)
    result = materialize(
        [build_event_assets()], resources, instance, partition="2024-01-01", selection=[bronze_key("receipt_created")]
    )
    meta = materializations(result, bronze_key("receipt_created"))["2024-01-01"]
    assert (meta["landed_rows"], meta["dagster/row_count"], meta["duplicates_dropped"], meta["quarantined_rows"]) == (7, 3, 1, 3)
    reasons = set(lake.read("quarantine/bronze/receipt_created").get_column("reason_code"))
    assert reasons == {"conflicting_duplicate", "malformed_json", "unsupported_schema_version"}
    assert set(lake.read("bronze/receipt_created").get_column("trace_id")) == {e["trace_id"] for e in good}


def test_a_month_without_events_is_empty_not_an_error(resources, instance, lake) -> None:
    materialize([build_event_assets()], resources, instance, partition="2024-03-01", selection=[bronze_key("ble_ping_detected")])
    assert lake.read("bronze/ble_ping_detected").height == 0


def test_a_rerun_clears_quarantine_that_no_longer_applies(resources, instance, landing, lake) -> None:
    asset = build_fact_asset("fact_store_ops")
    bad = store_ops(JAN, 1).with_columns(pl.lit("x").alias("store_id"))
    land_table(landing, "fact_store_ops", bad, JAN, "ops.csv")
    materialize([asset], resources, instance, partition="2024-01-01")
    assert lake.read("quarantine/bronze/fact_store_ops").height == 1
    land_table(landing, "fact_store_ops", store_ops(JAN, 1), JAN, "ops.csv")  # the producer fixed the file
    materialize([asset], resources, instance, partition="2024-01-01")
    assert lake.read("quarantine/bronze/fact_store_ops").height == 0
    assert lake.read("bronze/fact_store_ops").height == 1


def test_dimensions_keep_every_snapshot(resources, instance, landing, lake) -> None:
    stores = sample_rows("dim_stores", 3)
    land_table(landing, "dim_stores", stores, JAN)
    land_table(landing, "dim_stores", stores.with_columns(pl.lit("express").alias("store_format")), FEB)
    asset = build_dimension_asset("dim_stores")
    result = materialize([asset], resources, instance)
    bronze = lake.read("bronze/dim_stores")
    assert dict(bronze.group_by("snapshot_month").len().rows()) == {JAN: 3, FEB: 3}
    assert bronze.filter(pl.col("snapshot_month") == FEB).get_column("store_format").unique().to_list() == ["express"]
    (meta,) = materializations(result, bronze_key("dim_stores")).values()
    assert (meta["snapshots"], meta["latest_snapshot_rows"]) == (["2024-01-01", "2024-02-01"], 3)
    materialize([asset], resources, instance)
    assert lake.read("bronze/dim_stores").drop("_ingested_at").sort("snapshot_month", "store_id").equals(
        bronze.drop("_ingested_at").sort("snapshot_month", "store_id")
    )


@pytest.mark.azurite
def test_bronze_runs_unchanged_against_azure_storage(azurite, instance) -> None:
    from retail_assets_tests.conftest import azure_lake, azure_landing

    lake: LakeStore = azure_lake(azurite, "bronzelake")
    landing: LandingZone = azure_landing(azurite, "bronzelanding")
    land_table(landing, "fact_store_ops", store_ops(JAN, 3), JAN)
    land_events(landing, "store_opened", sample_events("store_opened", 2), JAN)
    resources = {"lake": lake, "landing": landing}
    materialize(
        [build_fact_asset("fact_store_ops"), build_event_assets()],
        resources,
        instance,
        partition="2024-01-01",
        selection=[bronze_key("fact_store_ops"), bronze_key("store_opened")],
    )
    assert lake.read("bronze/fact_store_ops").height == 3
    assert lake.read("bronze/store_opened").height == 2


def _stray(landing: LandingZone, relpath: str, data: bytes) -> None:
    target = landing._local_root / relpath  # a producer's misnamed file: write_bytes would refuse the name
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_bytes(data)


def test_a_misnamed_file_is_quarantined_once_and_the_month_still_builds(resources, instance, landing, lake) -> None:
    events = sample_events("receipt_created", 3)
    land_events(landing, "receipt_created", events, JAN)
    land_table(landing, "fact_store_ops", store_ops(JAN, 2), JAN)
    misnamed = {
        "events/receipt_created/2024-01-15/x.json": "receipt_created",
        "events/receipt_created/2024-01-32/b.jsonl": "receipt_created",
        "batch/fact_store_ops/2024-01/notes.txt": "fact_store_ops",
    }
    for path in misnamed:
        _stray(landing, path, json.dumps(events[0]).encode())
    _stray(landing, "events/coupon_printed/2024-01-05/b.jsonl", b"{}")  # no such table: only `landing check` reports it
    assets = [build_fact_asset("fact_store_ops"), build_event_assets()]
    selection = [bronze_key("fact_store_ops"), bronze_key("receipt_created")]
    result = materialize(assets, resources, instance, partition="2024-01-01", selection=selection)

    assert lake.read("bronze/receipt_created").height == 3 and lake.read("bronze/fact_store_ops").height == 2
    for name in ("receipt_created", "fact_store_ops"):
        quarantine = lake.read(f"quarantine/bronze/{name}")
        expected = sorted(p for p, t in misnamed.items() if t == name)
        assert sorted(quarantine.get_column("value")) == expected
        assert set(quarantine.get_column("reason_code")) == {"bad_file_name"}
        assert quarantine.get_column("row_number").null_count() == quarantine.height
        meta = materializations(result, bronze_key(name))["2024-01-01"]
        assert meta["misnamed_files"] == len(expected) and meta["quarantined_rows"] == len(expected)
    reason = lake.read("quarantine/bronze/receipt_created").filter(pl.col("value").str.ends_with(".json")).get_column("reason").item()
    assert reason == "landing path 'events/receipt_created/2024-01-15/x.json': event files must be .jsonl; the file was not loaded"
    evaluations = {
        (e.asset_key.to_user_string(), e.check_name): e
        for e in (x.asset_check_evaluation_data for x in result.all_events if x.event_type_value == "ASSET_CHECK_EVALUATION")
    }
    warning = evaluations[("bronze/receipt_created", "nothing_quarantined")]
    assert (warning.passed, warning.severity) == (False, dg.AssetCheckSeverity.WARN)
    assert warning.metadata["by_reason"].value == {"bad_file_name": 2}
    assert evaluations[("bronze/receipt_created", "schema_parity")].passed

    # The stream worker's way of quarantining the same files writes the same rows, once.
    from retail_assets.lib.bronze import quarantine_bad_files

    version = lake.version("quarantine/bronze/receipt_created")
    _, bad = landing.scan("events/")
    report = quarantine_bad_files(lake, bad, dt.datetime.now(dt.UTC))
    assert report.committed == 0 and lake.version("quarantine/bronze/receipt_created") == version
    assert report.rows == {("receipt_created", JAN): 2}
    assert [path for path, _ in report.unattributed] == ["events/coupon_printed/2024-01-05/b.jsonl"]


def test_a_named_file_batch_reports_the_months_quarantine_as_a_warning(resources, instance, landing, lake) -> None:
    good = sample_events("receipt_created", 2)
    bad = {**good[0], "trace_id": "bad", "payload": {**good[0]["payload"], "store_id": 2**70}}  # int64 overflow
    (first,) = land_events(landing, "receipt_created", [good[0], bad], JAN, "b1")
    (second,) = land_events(landing, "receipt_created", [good[1]], JAN, "b2")
    assets = [build_event_assets()]
    runs = {}
    for path in (first, second):
        runs[path] = dg.materialize(
            assets,
            resources=resources,
            instance=instance,
            partition_key="2024-01-01",
            selection=[bronze_key("receipt_created")],
            run_config={"ops": {"bronze_events": {"config": {"files": [path]}}}},
        )
    for path, result in runs.items():
        (evaluation,) = [
            e.asset_check_evaluation_data
            for e in result.all_events
            if e.event_type_value == "ASSET_CHECK_EVALUATION" and e.asset_check_evaluation_data.check_name == "nothing_quarantined"
        ]
        # The clean second batch still warns: the month holds the first batch's rejected event.
        assert (evaluation.passed, evaluation.partition) == (False, "2024-01-01"), path
        assert evaluation.metadata["by_reason"].value == {"type_error": 1}
    assert lake.read("quarantine/bronze/receipt_created").get_column("trace_id").to_list() == ["bad"]


def test_a_misnamed_dimension_file_is_quarantined_under_the_snapshot_month_it_names(resources, instance, landing, lake) -> None:
    land_table(landing, "dim_stores", sample_rows("dim_stores", 3), JAN)
    _stray(landing, "batch/dim_stores/2024-02/stores.xlsx", b"not a snapshot")
    result = materialize([build_dimension_asset("dim_stores")], resources, instance)
    assert lake.read("bronze/dim_stores").height == 3
    quarantine = lake.read("quarantine/bronze/dim_stores")
    assert quarantine.select("month_start", "value", "reason_code").rows() == [(FEB, "batch/dim_stores/2024-02/stores.xlsx", "bad_file_name")]
    (meta,) = materializations(result, bronze_key("dim_stores")).values()
    assert (meta["misnamed_files"], meta["latest_snapshot"]) == (1, "2024-01-01")
    assert check_results(result)[("bronze/dim_stores", "nothing_quarantined", None)] is False


def _frame_rows(frame: pl.DataFrame) -> list[tuple]:
    return sorted(frame.drop("_ingested_at", "quarantined_at", strict=False).rows(), key=repr)


def test_a_month_typed_in_small_chunks_writes_what_the_whole_month_load_gives(
    resources, instance, landing, lake, monkeypatch
) -> None:
    """Chunks of 4 rows over files of 11 and 5 rows, with bad values, a stray month and a misnamed file: Bronze,
    its quarantine (row numbers counted over the whole file), the counts and the checks equal the whole-month load."""
    from retail_assets.lib.bronze import load_fact_month

    ops = store_ops(JAN, 11).with_columns(
        pl.when(pl.int_range(11) == 6).then(pl.lit(dt.datetime(2024, 2, 3, tzinfo=dt.UTC))).otherwise(pl.col("event_ts")).alias("event_ts")
    )
    land_table(landing, "fact_store_ops", ops, JAN, "stores-a.parquet")
    csv = "trace_id,event_ts,store_id,operation_type\n" + "".join(
        f"c{i},2024-01-03T08:00:00Z,{'four' if i == 3 else i},opened\n" for i in range(5)
    )
    landing.write_bytes("batch/fact_store_ops/2024-01/stores-b.csv", csv.encode())
    _stray(landing, "batch/fact_store_ops/2024-01/notes.txt", b"not a batch file")
    whole = load_fact_month(landing, "fact_store_ops", JAN, dt.datetime.now(dt.UTC))

    monkeypatch.setenv("RETAIL_BRONZE_CHUNK_ROWS", "4")
    result = materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01")

    assert _frame_rows(lake.read("bronze/fact_store_ops")) == _frame_rows(whole.rows)
    assert _frame_rows(lake.read("quarantine/bronze/fact_store_ops")) == _frame_rows(whole.quarantine)
    quarantine = lake.read("quarantine/bronze/fact_store_ops")
    assert sorted(quarantine.get_column("row_number").drop_nulls().to_list()) == [4, 7]  # row 7 of a.parquet, 4 of b.csv
    meta = materializations(result, bronze_key("fact_store_ops"))["2024-01-01"]
    assert (meta["landed_rows"], meta["dagster/row_count"], meta["quarantined_rows"], meta["misnamed_files"]) == (
        16, whole.rows.height, whole.quarantine.height, 1
    )
    assert check_results(result)[("bronze/fact_store_ops", "schema_parity", "2024-01-01")] is True


def test_a_month_that_does_not_reconcile_after_its_last_chunk_commits_nothing(
    resources, instance, landing, lake, monkeypatch
) -> None:
    """The counts are only known after the last chunk: the streamed commit must not happen if they do not add up."""
    import retail_assets.lib.bronze as bronze_module

    land_table(landing, "fact_store_ops", store_ops(JAN, 3), JAN)
    materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01")
    version = lake.version("bronze/fact_store_ops")
    land_table(landing, "fact_store_ops", store_ops(JAN, 9), JAN)
    monkeypatch.setenv("RETAIL_BRONZE_CHUNK_ROWS", "2")
    real = bronze_module._split_by_month

    def losing_a_row(rows, *args):
        kept, stray = real(rows, *args)
        return kept.head(max(kept.height - 1, 0)) if kept.height == 1 else kept, stray  # the last chunk loses its row

    monkeypatch.setattr(bronze_module, "_split_by_month", losing_a_row)
    result = materialize([build_fact_asset("fact_store_ops")], resources, instance, partition="2024-01-01", ok=False)
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    assert "counts do not reconcile: 9 landed != 8 written" in failure.event_specific_data.error.to_string()
    assert lake.version("bronze/fact_store_ops") == version
    assert lake.read("bronze/fact_store_ops").height == 3
