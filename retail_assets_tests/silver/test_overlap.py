"""A month landed as batch files and then partly streamed again loses nothing (issue 12, part 4).

The tiny profile's January lands as batch files; a day of it (Jan 30) is streamed again as the
generator's events, which reproduce rows of those files but lack some of their fields (inventory
balance, an order's later status, a truck's planned times). Two of the events are made to disagree
with their batch row on a field they carry. Built through the real Bronze and Silver assets and
lib/gold, against the same month built from the batch files alone.
"""

from __future__ import annotations

import datetime as dt
import json
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
from retail_assets.lib.gold.pipeline import gold_path, materialize_gold_month
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.envelopes import encode_events
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets_tests.silver.landed import JAN, land_batch, row
from retail_assets_tests.silver.scenario import land_dimensions

# The facts whose events lack batch fields, and receipts (whose events carry everything).
FACTS = ("fact_store_inventory_txn", "fact_dc_inventory_txn", "fact_truck_moves", "fact_online_order_headers", "fact_receipts")
EVENTS = ("inventory_updated", "truck_arrived", "truck_departed", "online_order_created", "receipt_created")
GOLD = ("inventory_position_current", "dc_inventory_position_current", "truck_dwell_daily", "online_sales_daily", "daily_sales_by_channel")
STREAMED = (dt.datetime(2024, 1, 30, tzinfo=dt.UTC), dt.datetime(2024, 1, 31, tzinfo=dt.UTC))


@dataclass
class Overlap:
    lake: LakeStore
    events: pl.DataFrame  # what was streamed
    conflicts: dict[str, str]  # fact -> the key text of the event made to disagree with its batch row
    batch_only: dict[str, pl.DataFrame]  # silver/<fact> and gold/<table> built from the batch files alone
    with_stream: dict[str, pl.DataFrame]  # the same tables built again after the stream landed
    batch_run: dg.ExecuteInProcessResult
    overlap_run: dg.ExecuteInProcessResult


def _materialize(assets, keys, lake, landing, instance) -> dg.ExecuteInProcessResult:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.materialize(
            assets,
            selection=[dg.AssetKey(k.split("/")) for k in keys],
            resources={"lake": lake, "landing": landing},
            instance=instance,
            partition_key=None if keys[0].split("/")[1].startswith("dim_") else JAN.isoformat(),
        )


def _tables(lake: LakeStore) -> dict[str, pl.DataFrame]:
    tables = {}
    for fact in FACTS:
        frame = lake.read(f"silver/{fact}", [JAN])
        tables[f"silver/{fact}"] = frame.sort(list(REGISTRY.table(fact).primary_key))
    for name in GOLD:
        materialize_gold_month(lake, name, JAN)
        frame = lake.read(gold_path(name), [JAN])
        tables[gold_path(name)] = frame.sort(frame.columns, nulls_last=True)
    return tables


def _disagree(events: pl.DataFrame, event_type: str, change) -> tuple[pl.DataFrame, dict]:
    """The first event of ``event_type`` at a store with its payload changed by ``change``; returns the frame
    and that event."""
    at_store = pl.col("body").str.json_path_match("$.payload.store_id").is_not_null()
    index = events.with_row_index().filter((pl.col("event_type") == event_type) & at_store)["index"][0]
    body = json.loads(events["body"][index])
    change(body["payload"])
    bodies = events["body"].scatter(index, json.dumps(body))
    return events.with_columns(bodies), body


@pytest.fixture(scope="module")
def overlap(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Overlap]:
    root = tmp_path_factory.mktemp("overlap")
    lake = LakeStore(root_uri=str(root / "lake"))
    landing = LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    tiny = load_config("tiny")
    write_dimensions(tiny, [JAN], landing)
    write_month(tiny, JAN, landing, tables=FACTS)
    assets = [*build_bronze_assets(), *build_silver_assets()]
    dims = [f"{layer}/{t.name}" for t in REGISTRY.dimensions for layer in ("bronze", "silver")]
    batch = [f"{layer}/{fact}" for fact in FACTS for layer in ("bronze", "silver")]
    with dg.DagsterInstance.ephemeral() as instance:
        assert _materialize(assets, dims, lake, landing, instance).success
        batch_run = _materialize(assets, batch, lake, landing, instance)
        batch_only = _tables(lake)

        events = encode_events(facts_between(tiny, *STREAMED)).filter(pl.col("event_type").is_in(EVENTS))
        events, inventory = _disagree(events, "inventory_updated", lambda p: p.update(quantity_delta=p["quantity_delta"] + 5))
        events, receipt = _disagree(
            events, "receipt_created", lambda p: p.update(total_cents=p["total_cents"] + 100, total=round(p["total"] + 1, 2))
        )
        sink = LandingSink(landing, name="overlap")
        sink.send(events)
        sink.close()
        stream = [f"bronze/{e}" for e in EVENTS] + [f"silver/{fact}" for fact in FACTS]
        overlap_run = _materialize(assets, stream, lake, landing, instance)
        with_stream = _tables(lake)
        yield Overlap(
            lake=lake,
            events=events,
            conflicts={
                "fact_store_inventory_txn": f"trace_id={inventory['trace_id']}",
                "fact_receipts": f"receipt_id={receipt['payload']['receipt_id']}",
            },
            batch_only=batch_only,
            with_stream=with_stream,
            batch_run=batch_run,
            overlap_run=overlap_run,
        )


