"""Bronze ingestion: landed files -> typed rows with lineage, plus quarantined rows with reasons.

Pure functions over a :class:`LandingZone`; the Dagster assets in ``defs/bronze.py`` only wire
them to partitions, the lake and checks. For every load the counts reconcile:
``rows landed = rows written + rows quarantined + exact duplicates dropped``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.conform import REJECTION_SCHEMA, ROW_NUMBER, SchemaDrift, conform, quarantine_frame
from retail_assets.lib.landing import LandingFile, LandingZone
from retail_assets.lib.partitions import month_start
from retail_assets.lib.specs import (
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    REGISTRY,
    EventSpec,
    TableSpec,
    bronze_columns,
    empty_frame,
    event_columns,
    polars_schema,
)
from retail_assets.lib.specs.events import ENVELOPE, SCHEMA_VERSIONS

# Largest event accepted, in bytes of its JSON line: Event Hubs' own message limit (premium tier).
MAX_EVENT_BYTES = 1024 * 1024


class LandingFileError(ValueError):
    """A landed file cannot be read at all; the message names the file and table."""


class NoLandedData(LookupError):
    """Nothing has landed for a table (and month) that must have data."""


@dataclass
class BronzeLoad:
    """The result of loading one month (or one dimension snapshot) into Bronze."""

    table: str
    month: dt.date
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    files: list[str] = field(default_factory=list)
    landed_rows: int = 0
    duplicates_dropped: int = 0
    drift: SchemaDrift = field(default_factory=SchemaDrift)
    # file -> drift description, for files whose columns differ from the spec
    file_drift: dict[str, str] = field(default_factory=dict)

    @property
    def reconciles(self) -> bool:
        return self.landed_rows == self.rows.height + self.quarantine.height + self.duplicates_dropped


def _lineage(df: pl.DataFrame, f: LandingFile, ingested_at: dt.datetime) -> pl.DataFrame:
    return df.with_columns(
        pl.lit(f.path.path).alias("_source_file"),
        pl.lit(f.path.batch_id).alias("_batch_id"),
        pl.lit(ingested_at, dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
    )


def _quarantine(conformed_rejected: pl.DataFrame, *, table: str, month: dt.date, f: LandingFile | None, at: dt.datetime):
    return quarantine_frame(
        conformed_rejected,
        table=table,
        month=month,
        source_file=f.path.path if f else None,
        batch_id=f.path.batch_id if f else None,
        quarantined_at=at,
    )


def read_batch_file(landing: LandingZone, f: LandingFile) -> tuple[pl.DataFrame, bool]:
    """A landed Parquet or CSV file as a frame, and whether it is text (CSV: every column a string)."""
    try:
        data = landing.read_bytes(f.path.path)
        if f.path.file_format == ".parquet":
            return pl.read_parquet(io.BytesIO(data)), False
        return pl.read_csv(io.BytesIO(data), infer_schema=False), True
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise LandingFileError(
            f"table {f.path.table}: landed file {f.path.path} cannot be read as {f.path.file_format}: {exc}"
        ) from exc


def _load_batch_files(
    landing: LandingZone,
    spec: TableSpec,
    files: Sequence[LandingFile],
    month: dt.date,
    ingested_at: dt.datetime,
    *,
    partition_column: str,
) -> BronzeLoad:
    frames, quarantined, drift, file_drift, landed = [], [], SchemaDrift(), {}, 0
    for f in files:
        raw, text = read_batch_file(landing, f)
        landed += raw.height
        result = conform(raw, spec.columns, source=f"table {spec.name}, file {f.path.path}", text_source=text)
        drift = drift.merge(result.drift)
        if not result.drift.ok:
            file_drift[f.path.path] = result.drift.describe()
        rows = result.rows
        if spec.kind == "fact":
            rows, stray = _split_by_month(rows, spec, f, month)
            quarantined.append(_quarantine(stray, table=spec.name, month=month, f=f, at=ingested_at))
        else:
            rows = rows.with_columns(pl.lit(month).alias(partition_column))
        frames.append(_lineage(rows, f, ingested_at))
        quarantined.append(_quarantine(result.rejected, table=spec.name, month=month, f=f, at=ingested_at))
    columns = bronze_columns(spec.name)
    return BronzeLoad(
        table=spec.name,
        month=month,
        rows=_concat(frames, columns),
        quarantine=_concat(quarantined, QUARANTINE_COLUMNS),
        files=[f.path.path for f in files],
        landed_rows=landed,
        drift=drift,
        file_drift=file_drift,
    )


def _split_by_month(
    rows: pl.DataFrame, spec: TableSpec, f: LandingFile, month: dt.date
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose time column falls in ``month``, and rejections for the rows filed under the wrong month."""
    assert spec.time_column is not None
    rows = rows.with_columns(month_start(spec.time_column).alias(PARTITION_COLUMN))
    wrong = rows.filter(pl.col(PARTITION_COLUMN) != month)
    if not wrong.height:
        return rows, REJECTION_SCHEMA.to_frame()
    time_column = spec.time_column
    stray = wrong.select(
        pl.lit(None, dtype=pl.Int64).alias("row_number"),
        pl.lit(time_column).alias("column_name"),
        pl.col(time_column).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ").alias("value"),
        pl.lit("wrong_partition").alias("reason_code"),
        pl.format(
            f"table {spec.name}, file {f.path.path}: {time_column} {{}} is in {{}}, but the file is filed under "
            f"{month:%Y-%m}; land it under that month's folder",
            pl.col(time_column).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
            pl.col(PARTITION_COLUMN).dt.to_string("%Y-%m"),
        ).alias("reason"),
        pl.struct(pl.all().exclude(PARTITION_COLUMN)).struct.json_encode().alias("record"),
    )
    return rows.filter(pl.col(PARTITION_COLUMN) == month), stray


