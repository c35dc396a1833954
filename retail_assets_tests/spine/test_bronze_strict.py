"""Strict event and row values: what Python's JSON parser, polars' decoder or a CSV reader would let through is
quarantined with a named reason, the same whatever else the file holds."""

from __future__ import annotations

import copy
import datetime as dt
import json
import re

import polars as pl

from retail_assets.lib.bronze import load_event_month, load_fact_month
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.factories import land_table, sample_events, sample_rows

JAN = dt.date(2024, 1, 1)
NOW = dt.datetime(2024, 3, 15, tzinfo=dt.UTC)  # the platform then serves 2024-01 .. 2024-03
BASE = sample_events("receipt_created", 1)[0]


def receipt(trace: str, *, stamp: str = "2024-01-05T10:00:00Z", **changes) -> dict:
    doc = copy.deepcopy(BASE)
    doc.update(trace_id=trace, ingest_timestamp=stamp)
    doc["payload"].update(changes)
    return doc


def compact(doc: dict) -> str:
    return json.dumps(doc, separators=(",", ":"))


def land_lines(landing: LandingZone, lines: list[str], *, day: str = "2024-01-05", event_type: str = "receipt_created") -> str:
    path = f"events/{event_type}/{day}/b0.jsonl"
    landing.write_bytes(path, ("\n".join(lines) + "\n").encode())
    return path


def load_checked(landing: LandingZone, event_type: str = "receipt_created"):
    """The month loaded, and proof that an event loads the same whatever else its file holds (one decoder reads
    every event; the per-line check only explains rejects): with each file's quarantined lines blanked (line
    numbers kept), the month loads the same rows and rejects nothing; each quarantined line, alone in its file,
    is quarantined with the same reason."""
    load = load_event_month(landing, event_type, JAN, NOW)
    assert load.reconciles
    files = {f.path.path: landing.read_bytes(f.path.path).split(b"\n") for f in landing.event_files(event_type, JAN)}
    rejected = load.quarantine.drop("quarantined_at")
    bad = {path: set(part.get_column("row_number")) for (path,), part in rejected.partition_by("source_file", as_dict=True).items()}

    def land_only(path: str, keep) -> None:
        landing.write_bytes(path, b"\n".join(line if keep(n) else b"" for n, line in enumerate(files[path], start=1)))

    try:
        for path in files:
            land_only(path, lambda n, path=path: n not in bad.get(path, ()))
        good_only = load_event_month(landing, event_type, JAN, NOW)
        assert good_only.rows.drop("_ingested_at").equals(load.rows.drop("_ingested_at"))
        assert good_only.quarantine.height == 0
        for path in files:
            land_only(path, lambda n: False)
        for path, numbers in bad.items():
            for number in numbers:
                land_only(path, lambda n, number=number: n == number)
                alone = load_event_month(landing, event_type, JAN, NOW)
                assert alone.rows.height == 0
                expected = rejected.filter((pl.col("source_file") == path) & (pl.col("row_number") == number))
                assert alone.quarantine.drop("quarantined_at").equals(expected)
            land_only(path, lambda n: False)
    finally:
        for path, lines in files.items():
            landing.write_bytes(path, b"\n".join(lines))
    return load


