"""Incremental Bronze ingestion of named event files: idempotent, deduplicated, bad events quarantined and counted."""

from __future__ import annotations

import copy
import datetime as dt
import json
import os
import random
from collections import Counter

import polars as pl
import pytest

import retail_assets.lib.bronze as bronze
from retail_assets.lib.bronze import BatchPathError, ingest_event_batch, load_event_month, parse_event_lines
from retail_assets.lib.conform import conform
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import REGISTRY, event_columns
from retail_assets_tests.factories import sample_events

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
    third = len(events) // 3  # the tiny profile pings only app users' phones: a few dozen a day
    assert third >= 10
    a = land(landing, "ble_ping_detected", "2024-01-30", "a", events[: 2 * third])
    b = land(landing, "ble_ping_detected", "2024-01-30", "b", events[third : 3 * third])  # `third` replayed events
    ingest_event_batch(lake, landing, "ble_ping_detected", JAN, [a], NOW)
    second = ingest_event_batch(lake, landing, "ble_ping_detected", JAN, [b], NOW)
    assert second.duplicates_of_earlier == third and second.load.rows.height == third and second.load.reconciles
    stored = lake.read("bronze/ble_ping_detected")
    assert stored.height == 3 * third and stored.get_column("trace_id").n_unique() == 3 * third
    assert stored.filter(pl.col("_source_file") == a).height == 2 * third


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
    late = {**doc, "trace_id": "late", "ingest_timestamp": "2024-02-01T00:00:01Z"}
    ancient = {**doc, "trace_id": "ancient", "ingest_timestamp": "2023-12-31T23:59:59Z"}  # before the first partition
    bad_lines = [
        "{not json",
        json.dumps(unknown),
        json.dumps(version),
        json.dumps(missing),
        json.dumps(invalid),
        json.dumps(late),
        json.dumps(ancient),
        json.dumps({**doc, "pad": "x" * (bronze.MAX_EVENT_BYTES + 1)}),
        good[0],  # exact duplicate within the batch
    ]
    path = land(landing, "payment_processed", "2024-01-30", "mixed", [*good, *bad_lines])
    result = ingest_event_batch(lake, landing, "payment_processed", JAN, [path], NOW)
    load = result.load
    reasons = sorted(load.quarantine.get_column("reason_code").to_list())
    assert reasons == sorted(
        ["malformed_json", "unknown_event_type", "unsupported_schema_version", "null_required", "type_error",
         "wrong_partition", "out_of_range", "oversized"]
    )
    assert load.rows.height == 5 and load.duplicates_dropped == 1 and load.reconciles
    assert lake.read("quarantine/bronze/payment_processed").height == 8


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


# Lines that are not events, each with the reason it must keep in any file: (code, column, reason after "line N: ").
BAD_LINES = {
    "{broken": ("malformed_json", None, "not valid JSON (Expecting property name enclosed in double quotes at column 2)"),
    "[1, 2]": ("malformed_json", None, "an event must be a JSON object"),
    '{"event_type": "coupon_printed"}': ("unknown_event_type", "event_type", "unknown event_type 'coupon_printed'"),
}


