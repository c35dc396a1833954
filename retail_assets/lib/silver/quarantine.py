"""Rejected Silver rows in the shape of ``quarantine/silver/<table>`` (``QUARANTINE_COLUMNS``)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

import polars as pl

from retail_assets.lib.silver.rules import BATCH_ID, EVENT_TRACE_ID, ORIGIN, SOURCE_FILE
from retail_assets.lib.specs import QUARANTINE_COLUMNS, empty_frame, polars_schema

QUARANTINE_SCHEMA = polars_schema(QUARANTINE_COLUMNS)


def empty_quarantine() -> pl.DataFrame:
    return empty_frame(QUARANTINE_COLUMNS)


def quarantine_rows(
    described: pl.DataFrame,
    *,
    table: str,
    month: dt.date,
    record_columns: Sequence[str],
    quarantined_at: dt.datetime,
) -> pl.DataFrame:
    """Rows carrying ``__code``, ``__column``, ``__value`` and ``__message`` as quarantine rows.

    ``record`` is the row as mapped to the table's columns, with its origin and the trace_id of
    the event it came from; the original event stays in ``bronze/<event_type>`` under that trace_id.
    """
    if not described.height:
        return empty_quarantine()
    # pl.format over string columns of several chunks (rows stacked from several checks) can panic in polars 2.1
    # ("assertion failed: i < self.len()", pola-rs/polars#25525); one chunk per column avoids it.
    described = described.rechunk()
    origin = pl.col(ORIGIN).cast(pl.String)
    where = pl.format(
        "{} row from {}{}",
        origin,
        pl.col(SOURCE_FILE).cast(pl.String).fill_null("an unknown file"),
        pl.when(pl.col(EVENT_TRACE_ID).is_not_null())
        .then(pl.format(", trace_id {}", pl.col(EVENT_TRACE_ID)))
        .otherwise(pl.lit("")),
    )
    record = pl.struct(
        [pl.col(c) for c in record_columns] + [origin.alias("origin"), pl.col(EVENT_TRACE_ID).alias("event_trace_id")]
    ).struct.json_encode()
    return described.select(
        pl.lit(table).alias("table_name"),
        pl.lit(month, dtype=pl.Date).alias("month_start"),
        pl.col(SOURCE_FILE).cast(pl.String).alias("source_file"),
        pl.col(BATCH_ID).cast(pl.String).alias("batch_id"),
        pl.col(EVENT_TRACE_ID).cast(pl.String).alias("trace_id"),
        pl.lit(None, dtype=pl.Int64).alias("row_number"),
        pl.col("__column").alias("column_name"),
        pl.col("__value").cast(pl.String).alias("value"),
        pl.col("__code").alias("reason_code"),
        pl.format(f"silver {table} {month:%Y-%m}: {{}}: {{}}", where, pl.col("__message")).alias("reason"),
        record.alias("record"),
        pl.lit(quarantined_at, dtype=QUARANTINE_SCHEMA["quarantined_at"]).alias("quarantined_at"),
    ).cast(dict(QUARANTINE_SCHEMA))