def test_nan_and_infinity_are_quarantined_naming_the_field(landing) -> None:
    ok = compact(receipt("ok"))
    lines = [
        ok,
        compact(receipt("nan", total=0.5)).replace('"total":0.5', '"total":NaN'),
        compact(receipt("inf", tax=0.5)).replace('"tax":0.5', '"tax":Infinity'),
        compact(receipt("minus-inf", subtotal=0.5)).replace('"subtotal":0.5', '"subtotal":-Infinity'),
        compact(receipt("overflow", item_count=3)).replace('"item_count":3', '"item_count":1e999'),
        compact(receipt("nan-text", total="NaN")),  # a string that reads as a float: the same verdict
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    assert load.rows.get_column("trace_id").to_list() == ["ok"]
    found = {r["trace_id"]: (r["reason_code"], r["column_name"], r["value"]) for r in load.quarantine.iter_rows(named=True)}
    assert found == {
        "nan": ("non_finite_number", "total", "NaN"),
        "inf": ("non_finite_number", "tax", "Infinity"),
        "minus-inf": ("non_finite_number", "subtotal", "-Infinity"),
        "overflow": ("non_finite_number", "item_count", "1e999"),
        "nan-text": ("non_finite_number", "total", "NaN"),
    }
    reasons = dict(load.quarantine.select("trace_id", "reason").iter_rows())
    assert reasons["nan"].endswith("line 2: payload.total is NaN, not a finite number")
    assert reasons["nan-text"].endswith("line 6: column total: NaN is not a finite number")


def test_a_key_twice_in_one_object_rejects_the_line(landing) -> None:
    twice_in_payload = compact(receipt("dup-payload", total=1.5)).replace('"total":1.5', '"total":1.5,"total":2.5')
    twice_in_envelope = compact(receipt("dup-envelope")).replace('"trace_id":"dup-envelope"', '"trace_id":"dup-envelope","trace_id":"other"')
    land_lines(landing, [compact(receipt("ok")), twice_in_payload, twice_in_envelope])
    load = load_checked(landing)
    assert load.rows.get_column("trace_id").to_list() == ["ok"]
    rows = {r["row_number"]: r for r in load.quarantine.iter_rows(named=True)}
    assert {n: (r["reason_code"], r["column_name"], r["value"]) for n, r in rows.items()} == {
        2: ("duplicate_key", "total", "[1.5, 2.5]"),
        3: ("duplicate_key", "trace_id", '["dup-envelope", "other"]'),
    }
    assert "line 2: key 'total' appears more than once in the payload object (1.5 and 2.5)" in rows[2]["reason"]
    # The trace_id is kept when it is not itself the ambiguous key.
    assert (rows[2]["trace_id"], rows[3]["trace_id"]) == ("dup-payload", None)


def test_a_key_shared_by_envelope_and_payload_cannot_hide_a_repeat(landing) -> None:
    """inventory_updated has ``source`` in the envelope and the payload: twice in the envelope and not in the
    payload has the same key count as a clean line, and must still be rejected."""
    doc = sample_events("inventory_updated", 2)
    clean = compact(doc[0])
    tricky = copy.deepcopy(doc[1])
    tricky["payload"].pop("source")
    text = compact(tricky).replace('"source":', '"source":"twice","source":', 1)
    land_lines(landing, [clean, text], day=doc[0]["ingest_timestamp"][:10], event_type="inventory_updated")
    load = load_checked(landing, "inventory_updated")
    assert load.rows.height == 1
    (row,) = load.quarantine.iter_rows(named=True)
    assert (row["reason_code"], row["column_name"], row["row_number"]) == ("duplicate_key", "source", 2)


def test_an_object_or_a_list_where_the_spec_has_a_scalar_is_a_type_error(landing) -> None:
    """Not read as its JSON text: the decoder reads scalars only (as a Parquet struct in a string column is a type
    error too), and a number field keeps the reason conform gives for text it cannot read."""
    lines = [
        compact(receipt("ok")),
        compact(receipt("object-store", store_id={"id": 4})),
        compact(receipt("list-tender", tender_type=["CASH"])),
        compact({**receipt("object-correlation"), "correlation_id": {"a": "é"}}),
        compact(receipt("object-extra", note={"kept": "as drift"})),  # a key outside the spec is not read
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    assert load.rows.get_column("trace_id").to_list() == ["ok", "object-extra"]
    found = {r["row_number"]: (r["reason_code"], r["column_name"], r["value"], r["trace_id"]) for r in load.quarantine.iter_rows(named=True)}
    assert found == {
        2: ("type_error", "store_id", '{"id":4}', "object-store"),
        3: ("type_error", "tender_type", '["CASH"]', "list-tender"),
        4: ("type_error", "correlation_id", '{"a":"\\u00e9"}', "object-correlation"),
    }
    reasons = dict(load.quarantine.select("row_number", "reason").iter_rows())
    assert reasons[2].endswith('line 2: column store_id: cannot read {"id":4} as int64')
    assert reasons[3].endswith('line 3: column tender_type: cannot read ["CASH"] as string')


def test_a_null_payload_is_malformed_even_in_a_file_of_well_formed_lines(landing) -> None:
    """Before, a file whose only doubtful line had ``"payload": null`` passed the whole-file check and the line
    was typed with every payload field missing; with another bad line in the file it was malformed_payload."""
    land_lines(landing, [compact(receipt("ok")), compact({**receipt("null-payload"), "payload": None})])
    load = load_checked(landing)
    assert load.rows.get_column("trace_id").to_list() == ["ok"]
    assert load.quarantine.select("row_number", "reason_code", "column_name", "trace_id").rows() == [
        (2, "malformed_payload", "payload", "null-payload")
    ]


def test_empty_required_strings_are_rejected_as_empty(landing) -> None:
    lines = [
        compact(receipt("ok", campaign_id="")),  # an empty optional value is no value
        compact(receipt("")),
        compact(receipt("blank-receipt", receipt_id="   ")),
        compact(receipt("blank-store", store_id="")),
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    assert load.rows.select("trace_id", "campaign_id").rows() == [("ok", None)]
    found = {r["row_number"]: (r["reason_code"], r["column_name"], r["trace_id"]) for r in load.quarantine.iter_rows(named=True)}
    assert found == {
        2: ("null_required", "trace_id", None),
        3: ("null_required", "receipt_id", "blank-receipt"),
        4: ("null_required", "store_id", "blank-store"),
    }
    assert all("required value is empty" in reason for reason in load.quarantine.get_column("reason"))


def test_an_empty_required_csv_field_is_rejected_as_empty(landing) -> None:
    csv = 'trace_id,event_ts,store_id,operation_type\nt1,2024-01-03T08:00:00Z,4,opened\nt2,2024-01-03T09:00:00Z,4,""\n'
    csv += "t3,2024-01-03T10:00:00Z,4,\n"
    landing.write_bytes("batch/fact_store_ops/2024-01/ops.csv", csv.encode())
    load = load_fact_month(landing, "fact_store_ops", JAN, NOW)
    assert load.rows.get_column("trace_id").to_list() == ["t1"]
    assert load.quarantine.select("row_number", "column_name", "reason_code", "trace_id").rows() == [
        (2, "operation_type", "null_required", "t2"),
        (3, "operation_type", "null_required", "t3"),
    ]
    assert load.quarantine.get_column("reason").to_list()[0] == (
        "table fact_store_ops, file batch/fact_store_ops/2024-01/ops.csv, row 2: column operation_type: required value is empty"
    )


def test_control_characters_in_identifiers_are_quarantined_shown_escaped(landing) -> None:
    lines = [
        compact(receipt("ok", tender_type="CASH\u0001")),  # not an identifier: kept as landed
        compact(receipt("nul\u0000trace")),
        compact(receipt("tab-receipt", receipt_id="R\t1")),
        json.dumps({**receipt("del-correlation"), "correlation_id": "c\u007f"}),
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    assert load.rows.select("trace_id", "tender_type").rows() == [("ok", "CASH\u0001")]
    found = {r["row_number"]: (r["reason_code"], r["column_name"], r["value"], r["trace_id"]) for r in load.quarantine.iter_rows(named=True)}
    assert found == {
        2: ("control_character", "trace_id", "nul\\x00trace", None),
        3: ("control_character", "receipt_id", "R\\x091", "tab-receipt"),
        4: ("control_character", "correlation_id", "c\\x7f", "del-correlation"),
    }
    reason = load.quarantine.filter(pl.col("row_number") == 2).get_column("reason").item()
    assert reason.endswith("line 2: column trace_id: 'nul\\x00trace' contains control characters; identifiers must be printable")


def test_control_characters_in_a_batch_key_are_quarantined(landing) -> None:
    rows = sample_rows("fact_store_ops", 2).with_columns(pl.Series("trace_id", ["ok", "bad\u001f"]))
    land_table(landing, "fact_store_ops", rows, JAN, "ops.parquet")
    load = load_fact_month(landing, "fact_store_ops", JAN, NOW)
    assert load.rows.get_column("trace_id").to_list() == ["ok"]
    assert load.quarantine.select("row_number", "reason_code", "value").rows() == [(2, "control_character", "bad\\x1f")]


def test_events_outside_the_served_months_or_their_day_are_quarantined_saying_where_they_belong(landing) -> None:
    lines = [
        compact(receipt("ok")),
        compact(receipt("ancient", stamp="1900-01-05T10:00:00Z")),
        compact(receipt("future", stamp="2999-01-05T10:00:00Z")),
        compact(receipt("other-day", stamp="2024-01-07T10:00:00Z")),
        compact(receipt("other-month", stamp="2024-02-03T10:00:00Z")),
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    assert load.rows.get_column("trace_id").to_list() == ["ok"]
    found = dict(load.quarantine.select("trace_id", "reason_code").iter_rows())
    assert found == {"ancient": "out_of_range", "future": "out_of_range", "other-day": "wrong_day", "other-month": "wrong_partition"}
    reasons = dict(load.quarantine.select("trace_id", "reason").iter_rows())
    where = "event receipt_created, file events/receipt_created/2024-01-05/b0.jsonl"
    assert reasons["future"] == (
        f"{where}, line 3: ingest_timestamp 2999-01-05T10:00:00Z is outside the months the platform serves "
        "(2024-01 to 2024-03); fix the producer's clock or the value"
    )
    assert reasons["other-day"] == (
        f"{where}, line 4: ingest_timestamp 2024-01-07T10:00:00Z is on 2024-01-07, but the file is filed under "
        "2024-01-05; land it under events/receipt_created/2024-01-07/"
    )
    assert reasons["other-month"].endswith("is in 2024-02, but the file is filed under 2024-01-05; land it under events/receipt_created/2024-02-03/")


def test_fact_rows_outside_the_served_months_are_out_of_range_with_their_row(landing) -> None:
    rows = sample_rows("fact_store_ops", 2).with_columns(
        pl.Series("event_ts", [dt.datetime(2024, 1, 3, tzinfo=dt.UTC), dt.datetime(2999, 1, 3, tzinfo=dt.UTC)])
    )
    land_table(landing, "fact_store_ops", rows, JAN, "ops.parquet")
    load = load_fact_month(landing, "fact_store_ops", JAN, NOW)
    (row,) = load.quarantine.iter_rows(named=True)
    assert (row["reason_code"], row["row_number"]) == ("out_of_range", 2)
    assert row["reason"].startswith("table fact_store_ops, file batch/fact_store_ops/2024-01/ops.parquet, row 2: event_ts 2999-01-03")


def test_reasons_say_what_is_wrong_and_count_lines_in_jsonl(landing) -> None:
    lines = [
        compact(receipt("ok")),
        compact({**receipt("unknown"), "event_type": "coupon_printed"}),
        compact({**receipt("misfiled"), "event_type": "ad_impression"}),
        compact({k: v for k, v in receipt("no-version").items() if k != "schema_version"}),
        "{broken",
        compact(receipt("bad-int", store_id="four")),
        compact(receipt("overflow", store_id=2**70)),
    ]
    land_lines(landing, lines)
    load = load_checked(landing)
    reasons = dict(load.quarantine.select("row_number", "reason").iter_rows())
    where = "event receipt_created, file events/receipt_created/2024-01-05/b0.jsonl"
    assert reasons[2] == f"{where}, line 2: unknown event_type 'coupon_printed'"
    assert reasons[3] == f"{where}, line 3: event_type 'ad_impression' is filed under events/receipt_created/; land it under events/ad_impression/"
    assert reasons[4] == f"{where}, line 4: schema_version is missing (supported: ['1.0'])"
    assert reasons[6] == f"{where}, line 6: column store_id: cannot read four as int64"
    assert reasons[7] == f"{where}, line 7: column store_id: cannot read {2**70} as int64"
    assert all(re.match(rf"{re.escape(where)}, line \d+: ", r) for r in reasons.values())
    # Every rejected event that had a usable trace_id keeps it in its own column; the unparseable line has none.
    assert dict(load.quarantine.select("row_number", "trace_id").iter_rows()) == {
        2: "unknown", 3: "misfiled", 4: "no-version", 5: None, 6: "bad-int", 7: "overflow"
    }


def test_a_file_whose_every_line_is_rejected_is_quarantined_and_the_month_still_loads(landing) -> None:
    """Before: the quarantine frame of such a file had an Int64 ``record`` column and the whole month failed."""
    land_lines(landing, ['{"event_type": "receipt_created"', "not json"], day="2024-01-06")
    land_lines(landing, [compact(receipt("ok"))])
    loaded = load_checked(landing)
    assert loaded.rows.get_column("trace_id").to_list() == ["ok"]
    assert sorted(loaded.quarantine.get_column("reason_code").to_list()) == ["malformed_json", "malformed_json"]
    assert loaded.quarantine.get_column("record").to_list() == ['{"event_type": "receipt_created"', "not json"]


def test_an_unpaired_surrogate_escape_is_quarantined_and_a_pair_is_kept(landing) -> None:
    """``\\ud800`` alone is no character: the line is rejected naming the field and why (polars reads it as NUL, which
    was then rejected as a control character the sender never wrote); a surrogate pair (an emoji written the
    ASCII-safe way) is one character and loads as it."""
    emoji = json.dumps(receipt("pair", campaign_id="spring 😀"))  # ensure_ascii: "spring \ud83d\ude00"
    assert "\\ud83d\\ude00" in emoji
    lone = compact(receipt("lone", campaign_id="spring X")).replace("spring X", "spring \\ud800")
    land_lines(landing, [compact(receipt("ok")), emoji, lone])
    load = load_checked(landing)
    kept = dict(load.rows.select("trace_id", "campaign_id").iter_rows())
    assert kept["pair"] == "spring 😀" and set(kept) == {"ok", "pair"}
    [row] = load.quarantine.iter_rows(named=True)
    assert (row["trace_id"], row["reason_code"], row["column_name"]) == ("lone", "invalid_unicode", "campaign_id")
    assert row["reason"].endswith("line 3: payload.campaign_id holds an unpaired UTF-16 surrogate escape ('spring \\\\ud800'): not Unicode text")

    # Alone in a file of clean lines, the pair still loads as one character (no NUL, no rejection).
    land_lines(landing, [emoji])
    assert load_event_month(landing, "receipt_created", JAN, NOW).rows.get_column("campaign_id").to_list() == ["spring 😀"]
