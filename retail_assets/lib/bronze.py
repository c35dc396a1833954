"""Bronze ingestion: landed files -> typed rows with lineage, plus quarantined rows with reasons.

Pure functions over a :class:`LandingZone`; the Dagster assets in ``defs/bronze.py`` only wire
them to partitions, the lake and checks. For every load the counts reconcile:
``rows landed = rows written + rows quarantined + exact duplicates dropped``.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.conform import REJECTION_SCHEMA, ROW_NUMBER, SchemaDrift, conform, quarantine_frame
from retail_assets.lib.landing import LandingFile, LandingPathError, LandingZone, parse_landing_path
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
    kind = type(value)
    if kind is str or value is None:
        return value
    if kind is float and value.is_integer():
        # JSON has one number type: 4.0 is the integer 4 (as polars' decoder and KQL read it too).
        return str(int(value))
    if kind is int or kind is float:
        return repr(value)
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
    typed: pl.DataFrame | None = None  # the same rows already typed to the spec (clean files only)


# A JSON object key: a string followed by a colon. Strings that merely contain such text make the
# check below cautious (the file then goes line by line), never wrong.
_KEY = r'"(?:[^"\\]|\\.)*"\s*:'


_ISO_TIMESTAMP = "%Y-%m-%dT%H:%M:%S%.fZ"


def _typed(text: pl.DataFrame, columns) -> pl.DataFrame | None:
    """Text columns typed as conform types them, for the value shapes a clean file has; None if any
    non-empty value would not read (conform then gives the reason)."""
    exprs, lost = [], []
    for c in columns:
        value = pl.col(c.name).str.strip_chars()
        value = pl.when(value.str.len_chars() > 0).then(value)
        match c.dtype.name:
            case "STRING":
                typed = value
            case "INT32" | "INT64" | "FLOAT64":
                typed = value.cast(c.polars_dtype, strict=False)
            case "TIMESTAMP":
                typed = value.str.to_datetime(_ISO_TIMESTAMP, time_unit="us", time_zone="UTC", strict=False)
            case _:
                return None
        exprs.append(typed.alias(c.name))
        lost.append((typed.is_null() & value.is_not_null()).any())
    if any(text.select(pl.any_horizontal(lost)).row(0)):
        return None
    return text.select(exprs)


def _only_known_keys(text: pl.Series, keys: list[str]) -> bool:
    """No line has a key outside ``keys`` (a key may repeat: ``source`` is in the envelope and a payload).

    Fast when every line has every key once in compact form (what producers write): then the number
    of ``":`` equals the number of keys and each key is there as often as expected, which leaves
    no room for another key. Otherwise the keys are extracted and compared.
    """
    expected = Counter(f'"{k}":' for k in keys)
    complete = [text.str.count_matches('":', literal=True) == sum(expected.values())]
    complete += [text.str.count_matches(k, literal=True) == n for k, n in expected.items()]
    if pl.select(pl.all_horizontal(complete).all()).item():
        return True
    found = text.str.extract_all(_KEY).explode().drop_nulls().str.replace(r"\s*:$", "").unique()
    return bool(found.is_in([f'"{k}"' for k in keys]).all())


def _decode_clean_file(event: EventSpec, lines: list[bytes]) -> _ParsedEvents | None:
    """All lines at once with polars' JSON decoder, when every line is a well-formed event of this type.

    Returns None when any line needs a closer look (not JSON, wrong type or version, oversized, no
    payload object, unknown fields, a value that would not read): the caller then parses line by
    line, which gives each bad line its own reason. Values come out as the line-by-line parser
    gives them (numbers in their JSON spelling), and typed as conform types them, so both paths
    load a file identically. Event types with list fields always go line by line (rare events).
    """
    if any(c.dtype.name == "LIST_INT64" for c in event.payload) or any(len(raw) > MAX_EVENT_BYTES for raw in lines):
        return None
    payload_dtype = pl.Struct({c.field: pl.String for c in event.payload})
    try:
        text = pl.Series("line", lines, dtype=pl.Binary).cast(pl.String)
        decoded = text.str.json_decode(pl.Struct({**{c.name: pl.String for c in ENVELOPE}, "payload": payload_dtype}))
    except pl.exceptions.PolarsError:
        return None
    if decoded.null_count():
        return None
    decoded = decoded.struct.unnest()
    payload = decoded.get_column("payload").struct.unnest()
    if not (
        payload.height == decoded.height
        and (decoded.get_column("event_type") == event.event_type).fill_null(False).all()
        and decoded.get_column("schema_version").is_in(list(SCHEMA_VERSIONS)).fill_null(False).all()
        and _only_known_keys(text, [*(c.name for c in ENVELOPE), "payload", *(c.field for c in event.payload)])
    ):
        return None
    frame = pl.concat(
        [decoded.select(c.name for c in ENVELOPE), payload.select(pl.col(c.field).alias(c.name) for c in event.payload)],
        how="horizontal",
    )
    typed = _typed(frame, [*ENVELOPE, *event.payload])
    if typed is None:
        return None
    return _ParsedEvents(frame, list(range(1, len(lines) + 1)), text.to_list(), [], set(), len(lines), typed)


def parse_event_lines(event: EventSpec, path: str, data: bytes) -> _ParsedEvents:
    """Split a JSONL file into structurally valid events (as text columns) and rejected lines.

    A clean file (the usual case) is decoded at once by polars; a file with any questionable line
    goes line by line, so every bad line gets its own reason and nothing else is lost.
    """
    raw_lines = data.splitlines()
    if raw_lines and all(raw and not raw.isspace() for raw in raw_lines):
        fast = _decode_clean_file(event, raw_lines)
        if fast is not None:
            return fast
    envelope_fields = [c.name for c in ENVELOPE]
    payload_fields = [(c.name, c.field) for c in event.payload]
    known_envelope = {*envelope_fields, "payload"}
    known_payload = {json_field for _, json_field in payload_fields}
    docs: list[dict] = []
    payloads: list[dict] = []
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
        if not raw or raw.isspace():
            continue
        total += 1
        if len(raw) > MAX_EVENT_BYTES:
            line = raw.decode("utf-8", errors="replace")
            reject(number, line[:4096], "oversized", f"event of {len(raw)} bytes exceeds the {MAX_EVENT_BYTES}-byte limit")
            continue
        try:
            line = raw.decode("utf-8")
        except UnicodeDecodeError:
            reject(number, raw.decode("utf-8", errors="replace"), "malformed_json", "not valid UTF-8")
            continue
        try:
            doc = json.loads(line)
        except json.JSONDecodeError as exc:
            reject(number, line, "malformed_json", f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if type(doc) is not dict:
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
        if type(payload) is not dict:
            reject(number, line, "malformed_payload", "payload must be a JSON object", "payload", _text(payload))
            continue
        if payload.keys() - known_payload:
            extra.update(payload.keys() - known_payload)
        if doc.keys() - known_envelope:
            extra.update(doc.keys() - known_envelope)
        docs.append(doc)
        payloads.append(payload)
        line_numbers.append(number)
        lines.append(line)
    columns = {name: [_text(d.get(name)) for d in docs] for name in envelope_fields}
    columns.update({name: [_text(p.get(json_field)) for p in payloads] for name, json_field in payload_fields})
    frame = pl.DataFrame({k: pl.Series(k, v, dtype=pl.String) for k, v in columns.items()})
    return _ParsedEvents(frame, line_numbers, lines, rejected, extra, total)


@dataclass
class EventFileLoad:
    """One landed event file: typed rows (not yet deduplicated across files) and its rejected lines."""

    rows: pl.DataFrame  # bronze columns + __line
    quarantine: pl.DataFrame
    landed: int
    extra_fields: set[str]


def load_event_file(
    landing: LandingZone, event: EventSpec, f: LandingFile, month: dt.date, ingested_at: dt.datetime
) -> EventFileLoad:
    """Parse, type and partition-check one event file filed under ``month``."""
    event_type = event.event_type
    columns = event_columns(event)
    parsed = parse_event_lines(event, f.path.path, landing.read_bytes(f.path.path))
    raw_lines = dict(zip(parsed.line_numbers, parsed.lines, strict=True))
    result = conform(
        parsed.frame if parsed.typed is None else parsed.typed,
        columns,
        source=f"event {event_type}, file {f.path.path}",
        text_source=parsed.typed is None,
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
    rows = result.rows.rename({ROW_NUMBER: "__line"}).with_columns(month_start("ingest_timestamp").alias(PARTITION_COLUMN))
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
    quarantine = _quarantine(pl.concat(rejected, how="vertical"), table=event_type, month=month, f=f, at=ingested_at)
    return EventFileLoad(_lineage(rows, f, ingested_at), quarantine, parsed.total, parsed.extra_fields)


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
    loads = [load_event_file(landing, event, f, month, ingested_at) for f in files]
    rows, duplicates, conflicts = _dedupe_on_trace_id([load.rows for load in loads], event_type, month, ingested_at)
    return BronzeLoad(
        table=event_type,
        month=month,
        rows=_concat([rows], bronze_columns(event_type)),
        quarantine=_concat([*(load.quarantine for load in loads), conflicts], QUARANTINE_COLUMNS),
        files=[f.path.path for f in files],
        landed_rows=sum(load.landed for load in loads),
        duplicates_dropped=duplicates,
        drift=SchemaDrift(extra=tuple(sorted(set().union(*(load.extra_fields for load in loads))))),
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


# ---- incremental event batches ---------------------------------------------------------------


class BatchPathError(LandingPathError):
    """A run named a landing file that is not an event file of its event type and month."""


@dataclass
class BatchIngest:
    """The result of ingesting named event files into one Bronze month."""

    load: BronzeLoad  # rows and quarantine of these files, as stored after the ingest
    skipped: bool  # the files were already ingested with the same result: nothing was committed
    version: int | None  # Bronze table version after the ingest
    duplicates_of_earlier: int = 0  # exact duplicates of events already in Bronze from other files
    conflicts_with_earlier: int = 0  # events reusing a trace_id already in Bronze with other content


def batch_files(event_type: str, month: dt.date, paths: Sequence[str]) -> list[LandingFile]:
    """Validate the landing paths a run names: event files of ``event_type`` filed under ``month``."""
    if not paths:
        raise BatchPathError(f"event {event_type} {month:%Y-%m}: no landing files named")
    files = []
    for path in dict.fromkeys(paths):
        parsed = parse_landing_path(path)
        if parsed.kind != "events" or parsed.table != event_type:
            raise BatchPathError(
                f"bronze/{event_type} {month:%Y-%m}: landing file {path} is not an {event_type} event file "
                f"(expected events/{event_type}/<YYYY-MM-DD>/<batch>.jsonl)"
            )
        if parsed.month != month:
            raise BatchPathError(
                f"bronze/{event_type} {month:%Y-%m}: landing file {path} is filed under {parsed.month:%Y-%m}; "
                f"request it in a run for partition {parsed.month.isoformat()}"
            )
        files.append(LandingFile(parsed, 0, dt.datetime.now(dt.UTC)))
    return files


def _sql_list(values: Iterable[str]) -> str:
    return ", ".join("'" + v.replace("'", "''") + "'" for v in values)


def batch_predicate(month: dt.date, paths: Sequence[str], column: str = "_source_file") -> str:
    """Delta predicate selecting the rows of ``paths`` in ``month``."""
    return f"{PARTITION_COLUMN} = '{month.isoformat()}' AND {column} IN ({_sql_list(paths)})"


def _stored(lake, table: str, month: dt.date, column: str, paths: Sequence[str], schema: dict) -> pl.DataFrame:
    if not lake.exists(table):
        return pl.DataFrame(schema=schema)
    return lake.scan(table, [month]).filter(pl.col(column).is_in(list(paths))).collect()


def _same(stored: pl.DataFrame, new: pl.DataFrame, ignore: str, order: list[str]) -> bool:
    if stored.height != new.height:
        return False
    columns = [c for c in new.columns if c != ignore]
    return stored.select(columns).sort(order, nulls_last=True).equals(new.select(columns).sort(order, nulls_last=True))


def ingest_event_batch(
    lake,
    landing: LandingZone,
    event_type: str,
    month: dt.date,
    paths: Sequence[str],
    ingested_at: dt.datetime,
    *,
    commit_metadata: dict[str, str] | None = None,
) -> BatchIngest:
    """Ingest exactly ``paths`` into ``bronze/<event_type>`` for ``month``: idempotent, one commit per table.

    The files' rows replace whatever those files left before (predicate ``month_start = … AND
    _source_file IN (…)``), other files' rows are untouched. Events whose trace_id is already in
    the month from another file are exact duplicates (dropped, counted) or conflicts (quarantined
    as ``conflicting_duplicate``); the earlier event stays. When the result equals what is stored
    for these files, nothing is committed: ingesting the same batch twice changes nothing, Delta
    version included. Writers of one table and month must not run concurrently (the Dagster pool
    ``bronze_events`` serialises them; see docs/streaming.md).
    """
    event = REGISTRY.event(event_type)
    files = batch_files(event_type, month, paths)
    names = [f.path.path for f in files]
    table, quarantine_table = f"bronze/{event_type}", f"quarantine/bronze/{event_type}"
    loads = []
    for f in files:
        try:
            loads.append(load_event_file(landing, event, f, month, ingested_at))
        except (FileNotFoundError, LookupError) as exc:
            raise LandingFileError(f"event {event_type}: landing file {f.path.path} named by the run cannot be read: {exc}") from exc
    rows, in_batch_duplicates, in_batch_conflicts = _dedupe_on_trace_id([x.rows for x in loads], event_type, month, ingested_at)
    columns = bronze_columns(event_type)
    schema = polars_schema(columns)
    content = [c.name for c in event_columns(event)]
    rows = rows.select([pl.col(n).cast(t) for n, t in schema.items()] + (["__line"] if "__line" in rows.columns else []))
    earlier_duplicates, earlier_conflicts = 0, empty_frame(QUARANTINE_COLUMNS)
    if rows.height and lake.exists(table):
        earlier = (
            lake.scan(table, [month])
            .filter(~pl.col("_source_file").is_in(names) & pl.col("trace_id").is_in(rows.get_column("trace_id").implode()))
            .select([pl.col(n).cast(schema[n]) for n in content] + [pl.col("_source_file").alias("__earlier_file")])
            .collect()
            .unique("trace_id", keep="first")
        )
        if earlier.height:
            matched = rows.join(
                earlier.select("trace_id", "__earlier_file", pl.struct(content).hash().alias("__earlier")),
                on="trace_id",
                how="left",
            ).with_columns(pl.struct(content).hash().alias("__content"))
            exact = matched.filter(pl.col("__earlier") == pl.col("__content"))
            conflicting = matched.filter(pl.col("__earlier").is_not_null() & (pl.col("__earlier") != pl.col("__content")))
            earlier_duplicates = exact.height
            earlier_conflicts = quarantine_frame(
                conflicting.select(
                    pl.col("__line").alias("row_number"),
                    pl.lit("trace_id").alias("column_name"),
                    pl.col("trace_id").alias("value"),
                    pl.lit("conflicting_duplicate").alias("reason_code"),
                    pl.format(
                        f"event {event_type}, file {{}}, line {{}}: trace_id {{}} was already ingested from {{}} with "
                        "different content; the earlier event is kept",
                        pl.col("_source_file"),
                        pl.col("__line"),
                        pl.col("trace_id"),
                        pl.col("__earlier_file"),
                    ).alias("reason"),
                    pl.struct(content).struct.json_encode().alias("record"),
                    pl.col("_source_file").alias("source_file"),
                    pl.col("_batch_id").alias("batch_id"),
                ),
                table=event_type,
                month=month,
                quarantined_at=ingested_at,
            )
            rows = matched.filter(pl.col("__earlier").is_null()).drop("__earlier", "__content", "__earlier_file")
    rows = _concat([rows], columns)
    quarantine = _concat([*(x.quarantine for x in loads), in_batch_conflicts, earlier_conflicts], QUARANTINE_COLUMNS)
    load = BronzeLoad(
        table=event_type,
        month=month,
        rows=rows,
        quarantine=quarantine,
        files=names,
        landed_rows=sum(x.landed for x in loads),
        duplicates_dropped=in_batch_duplicates + earlier_duplicates,
        drift=SchemaDrift(extra=tuple(sorted(set().union(*(x.extra_fields for x in loads))))),
    )
    stored_rows = _stored(lake, table, month, "_source_file", names, schema)
    stored_quarantine = _stored(lake, quarantine_table, month, "source_file", names, polars_schema(QUARANTINE_COLUMNS))
    rows_same = _same(stored_rows, rows, "_ingested_at", ["_source_file", "trace_id"])
    quarantine_same = _same(
        stored_quarantine, quarantine, "quarantined_at", ["source_file", "row_number", "reason_code", "column_name", "value"]
    )
    common = {"earlier_duplicates": earlier_duplicates, "earlier_conflicts": earlier_conflicts.height}
    if rows_same and quarantine_same:
        load.rows, load.quarantine = stored_rows.select(rows.columns), stored_quarantine.select(quarantine.columns)
        return BatchIngest(load, True, lake.version(table), common["earlier_duplicates"], common["earlier_conflicts"])
    predicate = batch_predicate(month, names)
    if not rows_same:
        if rows.height:
            lake.replace(table, rows, predicate=predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata)
        else:
            lake.delete(table, predicate, commit_metadata=commit_metadata)
    if not quarantine_same:
        q_predicate = batch_predicate(month, names, "source_file")
        if quarantine.height:
            lake.replace(
                quarantine_table, quarantine, predicate=q_predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata
            )
        else:
            lake.delete(quarantine_table, q_predicate, commit_metadata=commit_metadata)
    version = lake.version(table) if lake.exists(table) else None
    return BatchIngest(load, False, version, common["earlier_duplicates"], common["earlier_conflicts"])
