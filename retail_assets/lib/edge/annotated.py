"""Silver ``annotated_events`` (seed 003 ``silver_annotated_events``): what was said and seen at the counter, as
semantic events tied to store, brand and product.

Input: Bronze ``stt_raw`` and ``visual_stream``, and the transcripts and detections of Bronze ``raw_events`` (the
legacy format, split by ``lib/edge/legacy.py``). Each event is first checked, then annotated:

- **Time**: ``occurred_at`` is the device's time of the speech or frame corrected by the event's own clock skew
  (``device_clock − ingest_timestamp``), so drifting devices line up with the others.
- **Mentions**: a transcript mentions a product when the product's name appears in it as whole words
  (case-insensitive; of two
  matching names where one contains the other, the longer wins: "Coke Mismo", not also "Coke"), and a brand when the
  brand's name appears and none of its products' names does. One row per mention; a transcript naming nothing known is
  one ``utterance`` row (brand and product NULL).
- **Detections**: one row each, ``presence`` (a person), ``pickup`` or ``putback`` (with brand and product).

Expectations, in order (``lib/edge/expectations.py``):

- ``known_device`` (drop), ``device_in_its_store`` (drop): as for heartbeats;
- ``transcript_readable`` (drop): a transcript's confidence is at least 0.4 (Whisper's garbled output is below);
- ``detection_confident`` (drop): a detection's bounding-box confidence is at least 0.5;
- ``known_product`` (fail): a pick-up or put-back names a brand of ``dim_fmcg_brands``, and its product (when
  recognised) belongs to that brand — otherwise the catalogue the devices recognise against is not the platform's,
  and the month must not be published;
- ``clock_in_sync`` (warn): the device clock is within 5 minutes of the gateway's.
"""

from __future__ import annotations

import datetime as dt
import re

import polars as pl

from retail_assets.lib.edge.expectations import Expectation
from retail_assets.lib.edge.heartbeat import MAX_CLOCK_SKEW_SECONDS
from retail_assets.lib.edge.legacy import split_raw_events
from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.edge import LANGUAGES
from retail_assets.lib.specs.envelope import text_field, time_field
from retail_assets.lib.specs.model import DType

MIN_TRANSCRIPT_CONFIDENCE = 0.4
MIN_BBOX_CONFIDENCE = 0.5
SOURCES = ("speech", "vision")
ANNOTATIONS = ("mention", "utterance", "presence", "pickup", "putback")

ANNOTATED_EVENTS = EdgeTable(
    name="annotated_events",
    layer="silver",
    description="Transcripts and detections validated and annotated with store, barangay, brand and product.",
    grain="one row per annotation of an event: each mention of a transcript, or the detection",
    key=("trace_id", "annotation_seq"),
    time_column="received_at",
    columns=(
        text_field("trace_id", "trace_id of the transcript or detection event."),
        col("annotation_seq", DType.INT64, "1-based number of the annotation within its event.", gt=0),
        text_field("event_source", "speech (STT transcript) or vision (detection).", allowed=SOURCES),
        text_field("annotation_type", "What the row says happened.", allowed=ANNOTATIONS),
        text_field("interaction_id", "The exchange at the counter, when the device linked one.", nullable=True),
        col("device_id", DType.INT64, "Edge device."),
        col("store_id", DType.INT64, "Sari-sari store."),
        col("barangay_id", DType.INT64, "Barangay of the store."),
        time_field("occurred_at", "When it was said or seen: device time corrected by the event's clock skew (UTC)."),
        time_field("received_at", "When the gateway received the event (ingest_timestamp)."),
        col("brand_id", DType.INT64, "Brand mentioned, picked up or put back.", nullable=True),
        col("product_id", DType.INT64, "Product mentioned, picked up or put back, when known.", nullable=True),
        col("confidence", DType.FLOAT64, "Transcript confidence (speech) or bounding-box confidence (vision).",
            ge=0.0, le=1.0),
        text_field("language", "Language of the transcript (speech).", nullable=True, allowed=LANGUAGES),
        text_field("transcript", "The transcript (speech).", nullable=True),
        col("person_count", DType.INT64, "People in view (vision).", nullable=True, ge=0),
        col("dwell_seconds", DType.FLOAT64, "Dwell of the tracked person (vision).", nullable=True, ge=0.0),
    ),
)

_SPEECH = pl.col("event_source") == "speech"
_PICK = pl.col("detection_type").is_in(["pickup", "putback"]).fill_null(False)

EXPECTATIONS = (
    Expectation("known_device", "The device is registered in dim_edge_devices.",
                pl.col("__registered_store").is_not_null(), "drop", "device_id"),
    Expectation("device_in_its_store", "The event's store is the one the registry installs the device in.",
                pl.col("store_id") == pl.col("__registered_store"), "drop", "store_id"),
    Expectation("transcript_readable", f"A transcript's confidence is at least {MIN_TRANSCRIPT_CONFIDENCE}.",
                ~_SPEECH | (pl.col("confidence") >= MIN_TRANSCRIPT_CONFIDENCE), "drop", "confidence"),
    Expectation("detection_confident", f"A detection's bounding-box confidence is at least {MIN_BBOX_CONFIDENCE}.",
                _SPEECH | (pl.col("confidence") >= MIN_BBOX_CONFIDENCE), "drop", "confidence"),
    Expectation(
        "known_product",
        "A pick-up or put-back names a known brand, and its product belongs to that brand.",
        ~_PICK
        | (
            pl.col("__brand_known")
            & (pl.col("product_id").is_null() | (pl.col("__product_brand") == pl.col("brand_id")))
        ),
        "fail",
        "brand_id",
    ),
    Expectation("clock_in_sync", f"The device clock is within {MAX_CLOCK_SKEW_SECONDS:.0f} s of the gateway's.",
                pl.col("__skew").abs() <= MAX_CLOCK_SKEW_SECONDS, "warn", "device_id"),
)