@pytest.mark.parametrize("event_type", [e.event_type for e in REGISTRY.events])
def test_an_event_parses_the_same_whatever_else_its_file_holds(window_events, event_type):
    """One decoder gives every event: a file with bad lines loads its good lines row for row as the same lines
    landed alone (a clean file, decoded at once), and each bad line is rejected with its own reason."""
    event = REGISTRY.event(event_type)
    lines = lines_of(window_events, event_type)
    doc = json.loads(lines[0])
    # Integral floats, strings holding numbers, whitespace: value shapes that must load alike in either file.
    lines.append(json.dumps({**doc, "trace_id": "shapes", "payload": {**doc["payload"], **{k: 4.0 for k, v in doc["payload"].items() if isinstance(v, int) and not isinstance(v, bool)}}}))
    data = ("\n".join(lines)).encode()
    bad = list(BAD_LINES) + [json.dumps({**doc, "trace_id": "bad-version", "schema_version": "9.9"}), lines[0][: len(lines[0]) // 2]]
    mixed = [line for i, line in enumerate(lines) for line in ([line, bad[i % len(bad)]] if i % 3 == 0 else [line])]
    fast = parse_event_lines(event, "f", data)
    slow = parse_event_lines(event, "f", ("\n".join(mixed)).encode())
    columns = event_columns(event)
    typed_fast = conform(fast.typed if fast.typed is not None else fast.frame, columns, source="f", text_source=fast.typed is None)
    typed_slow = conform(slow.typed if slow.typed is not None else slow.frame, columns, source="f", text_source=slow.typed is None)
    assert typed_fast.rows.equals(typed_slow.rows)
    assert typed_fast.rejected.height == typed_slow.rejected.height == 0
    assert fast.rejected == [] and fast.total == len(lines) and slow.total == len(mixed)
    good = set(lines)
    assert slow.lines == lines and slow.line_numbers == [n for n, line in enumerate(mixed, start=1) if line in good]
    found = [(r["row_number"], mixed[r["row_number"] - 1], r["reason_code"], r["column_name"]) for r in slow.rejected]
    expected = {**{k: v[:2] for k, v in BAD_LINES.items()}, bad[-2]: ("unsupported_schema_version", "schema_version"), bad[-1]: ("malformed_json", None)}
    assert [(line, code, column) for _, line, code, column in found] == [
        (line, *expected[line]) for line in mixed if line not in good
    ]
    for number, line, _, _ in found:
        reason = next(r["reason"] for r in slow.rejected if r["row_number"] == number)
        assert reason.startswith(f"event {event_type}, file f, line {number}: ")
        if line in BAD_LINES:
            assert reason.endswith(f"line {number}: {BAD_LINES[line][2]}")


def test_lines_checked_as_events_that_the_decoder_cannot_read_fail_the_file_loudly(monkeypatch):
    """The per-line check and the decoder must agree on what an event is; if they ever do not, that is a bug,
    and the file fails naming itself rather than loading rows from a second parser."""
    event = REGISTRY.event("receipt_created")
    monkeypatch.setattr(bronze, "_explain_lines", lambda event, where, numbered: ([(1, "{broken")], [], set()))
    with pytest.raises(bronze.EventDecodeError, match="event receipt_created, file f: the decoder cannot read"):
        parse_event_lines(event, "f", b"{broken\n")


# ---- one trace_id rule, whatever the path and the order -------------------------------------------

BASE_RECEIPT = sample_events("receipt_created", 1)[0]
# Two days, five files; "0.jsonl" sorts before "a.jsonl", so it wins trace_ids even when it lands last.
FILES = [("2024-01-02", "0"), ("2024-01-02", "a"), ("2024-01-02", "b"), ("2024-01-03", "a"), ("2024-01-03", "c")]


def receipt_line(trace: str, day: str, variant: int) -> str:
    """An event of ``trace``; the same (day, variant) gives the same content, another gives a conflict."""
    doc = copy.deepcopy(BASE_RECEIPT)
    doc.update(trace_id=trace, ingest_timestamp=f"{day}T10:0{variant}:00Z")
    doc["payload"]["total"] = 10.0 + variant
    return json.dumps(doc)


def conflicting_files(seed: int) -> dict[str, list[str]]:
    """Files sharing trace_ids at random (exact duplicates and conflicts across and within files), plus the
    cases that need the month settled from every file: a later-landing file that sorts first bringing other
    content for a trace_id whose winner has exact duplicates elsewhere."""
    rng = random.Random(seed)
    files: dict[str, list[str]] = {}
    for day, name in FILES:
        lines = [receipt_line(f"t{rng.randrange(8)}", day, rng.randrange(2)) for _ in range(6)]
        files[f"events/receipt_created/{day}/{name}.jsonl"] = lines
    files["events/receipt_created/2024-01-02/a.jsonl"] += [receipt_line("w", "2024-01-02", 0), "{broken"]
    files["events/receipt_created/2024-01-02/b.jsonl"] += [receipt_line("w", "2024-01-02", 0)]
    files["events/receipt_created/2024-01-02/0.jsonl"] += [receipt_line("w", "2024-01-02", 1)]
    return files


def month_state(rows: pl.DataFrame, quarantine: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    return (
        rows.drop("_ingested_at").sort("trace_id", "_source_file"),
        quarantine.drop("quarantined_at").sort("source_file", "row_number", "reason_code"),
    )


def test_the_trace_id_rule_gives_the_same_bronze_whatever_the_order_and_file_times(tmp_path):
    files = conflicting_files(seed=12)
    rebuild_landing = LandingZone(root_uri=str(tmp_path / "all"))
    for path, lines in files.items():
        rebuild_landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
    rebuilt = load_event_month(rebuild_landing, "receipt_created", JAN, NOW)
    expected = month_state(rebuilt.rows, rebuilt.quarantine)
    assert set(expected[1].get_column("reason_code")) == {"conflicting_duplicate", "malformed_json"}
    assert rebuilt.duplicates_dropped > 0

    rng = random.Random(7)
    orders = set()
    while len(orders) < 10:
        orders.add(tuple(rng.sample(sorted(files), len(files))))
    results = []
    for i, order in enumerate(sorted(orders)):
        landing = LandingZone(root_uri=str(tmp_path / f"landing{i}"))
        lake = LakeStore(root_uri=str(tmp_path / f"lake{i}"))
        for path in order:  # files arrive one at a time, with arbitrary modification times
            landing.write_bytes(path, ("\n".join(files[path]) + "\n").encode())
            stamp = rng.uniform(1e9, 2e9)
            os.utime(landing._local_root / path, (stamp, stamp))
            results.append(ingest_event_batch(lake, landing, "receipt_created", JAN, [path], NOW))
        stored = month_state(lake.read("bronze/receipt_created", [JAN]), lake.read("quarantine/bronze/receipt_created", [JAN]))
        assert stored[0].equals(expected[0]), order
        assert stored[1].equals(expected[1]), order
        version = lake.version("bronze/receipt_created")
        assert all(ingest_event_batch(lake, landing, "receipt_created", JAN, [p], NOW).skipped for p in order)
        assert lake.version("bronze/receipt_created") == version
    assert all(result.load.reconciles for result in results)
    # Every way of settling a trace_id was exercised: within the batch, displacing, and from every file.
    widened = Counter("rebuilt_month" if r.rebuilt_month else "displaced" if r.displaced else "narrow" for r in results)
    assert len(widened) == 3, widened


def test_a_file_sorting_first_takes_the_trace_id_and_reports_what_it_displaced(lake, landing):
    later = land(landing, "receipt_created", "2024-01-02", "b", [receipt_line("x", "2024-01-02", 0), receipt_line("y", "2024-01-02", 0)])
    ingest_event_batch(lake, landing, "receipt_created", JAN, [later], NOW)
    version = lake.version("bronze/receipt_created")
    first = land(landing, "receipt_created", "2024-01-02", "a", [receipt_line("x", "2024-01-02", 0)])
    result = ingest_event_batch(lake, landing, "receipt_created", JAN, [first], NOW)
    # The same event from the file that sorts first: b's copy is now the duplicate and leaves Bronze in one commit.
    assert (result.displaced, result.rebuilt_month, result.other_files_changed) == (1, False, True)
    assert lake.version("bronze/receipt_created") == version + 1
    kept = dict(lake.read("bronze/receipt_created").select("trace_id", "_source_file").iter_rows())
    assert kept == {"x": first, "y": later}
    again = ingest_event_batch(lake, landing, "receipt_created", JAN, [first], NOW)
    assert again.skipped and again.displaced == 0 and lake.version("bronze/receipt_created") == version + 1

    conflict = land(landing, "receipt_created", "2024-01-02", "0", [receipt_line("y", "2024-01-02", 1)])
    result = ingest_event_batch(lake, landing, "receipt_created", JAN, [conflict], NOW)
    # Other content from a file that sorts first: b's event is now the conflict (quarantined), the month settled whole.
    assert (result.displaced, result.rebuilt_month) == (1, True)
    assert lake.read("bronze/receipt_created").filter(pl.col("trace_id") == "y").get_column("_source_file").to_list() == [conflict]
    (row,) = lake.read("quarantine/bronze/receipt_created").iter_rows(named=True)
    assert (row["source_file"], row["trace_id"], row["reason_code"]) == (later, "y", "conflicting_duplicate")
    assert row["reason"] == (
        f"event receipt_created, file {later}, line 2: trace_id y is already used by another receipt_created event of "
        "2024-01 with different content; of events sharing a trace_id, the one from the landing path that sorts first "
        "(then the lowest line) is kept"
    )
    assert ingest_event_batch(lake, landing, "receipt_created", JAN, [conflict], NOW).skipped


def test_a_file_with_no_shared_trace_id_reads_nothing_of_other_files(lake, landing, monkeypatch):
    """Widening costs nothing without a conflict: no other landing file is read."""
    a = land(landing, "receipt_created", "2024-01-02", "a", [receipt_line("p", "2024-01-02", 0)])
    b = land(landing, "receipt_created", "2024-01-02", "b", [receipt_line("q", "2024-01-02", 0)])
    ingest_event_batch(lake, landing, "receipt_created", JAN, [b], NOW)
    read = []
    original = LandingZone.read_bytes
    monkeypatch.setattr(LandingZone, "read_bytes", lambda self, path: read.append(path) or original(self, path))
    result = ingest_event_batch(lake, landing, "receipt_created", JAN, [a], NOW)
    assert read == [a] and result.displaced == 0 and not result.rebuilt_month
