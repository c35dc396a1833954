"""Silver ``multimodal_aligned`` and Gold ``store_interaction_metrics`` (seed 003), from ``annotated_events``.

**Alignment rule** (``align``): each speech annotation (a mention, or an utterance naming nothing) is aligned with
every vision annotation (presence, pick-up, put-back) *of the same device* whose ``occurred_at`` is within
``window_seconds`` of it, before or after (both times are clock-corrected in ``annotated_events``). One row per
aligned pair; a speech annotation with nothing seen in its window is one row with the vision side NULL, so every
mention is counted. ``brand_match`` says the detection is a pick-up or put-back of the brand mentioned. The window is
a run setting (default 90 s: the simulated and observed pick-ups follow the words by 10–60 s).

**Store × hour metrics** (``store_interaction_metrics``), hour = UTC hour of ``occurred_at``:
``interactions`` = distinct exchanges (a transcript's interaction_id, else its trace_id); ``brand_mentions`` =
mention annotations; ``pickups`` = pick-up annotations; ``avg_dwell_seconds`` = mean dwell of presence detections;
``mentions_converted`` = mentions with at least one aligned pick-up of the same brand; ``conversion_rate`` =
converted / mentions (NULL without mentions).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import text_field, time_field
from retail_assets.lib.specs.model import DType

DEFAULT_WINDOW_SECONDS = 90.0

MULTIMODAL_ALIGNED = EdgeTable(
    name="multimodal_aligned",
    layer="silver",
    description="What was said aligned with what the camera saw at the same counter within a time window.",
    grain="one row per speech annotation and vision annotation of the same device within the window "
    "(or per speech annotation with nothing seen)",
    key=("alignment_id",),
    time_column="mentioned_at",
    columns=(
        text_field("alignment_id", "speech trace_id#annotation_seq|vision trace_id (or 'none')."),
        text_field("speech_trace_id", "The transcript."),
        col("speech_seq", DType.INT64, "The speech annotation's annotation_seq.", gt=0),
        text_field("vision_trace_id", "The detection aligned, if any.", nullable=True),
        col("device_id", DType.INT64, "Edge device."),
        col("store_id", DType.INT64, "Sari-sari store."),
        col("barangay_id", DType.INT64, "Barangay of the store."),
        col("brand_id", DType.INT64, "Brand mentioned (NULL for an utterance naming none).", nullable=True),
        col("product_id", DType.INT64, "Product mentioned, when named.", nullable=True),
        time_field("mentioned_at", "When it was said (clock-corrected)."),
        text_field("detection_type", "presence, pickup or putback, when a detection is aligned.", nullable=True),
        col("detected_brand_id", DType.INT64, "Brand picked up or put back.", nullable=True),
        col("detected_at", DType.TIMESTAMP, "When it was seen (clock-corrected).", nullable=True),
        col("seconds_apart", DType.FLOAT64, "detected_at − mentioned_at, seconds.", nullable=True),
        col("dwell_seconds", DType.FLOAT64, "Dwell of the person seen.", nullable=True),
        col("brand_match", DType.BOOL, "The detection is a pick-up or put-back of the mentioned brand."),
        col("window_seconds", DType.FLOAT64, "The alignment window used.", gt=0),
    ),
)

STORE_INTERACTION_METRICS = EdgeTable(
    name="store_interaction_metrics",
    layer="gold",
    description="Counter activity of each store by hour: exchanges, brand mentions, pick-ups, dwell, conversion.",
    grain="one row per store and UTC hour with any annotation",
    key=("store_id", "hour"),
    time_column="hour",
    columns=(
        time_field("hour", "UTC hour (start) of occurred_at."),
        col("store_id", DType.INT64, "Sari-sari store."),
        col("barangay_id", DType.INT64, "Barangay of the store."),
        col("interactions", DType.INT64, "Distinct exchanges heard.", ge=0),
        col("brand_mentions", DType.INT64, "Brand or product mentions.", ge=0),
        col("pickups", DType.INT64, "Products picked up.", ge=0),
        col("avg_dwell_seconds", DType.FLOAT64, "Mean dwell of people seen at the counter.", nullable=True, ge=0.0),
        col("mentions_converted", DType.INT64, "Mentions followed, within the window, by a pick-up of the brand.",
            ge=0),
        col("conversion_rate", DType.FLOAT64, "mentions_converted / brand_mentions.", nullable=True, ge=0.0, le=1.0),
    ),
)


def align(annotations: pl.DataFrame, window_seconds: float, month: dt.date) -> pl.DataFrame:
    """``annotated_events`` rows of a month → ``multimodal_aligned`` rows (with ``month_start``)."""
    speech = annotations.filter(pl.col("event_source") == "speech").select(
        pl.col("trace_id").alias("speech_trace_id"),
        pl.col("annotation_seq").alias("speech_seq"),
        "device_id", "store_id", "barangay_id", "brand_id", "product_id",
        pl.col("occurred_at").alias("mentioned_at"),
    )
    vision = annotations.filter(pl.col("event_source") == "vision").select(
        pl.col("trace_id").alias("vision_trace_id"),
        "device_id",
        pl.col("annotation_type").alias("detection_type"),
        pl.col("brand_id").alias("detected_brand_id"),
        pl.col("occurred_at").alias("detected_at"),
        "dwell_seconds",
    )
    # Equi-join on (device, window-wide time bucket) with the neighbouring buckets, then the exact window: memory
    # grows with the events of a device within a few windows, not with speech × vision of the month.
    window = dt.timedelta(seconds=window_seconds)
    width = max(1, int(window_seconds * 1_000_000))
    bucket = lambda c: pl.col(c).dt.epoch("us") // width  # noqa: E731
    pairs = (
        speech.with_columns((bucket("mentioned_at") + pl.lit([-1, 0, 1])).alias("__bucket"))
        .explode("__bucket")
        .join(vision.with_columns(bucket("detected_at").alias("__bucket")), on=["device_id", "__bucket"])
        .filter(
            (pl.col("detected_at") >= pl.col("mentioned_at") - window)
            & (pl.col("detected_at") <= pl.col("mentioned_at") + window)
        )
        .drop("__bucket")
    )
    alone = speech.join(pairs.select("speech_trace_id", "speech_seq").unique(), on=["speech_trace_id", "speech_seq"],
                        how="anti")
    rows = pl.concat([pairs, alone], how="diagonal_relaxed")
    return (
        rows.with_columns(
            pl.format("{}#{}|{}", "speech_trace_id", "speech_seq", pl.col("vision_trace_id").fill_null("none"))
            .alias("alignment_id"),
            ((pl.col("detected_at") - pl.col("mentioned_at")).dt.total_microseconds() / 1e6).alias("seconds_apart"),
            (
                pl.col("detection_type").is_in(["pickup", "putback"]).fill_null(False)
                & (pl.col("detected_brand_id") == pl.col("brand_id")).fill_null(False)
            ).alias("brand_match"),
            pl.lit(float(window_seconds)).alias("window_seconds"),
        )
        .select(MULTIMODAL_ALIGNED.column_names)
        .with_columns(pl.lit(month, dtype=pl.Date).alias("month_start"))
        .sort("store_id", "mentioned_at", "alignment_id")
    )


def store_interaction_metrics(annotations: pl.DataFrame, aligned: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Store × UTC hour from a month of ``annotated_events`` and ``multimodal_aligned`` (with ``month_start``)."""
    hour = pl.col("occurred_at").dt.truncate("1h").alias("hour")
    activity = annotations.group_by(hour, "store_id").agg(
        pl.col("barangay_id").first(),
        pl.coalesce("interaction_id", "trace_id").filter(pl.col("event_source") == "speech").n_unique()
        .cast(pl.Int64).alias("interactions"),
        (pl.col("annotation_type") == "mention").sum().cast(pl.Int64).alias("brand_mentions"),
        (pl.col("annotation_type") == "pickup").sum().cast(pl.Int64).alias("pickups"),
        pl.col("dwell_seconds").filter(pl.col("annotation_type") == "presence").mean().alias("avg_dwell_seconds"),
    )
    converted = (
        aligned.filter(pl.col("brand_id").is_not_null())
        .group_by("speech_trace_id", "speech_seq")
        .agg(
            pl.col("store_id").first(),
            pl.col("mentioned_at").first(),
            (pl.col("brand_match") & (pl.col("detection_type") == "pickup")).any().alias("converted"),
        )
        .group_by(pl.col("mentioned_at").dt.truncate("1h").alias("hour"), "store_id")
        .agg(pl.col("converted").sum().cast(pl.Int64).alias("mentions_converted"))
    )
    return (
        activity.join(converted, on=["hour", "store_id"], how="left")
        .with_columns(pl.col("mentions_converted").fill_null(0))
        .with_columns(
            pl.when(pl.col("brand_mentions") > 0)
            .then(pl.col("mentions_converted") / pl.col("brand_mentions"))
            .alias("conversion_rate")
        )
        .select(STORE_INTERACTION_METRICS.column_names)
        .with_columns(pl.lit(month, dtype=pl.Date).alias("month_start"))
        .sort("store_id", "hour")
    )