def with_legacy(bronze: pl.DataFrame, raw_events: pl.DataFrame, event_type: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bronze events of ``event_type`` and the legacy records of that kind (same columns), and the unreadable ones."""
    split, unreadable = split_raw_events(raw_events, event_type)
    return pl.concat([bronze.select(split.columns), split]), unreadable


def events(
    transcripts: pl.DataFrame,
    detections: pl.DataFrame,
    registry: pl.DataFrame,
    brands: pl.DataFrame,
    products: pl.DataFrame,
) -> pl.DataFrame:
    """Transcripts and detections as one frame of events, with what the expectations read (``__…`` columns)."""
    skew = (pl.col("device_clock") - pl.col("ingest_timestamp")).dt.total_microseconds()
    common = [
        "trace_id", "interaction_id", "device_id", "store_id", pl.col("ingest_timestamp").alias("received_at"),
        (skew / 1e6).alias("__skew"),
    ]
    speech = transcripts.select(
        *common,
        pl.lit("speech").alias("event_source"),
        pl.lit(None, pl.String).alias("detection_type"),
        (pl.col("started_at") - pl.duration(microseconds=skew)).alias("occurred_at"),
        pl.lit(None, pl.Int64).alias("brand_id"),
        pl.lit(None, pl.Int64).alias("product_id"),
        "confidence", "language", "transcript",
        pl.lit(None, pl.Int64).alias("person_count"),
        pl.lit(None, pl.Float64).alias("dwell_seconds"),
    )
    vision = detections.select(
        *common,
        pl.lit("vision").alias("event_source"),
        "detection_type",
        (pl.col("detected_at") - pl.duration(microseconds=skew)).alias("occurred_at"),
        "brand_id", "product_id",
        pl.col("bbox_confidence").alias("confidence"),
        pl.lit(None, pl.String).alias("language"),
        pl.lit(None, pl.String).alias("transcript"),
        "person_count", "dwell_seconds",
    )
    return (
        pl.concat([speech, vision])
        .join(registry, on="device_id", how="left")
        .join(brands.select("brand_id", pl.lit(True).alias("__brand_known")), on="brand_id", how="left")
        .join(products.select("product_id", pl.col("brand_id").alias("__product_brand")), on="product_id", how="left")
        .with_columns(pl.col("__brand_known").fill_null(False))
    )


def mentions(transcripts: pl.DataFrame, brands: pl.DataFrame, products: pl.DataFrame) -> pl.DataFrame:
    """trace_id, brand_id, product_id of every mention in ``transcripts`` (trace_id, transcript), by the rule above."""
    names = pl.concat(
        [
            products.select("brand_id", "product_id", pl.col("product_name").str.to_lowercase().alias("name")),
            brands.select("brand_id", pl.lit(None, pl.Int64).alias("product_id"),
                          pl.col("brand_name").str.to_lowercase().alias("name")),
        ]
    )
    # Whole words only ("Surf", not "surface"); names are matched as literal text.
    names = names.with_columns(
        pl.col("name").map_elements(lambda n: rf"(^|\W){re.escape(n)}(\W|$)", return_dtype=pl.String).alias("pattern")
    )
    found = (
        transcripts.select("trace_id", pl.col("transcript").str.to_lowercase().alias("__text"))
        .join(names, how="cross")
        .filter(pl.col("__text").str.contains(pl.col("pattern")))
        .select("trace_id", "brand_id", "product_id", "name")
    )
    # A name contained in a longer matched name of the same transcript is that one's match, not another mention;
    # a brand with a product named counts through the product.
    longer = found.join(found, on="trace_id", suffix="_other").filter(
        (pl.col("name") != pl.col("name_other")) & pl.col("name_other").str.contains(pl.col("name"), literal=True)
    )
    found = found.join(longer.select("trace_id", "name").unique(), on=["trace_id", "name"], how="anti")
    named_brands = found.filter(pl.col("product_id").is_not_null()).select("trace_id", "brand_id").unique()
    brand_only = found.filter(pl.col("product_id").is_null()).join(
        named_brands, on=["trace_id", "brand_id"], how="anti"
    )
    return pl.concat([found.filter(pl.col("product_id").is_not_null()), brand_only]).select(
        "trace_id", "brand_id", "product_id"
    ).unique()


def annotate(kept: pl.DataFrame, brands: pl.DataFrame, products: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Checked events → the Silver table's rows, with ``month_start``: the partition, the month of ``received_at``
    (as in Bronze; ``occurred_at`` may fall just across the boundary once the clock is corrected)."""
    speech = kept.filter(_SPEECH)
    found = mentions(speech, brands, products)
    spoken = speech.drop("brand_id", "product_id").join(found, on="trace_id", how="left").with_columns(
        pl.when(pl.col("brand_id").is_null())
        .then(pl.lit("utterance"))
        .otherwise(pl.lit("mention"))
        .alias("annotation_type")
    )
    seen = kept.filter(~_SPEECH).with_columns(
        pl.col("detection_type").replace({"person": "presence"}).alias("annotation_type")
    )
    rows = pl.concat([spoken, seen.select(spoken.columns)])
    return (
        rows.sort("trace_id", "product_id", "brand_id", nulls_last=True)
        .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).over("trace_id").alias("annotation_seq"))
        .select(ANNOTATED_EVENTS.column_names)
        .with_columns(pl.lit(month, dtype=pl.Date).alias("month_start"))
        .sort("store_id", "occurred_at", "trace_id", "annotation_seq")
    )

