"""Silver annotated_events on hand-made transcripts and detections: mentions, drift correction, expectations."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.edge.annotated import ANNOTATED_EVENTS, EXPECTATIONS, annotate, events, mentions
from retail_assets.lib.edge.expectations import apply_expectations
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.specs.registry import polars_schema

MAY = dt.date(2024, 5, 1)
AT = dt.datetime(2024, 5, 3, 10, tzinfo=dt.UTC)
WORLD = EdgeWorld(PROFILES["tiny"])
BRANDS, PRODUCTS = WORLD.brands, WORLD.products


def _id(frame: pl.DataFrame, column: str, name: str) -> int:
    return frame.filter(pl.col(column) == name).item(0, 0)


def _transcripts(rows: list[dict]) -> pl.DataFrame:
    base = {"interaction_id": "ix-1", "device_id": 1, "store_id": 1, "ingest_timestamp": AT, "device_clock": AT,
            "started_at": AT - dt.timedelta(seconds=5), "confidence": 0.9, "language": "taglish"}
    return pl.DataFrame([{**base, **r} for r in rows]).with_columns(
        pl.col("ingest_timestamp", "device_clock", "started_at").dt.cast_time_unit("us")
    )


def _detections(rows: list[dict]) -> pl.DataFrame:
    base = {"interaction_id": "ix-1", "device_id": 1, "store_id": 1, "ingest_timestamp": AT, "device_clock": AT,
            "detected_at": AT, "detection_type": "pickup", "person_count": 1, "dwell_seconds": 12.0,
            "brand_id": None, "product_id": None, "bbox_confidence": 0.9}
    return pl.DataFrame([{**base, **r} for r in rows]).with_columns(
        pl.col("ingest_timestamp", "device_clock", "detected_at").dt.cast_time_unit("us"),
        pl.col("brand_id", "product_id").cast(pl.Int64),
    )


REGISTRY = pl.DataFrame(
    {"device_id": [1], "__registered_store": [1], "__installed_on": [dt.date(2024, 1, 1)], "barangay_id": [5]}
)


def test_mentions_take_the_longest_whole_name_and_a_brand_only_when_no_product_of_it_is_named():
    said = pl.DataFrame(
        {
            "trace_id": ["a", "b", "c", "d"],
            "transcript": [
                "Isang Coke Mismo po, tsaka Safeguard.",
                "C2 Apple nga po",
                "Pabili ng surface cleaner",
                "Kuya, dalawang LUCKY ME po at Lucky Me Pancit Canton",
            ],
        }
    )
    found = mentions(said, BRANDS, PRODUCTS).sort("trace_id", "brand_id")
    assert found.rows() == [
        ("a", _id(BRANDS, "brand_name", "Coca-Cola"), _id(PRODUCTS, "product_name", "Coke Mismo")),
        ("a", _id(BRANDS, "brand_name", "Safeguard"), None),
        ("b", _id(BRANDS, "brand_name", "C2"), _id(PRODUCTS, "product_name", "C2 Apple")),
        ("d", _id(BRANDS, "brand_name", "Lucky Me"), _id(PRODUCTS, "product_name", "Pancit Canton")),
    ]


@pytest.fixture(scope="module")
def checked():
    transcripts = _transcripts(
        [
            {"trace_id": "s1", "transcript": "Isang Coke Mismo po, tsaka Safeguard."},
            {"trace_id": "s2", "transcript": "Magandang umaga po", "interaction_id": "ix-2"},
            {"trace_id": "s3", "transcript": "oPsi kMosi eCko", "confidence": 0.2},
            # A clock 400 s ahead: said at device time 10:01:35, i.e. 09:54:55 true time.
            {"trace_id": "s4", "transcript": "Kopiko Brown po", "device_clock": AT + dt.timedelta(seconds=400),
             "started_at": AT + dt.timedelta(seconds=395)},
            {"trace_id": "s5", "transcript": "Datu Puti Vinegar", "device_id": 9},
        ]
    )
    coke = _id(PRODUCTS, "product_name", "Coke Mismo")
    detections = _detections(
        [
            {"trace_id": "v1", "brand_id": _id(BRANDS, "brand_name", "Coca-Cola"), "product_id": coke},
            {"trace_id": "v2", "detection_type": "person", "person_count": 2},
            {"trace_id": "v3", "detection_type": "person", "bbox_confidence": 0.3},
        ]
    )
    frame = events(transcripts, detections, REGISTRY, BRANDS, PRODUCTS)
    return apply_expectations(frame, EXPECTATIONS, table="silver/annotated_events", month=MAY, at=AT,
                              record=ANNOTATED_EVENTS.column_names)


def test_events_are_annotated_with_store_brand_product_and_a_corrected_time(checked):
    rows = annotate(checked.rows, BRANDS, PRODUCTS, MAY)
    assert rows.schema == polars_schema(ANNOTATED_EVENTS.stored_columns)
    by = {(r["trace_id"], r["annotation_seq"]): r for r in rows.iter_rows(named=True)}
    assert sorted(by) == [("s1", 1), ("s1", 2), ("s2", 1), ("s4", 1), ("v1", 1), ("v2", 1)]
    coke_mismo = _id(PRODUCTS, "product_name", "Coke Mismo")
    assert (by["s1", 1]["annotation_type"], by["s1", 1]["product_id"]) == ("mention", coke_mismo)
    assert (by["s1", 2]["brand_id"], by["s1", 2]["product_id"]) == (_id(BRANDS, "brand_name", "Safeguard"), None)
    assert by["s2", 1]["annotation_type"] == "utterance" and by["s2", 1]["brand_id"] is None
    assert by["s4", 1]["occurred_at"] == AT - dt.timedelta(seconds=5)
    assert (by["v1", 1]["annotation_type"], by["v2", 1]["annotation_type"]) == ("pickup", "presence")
    assert {r["barangay_id"] for r in by.values()} == {5}
    assert not rows.select(ANNOTATED_EVENTS.key).is_duplicated().any()


def test_garbled_transcripts_unknown_devices_and_poor_boxes_are_dropped_and_drift_warns(checked):
    reasons = dict(checked.quarantine.select("trace_id", "reason_code").iter_rows())
    assert reasons == {
        "s5": "expectation_known_device",
        "s3": "expectation_transcript_readable",
        "v3": "expectation_detection_confident",
    }
    outcomes = checked.outcomes
    assert outcomes["expect_clock_in_sync"].metadata["violations"] == 1
    assert outcomes["expect_clock_in_sync"].severity == dg.AssetCheckSeverity.WARN
    assert outcomes["expect_known_product"].passed and checked.failed == []


def test_a_pickup_of_an_unknown_brand_or_a_product_of_another_brand_fails_the_month():
    coke = _id(PRODUCTS, "product_name", "Coke Mismo")
    for bad in ({"brand_id": 999}, {"brand_id": _id(BRANDS, "brand_name", "Surf"), "product_id": coke}):
        frame = events(_transcripts([{"trace_id": "s", "transcript": "x"}]),
                       _detections([{"trace_id": "v", **bad}]), REGISTRY, BRANDS, PRODUCTS)
        checked = apply_expectations(frame, EXPECTATIONS, table="silver/annotated_events", month=MAY, at=AT,
                                     record=ANNOTATED_EVENTS.column_names)
        assert checked.failed == ["expect_known_product"], bad