def _concat(frames: Iterable[pl.DataFrame], columns) -> pl.DataFrame:
    schema = polars_schema(columns)
    parts = [f.select([pl.col(n).cast(t) for n, t in schema.items()]) for f in frames if f.height]
    return pl.concat(parts, how="vertical") if parts else empty_frame(columns)


def load_fact_month(landing: LandingZone, table: str, month: dt.date, ingested_at: dt.datetime) -> BronzeLoad:
    """Every batch file landed for ``table`` and ``month``.

    A month with no file loads as empty (the current month may only have streamed events so far);
    the asset reports it with a warning rather than failing, so Silver can still run.
    """
    spec = REGISTRY.table(table)
    files = landing.batch_files(table, month)
    return _load_batch_files(landing, spec, files, month, ingested_at, partition_column=PARTITION_COLUMN)


def load_dimension(landing: LandingZone, table: str, ingested_at: dt.datetime) -> list[BronzeLoad]:
    """Every landed snapshot of a dimension, one load per snapshot month."""
    spec = REGISTRY.table(table)
    snapshots = landing.dimension_snapshots(table)
    if not snapshots:
        raise NoLandedData(
            f"dimension {table}: no snapshot landed under batch/{table}/<YYYY-MM>/ (Parquet or CSV); "
            "land one there or materialize the generator"
        )
    return [
        _load_batch_files(landing, spec, files, month, ingested_at, partition_column="snapshot_month")
        for month, files in snapshots.items()
    ]


# ---- events ----------------------------------------------------------------------------------


def _text(value: object) -> str | None:
    """A JSON value as text, for typing against the spec (numbers keep their JSON spelling)."""
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    return json.dumps(value, separators=(",", ":"))


@dataclass
class _ParsedEvents:
    frame: pl.DataFrame  # text columns, one row per structurally valid event
    line_numbers: list[int]
    lines: list[str]
    rejected: list[dict]
    extra_fields: set[str]
    total: int


