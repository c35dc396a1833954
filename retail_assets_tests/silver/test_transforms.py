"""The Silver transforms as plain functions on polars frames, without Dagster or a lake."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.silver.dedupe import deduplicate
from retail_assets.lib.silver.facts import build_fact_month
from retail_assets.lib.silver.lifecycle import apply_line_updates, map_step_events
from retail_assets.lib.silver.rules import DimensionKeys
from retail_assets.lib.silver.scd2 import build_versions
from retail_assets.lib.silver.mapping import dollars_to_cents
from retail_assets.lib.silver.stream import ROW_MAPPINGS, UPDATE_EVENTS
from retail_assets.lib.specs import REGISTRY, SNAPSHOT_MONTH, bronze_columns, polars_schema
from retail_assets_tests.silver.landed import JAN, frame, row, ts

UTC = dt.UTC
NOW = dt.datetime(2024, 3, 1, tzinfo=UTC)


def test_every_event_type_has_a_mapping_to_each_fact_it_feeds() -> None:
    mapped = {(t, e) for t, e in ROW_MAPPINGS} | {(t, e) for t, events in UPDATE_EVENTS.items() for e in events}
    declared = {(fact, e.event_type) for e in REGISTRY.events for fact in e.facts}
    assert mapped == declared
    assert {e for _, e in mapped} == set(REGISTRY.events_by_type)


@pytest.mark.parametrize(
    ("dollars", "cents"), [(0.285, 29), (1.005, 101), (12.345, 1235), (-0.285, -29), (0.0, 0), (19.99, 1999)]
)
def test_dollars_become_cents_half_away_from_zero(dollars: float, cents: int) -> None:
    assert pl.DataFrame({"x": [dollars]}).select(dollars_to_cents("x")).item() == cents


def test_exact_duplicates_drop_and_different_rows_with_one_key_are_all_rejected() -> None:
    rows = pl.DataFrame(
        {
            "id": ["a", "a", "b", "b", "b", "c"],
            "v": [1, 1, 1, 2, 2, 3],
            "trace_id": ["t1", "t2", "t3", "t4", "t5", "t6"],
        }
    )
    result = deduplicate(rows, ["id"], ["id", "v"], table="t")
    assert sorted(result.rows.select("id", "v", "trace_id").rows()) == [("a", 1, "t1"), ("c", 3, "t6")]
    assert result.duplicates_dropped == 2  # the second a, and one of the two identical b=2
    assert sorted(result.conflicts["v"].to_list()) == [1, 2]
    assert set(result.conflicts["__code"]) == {"conflicting_duplicate"}
    assert result.rows.height + result.conflicts.height + result.duplicates_dropped == rows.height


def _snapshot(table: str, month: dt.date, rows: list[dict]) -> pl.DataFrame:
    return frame(table, rows).with_columns(pl.lit(month).alias(SNAPSHOT_MONTH.name))


def test_scd2_opens_a_version_only_when_an_attribute_changes() -> None:
    feb, mar = dt.date(2024, 2, 1), dt.date(2024, 3, 1)
    snapshots = pl.concat(
        [
            _snapshot("dim_customers", JAN, [row("dim_customers"), row("dim_customers", customer_id=2)]),
            _snapshot("dim_customers", feb, [row("dim_customers"), row("dim_customers", customer_id=2, address="9 Oak")]),
            _snapshot("dim_customers", mar, [row("dim_customers", address="5 Pine")]),  # customer 2 missing: stays open
        ]
    )
    versions, repeated = build_versions(snapshots, REGISTRY.table("dim_customers"))
    at = lambda m: dt.datetime(m.year, m.month, 1, tzinfo=UTC)  # noqa: E731
    assert versions.sort("customer_id", "valid_from").select(
        "customer_id", "address", "valid_from", "valid_to", "is_current"
    ).rows() == [
        (1, "1 Elm St", at(JAN), at(mar), False),
        (1, "5 Pine", at(mar), None, True),
        (2, "1 Elm St", at(JAN), at(feb), False),
        (2, "9 Oak", at(feb), None, True),
    ]
    assert repeated == 1  # customer 1 in February repeated its January version


def _step(event_type: str, order: str, node_type: str, node_id: int, at: dt.datetime, trace: str) -> dict:
    status_field = "picked_time" if event_type == "online_order_picked" else "shipped_time"
    return {
        "order_id": order,
        "node_type": node_type,
        "node_id": node_id,
        "fulfillment_mode": "SHIP_FROM_STORE",
        status_field: at,
        "trace_id": trace,
        "_source_file": f"events/{event_type}/x.jsonl",
        "_batch_id": "x",
    }


def _steps(event_type: str, rows: list[dict]) -> pl.LazyFrame:
    schema = polars_schema(bronze_columns(event_type))
    return map_step_events(event_type, pl.DataFrame(rows, schema={k: schema[k] for k in rows[0]}).lazy())


def _lines(rows: list[dict]) -> pl.DataFrame:
    return frame("fact_online_order_lines", rows)


def test_line_status_only_moves_forward_and_conflicts_are_rejected() -> None:
    lines = _lines(
        [
            row("fact_online_order_lines", order_id="A", fulfillment_status="DELIVERED"),
            row("fact_online_order_lines", order_id="B", picked_ts=ts(9)),
            row("fact_online_order_lines", order_id="C", fulfillment_status="CANCELLED"),
        ]
    )
    picked = _steps(
        "online_order_picked",
        [
            _step("online_order_picked", "A", "STORE", 1, ts(10), "p-a"),  # DELIVERED stays DELIVERED
            _step("online_order_picked", "B", "STORE", 1, ts(10), "p-b"),  # B was picked at another time
            _step("online_order_picked", "C", "STORE", 1, ts(10), "p-c"),  # cancelled
            _step("online_order_picked", "Z", "STORE", 1, ts(10), "p-z"),  # no such order
        ],
    )
    result = apply_line_updates(lines, picked)
    a = result.lines.filter(pl.col("order_id") == "A").row(0, named=True)
    assert (a["fulfillment_status"], a["picked_ts"]) == ("DELIVERED", ts(10))
    assert result.lines.filter(pl.col("order_id") == "B")["picked_ts"].item() == ts(9)
    reasons = dict(zip(result.rejected["order_id"], result.rejected["__message"], strict=True))
    assert "already has a different time for PICKED" in reasons["B"]
    assert "is CANCELLED" in reasons["C"]
    assert "order Z has no line" in reasons["Z"]
    assert result.applied == 1 and result.events_in == {"online_order_picked": 4}


def test_step_events_conflicting_on_their_key_are_rejected() -> None:
    lines = _lines([row("fact_online_order_lines", order_id="A")])
    picked = _steps(
        "online_order_picked",
        [
            _step("online_order_picked", "A", "STORE", 1, ts(10), "p-1"),
            _step("online_order_picked", "A", "STORE", 1, ts(11), "p-2"),
        ],
    )
    result = apply_line_updates(lines, picked)
    assert result.applied == 0 and result.lines["picked_ts"].item() is None
    assert set(result.rejected["__code"]) == {"conflicting_duplicate"} and result.rejected.height == 2


def _receipt_events(rows: list[dict]) -> pl.LazyFrame:
    schema = polars_schema(bronze_columns("receipt_created"))
    base = {
        "event_type": "receipt_created",
        "ingest_timestamp": ts(10),
        "schema_version": "1.0",
        "source": "tests",
        "store_id": 1,
        "customer_id": 1,
        "subtotal": 1.0,
        "tax": 0.0,
        "total": 1.0,
        "tender_type": "CASH",
        "item_count": 1,
        "month_start": JAN,
        "_source_file": "events/receipt_created/2024-01-10/b.jsonl",
        "_batch_id": "b",
        "_ingested_at": NOW,
    }
    return pl.DataFrame([{**base, **r} for r in rows], schema=schema).lazy()


def _dims(**keys: list[int]) -> dict[str, DimensionKeys]:
    stores = pl.Series("store_id", keys.get("stores", [1]), dtype=pl.Int64)
    customers = pl.Series("customer_id", keys.get("customers", [1]), dtype=pl.Int64)
    start = pl.Series([dt.datetime(2024, 1, 1, tzinfo=UTC)], dtype=pl.Datetime("us", "UTC"))
    return {
        "dim_stores": DimensionKeys("dim_stores", "store_id", stores, pl.concat([start] * len(stores))),
        "dim_customers": DimensionKeys("dim_customers", "customer_id", customers, pl.concat([start] * len(customers))),
    }


def test_a_fact_month_reconciles_and_rejects_with_every_reason() -> None:
    events = _receipt_events(
        [
            {"trace_id": "ok", "receipt_id": "R1"},
            {"trace_id": "late", "receipt_id": "R2", "ingest_timestamp": ts(5, month=2)},  # another month
            {"trace_id": "big", "receipt_id": "R3", "item_count": 2**40},  # does not fit int32
            {"trace_id": "two", "receipt_id": "R4", "store_id": 7, "tender_type": "BITCOIN"},  # two problems
        ]
    )
    month = build_fact_month(
        "fact_receipts", JAN, batch=None, events={"receipt_created": events}, dims=_dims(), quarantined_at=NOW
    )
    assert month.rows["receipt_id"].to_list() == ["R1"]
    codes = dict(zip(month.quarantine["value"], month.quarantine["reason_code"], strict=True))
    assert codes == {"2024-02-05T12:00:00Z": "wrong_partition", str(2**40): "type_error", "BITCOIN": "not_allowed"}
    two = month.quarantine.filter(pl.col("value") == "BITCOIN")["reason"].item()
    assert "payment_method: BITCOIN is not one of" in two and "store_id: 7 is not a dim_stores.store_id" in two
    assert month.reconciles and month.bronze_rows == 4


def _receipts_batch(rows: list[dict]) -> pl.LazyFrame:
    return (
        frame("fact_receipts", rows)
        .with_columns(pl.lit("batch/fact_receipts/2024-01/part-0.parquet").alias("_source_file"), pl.lit("part-0").alias("_batch_id"))
        .lazy()
    )


def test_the_batch_row_wins_and_an_event_is_judged_on_what_it_carries() -> None:
    same = {"item_count": 2, "subtotal": 10.0, "tax": 0.8, "total": 10.8}  # the batch row's money, in dollars
    batch = _receipts_batch(
        [
            row("fact_receipts", receipt_id="R1", gross_subtotal_cents=1050, discount_cents=50),
            row("fact_receipts", receipt_id="R2"),
            row("fact_receipts", receipt_id="R3"),
            row("fact_receipts", receipt_id="R3", total_cents=1090),  # two batch versions: no system of record
            row("fact_receipts", receipt_id="R4", store_id=7),  # rejected for its own reason (unknown store)
        ]
    )
    events = _receipt_events(
        [
            # No discount or gross in the event: its discount 0 / gross = subtotal are defaults, not a disagreement.
            {"trace_id": "e1", "receipt_id": "R1", **same},
            {"trace_id": "e2", "receipt_id": "R2", **same, "total": 10.9},  # says another total: a true conflict
            {"trace_id": "e3", "receipt_id": "R3", **same},
            {"trace_id": "e4", "receipt_id": "R4", **same},
            {"trace_id": "e6", "receipt_id": "R6", **same},
        ]
    )
    month = build_fact_month("fact_receipts", JAN, batch=batch, events={"receipt_created": events}, dims=_dims(), quarantined_at=NOW)

    rows = {r["receipt_id"]: r for r in month.rows.iter_rows(named=True)}
    assert sorted(rows) == ["R1", "R2", "R4", "R6"]
    assert (rows["R1"]["discount_cents"], rows["R1"]["trace_id"]) == (50, None)  # the batch row, not the event
    assert (rows["R2"]["total_cents"], rows["R2"]["trace_id"]) == (1080, None)
    assert rows["R4"]["trace_id"] == "e4"  # the only valid version of R4 is the event's
    conflict = month.quarantine.filter(pl.col("reason_code") == "conflicts_with_batch").row(0, named=True)
    assert (conflict["column_name"], conflict["value"], conflict["source_file"]) == ("total_cents", "1090", "events/receipt_created/2024-01-10/b.jsonl")
    assert "key (receipt_id=R2)" in conflict["reason"] and "total_cents: event 1090, batch 1080" in conflict["reason"]
    by_code = month.quarantine.group_by("reason_code").len()
    assert dict(by_code.iter_rows()) == {"conflicts_with_batch": 1, "conflicting_duplicate": 2, "fk_miss": 1}
    assert month.events_matching_batch == 1 and month.duplicates_dropped == 2  # e1; e3 is an exact copy of one R3
    assert month.batch_keys == 3  # R1, R2, R3 (R4's batch row failed its own checks)
    assert month.lost_batch_keys.rows() == [("receipt_id=R3", "conflicting_duplicate")]
    assert month.reconciles


def test_an_empty_month_builds_an_empty_frame_of_the_spec() -> None:
    month = build_fact_month("fact_receipts", JAN, batch=None, events={}, dims=_dims(), quarantined_at=NOW)
    assert month.rows.height == 0 and month.reconciles
    assert month.rows.columns == [*REGISTRY.table("fact_receipts").column_names, "month_start"]


def _promotions_batch(product_ids: list[list[int | None] | None]) -> pl.LazyFrame:
    rows = frame(
        "fact_promotions",
        [row("fact_promotions", receipt_id=f"R{i}", product_ids=ids) for i, ids in enumerate(product_ids)],
    )
    return rows.with_columns(
        pl.lit("batch/fact_promotions/2024-01/part-0.parquet").alias("_source_file"), pl.lit("part-0").alias("_batch_id")
    ).lazy()


def test_a_list_key_rejects_rows_with_any_unknown_element_and_names_them() -> None:
    products = pl.Series("product_id", [1, 2, 3], dtype=pl.Int64)
    dims = {**_dims(), "dim_products": DimensionKeys("dim_products", "product_id", products)}
    batch = _promotions_batch([[1, 2], [1, 999, 3, 998, 999], None, [], [None, 2], [7]])
    month = build_fact_month("fact_promotions", JAN, batch=batch, events={}, dims=dims, quarantined_at=NOW)
    # Known ids only, an empty list and a NULL element pass the reference check (in their original order).
    assert month.rows["receipt_id"].to_list() == ["R0", "R3", "R4"]
    misses = month.quarantine.filter(pl.col("reason_code") == "fk_miss").sort("value")
    assert misses["value"].to_list() == ["7", "999,998,999"]
    assert set(misses["column_name"]) == {"product_ids"}
    assert "column product_ids: 999,998,999 are not dim_products.product_id" in misses["reason"][1]
    # A NULL list is a missing required value, not a reference miss.
    assert month.quarantine.filter(pl.col("reason_code") == "null_required")["reason"].str.contains("product_ids").all()
    assert month.quarantine.height == 3 and month.reconciles
