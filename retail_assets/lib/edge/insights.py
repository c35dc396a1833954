"""Gold ``insight_feedback`` (seed 003 ``gold_insight_feedback``): insights derived from edge Gold, with the verdict
store advisors gave each, and the acceptance rate of each insight type.

Insights of a month, by ISO week (Monday start) of the month's Gold rows, deterministic ids
``<type>:<subject>:<week>`` so a rebuild gives the same insights and keeps their feedback:

- ``brand_mentions_up`` / ``brand_mentions_down``: a brand's mentions in a barangay changed by at least
  ``TREND_PCT`` % from the previous week of the month, on a base of at least ``MIN_BASE`` mentions ("Lucky Me mentions
  up 46 % in Batasan Hills the week of 2024-03-11");
- ``device_attention``: a device had at least one critical or offline day in the week;
- ``negative_sentiment``: customers' words about a brand at a store were negative on at least two days of the week.

Feedback is the ``insight_feedback_given`` event (advisors' verdicts, landed like every edge event); an insight takes
its latest verdict (by ``ingest_timestamp``, then trace_id), whatever month it arrived in. ``type_acceptance_rate`` =
accepted / insights of the type with a verdict, in the month (NULL when none has one).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.edge import INSIGHT_FEEDBACK_GIVEN, VERDICTS
from retail_assets.lib.specs.envelope import text_field
from retail_assets.lib.specs.model import DType
from retail_assets.lib.specs.registry import event_columns, polars_schema

TREND_PCT = 40.0
MIN_BASE = 5
INSIGHT_TYPES = ("brand_mentions_up", "brand_mentions_down", "device_attention", "negative_sentiment")

INSIGHT_FEEDBACK = EdgeTable(
    name="insight_feedback",
    layer="gold",
    description="Insights derived from edge Gold, the verdict advisors gave each, and acceptance by insight type.",
    grain="one row per insight",
    key=("insight_id",),
    time_column="week_start",
    columns=(
        text_field("insight_id", "<type>:<subject>:<week>, stable across rebuilds."),
        text_field("insight_type", "What kind of insight.", allowed=INSIGHT_TYPES),
        col("week_start", DType.DATE, "Monday of the ISO week the insight is about."),
        text_field("subject", "What it is about: barangay/brand, device, or store/brand ids."),
        text_field("message", "The insight as shown to advisors."),
        col("metric_value", DType.FLOAT64, "Change in % (trends) or days (device, sentiment)."),
        text_field("verdict", "The advisor's latest verdict, if any.", nullable=True, allowed=VERDICTS),
        col("advisor_id", DType.INT64, "Advisor who gave it.", nullable=True),
        col("feedback_at", DType.TIMESTAMP, "When the verdict was received.", nullable=True),
        col("type_insights", DType.INT64, "Insights of this type in the month.", gt=0),
        col("type_accepted", DType.INT64, "Of them, accepted.", ge=0),
        col("type_acceptance_rate", DType.FLOAT64, "Accepted / with a verdict, for the type in the month.",
            nullable=True, ge=0.0, le=1.0),
    ),
)

_WEEK = pl.col("day").dt.truncate("1w").alias("week_start")


def _trends(sentiment: pl.DataFrame, brands: pl.DataFrame, barangays: pl.DataFrame) -> pl.DataFrame:
    weekly = (
        sentiment.group_by("barangay_id", "brand_id", _WEEK)
        .agg(pl.col("mentions").sum())
        .sort("week_start")
    )
    previous = weekly.with_columns((pl.col("week_start") + pl.duration(days=7)).alias("week_start")).rename(
        {"mentions": "previous"}
    )
    change = (
        weekly.join(previous, on=["barangay_id", "brand_id", "week_start"], how="inner")
        .filter(pl.col("previous") >= MIN_BASE)
        .with_columns((100.0 * (pl.col("mentions") - pl.col("previous")) / pl.col("previous")).alias("metric_value"))
        .filter(pl.col("metric_value").abs() >= TREND_PCT)
        .join(brands.select("brand_id", "brand_name"), on="brand_id", how="left")
        .join(barangays.select("barangay_id", "barangay_name"), on="barangay_id", how="left")
    )
    up = pl.col("metric_value") > 0
    return change.select(
        pl.when(up).then(pl.lit("brand_mentions_up")).otherwise(pl.lit("brand_mentions_down")).alias("insight_type"),
        "week_start",
        pl.format("barangay {}/brand {}", "barangay_id", "brand_id").alias("subject"),
        pl.format(
            "{} mentions {} {} % in {} the week of {}",
            "brand_name",
            pl.when(up).then(pl.lit("up")).otherwise(pl.lit("down")),
            pl.col("metric_value").abs().round(0).cast(pl.Int64),
            "barangay_name",
            "week_start",
        ).alias("message"),
        "metric_value",
    )


def _devices(health: pl.DataFrame) -> pl.DataFrame:
    return (
        health.filter(pl.col("health_status").is_in(["critical", "offline"]))
        .group_by("device_id", "store_id", _WEEK)
        .agg(pl.len().cast(pl.Float64).alias("metric_value"))
        .select(
            pl.lit("device_attention").alias("insight_type"),
            "week_start",
            pl.format("device {}", "device_id").alias("subject"),
            pl.format(
                "device {} (store {}) was critical or offline {} days the week of {}",
                "device_id", "store_id", pl.col("metric_value").cast(pl.Int64), "week_start",
            ).alias("message"),
            "metric_value",
        )
    )


def _negative(sentiment: pl.DataFrame, brands: pl.DataFrame) -> pl.DataFrame:
    return (
        sentiment.filter(pl.col("sentiment") == "negative")
        .group_by("store_id", "brand_id", _WEEK)
        .agg(pl.len().cast(pl.Float64).alias("metric_value"))
        .filter(pl.col("metric_value") >= 2)
        .join(brands.select("brand_id", "brand_name"), on="brand_id", how="left")
        .select(
            pl.lit("negative_sentiment").alias("insight_type"),
            "week_start",
            pl.format("store {}/brand {}", "store_id", "brand_id").alias("subject"),
            pl.format(
                "customers at store {} spoke negatively of {} on {} days the week of {}",
                "store_id", "brand_name", pl.col("metric_value").cast(pl.Int64), "week_start",
            ).alias("message"),
            "metric_value",
        )
    )


def derive_insights(
    sentiment: pl.DataFrame, health: pl.DataFrame, brands: pl.DataFrame, barangays: pl.DataFrame
) -> pl.DataFrame:
    """The month's insights from Gold ``transcript_sentiment_analysis`` and ``device_health_summary``."""
    found = pl.concat([_trends(sentiment, brands, barangays), _devices(health), _negative(sentiment, brands)])
    return found.with_columns(
        pl.format("{}:{}:{}", "insight_type", pl.col("subject").str.replace_all(" ", "_"), "week_start")
        .alias("insight_id")
    ).sort("insight_id")