def _evaluations(result: dg.ExecuteInProcessResult) -> dict[tuple[str, str], dg.AssetCheckEvaluation]:
    return {(e.asset_key.path[1], e.check_name): e for e in result.get_asset_check_evaluations() if e.asset_key.path[0] == "silver"}


def test_the_stream_overlaps_every_fact(overlap: Overlap) -> None:
    assert overlap.batch_run.success and overlap.overlap_run.success
    streamed = dict(overlap.events.group_by("event_type").len().iter_rows())
    assert set(streamed) == set(EVENTS) and streamed["inventory_updated"] > 500


def test_silver_has_one_row_per_business_key_of_the_batch_rows(overlap: Overlap) -> None:
    for fact in FACTS:
        key = list(REGISTRY.table(fact).primary_key)
        keys = overlap.lake.scan(f"bronze/{fact}", [JAN]).select(key).unique().collect().height
        silver = overlap.with_stream[f"silver/{fact}"]
        assert silver.height == keys, fact
        assert silver.equals(overlap.batch_only[f"silver/{fact}"]), fact


def test_only_events_disagreeing_with_their_batch_row_are_quarantined(overlap: Overlap) -> None:
    for fact in FACTS:
        target = f"quarantine/silver/{fact}"
        quarantined = overlap.lake.read(target, [JAN]) if overlap.lake.exists(target) else pl.DataFrame()
        if fact not in overlap.conflicts:
            assert quarantined.height == 0, (fact, quarantined)
            continue
        assert quarantined["reason_code"].to_list() == ["conflicts_with_batch"], fact
        reason = quarantined["reason"].item()
        assert f"key ({overlap.conflicts[fact]})" in reason and quarantined["source_file"].item().startswith("events/")
    inventory = overlap.lake.read("quarantine/silver/fact_store_inventory_txn", [JAN]).row(0, named=True)
    assert inventory["column_name"] == "quantity" and "balance" not in inventory["reason"]
    receipt = overlap.lake.read("quarantine/silver/fact_receipts", [JAN]).row(0, named=True)
    assert receipt["column_name"] == "total_cents" and "total_cents: event " in receipt["reason"]


def test_overlapping_events_are_counted_as_duplicates_of_their_batch_row(overlap: Overlap) -> None:
    evaluations = _evaluations(overlap.overlap_run)
    for fact in FACTS:
        reconcile = evaluations[(fact, "reconciles_with_bronze")]
        assert reconcile.passed, reconcile.description
        assert evaluations[(fact, "keeps_bronze_keys")].passed, fact
        assert evaluations[(fact, "nothing_quarantined")].passed == (fact not in overlap.conflicts), fact
    materialization = next(
        e.materialization
        for e in overlap.overlap_run.get_asset_materialization_events()
        if e.materialization.asset_key == dg.AssetKey(["silver", "fact_online_order_headers"])
    )
    metadata = {k: v.value for k, v in materialization.metadata.items()}
    created = overlap.events.filter(pl.col("event_type") == "online_order_created").height
    assert metadata["stream_rows_matching_batch"] == created == metadata["duplicates_dropped"]


def test_gold_is_what_the_batch_files_alone_give(overlap: Overlap) -> None:
    for name in GOLD:
        table = gold_path(name)
        assert overlap.with_stream[table].height > 0, name
        assert overlap.with_stream[table].equals(overlap.batch_only[table]), name


def test_keeps_bronze_keys_fails_when_batch_rows_of_a_key_contradict_each_other(
    lake: LakeStore, landing: LandingZone, instance: dg.DagsterInstance
) -> None:
    land_dimensions(landing)
    land_batch(
        landing,
        "fact_receipts",
        JAN,
        [row("fact_receipts"), row("fact_receipts", total_cents=1090), row("fact_receipts", receipt_id="R2")],
    )
    assets = [*build_bronze_assets(), *build_silver_assets()]
    dims = [f"{layer}/{d}" for d in ("dim_geographies", "dim_stores", "dim_customers") for layer in ("bronze", "silver")]
    assert _materialize(assets, dims, lake, landing, instance).success
    result = _materialize(assets, ["bronze/fact_receipts", "silver/fact_receipts"], lake, landing, instance)

    check = _evaluations(result)[("fact_receipts", "keeps_bronze_keys")]
    assert not check.passed and check.severity == dg.AssetCheckSeverity.ERROR
    assert "1 of 2 business keys" in check.description and "receipt_id=R1" in check.description
    assert check.metadata["missing_by_quarantine_reason"].value == {"conflicting_duplicate": 1}
    assert lake.read("silver/fact_receipts", [JAN])["receipt_id"].to_list() == ["R2"]
