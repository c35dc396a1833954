"""Incremental Bronze ingestion of named event files: idempotent, deduplicated, bad events quarantined and counted."""

from __future__ import annotations

import datetime as dt
import json

import polars as pl
import pytest

import retail_assets.lib.bronze as bronze
from retail_assets.lib.bronze import BatchPathError, ingest_event_batch, load_event_month, parse_event_lines
from retail_assets.lib.conform import conform
from retail_assets.lib.specs import REGISTRY, event_columns

JAN = dt.date(2024, 1, 1)
NOW = dt.datetime(2024, 3, 1, tzinfo=dt.UTC)


def lines_of(window_events, event_type: str, day: str | None = None) -> list[str]:
    frame = window_events.filter(pl.col("event_type") == event_type)
    if day:
        frame = frame.filter(pl.col("ingest_timestamp").dt.date() == dt.date.fromisoformat(day))
    return frame.get_column("body").to_list()


def land(landing, event_type: str, day: str, name: str, lines: list[str]) -> str:
    path = f"events/{event_type}/{day}/{name}.jsonl"
    landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


def test_same_batch_twice_changes_nothing(lake, landing, window_events):
    path = land(landing, "receipt_created", "2024-01-30", "b1", lines_of(window_events, "receipt_created", "2024-01-30"))
    first = ingest_event_batch(lake, landing, "receipt_created", JAN, [path], NOW)
    version = lake.version("bronze/receipt_created")
    again = ingest_event_batch(lake, landing, "receipt_created", JAN, [path], NOW + dt.timedelta(hours=1))
    assert not first.skipped and again.skipped
    assert lake.version("bronze/receipt_created") == version == again.version
    assert lake.read("bronze/receipt_created").height == first.load.rows.height > 0


def test_other_files_of_the_month_are_untouched_and_duplicates_dropped(lake, landing, window_events):
    events = lines_of(window_events, "ble_ping_detected", "2024-01-30")
    a = land(landing, "ble_ping_detected", "2024-01-30", "a", events[:100])
    b = land(landing, "ble_ping_detected", "2024-01-30", "b", events[50:150])  # 50 replayed events
    ingest_event_batch(lake, landing, "ble_ping_detected", JAN, [a], NOW)
    second = ingest_event_batch(lake, landing, "ble_ping_detected", JAN, [b], NOW)
    assert second.duplicates_of_earlier == 50 and second.load.rows.height == 50 and second.load.reconciles
    stored = lake.read("bronze/ble_ping_detected")
    assert stored.height == 150 and stored.get_column("trace_id").n_unique() == 150
    assert stored.filter(pl.col("_source_file") == a).height == 100


def test_a_different_event_reusing_a_trace_id_is_quarantined_and_the_earlier_kept(lake, landing, window_events):
    original = lines_of(window_events, "receipt_created", "2024-01-30")[0]
    changed = json.loads(original)
    changed["payload"]["total"] += 1
    a = land(landing, "receipt_created", "2024-01-30", "a", [original])
    b = land(landing, "receipt_created", "2024-01-30", "b", [json.dumps(changed)])
    ingest_event_batch(lake, landing, "receipt_created", JAN, [a], NOW)
    result = ingest_event_batch(lake, landing, "receipt_created", JAN, [b], NOW)
    assert result.conflicts_with_earlier == 1 and result.load.rows.height == 0
    quarantine = lake.read("quarantine/bronze/receipt_created")
    assert quarantine.get_column("reason_code").to_list() == ["conflicting_duplicate"]
    assert lake.read("bronze/receipt_created").get_column("_source_file").to_list() == [a]