def insight_feedback(insights: pl.DataFrame, feedback: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Insights with their latest verdict (``feedback``: Bronze ``insight_feedback`` rows) and the acceptance rate
    of their type (with ``month_start``)."""
    latest = (
        feedback.sort("ingest_timestamp", "trace_id")
        .group_by("insight_id")
        .agg(
            pl.col("verdict").last(),
            pl.col("advisor_id").last(),
            pl.col("ingest_timestamp").last().alias("feedback_at"),
        )
    )
    rows = insights.join(latest, on="insight_id", how="left")
    by_type = pl.col("insight_type")
    return (
        rows.with_columns(
            pl.len().over(by_type).cast(pl.Int64).alias("type_insights"),
            (pl.col("verdict") == "accepted").sum().over(by_type).cast(pl.Int64).alias("type_accepted"),
            pl.col("verdict").is_not_null().sum().over(by_type).alias("__judged"),
        )
        .with_columns(
            pl.when(pl.col("__judged") > 0)
            .then(pl.col("type_accepted") / pl.col("__judged"))
            .alias("type_acceptance_rate")
        )
        .select(INSIGHT_FEEDBACK.column_names)
        .with_columns(pl.lit(month, dtype=pl.Date).alias("month_start"))
        .sort("insight_id")
    )


# Advisors' acceptance by type in the simulation (device alerts are the most useful).
_ACCEPT = {"brand_mentions_up": 0.6, "brand_mentions_down": 0.5, "device_attention": 0.85, "negative_sentiment": 0.7}


def simulate_feedback(insights: pl.DataFrame, seed: int, at: dt.datetime, share: float = 0.7) -> pl.DataFrame:
    """Advisors' verdicts on ``share`` of ``insights`` (for simulations and tests), as insight_feedback_given events
    received at ``at``."""
    rng = np.random.default_rng(seed)
    rows = []
    for insight_id, kind in insights.select("insight_id", "insight_type").iter_rows():
        if rng.random() >= share:
            continue
        verdict = "accepted" if rng.random() < _ACCEPT[kind] else VERDICTS[1 + int(rng.integers(0, 2))]
        rows.append(
            {
                "event_type": INSIGHT_FEEDBACK_GIVEN.event_type, "trace_id": f"fb-{insight_id}", "ingest_timestamp": at,
                "schema_version": "1.0", "source": "advisor-app-sim", "insight_id": insight_id,
                "advisor_id": int(rng.integers(1, 6)), "verdict": verdict, "comment": None,
            }
        )
    return pl.DataFrame(rows, schema=polars_schema(event_columns(INSIGHT_FEEDBACK_GIVEN)))
