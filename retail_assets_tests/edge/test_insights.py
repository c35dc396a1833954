"""Insights derived from edge Gold, and their feedback, on hand-made Gold rows with known answers."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from retail_assets.lib.edge.insights import INSIGHT_FEEDBACK, derive_insights, insight_feedback
from retail_assets.lib.edge.profiles import PROFILES
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.specs.registry import polars_schema

MARCH = dt.date(2024, 3, 1)
WORLD = EdgeWorld(PROFILES["tiny"])
LUCKY_ME, SURF = 1, 8
MON1, MON2 = dt.date(2024, 3, 4), dt.date(2024, 3, 11)


def _sentiment(rows: list[tuple]) -> pl.DataFrame:
    """(day, store, barangay, brand, mentions, sentiment)"""
    return pl.DataFrame(
        [
            {"day": d, "store_id": s, "barangay_id": b, "brand_id": br, "mentions": m, "avg_compound": 0.0,
             "positive_mentions": 0, "negative_mentions": 0, "sentiment": label}
            for d, s, b, br, m, label in rows
        ]
    )


def _health(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame([{"day": d, "device_id": dev, "store_id": dev, "health_status": st} for d, dev, st in rows])


@pytest.fixture(scope="module")
def insights() -> pl.DataFrame:
    sentiment = _sentiment(
        [
            # Barangay 1 (Batasan Hills), Lucky Me: 10 mentions the week of the 4th, 14 the week of the 11th: +40 %.
            (MON1, 1, 1, LUCKY_ME, 10, "neutral"),
            (MON2, 1, 1, LUCKY_ME, 6, "neutral"),
            (MON2 + dt.timedelta(days=1), 1, 1, LUCKY_ME, 8, "neutral"),
            # Surf: 4 then 1 mentions — a base under 5: no insight.
            (MON1, 1, 1, SURF, 4, "negative"),
            (MON2, 1, 1, SURF, 1, "negative"),
            (MON2 + dt.timedelta(days=2), 1, 1, SURF, 1, "negative"),
        ]
    )
    health = _health([(MON2, 3, "critical"), (MON2 + dt.timedelta(days=1), 3, "offline"), (MON2, 2, "degraded")])
    return derive_insights(sentiment, health, WORLD.brands, WORLD.barangays)


def test_trends_devices_and_negative_sentiment_become_insights(insights):
    got = {r["insight_id"]: (r["metric_value"], r["message"]) for r in insights.iter_rows(named=True)}
    assert got == {
        "brand_mentions_up:barangay_1/brand_1:2024-03-11": (
            40.0, "Lucky Me mentions up 40 % in Batasan Hills the week of 2024-03-11"
        ),
        "device_attention:device_3:2024-03-11": (
            2.0, "device 3 (store 3) was critical or offline 2 days the week of 2024-03-11"
        ),
        "negative_sentiment:store_1/brand_8:2024-03-11": (
            2.0, "customers at store 1 spoke negatively of Surf on 2 days the week of 2024-03-11"
        ),
    }


def test_each_insight_takes_its_latest_verdict_and_each_type_its_acceptance_rate(insights):
    at = dt.datetime(2024, 3, 20, tzinfo=dt.UTC)
    feedback = pl.DataFrame(
        {
            "trace_id": ["f1", "f2", "f3"],
            "ingest_timestamp": [at, at + dt.timedelta(hours=1), at],
            "insight_id": [
                "device_attention:device_3:2024-03-11",
                "device_attention:device_3:2024-03-11",
                "negative_sentiment:store_1/brand_8:2024-03-11",
            ],
            "advisor_id": [1, 2, 1],
            "verdict": ["rejected", "accepted", "rejected"],
        }
    )
    rows = insight_feedback(insights, feedback, MARCH)
    assert rows.schema == polars_schema(INSIGHT_FEEDBACK.stored_columns)
    by = {r["insight_type"]: r for r in rows.iter_rows(named=True)}
    assert (by["device_attention"]["verdict"], by["device_attention"]["advisor_id"]) == ("accepted", 2)
    assert by["device_attention"]["type_acceptance_rate"] == 1.0
    assert by["negative_sentiment"]["type_acceptance_rate"] == 0.0
    assert by["brand_mentions_up"]["verdict"] is None and by["brand_mentions_up"]["type_acceptance_rate"] is None
    assert rows.get_column("type_insights").to_list() == [1, 1, 1]
