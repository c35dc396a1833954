"""transcript_sentiment_analysis on hand-made mentions: VADER with the Filipino words, per store, brand and day."""

from __future__ import annotations

import datetime as dt

import polars as pl
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from retail_assets.lib.edge.annotated import ANNOTATED_EVENTS
from retail_assets.lib.edge.sentiment import TRANSCRIPT_SENTIMENT_ANALYSIS, compound, transcript_sentiment
from retail_assets.lib.specs.registry import polars_schema

MAY = dt.date(2024, 5, 1)
COKE, SURF = 2, 8


def _mention(trace, text, brand, *, day=3, store=1, seq=1):
    at = dt.datetime(2024, 5, day, 10, tzinfo=dt.UTC)
    return {
        "trace_id": trace, "annotation_seq": seq, "event_source": "speech", "annotation_type": "mention",
        "interaction_id": None, "device_id": store, "store_id": store, "barangay_id": 5, "occurred_at": at,
        "received_at": at, "brand_id": brand, "product_id": None, "confidence": 0.9, "language": "taglish",
        "transcript": text, "person_count": None, "dwell_seconds": None,
    }


def test_filipino_praise_and_complaints_score_where_plain_vader_hears_nothing():
    plain = SentimentIntensityAnalyzer()
    said = pl.Series("t", ["Masarap talaga ang Coke", "Ang mahal naman, nakakainis", "Isang Coke po"])
    # Plain VADER hears no praise, no complaint, and a polite "po" as "pissed off".
    assert [plain.polarity_scores(t)["compound"] for t in said] == [0.0, 0.0, -0.5574]
    scores = compound(said).to_list()
    assert scores[0] > 0.05 and scores[1] < -0.05 and scores[2] == 0.0
    # VADER's negation is English: "hindi" (not) does not flip "masarap" (a known limit, docs/edge.md).
    assert compound(pl.Series(["Hindi masarap"])).item() > 0


def test_store_brand_days_count_mentions_and_label_the_mean():
    annotations = pl.DataFrame(
        [
            _mention("a", "Salamat po, masarap ang Coke Mismo!", COKE),
            _mention("b", "Ang mahal naman ng Coke, nakakainis", COKE),
            _mention("c", "Salamat, sulit ang Coke", COKE),
            _mention("c", "Salamat, sulit ang Coke", COKE, seq=2),  # a second product of the same brand: once
            _mention("d", "Surf po", SURF),
            _mention("e", "Sira yung Surf, bulok", SURF, day=4),
        ],
        schema=polars_schema(ANNOTATED_EVENTS.columns),
    )
    rows = transcript_sentiment(annotations, MAY)
    assert rows.schema == polars_schema(TRANSCRIPT_SENTIMENT_ANALYSIS.stored_columns)
    got = {(r["brand_id"], r["day"].day): r for r in rows.iter_rows(named=True)}
    assert sorted(got) == [(COKE, 3), (SURF, 3), (SURF, 4)]
    coke = got[COKE, 3]
    assert (coke["mentions"], coke["positive_mentions"], coke["negative_mentions"]) == (3, 2, 1)
    assert coke["sentiment"] == "positive" and coke["avg_compound"] > 0.05
    assert (got[SURF, 3]["sentiment"], got[SURF, 3]["avg_compound"]) == ("neutral", 0.0)
    assert got[SURF, 4]["sentiment"] == "negative" and got[SURF, 4]["negative_mentions"] == 1
