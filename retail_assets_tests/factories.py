"""Valid sample data for any table or event, built from its spec (for tests that land files)."""

from __future__ import annotations

import datetime as dt
import io
import json
from typing import Any

import polars as pl

from retail_assets.lib.landing import LandingZone, batch_prefix, event_prefix
from retail_assets.lib.specs import REGISTRY, ColumnSpec, DType, polars_schema
from retail_assets.lib.specs.envelope import ENVELOPE


def _value(c: ColumnSpec, i: int, month: dt.date) -> Any:
    if c.allowed:
        return c.allowed[i % len(c.allowed)]
    match c.dtype:
        case DType.STRING:
            return f"{c.name}-{month:%Y%m}-{i}"
        case DType.INT32 | DType.INT64:
            low = c.gt + 1 if c.gt is not None else c.ge if c.ge is not None else 1
            high = c.le if c.le is not None else low + 1000
            return int(min(high, low + i % 5))
        case DType.FLOAT64:
            low = c.gt + 0.5 if c.gt is not None else c.ge if c.ge is not None else 1.0
            return float(min(c.le if c.le is not None else low + 100, low + (i % 5) / 4))
        case DType.BOOL:
            return i % 2 == 0
        case DType.DATE:
            return month + dt.timedelta(days=i % 28)
        case DType.TIMESTAMP:
            return dt.datetime(month.year, month.month, 1 + i % 28, 8 + i % 12, i % 60, tzinfo=dt.UTC)
        case DType.LIST_INT64:
            return [1 + i % 7, 2 + i % 7]
    raise AssertionError(c.dtype)


def sample_rows(table: str, n: int, month: dt.date = dt.date(2024, 1, 1)) -> pl.DataFrame:
    """``n`` valid rows of a table, typed exactly as its spec."""
    columns = REGISTRY.table(table).columns
    data = {c.name: [_value(c, i, month) for i in range(n)] for c in columns}
    return pl.DataFrame(data, schema=polars_schema(columns))


def sample_events(event_type: str, n: int, month: dt.date = dt.date(2024, 1, 1)) -> list[dict]:
    """``n`` valid event envelopes (as parsed JSON) of one type, all dated within ``month``."""
    event = REGISTRY.event(event_type)
    events = []
    for i in range(n):
        doc = {c.name: _json(_value(c, i, month)) for c in ENVELOPE}
        doc.update(event_type=event_type, trace_id=f"{event_type}-{month:%Y%m}-{i}", schema_version="1.0")
        doc["payload"] = {c.field: _json(_value(c, i, month)) for c in event.payload}
        events.append(doc)
    return events


def _json(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat().replace("+00:00", "Z")
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def parquet_bytes(df: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    df.write_parquet(buffer)
    return buffer.getvalue()


def land_table(landing: LandingZone, table: str, df: pl.DataFrame, month: dt.date, name: str = "part-0.parquet") -> str:
    path = batch_prefix(table, month) + name
    data = parquet_bytes(df) if name.endswith(".parquet") else df.write_csv().encode()
    landing.write_bytes(path, data)
    return path


def land_events(landing: LandingZone, event_type: str, lines: list[dict | str], day: dt.date, batch: str = "b0") -> list[str]:
    """Land events as a producer does: each under the UTC date of its ingest_timestamp (text lines under ``day``)."""
    by_day: dict[dt.date, list[str]] = {}
    for line in lines:
        stamp = line.get("ingest_timestamp") if isinstance(line, dict) else None
        when = dt.date.fromisoformat(stamp[:10]) if isinstance(stamp, str) and len(stamp) >= 10 else day
        by_day.setdefault(when, []).append(line if isinstance(line, str) else json.dumps(line))
    paths = []
    for when, texts in sorted(by_day.items()):
        paths.append(event_prefix(event_type, when) + f"{batch}.jsonl")
        landing.write_bytes(paths[-1], ("\n".join(texts) + "\n").encode())
    return paths
