"""Gold ``transcript_sentiment_analysis`` (seed 003 ``gold_transcript_sentiment_analysis``): store × brand × day.

Sentiment comes from VADER (``vaderSentiment``: a lexicon and rules tuned for short informal text; its lexicon ships
inside the package, so nothing is downloaded at run time, unlike NLTK's copy). VADER knows English only; sari-sari
transcripts are Taglish, so the Filipino words a counter exchange uses to praise or complain are added to its
lexicon (``FILIPINO_LEXICON``, on VADER's −4…+4 valence scale), and the polite particle "po", which VADER's lexicon
holds as slang for "pissed off", is made neutral. VADER's negation ("not", "never") stays English:
"hindi masarap" still scores as "masarap" — a known limit, visible in the tests.

Per transcript, VADER's ``compound`` score (−1…+1) is attributed to every brand the transcript mentions
(``annotated_events`` mention rows, one per brand even when two of its products are named). A mention is positive
at compound ≥ 0.05, negative at ≤ −0.05 (VADER's own thresholds), else neutral; a store-brand-day's ``sentiment``
applies the same thresholds to its mean compound.
"""

from __future__ import annotations

import datetime as dt
import functools

import polars as pl
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import text_field
from retail_assets.lib.specs.model import DType

POSITIVE_AT, NEGATIVE_AT = 0.05, -0.05
SENTIMENTS = ("positive", "neutral", "negative")
# Valence of Filipino/Taglish words heard at the counter (VADER's scale: −4 most negative … +4 most positive).
FILIPINO_LEXICON = {
    # VADER reads "po" as chat slang for "pissed off" (−2.6); in Filipino it is the polite particle of almost every
    # sentence said to a storekeeper, so plain VADER would call "Isang Coke po" negative.
    "po": 0.0,
    "opo": 0.0,
    "salamat": 1.9,  # thank you
    "masarap": 2.2,  # tasty
    "sarap": 2.2,
    "sulit": 1.8,  # worth it
    "maganda": 1.9,  # good, nice
    "ayos": 1.3,  # fine, okay
    "galing": 1.8,  # great
    "mura": 1.2,  # cheap (good value)
    "mahal": -1.2,  # expensive (at a store counter, not "love")
    "sira": -1.9,  # broken, spoiled
    "bulok": -2.5,  # rotten
    "pangit": -2.1,  # bad, ugly
    "nakakainis": -2.2,  # annoying
    "ubos": -1.3,  # sold out
}

TRANSCRIPT_SENTIMENT_ANALYSIS = EdgeTable(
    name="transcript_sentiment_analysis",
    layer="gold",
    description="What customers' words say about each brand, per store and day (VADER, Filipino words added).",
    grain="one row per store, brand and UTC day with a mention",
    key=("store_id", "brand_id", "day"),
    time_column="day",
    columns=(
        col("day", DType.DATE, "UTC day of the transcript (occurred_at)."),
        col("store_id", DType.INT64, "Sari-sari store."),
        col("barangay_id", DType.INT64, "Barangay of the store."),
        col("brand_id", DType.INT64, "Brand mentioned."),
        col("mentions", DType.INT64, "Transcripts mentioning the brand.", gt=0),
        col("avg_compound", DType.FLOAT64, "Mean VADER compound score of those transcripts.", ge=-1.0, le=1.0),
        col("positive_mentions", DType.INT64, "Of them, compound ≥ 0.05.", ge=0),
        col("negative_mentions", DType.INT64, "Of them, compound ≤ −0.05.", ge=0),
        text_field("sentiment", "positive, neutral or negative, from avg_compound.", allowed=SENTIMENTS),
    ),
)


@functools.cache
def analyzer() -> SentimentIntensityAnalyzer:
    """VADER with the Filipino words added (one per process: loading the lexicon takes ~0.1 s)."""
    vader = SentimentIntensityAnalyzer()
    vader.lexicon.update(FILIPINO_LEXICON)
    return vader


def compound(texts: pl.Series) -> pl.Series:
    vader = analyzer()
    return pl.Series(texts.name, [vader.polarity_scores(t)["compound"] for t in texts.to_list()], dtype=pl.Float64)


def _label(score: pl.Expr) -> pl.Expr:
    return (
        pl.when(score >= POSITIVE_AT).then(pl.lit("positive"))
        .when(score <= NEGATIVE_AT).then(pl.lit("negative"))
        .otherwise(pl.lit("neutral"))
    )


def transcript_sentiment(annotations: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """``annotated_events`` of a month → store × brand × day sentiment (with ``month_start``)."""
    mentions = (
        annotations.filter(pl.col("annotation_type") == "mention")
        .select("trace_id", "store_id", "barangay_id", "brand_id", "transcript",
                pl.col("occurred_at").dt.date().alias("day"))
        .unique(["trace_id", "brand_id"], keep="first", maintain_order=True)
    )
    scored = mentions.with_columns(compound(mentions.get_column("transcript")).alias("compound"))
    return (
        scored.group_by("day", "store_id", "brand_id")
        .agg(
            pl.col("barangay_id").first(),
            pl.len().cast(pl.Int64).alias("mentions"),
            pl.col("compound").mean().alias("avg_compound"),
            (pl.col("compound") >= POSITIVE_AT).sum().cast(pl.Int64).alias("positive_mentions"),
            (pl.col("compound") <= NEGATIVE_AT).sum().cast(pl.Int64).alias("negative_mentions"),
        )
        .with_columns(_label(pl.col("avg_compound")).alias("sentiment"))
        .select(TRANSCRIPT_SENTIMENT_ANALYSIS.column_names)
        .with_columns(pl.lit(month, dtype=pl.Date).alias("month_start"))
        .sort("store_id", "brand_id", "day")
    )
