"""A Silver fact month built in key-hash shards is the month built as one frame (issue 15, part 4).

The tiny profile's January for the large facts lands as batch files; a day of it (Jan 30) is streamed
again as the generator's events (duplicates of their batch rows, one receipt and one inventory event
made to disagree with theirs), and a second batch file repeats one receipt exactly and another with a
different total. Each month is built once as one frame and once in shards (the threshold lowered so
it takes 4), and everything is compared: Silver rows and quarantine (row hashes, order-independent),
the build's counts, the asset's metadata and check outcomes. A shard failing late commits nothing.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import warnings
from collections.abc import Iterator
from dataclasses import dataclass

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.facts import facts_between
from retail_assets.lib.generator.output import write_dimensions, write_month
from retail_assets.lib.checks import SpecValidationError
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.settings import SILVER_SHARD_ROWS
from retail_assets.lib.silver import pipeline as silver_pipeline
from retail_assets.lib.silver.pipeline import (
    WrittenMonth,
    count_bronze_rows,
    materialize_fact_month,
    quarantine_table,
    silver_table,
)
from retail_assets.lib.silver.shards import shard_count, shardable
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.envelopes import encode_events
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets_tests.silver.landed import JAN
from retail_assets_tests.silver.test_overlap import _disagree

FACTS = ("fact_receipts", "fact_receipt_lines", "fact_store_inventory_txn", "fact_ble_pings", "fact_payments", "fact_promotions")
EVENTS = ("receipt_created", "receipt_line_added", "inventory_updated", "ble_ping_detected", "payment_processed", "promotion_applied")
SHARDS = 4
STREAMED = (dt.datetime(2024, 1, 30, tzinfo=dt.UTC), dt.datetime(2024, 1, 31, tzinfo=dt.UTC))


@dataclass
class Landed:
    lake: LakeStore
    landing: LandingZone
    instance: dg.DagsterInstance
    assets: list[dg.AssetsDefinition]
    shard_rows: dict[str, int]  # per fact: a threshold that splits its January into (at least) SHARDS shards


def _materialize(landed: Landed, keys: list[str], partition: str | None = JAN.isoformat()) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.materialize(
            landed.assets,
            selection=[dg.AssetKey(k.split("/")) for k in keys],
            resources={"lake": landed.lake, "landing": landed.landing},
            instance=landed.instance,
            partition_key=partition,
        )


def _land_receipt_copies(lake: LakeStore, landing: LandingZone) -> None:
    """A second batch file of January receipts: one receipt repeated exactly, one with another total."""
    columns = list(REGISTRY.table("fact_receipts").column_names)
    first = lake.read("bronze/fact_receipts", [JAN]).select(columns).sort("receipt_id").head(2)
    changed = first.with_columns(
        pl.when(pl.int_range(pl.len()) == 1).then(pl.col("total_cents") + 1).otherwise(pl.col("total_cents")).alias("total_cents")
    )
    buffer = io.BytesIO()
    changed.write_parquet(buffer)
    landing.write_bytes(f"batch/fact_receipts/{JAN:%Y-%m}/zz-copies.parquet", buffer.getvalue())


@pytest.fixture(scope="module")
def landed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Landed]:
    root = tmp_path_factory.mktemp("shards")
    lake = LakeStore(root_uri=str(root / "lake"))
    landing = LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    tiny = load_config("tiny")
    write_dimensions(tiny, [JAN], landing)
    write_month(tiny, JAN, landing, tables=FACTS)
    events = encode_events(facts_between(tiny, *STREAMED)).filter(pl.col("event_type").is_in(EVENTS))
    events, _ = _disagree(events, "inventory_updated", lambda p: p.update(quantity_delta=p["quantity_delta"] + 5))
    events, _ = _disagree(
        events, "receipt_created", lambda p: p.update(total_cents=p["total_cents"] + 100, total=round(p["total"] + 1, 2))
    )
    sink = LandingSink(landing, name="shards")
    sink.send(events)
    sink.close()
    with dg.DagsterInstance.ephemeral() as instance:
        result = Landed(lake, landing, instance, [*build_bronze_assets(), *build_silver_assets()], {})
        dims = [f"{layer}/{t.name}" for t in REGISTRY.dimensions for layer in ("bronze", "silver")]
        assert _materialize(result, dims, None).success
        assert _materialize(result, [f"bronze/{f}" for f in FACTS]).success
        _land_receipt_copies(lake, landing)
        assert _materialize(result, ["bronze/fact_receipts", *[f"bronze/{e}" for e in EVENTS]]).success
        for fact in FACTS:
            rows, _ = count_bronze_rows(lake, fact, JAN)
            result.shard_rows[fact] = math.ceil(rows / SHARDS)
        yield result


def _row_hashes(frame: pl.DataFrame) -> list[int]:
    if not frame.width:
        return []
    return sorted(frame.select(pl.struct(pl.all()).hash()).to_series().to_list())


def _stored(lake: LakeStore, table: str) -> tuple[pl.Schema, list[int], pl.Schema, list[int]]:
    silver = lake.read(silver_table(table), [JAN])
    quarantined = (
        lake.read(quarantine_table(table), [JAN]).drop("quarantined_at")  # the build's clock
        if lake.exists(quarantine_table(table))
        else pl.DataFrame()
    )
    return silver.schema, _row_hashes(silver), quarantined.schema, _row_hashes(quarantined)


def _counts(written: WrittenMonth) -> dict:
    build = written.build
    return {
        "rows_in": build.rows_in,
        "rows_out": build.rows_out,
        "row_count": build.row_count,
        "duplicates_dropped": build.duplicates_dropped,
        "events_matching_batch": build.events_matching_batch,
        "quarantined_by_reason": build.quarantined_by_reason,
        "quarantine_rows": build.quarantine.height,
        "batch_keys": build.batch_keys,
        "lost_batch_keys": sorted(build.lost_batch_keys.iter_rows()),
        "reconciles": build.reconciles,
        "unresolved": written.unresolved,
        "silver_rows": written.silver_rows,
        "bronze_rows": written.bronze_rows,
        "quarantine_codes": sorted(written.quarantine_codes.get_column("reason_code").to_list()),
    }


def test_every_large_fact_of_the_scenario_is_shardable_and_splits_by_its_row_count() -> None:
    assert all(shardable(f) for f in FACTS)
    assert not shardable("fact_online_order_lines")  # step events relate rows of different keys
    assert shard_count("fact_receipts", 100, 0) == 1  # 0: never shard
    assert shard_count("fact_receipts", 100, 100) == 1
    assert shard_count("fact_receipts", 101, 100) == 2
    assert shard_count("fact_receipts", 1_000, 100) == 10
    assert shard_count("fact_online_order_lines", 1_000, 100) == 1


@pytest.mark.parametrize("table", FACTS)
def test_a_month_built_in_shards_is_the_month_built_as_one_frame(landed: Landed, table: str) -> None:
    whole = materialize_fact_month(landed.lake, table, JAN, shard_rows=0)
    expected = _stored(landed.lake, table)
    sharded = materialize_fact_month(landed.lake, table, JAN, shard_rows=landed.shard_rows[table])

    assert whole.shards == 1 and sharded.shards >= SHARDS  # inventory counts both facts' inventory events
    assert _stored(landed.lake, table) == expected
    assert _counts(sharded) == _counts(whole)
    assert sharded.build.rows.is_empty() and sharded.build.rows.schema == whole.build.rows.schema
    assert sharded.version == whole.version + 1  # the shards landed in one Silver commit


def test_the_scenario_has_duplicates_and_conflicts_across_batch_and_events(landed: Landed) -> None:
    """What the equality above must hold for: batch rows duplicated and contradicted by events and by batch rows."""
    receipts = materialize_fact_month(landed.lake, "fact_receipts", JAN, shard_rows=landed.shard_rows["fact_receipts"])
    assert receipts.build.events_matching_batch > 0
    assert receipts.build.duplicates_dropped > receipts.build.events_matching_batch  # + the exact batch copy
    assert receipts.build.quarantined_by_reason.get("conflicts_with_batch") == 1
    assert receipts.build.quarantined_by_reason.get("conflicting_duplicate") == 2
    assert receipts.build.lost_batch_keys.height == 1
    inventory = materialize_fact_month(
        landed.lake, "fact_store_inventory_txn", JAN, shard_rows=landed.shard_rows["fact_store_inventory_txn"]
    )
    assert inventory.build.quarantined_by_reason.get("conflicts_with_batch") == 1
    for written in (receipts, inventory):
        assert written.shards >= SHARDS and written.build.reconciles


def _outcomes(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], tuple]:
    return {
        (e.asset_key.path[1], e.check_name): (e.passed, e.severity, dict(e.metadata) if e.check_name != "primary_key_unique" else None)
        for e in result.get_asset_check_evaluations()
    }


def _metadata(result: dg.ExecuteInProcessResult) -> dict[str, dict]:
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        metadata = {k: v for k, v in materialization.metadata.items() if k not in ("delta_version", "key_hash_shards")}
        if "quarantine_preview" in metadata:
            # Shards stack their rejected rows shard by shard: the preview's first rows are in another order (here
            # every quarantined row is in it, so the columns and the rows must be the same).
            preview = metadata["quarantine_preview"]
            metadata["quarantine_preview"] = (preview.schema, sorted(repr(record) for record in preview.records))
        found[materialization.asset_key.path[1]] = metadata
    return found


def test_the_assets_report_the_same_metadata_and_check_outcomes(landed: Landed, monkeypatch: pytest.MonkeyPatch) -> None:
    keys = [f"silver/{f}" for f in ("fact_receipts", "fact_store_inventory_txn", "fact_promotions")]
    monkeypatch.setenv(SILVER_SHARD_ROWS, "0")
    whole = _materialize(landed, keys)
    monkeypatch.setenv(SILVER_SHARD_ROWS, str(min(landed.shard_rows[k.split("/")[1]] for k in keys)))
    sharded = _materialize(landed, keys)

    assert whole.success and sharded.success
    shards = [e.step_materialization_data.materialization.metadata.get("key_hash_shards") for e in sharded.get_asset_materialization_events()]
    assert len(shards) == len(keys) and all(n is not None and n.value >= SHARDS for n in shards)
    assert _metadata(sharded) == _metadata(whole)
    assert _outcomes(sharded) == _outcomes(whole)
    keys_check = {e.asset_key.path[1]: e for e in sharded.get_asset_check_evaluations() if e.check_name == "primary_key_unique"}
    assert all(e.passed and "key-hash shards" in e.description for e in keys_check.values())


def test_a_failure_in_a_late_shard_commits_nothing(landed: Landed, monkeypatch: pytest.MonkeyPatch) -> None:
    table = "fact_receipts"
    materialize_fact_month(landed.lake, table, JAN, shard_rows=0)
    before = {t: landed.lake.version(t) for t in (silver_table(table), quarantine_table(table))}
    stored = _stored(landed.lake, table)
    validate = silver_pipeline.validate_output
    calls = []

    def failing_in_the_last_shard(rows: pl.DataFrame, table: str, month) -> None:
        calls.append(rows.height)
        if len(calls) == SHARDS:
            raise SpecValidationError("the last shard is invalid", layer="silver", table=table, partition="2024-01-01")
        validate(rows, table, month)

    monkeypatch.setattr(silver_pipeline, "validate_output", failing_in_the_last_shard)
    with pytest.raises(SpecValidationError, match="the last shard is invalid"):
        materialize_fact_month(landed.lake, table, JAN, shard_rows=landed.shard_rows[table])

    assert len(calls) == SHARDS and all(calls)  # the first shards were built and handed to the writer
    assert {t: landed.lake.version(t) for t in before} == before
    assert _stored(landed.lake, table) == stored


def test_the_key_check_of_a_sharded_month_reads_the_stored_month_and_can_fail(tmp_path) -> None:
    """A sharded month is not held whole: ``primary_key_unique`` scans the stored month's key columns. A duplicated
    and a null key written there (as a faulty writer would) fail it; the clean month passes."""
    from types import SimpleNamespace

    from retail_assets.defs.silver import fact_key_outcome
    from retail_assets.lib.specs import polars_schema, silver_columns

    lake, month = LakeStore(root_uri=str(tmp_path / "lake")), dt.date(2024, 1, 1)
    schema = polars_schema(silver_columns("fact_receipts"))
    ids = ["r1", "r2", "r3"]
    rows = pl.DataFrame({"receipt_id": ids, "month_start": [month] * 3}).select(
        [pl.col(n).cast(t) if n in ("receipt_id", "month_start") else pl.lit(None, dtype=t).alias(n) for n, t in schema.items()]
    )
    lake.overwrite_months("silver/fact_receipts", rows, [month])
    build = SimpleNamespace(shards=3, table="fact_receipts")
    clean = fact_key_outcome(build, lake, month)
    assert clean.passed and "over the 3 rows stored (3 key-hash shards)" in clean.description

    faulty = pl.concat([rows, rows.head(1), rows.head(1).with_columns(pl.lit(None, dtype=pl.String).alias("receipt_id"))])
    lake.overwrite_months("silver/fact_receipts", faulty, [month])
    outcome = fact_key_outcome(build, lake, month)
    assert not outcome.passed
    assert (outcome.metadata["duplicate_keys"], outcome.metadata["null_keys"]) == (2, 1)
