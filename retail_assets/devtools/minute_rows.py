"""Handmade rows of the four minute-grain Gold tables, written to a lake the way the stream worker writes them.

Every store (or product) has a row in every minute (every 15 minutes for ``top_products_15m``) of
the span asked, with values derived from the minute and a ``version`` number, so a rewritten window
holds different values than the one it replaces: the densest a minute table can be, whatever the
generator's profile. Used by the serving freshness tests and by ``benchmarks/serving.py`` (which
therefore needs no test package).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from retail_assets.lib.gold.model import gold_columns
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs import PARTITION_COLUMN, DType, polars_schema

MINUTE_TABLES = {t.name: t for t in GOLD_TABLES if "minute" in t.grain}
STEP = {name: dt.timedelta(minutes=15 if name == "top_products_15m" else 1) for name in MINUTE_TABLES}
KEY = {name: "product_id" if name == "top_products_15m" else "store_id" for name in MINUTE_TABLES}


def minute_rows(name: str, start: dt.datetime, end: dt.datetime, *, keys: int = 3, version: int = 1) -> pl.DataFrame:
    """Rows of ``gold/<name>`` for [start, end) (one month): every key in every bucket of the table's grain."""
    table = MINUTE_TABLES[name]
    stamps = pl.datetime_range(start, end, STEP[name], closed="left", time_unit="us", time_zone="UTC", eager=True)
    frame = pl.DataFrame({"ts": stamps}).join(pl.DataFrame({KEY[name]: list(range(1, keys + 1))}), how="cross")
    minute = (pl.col("ts").dt.epoch("s") // 60).cast(pl.Int64)
    values: list[pl.Expr] = []
    for column in gold_columns(table):
        if column.name in ("ts", KEY[name]):
            continue
        if column.name == "date_key":
            values.append(pl.col("ts").dt.strftime("%Y%m%d").cast(pl.Int32).alias("date_key"))
        elif column.name == PARTITION_COLUMN:
            values.append(pl.col("ts").dt.truncate("1mo").dt.date().alias(PARTITION_COLUMN))
        elif column.dtype is DType.STRING:
            values.append(pl.lit("entrance").alias(column.name))
        elif column.dtype is DType.FLOAT64:
            values.append(((minute % 97) * version / 3).cast(pl.Float64).alias(column.name))
        else:
            values.append((minute % 1000 * version + pl.col(KEY[name])).cast(column.dtype.polars).alias(column.name))
    schema = polars_schema(gold_columns(table))
    return frame.with_columns(values).select([pl.col(c).cast(t) for c, t in schema.items()])


def write_window(lake: LakeStore, name: str, start: dt.datetime, end: dt.datetime, **kwargs) -> pl.DataFrame:
    """Replace [start, end) of ``gold/<name>`` with :func:`minute_rows`, one commit, as the stream worker does."""
    rows = minute_rows(name, start, end, **kwargs)
    month = start.date().replace(day=1)
    predicate = (
        f"{PARTITION_COLUMN} = '{month.isoformat()}' AND ts >= '{start.isoformat()}' AND ts < '{end.isoformat()}'"
    )
    lake.replace(gold_path(name), rows, predicate=predicate, partition_by=[PARTITION_COLUMN])
    return rows