def parse_event_lines(event: EventSpec, path: str, data: bytes) -> _ParsedEvents:
    """Split a JSONL file into structurally valid events (as text columns) and rejected lines."""
    envelope_fields = [c.name for c in ENVELOPE]
    payload_columns = list(event.payload)
    values: dict[str, list[str | None]] = {c.name: [] for c in (*ENVELOPE, *payload_columns)}
    line_numbers, lines, rejected, extra = [], [], [], set()
    total = 0
    where = f"event {event.event_type}, file {path}"

    def reject(number: int, line: str, code: str, reason: str, column: str | None = None, value: str | None = None):
        rejected.append(
            {
                "row_number": number,
                "column_name": column,
                "value": value,
                "reason_code": code,
                "reason": f"{where}, line {number}: {reason}",
                "record": line,
            }
        )

    for number, raw in enumerate(data.splitlines(), start=1):
        if not raw.strip():
            continue
        total += 1
        line = raw.decode("utf-8", errors="replace")
        if len(raw) > MAX_EVENT_BYTES:
            reject(number, line[:4096], "oversized", f"event of {len(raw)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit")
            continue
        try:
            doc = json.loads(raw)
        except json.JSONDecodeError as exc:
            reject(number, line, "malformed_json", f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        except UnicodeDecodeError:
            reject(number, line, "malformed_json", "not valid UTF-8")
            continue
        if not isinstance(doc, dict):
            reject(number, line, "malformed_json", "an event must be a JSON object")
            continue
        kind = doc.get("event_type")
        if kind != event.event_type:
            code = "unknown_event_type" if kind not in REGISTRY.events_by_type else "wrong_event_type"
            reject(
                number,
                line,
                code,
                f"event_type {kind!r} does not belong in events/{event.event_type}/",
                "event_type",
                _text(kind),
            )
            continue
        version = doc.get("schema_version")
        if version not in SCHEMA_VERSIONS:
            reject(
                number,
                line,
                "unsupported_schema_version",
                f"schema_version {version!r} is not supported (supported: {list(SCHEMA_VERSIONS)})",
                "schema_version",
                _text(version),
            )
            continue
        payload = doc.get("payload")
        if not isinstance(payload, dict):
            reject(number, line, "malformed_payload", "payload must be a JSON object", "payload", _text(payload))
            continue
        for name in envelope_fields:
            values[name].append(_text(doc.get(name)))
        for c in payload_columns:
            values[c.name].append(_text(payload.get(c.field)))
        extra.update(k for k in payload if k not in {c.field for c in payload_columns})
        extra.update(k for k in doc if k not in envelope_fields and k != "payload")
        line_numbers.append(number)
        lines.append(line)
    frame = pl.DataFrame({k: pl.Series(k, v, dtype=pl.String) for k, v in values.items()})
    return _ParsedEvents(frame, line_numbers, lines, rejected, extra, total)


def load_event_month(
    landing: LandingZone,
    event_type: str,
    month: dt.date,
    ingested_at: dt.datetime,
    files: Sequence[LandingFile] | None = None,
) -> BronzeLoad:
    """Events landed for ``month``: typed, deduplicated on trace_id, bad events quarantined.

    An exact duplicate of an event already seen (same trace_id, same content) is dropped and
    counted; a different event reusing a trace_id is quarantined as a conflict. Months without
    events load as empty (streaming may simply not have run).
    """
    event = REGISTRY.event(event_type)
    files = landing.event_files(event_type, month) if files is None else files
    columns = event_columns(event)
    frames, quarantined, extra_fields, landed = [], [], set(), 0
    for f in files:
        parsed = parse_event_lines(event, f.path.path, landing.read_bytes(f.path.path))
        landed += parsed.total
        extra_fields |= parsed.extra_fields
        raw_lines = dict(zip(parsed.line_numbers, parsed.lines, strict=True))
        result = conform(
            parsed.frame,
            columns,
            source=f"event {event_type}, file {f.path.path}",
            text_source=True,
            row_numbers=pl.Series(parsed.line_numbers, dtype=pl.Int64),
            keep_row_number=True,
        )
        rejected = [
            pl.DataFrame(parsed.rejected, schema=REJECTION_SCHEMA),
            # Keep the line exactly as landed, not its re-encoding.
            result.rejected.with_columns(
                pl.col("row_number").replace_strict(raw_lines, return_dtype=pl.String).alias("record")
            ),
        ]
        rows = result.rows.rename({ROW_NUMBER: "__line"}).with_columns(
            month_start("ingest_timestamp").alias(PARTITION_COLUMN)
        )
        wrong = rows.filter(pl.col(PARTITION_COLUMN) != month)
        if wrong.height:
            stamp = pl.col("ingest_timestamp").dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ")
            rejected.append(
                wrong.select(
                    pl.col("__line").alias("row_number"),
                    pl.lit("ingest_timestamp").alias("column_name"),
                    stamp.alias("value"),
                    pl.lit("wrong_partition").alias("reason_code"),
                    pl.format(
                        f"event {event_type}, file {f.path.path}, line {{}}: ingest_timestamp {{}} is not in "
                        f"{month:%Y-%m}; file events under the date of their ingest_timestamp",
                        pl.col("__line"),
                        stamp,
                    ).alias("reason"),
                    pl.col("__line").replace_strict(raw_lines, return_dtype=pl.String).alias("record"),
                )
            )
            rows = rows.filter(pl.col(PARTITION_COLUMN) == month)
        quarantined.append(
            _quarantine(pl.concat(rejected, how="vertical"), table=event_type, month=month, f=f, at=ingested_at)
        )
        frames.append(_lineage(rows, f, ingested_at))
    rows, duplicates, conflicts = _dedupe_on_trace_id(frames, event_type, month, ingested_at)
    quarantined.append(conflicts)
    return BronzeLoad(
        table=event_type,
        month=month,
        rows=_concat([rows], bronze_columns(event_type)),
        quarantine=_concat(quarantined, QUARANTINE_COLUMNS),
        files=[f.path.path for f in files],
        landed_rows=landed,
        duplicates_dropped=duplicates,
        drift=SchemaDrift(extra=tuple(sorted(extra_fields))),
    )


def _dedupe_on_trace_id(
    frames: list[pl.DataFrame], event_type: str, month: dt.date, at: dt.datetime
) -> tuple[pl.DataFrame, int, pl.DataFrame]:
    """Keep the first event per trace_id (files in name order, lines in order)."""
    frames = [f for f in frames if f.height]
    if not frames:
        return empty_frame(bronze_columns(event_type)), 0, empty_frame(QUARANTINE_COLUMNS)
    content = [c.name for c in event_columns(REGISTRY.event(event_type))]
    staged = (
        pl.concat(frames, how="vertical")
        .with_row_index("__order")
        .with_columns(pl.struct(content).hash().alias("__content"))
        .with_columns(
            (pl.col("__order") == pl.col("__order").min().over("trace_id")).alias("__first"),
            pl.col("__content").sort_by("__order").first().over("trace_id").alias("__first_content"),
        )
    )
    repeats = staged.filter(~pl.col("__first"))
    exact = repeats.filter(pl.col("__content") == pl.col("__first_content")).height
    conflicting = repeats.filter(pl.col("__content") != pl.col("__first_content"))
    conflicts = quarantine_frame(
        conflicting.select(
            pl.col("__line").alias("row_number"),
            pl.lit("trace_id").alias("column_name"),
            pl.col("trace_id").alias("value"),
            pl.lit("conflicting_duplicate").alias("reason_code"),
            pl.format(
                f"event {event_type}, file {{}}, line {{}}: trace_id {{}} was already ingested with different content",
                pl.col("_source_file"),
                pl.col("__line"),
                pl.col("trace_id"),
            ).alias("reason"),
            pl.struct(content).struct.json_encode().alias("record"),
            pl.col("_source_file").alias("source_file"),
            pl.col("_batch_id").alias("batch_id"),
        ),
        table=event_type,
        month=month,
        quarantined_at=at,
    )
    kept = staged.filter(pl.col("__first")).drop("__order", "__content", "__first", "__first_content")
    return kept, exact, conflicts
