"""Seed 003's legacy combined format: accepted at the gateway, split in Silver.

Devices on old firmware send every reading as one flat JSON record (the seed's ``bronze_raw_events``)::

    {"device_id": 3, "store_id": 3, "type": "heartbeat", "timestamp": "2024-03-01T08:00:00Z",
     "data": {"uptime_seconds": 3600, "cpu_temp_c": 51.2, ...}}

- **Accepted** (:func:`wrap_legacy`): each line becomes a ``raw_event`` envelope (``lib/specs/edge.py``) whose
  ``trace_id`` is a digest of the line, so a record sent twice is one event; ``ingest_timestamp`` is the record's
  ``timestamp`` (legacy records carry no gateway time). A line that is not a JSON object with a readable
  ``timestamp`` is still landed, under the day the file arrived for, with what could be read (``kind`` missing):
  Bronze then quarantines it with its reason, so nothing is dropped silently. The format has no place for the
  envelope's ``correlation_id`` / ``session_id`` (a transcript's interaction): split events have them NULL.
- **Split** (:func:`split_raw_events`): Silver reads ``data`` of the records of one kind as that event type's payload
  (types from its spec). A record whose ``data`` is not an object, or lacks a required field, or holds a value of the
  wrong type, is rejected with the field named.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import polars as pl

from retail_assets.lib.edge.landing import encode_events
from retail_assets.lib.landing import LandingZone, event_prefix
from retail_assets.lib.specs.edge import LEGACY_KINDS, RAW_EVENT
from retail_assets.lib.specs.model import ColumnSpec, DType
from retail_assets.lib.specs.registry import EDGE_REGISTRY, event_columns, polars_schema

SOURCE = "scout-legacy-gateway"
_KIND_OF = {event_type: kind for kind, event_type in LEGACY_KINDS.items()}
_IDENTITY = ("device_id", "store_id")


def to_legacy(events: pl.DataFrame, event_type: str) -> list[str]:
    """Events of ``event_type`` as the legacy firmware sends them (for simulations and tests)."""
    payload = [c.name for c in EDGE_REGISTRY.event(event_type).payload if c.name not in _IDENTITY]
    stamp = "%Y-%m-%dT%H:%M:%S%.6fZ"
    data = pl.struct(
        *(pl.col(c).dt.strftime(stamp) if isinstance(events.schema[c], pl.Datetime) else pl.col(c) for c in payload)
    ).alias("data")
    doc = pl.struct(
        "device_id", "store_id", pl.lit(_KIND_OF[event_type]).alias("type"),
        pl.col("ingest_timestamp").dt.strftime(stamp).alias("timestamp"), data,
    )
    return events.select(doc.struct.json_encode()).to_series().to_list()


def _record(line: str, day: dt.date) -> dict:
    digest = hashlib.blake2b(line.encode(), digest_size=10).hexdigest()
    base = {"trace_id": f"legacy-{digest}", "ingest_timestamp": dt.datetime.combine(day, dt.time(), dt.UTC)}
    try:
        doc = json.loads(line)
    except json.JSONDecodeError:
        return {**base, "data": line}
    if not isinstance(doc, dict):
        return {**base, "data": line}
    try:
        at = dt.datetime.fromisoformat(str(doc.get("timestamp")).replace("Z", "+00:00")).astimezone(dt.UTC)
    except ValueError:
        return {**base, "data": line}
    ids = {k: doc.get(k) if isinstance(doc.get(k), int) else None for k in _IDENTITY}
    kind = doc.get("type") if isinstance(doc.get("type"), str) else None
    data = doc.get("data")
    return {
        **base,
        **ids,
        "ingest_timestamp": at,
        "kind": kind,
        "recorded_at": at,
        "data": json.dumps(data, separators=(",", ":")) if isinstance(data, dict) else json.dumps(data),
        "partition_key": f"device_{ids['device_id']}",
    }


def wrap_legacy(lines: list[str], day: dt.date) -> pl.DataFrame:
    """Legacy records received for ``day`` → ``raw_event`` events (envelope + payload columns)."""
    records = [_record(line, day) for line in lines if line.strip()]
    frame = pl.DataFrame(records, schema=polars_schema(event_columns(RAW_EVENT)))
    return frame.with_columns(
        pl.lit(RAW_EVENT.event_type).alias("event_type"),
        pl.lit("1.0").alias("schema_version"),
        pl.lit(SOURCE).alias("source"),
    )


def land_legacy(landing: LandingZone, lines: list[str], day: dt.date, batch: str) -> list[str]:
    """Land a legacy file received for ``day``: its records as ``raw_event`` envelopes, one file per UTC day of
    their timestamps (a record of another day is filed under its own day, as every event is)."""
    frame = wrap_legacy(lines, day)
    written = []
    for (event_day,), rows in sorted(
        frame.with_columns(pl.col("ingest_timestamp").dt.date().alias("__day"))
        .partition_by("__day", as_dict=True, maintain_order=True)
        .items()
    ):
        path = f"{event_prefix(RAW_EVENT.event_type, event_day)}{batch}.jsonl"
        landing.write_bytes(path, encode_events(rows.drop("__day")))
        written.append(path)
    return written


def _read(value: object, dtype: DType) -> tuple[bool, object]:
    """(readable, value) of one ``data`` field against its spec type (JSON has no timestamps: ISO 8601 text)."""
    if value is None:
        return True, None
    if dtype in (DType.INT32, DType.INT64):
        return (isinstance(value, int) and not isinstance(value, bool)), value
    if dtype is DType.FLOAT64:
        return (isinstance(value, int | float) and not isinstance(value, bool)), value
    if dtype is DType.STRING:
        return isinstance(value, str), value
    if dtype is DType.TIMESTAMP and isinstance(value, str):
        try:
            return True, dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(dt.UTC)
        except ValueError:
            return False, value
    return False, value


def _split(data: str, fields: list[ColumnSpec]) -> tuple[dict, tuple[str, str] | None]:
    try:
        doc = json.loads(data)
    except json.JSONDecodeError:
        doc = None
    if not isinstance(doc, dict):
        return {}, ("data", "data is not a JSON object")
    values = {}
    for c in fields:
        ok, value = _read(doc.get(c.field), c.dtype)
        if not ok:
            return {}, (c.name, f"{c.name} = {json.dumps(doc.get(c.field))} cannot be read as {c.dtype.value}")
        if value is None and not c.nullable:
            return {}, (c.name, f"{c.name} is missing")
        values[c.name] = value
    return values, None


def split_raw_events(raw: pl.DataFrame, event_type: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bronze ``raw_events`` rows of the kind of ``event_type`` → (events with that type's envelope and payload
    columns, rejected records with ``trace_id``, ``column_name``, ``value`` (the record's data), ``reason``).

    Value constraints (ranges, allowed values) are not checked here: the split events meet the same Silver rules as
    the typed stream's."""
    event = EDGE_REGISTRY.event(event_type)
    fields = [c for c in event.payload if c.name not in _IDENTITY]
    kind = _KIND_OF[event_type]
    events, rejected = [], []
    for row in raw.filter(pl.col("kind") == kind).iter_rows(named=True):
        values, problem = _split(row["data"], fields)
        if problem is None:
            events.append({**row, **values, "event_type": event_type})
        else:
            column, reason = problem
            rejected.append(
                {
                    "trace_id": row["trace_id"],
                    "column_name": column,
                    "value": row["data"],
                    "reason": f"raw_events record {row['trace_id']} ({kind} of device {row['device_id']}): {reason}",
                }
            )
    schema = polars_schema(event_columns(event))
    columns = list(schema.names())
    return (
        pl.DataFrame([{c: e.get(c) for c in columns} for e in events], schema=schema),
        pl.DataFrame(rejected, schema={"trace_id": pl.String, "column_name": pl.String, "value": pl.String,
                                       "reason": pl.String}),
    )
