"""Events for a window, ingested through the real Bronze and Silver assets, give back the generator's facts.

The producer is the inverse of Silver's event mapping: for every fact an event maps to, Silver
built from the events alone equals the generator's rows of the window, on every column an event
carries (docs/streaming.md lists the ones it cannot: inventory balances, planned truck times,
order status after creation, trace ids of business-keyed facts).
"""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.generator.output import write_dimensions
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets.lib.specs import REGISTRY
from retail_assets_tests.streaming.conftest import END, START, materialize

MONTHS = ("2024-01-01", "2024-02-01")
# Columns an event does not carry (Silver fills them by rule); compared everywhere else.
NOT_CARRIED = {
    "fact_receipts": {"trace_id"},
    "fact_receipt_lines": {"trace_id"},
    "fact_payments": {"trace_id"},
    "fact_store_inventory_txn": {"balance"},
    "fact_dc_inventory_txn": {"balance"},
    "fact_truck_moves": {"trace_id", "eta", "etd"},
    "fact_marketing": {"trace_id"},
    "fact_online_order_headers": {"trace_id", "order_status", "completed_ts"},
    "fact_promotions": {"trace_id"},
    # Lost sales are only known once the shelf is refilled: the stockout_detected event cannot carry them.
    "fact_stockouts": {"lost_sales_units"},
}
# Fact rows that are not events (docs/streaming.md): returns, cancelled orders, the four other truck statuses.
STREAMED_ROWS = {
    "fact_receipts": pl.col("receipt_type") == "SALE",
    "fact_receipt_lines": pl.col("quantity") > 0,
    "fact_truck_moves": pl.col("status").is_in(["ARRIVED", "COMPLETED"]),
    "fact_online_order_headers": pl.col("order_status") != "CANCELLED",
}
ROW_FACTS = [t.name for t in REGISTRY.facts if t.source_events and t.name != "fact_online_order_lines"]


@pytest.fixture(scope="module")
def ingested(tmp_path_factory, tiny, window_events):
    root = tmp_path_factory.mktemp("roundtrip")
    lake, landing = LakeStore(root_uri=str(root / "lake")), LandingZone(root_uri=str(root / "landing"))
    landing.ensure_root()
    write_dimensions(tiny, [dt.date(2024, 1, 1)], landing)
    sink = LandingSink(landing, max_events=400)
    sink.send(window_events)
    sink.close()
    import dagster as dg

    assets = [*build_bronze_assets(), *build_silver_assets()]
    resources = {"lake": lake, "landing": landing}
    with dg.DagsterInstance.ephemeral() as instance:
        dims = [k.to_user_string() for a in assets if a.partitions_def is None for k in a.keys if k.path[1].startswith("dim_")]
        assert materialize(assets, dims, resources, instance).success
        events = [f"bronze/{e.event_type}" for e in REGISTRY.events]
        silver = [f"silver/{t}" for t in (*ROW_FACTS, "fact_online_order_lines")]
        for month in MONTHS:
            assert materialize(assets, [*events, *silver], resources, instance, month).success
    return lake, sink


def test_every_event_type_is_produced(window_events):
    assert set(window_events.get_column("event_type").unique()) == {e.event_type for e in REGISTRY.events}


def test_files_are_batched_per_type_and_day(ingested, window_events):
    _, sink = ingested
    assert sink.stats.events == window_events.height
    days = {p.split("/")[2] for p in sink.stats.published}
    assert days == {"2024-01-30", "2024-01-31", "2024-02-01"}


@pytest.mark.parametrize("table", ROW_FACTS)
def test_silver_from_events_equals_generator_facts(ingested, window_facts, table):
    lake, _ = ingested
    spec = REGISTRY.table(table)
    columns = [c for c in spec.column_names if c not in NOT_CARRIED.get(table, set())]
    key = list(spec.primary_key) if spec.primary_key != ("trace_id",) or "trace_id" in columns else columns
    expected = window_facts[table].filter(STREAMED_ROWS.get(table, pl.lit(True))).select(columns).sort(key)
    silver = lake.read(f"silver/{table}").select(columns).sort(key)
    quarantined = lake.read(f"quarantine/silver/{table}") if lake.exists(f"quarantine/silver/{table}") else None
    assert quarantined is None or quarantined.height == 0, quarantined.select("reason").head(5).to_dicts()
    assert expected.height > 0
    assert silver.equals(expected), f"{table}: {silver.height} Silver rows vs {expected.height} generated"


def test_order_steps_update_lines_without_rejections(ingested):
    lake, _ = ingested
    # The window holds no batch order lines, so every picked/shipped event is an unmatched update: none
    # is lost, each is quarantined with that reason (Silver's documented rule for stream-only orders).
    quarantine = lake.read("quarantine/silver/fact_online_order_lines")
    bronze = sum(lake.read(f"bronze/{e}").height for e in ("online_order_picked", "online_order_shipped"))
    assert set(quarantine.get_column("reason_code")) == {"unmatched_update"}
    assert quarantine.height == bronze > 0
