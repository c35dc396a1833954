"""multimodal_aligned and store_interaction_metrics on hand-made annotations with known answers."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.edge.annotated import ANNOTATED_EVENTS
from retail_assets.lib.edge.multimodal import (
    MULTIMODAL_ALIGNED,
    STORE_INTERACTION_METRICS,
    align,
    store_interaction_metrics,
)
from retail_assets.lib.specs.registry import polars_schema

MAY = dt.date(2024, 5, 1)
COKE, SAFEGUARD, SURF = 2, 7, 8


def _at(hour: int, minute: int, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, 5, 3, hour, minute, second, tzinfo=dt.UTC)


def _row(trace, seq, source, kind, at, *, device=1, brand=None, product=None, dwell=None, interaction=None):
    return {
        "trace_id": trace, "annotation_seq": seq, "event_source": source, "annotation_type": kind,
        "interaction_id": interaction, "device_id": device, "store_id": device, "barangay_id": 10 + device,
        "occurred_at": at, "received_at": at, "brand_id": brand, "product_id": product, "confidence": 0.9,
        "language": None, "transcript": None, "person_count": None, "dwell_seconds": dwell,
    }


ANNOTATIONS = pl.DataFrame(
    [
        _row("s1", 1, "speech", "mention", _at(10, 0), brand=COKE, product=3, interaction="ix-1"),
        _row("s1", 2, "speech", "mention", _at(10, 0), brand=SAFEGUARD, interaction="ix-1"),
        _row("v1", 1, "vision", "presence", _at(10, 0, 5), dwell=12.0),
        _row("v2", 1, "vision", "pickup", _at(10, 0, 40), brand=COKE, product=3),
        _row("v3", 1, "vision", "pickup", _at(10, 5), brand=SURF),
        _row("s2", 1, "speech", "utterance", _at(10, 30), interaction="ix-2"),
        _row("v4", 1, "vision", "pickup", _at(10, 0, 30), device=2, brand=COKE),
    ],
    schema=polars_schema(ANNOTATED_EVENTS.columns),
)


@pytest.fixture(scope="module")
def aligned() -> pl.DataFrame:
    return align(ANNOTATIONS, 90.0, MAY)


def test_speech_aligns_with_what_the_same_device_saw_within_the_window(aligned):
    assert aligned.schema == polars_schema(MULTIMODAL_ALIGNED.stored_columns)
    pairs = {r["alignment_id"]: (r["brand_match"], r["seconds_apart"]) for r in aligned.iter_rows(named=True)}
    assert pairs == {
        "s1#1|v1": (False, 5.0),
        "s1#1|v2": (True, 40.0),
        "s1#2|v1": (False, 5.0),
        "s1#2|v2": (False, 40.0),
        "s2#1|none": (False, None),
    }


def test_store_hours_count_interactions_mentions_pickups_dwell_and_conversion(aligned):
    metrics = store_interaction_metrics(ANNOTATIONS, aligned, MAY)
    assert metrics.schema == polars_schema(STORE_INTERACTION_METRICS.stored_columns)
    rows = {r["store_id"]: r for r in metrics.iter_rows(named=True)}
    assert rows[1] | {"month_start": None} == {
        "hour": _at(10, 0), "store_id": 1, "barangay_id": 11, "interactions": 2, "brand_mentions": 2, "pickups": 2,
        "avg_dwell_seconds": 12.0, "mentions_converted": 1, "conversion_rate": 0.5, "month_start": None,
    }
    assert (rows[2]["pickups"], rows[2]["brand_mentions"], rows[2]["conversion_rate"]) == (1, 0, None)


def test_a_narrower_window_aligns_less_and_converts_nothing():
    narrow = align(ANNOTATIONS, 30.0, MAY)
    assert sorted(narrow.get_column("alignment_id")) == ["s1#1|v1", "s1#2|v1", "s2#1|none"]
    assert narrow.get_column("window_seconds").unique().to_list() == [30.0]
    metrics = store_interaction_metrics(ANNOTATIONS, narrow, MAY)
    assert metrics.filter(pl.col("store_id") == 1).item(0, "conversion_rate") == 0.0