def test_bad_events_never_stop_ingestion_and_are_counted(lake, landing, window_events):
    good = lines_of(window_events, "payment_processed", "2024-01-30")[:5]
    doc = json.loads(good[0])
    missing = {**doc, "trace_id": "missing-field", "payload": {k: v for k, v in doc["payload"].items() if k != "transaction_id"}}
    invalid = {**doc, "trace_id": "bad-amount", "payload": {**doc["payload"], "amount_cents": "lots"}}
    version = {**doc, "trace_id": "v9", "schema_version": "9.0"}
    unknown = {**doc, "event_type": "coupon_printed"}
    late = {**doc, "trace_id": "late", "ingest_timestamp": "2023-12-31T23:59:59Z"}
    bad_lines = [
        "{not json",
        json.dumps(unknown),
        json.dumps(version),
        json.dumps(missing),
        json.dumps(invalid),
        json.dumps(late),
        json.dumps({**doc, "pad": "x" * (bronze.MAX_EVENT_BYTES + 1)}),
        good[0],  # exact duplicate within the batch
    ]
    path = land(landing, "payment_processed", "2024-01-30", "mixed", [*good, *bad_lines])
    result = ingest_event_batch(lake, landing, "payment_processed", JAN, [path], NOW)
    load = result.load
    reasons = sorted(load.quarantine.get_column("reason_code").to_list())
    assert reasons == sorted(
        ["malformed_json", "unknown_event_type", "unsupported_schema_version", "null_required", "type_error",
         "wrong_partition", "oversized"]
    )
    assert load.rows.height == 5 and load.duplicates_dropped == 1 and load.reconciles
    assert lake.read("quarantine/bronze/payment_processed").height == 7


def test_named_files_must_be_of_the_event_type_and_month(lake, landing):
    with pytest.raises(BatchPathError, match="is not an receipt_created event file"):
        ingest_event_batch(lake, landing, "receipt_created", JAN, ["events/ad_impression/2024-01-05/x.jsonl"], NOW)
    with pytest.raises(BatchPathError, match="filed under 2024-02"):
        ingest_event_batch(lake, landing, "receipt_created", JAN, ["events/receipt_created/2024-02-05/x.jsonl"], NOW)


def test_incremental_batches_equal_a_full_month_rebuild(lake, landing, window_events):
    paths = []
    for i, day in enumerate(("2024-01-30", "2024-01-31")):
        lines = lines_of(window_events, "inventory_updated", day)
        paths += [land(landing, "inventory_updated", day, f"p{i}-{j}", lines[j::3]) for j in range(3)]
    for path in paths:
        ingest_event_batch(lake, landing, "inventory_updated", JAN, [path], NOW)
    rebuilt = load_event_month(landing, "inventory_updated", JAN, NOW)
    incremental = lake.read("bronze/inventory_updated").drop("_ingested_at").sort("trace_id")
    assert incremental.equals(rebuilt.rows.drop("_ingested_at").sort("trace_id"))


@pytest.mark.parametrize("event_type", [e.event_type for e in REGISTRY.events])
def test_vectorised_parse_equals_line_by_line(window_events, event_type, monkeypatch):
    event = REGISTRY.event(event_type)
    lines = lines_of(window_events, event_type)
    doc = json.loads(lines[0])
    # Integral floats, strings holding numbers, whitespace: the value shapes both parsers must agree on.
    lines.append(json.dumps({**doc, "trace_id": "shapes", "payload": {**doc["payload"], **{k: 4.0 for k, v in doc["payload"].items() if isinstance(v, int) and not isinstance(v, bool)}}}))
    data = ("\n".join(lines)).encode()
    fast = parse_event_lines(event, "f", data)
    monkeypatch.setattr(bronze, "_decode_clean_file", lambda *a: None)
    slow = parse_event_lines(event, "f", data)
    columns = event_columns(event)
    typed_fast = conform(fast.typed if fast.typed is not None else fast.frame, columns, source="f", text_source=fast.typed is None)
    typed_slow = conform(slow.frame, columns, source="f", text_source=True)
    assert typed_fast.rows.equals(typed_slow.rows)
    assert typed_fast.rejected.height == typed_slow.rejected.height == 0
