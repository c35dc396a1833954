"""Bronze ingestion: landed files -> typed rows with lineage, plus quarantined rows with reasons.

Pure functions over a :class:`LandingZone`; the Dagster assets in ``defs/bronze.py`` only wire
them to partitions, the lake and checks. For every load the counts reconcile:
``rows landed = rows written + rows quarantined + exact duplicates dropped``, where a misnamed
file counts apart (it lands no row and leaves one quarantine row, ``bad_file_name``).

Events sharing a trace_id (one rule on every path: month rebuild, streamed batches, Event Hubs):
among the events of one type and month with the same trace_id, the one from the landing path
that sorts first (code-point order of the path relative to the landing root), then the lowest line,
is kept. A later one with the same content is an exact duplicate (dropped, counted); with different
content it is quarantined as ``conflicting_duplicate``. The outcome depends only on the landed
files, never on arrival order or file times: an incremental ingest whose file sorts before the
stored winner of a trace_id takes its place (the displaced row leaves Bronze in the same ingest).

Values are strict (see :mod:`retail_assets.lib.conform` for typing): an event line is rejected as a
whole for invalid JSON, a key repeated in one object (``duplicate_key``: parsers disagree on which
value wins), a NaN or Infinity number (``non_finite_number``), an unknown or misfiled event type,
an unsupported schema version; an event whose ``ingest_timestamp`` is outside the months the
platform serves (``out_of_range``), in another month than its folder (``wrong_partition``) or on
another day (``wrong_day``) is quarantined saying where it belongs. Reasons say "line N" for JSONL
and "row N" for Parquet/CSV files.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import math
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath

import polars as pl

from retail_assets.lib.conform import (
    CONTROL_CHARACTERS,
    REJECTION_SCHEMA,
    ROW_NUMBER,
    SchemaDrift,
    conform,
    identifier_columns,
    quarantine_frame,
)
from retail_assets.lib.landing import (
    LandingFile,
    LandingPathError,
    LandingZone,
    check_served,
    claimed_partition,
    parse_landing_path,
    served_months,
)
from retail_assets.lib.partitions import month_start
from retail_assets.lib.specs import (
    PARTITION_COLUMN,
    QUARANTINE_COLUMNS,
    EventSpec,
    TableSpec,
    bronze_columns,
    empty_frame,
    event_columns,
    polars_schema,
)
from retail_assets.lib.specs.envelope import ENVELOPE, SCHEMA_VERSIONS
from retail_assets.lib.specs.registry import find_event, find_table, is_event_type

# Largest event accepted, in bytes of its JSON line: Event Hubs' own message limit (premium tier).
MAX_EVENT_BYTES = 1024 * 1024
BAD_FILE_NAME = "bad_file_name"
CONFLICTING_DUPLICATE = "conflicting_duplicate"
_STAMP = "%Y-%m-%dT%H:%M:%S%.fZ"


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
    # misnamed files claiming this table and month: one quarantine row each, no landed row
    rejected_files: list[str] = field(default_factory=list)

    # Rows written when they were streamed to the lake chunk by chunk (``rows`` is then empty, with the schema).
    streamed_rows: int | None = None

    @property
    def row_count(self) -> int:
        return self.rows.height if self.streamed_rows is None else self.streamed_rows

    @property
    def reconciles(self) -> bool:
        rejected_rows = self.quarantine.height - len(self.rejected_files)
        return self.landed_rows == self.row_count + rejected_rows + self.duplicates_dropped


def _lineage(df: pl.DataFrame, f: LandingFile, ingested_at: dt.datetime) -> pl.DataFrame:
    return df.with_columns(
        pl.lit(f.path.path).alias("_source_file"),
        pl.lit(f.path.batch_id).alias("_batch_id"),
        pl.lit(ingested_at, dtype=pl.Datetime("us", "UTC")).alias("_ingested_at"),
    )


def _quarantine(conformed_rejected: pl.DataFrame, *, table: str, month: dt.date, f: LandingFile | None, at: dt.datetime):
    if not conformed_rejected.height:  # the usual case: the same empty frame, without a query per column
        return empty_frame(QUARANTINE_COLUMNS)
    return quarantine_frame(
        conformed_rejected,
        table=table,
        month=month,
        source_file=f.path.path if f else None,
        batch_id=f.path.batch_id if f else None,
        quarantined_at=at,
    )


def _concat(frames: Iterable[pl.DataFrame], columns) -> pl.DataFrame:
    schema = polars_schema(columns)
    parts = [f.select([pl.col(n).cast(t) for n, t in schema.items()]) for f in frames if f.height]
    return pl.concat(parts, how="vertical") if parts else empty_frame(columns)


# ---- misnamed files --------------------------------------------------------------------------


def bad_file_rows(bad: Sequence[tuple[str, str]], quarantined_at: dt.datetime) -> tuple[pl.DataFrame, list[tuple[str, str]]]:
    """Quarantine rows (``bad_file_name``) for misnamed landing files, and the (path, reason) of those that
    claim no table and served month (only ``retail-assets landing check`` can report them).

    Each row is filed under the table and month the path claims (:func:`claimed_partition`), with
    the path as value and record and the path error as reason, so every path writes the same row.
    """
    rows, unattributed = [], []
    for path, reason in sorted(bad):
        claimed = claimed_partition(path)
        if claimed is None:
            unattributed.append((path, reason))
            continue
        table, month = claimed
        rows.append(
            {
                "table_name": table,
                PARTITION_COLUMN: month,
                "source_file": path,
                "batch_id": PurePosixPath(path).stem,
                "trace_id": None,
                "row_number": None,
                "column_name": None,
                "value": path,
                "reason_code": BAD_FILE_NAME,
                "reason": f"{reason}; the file was not loaded",
                "record": path,
                "quarantined_at": quarantined_at,
            }
        )
    return pl.DataFrame(rows, schema=polars_schema(QUARANTINE_COLUMNS)), unattributed


@dataclass
class BadFileQuarantine:
    """What :func:`quarantine_bad_files` did: rows per (table, month) and the paths it could not attribute."""

    rows: dict[tuple[str, dt.date], int] = field(default_factory=dict)
    unattributed: list[tuple[str, str]] = field(default_factory=list)
    committed: int = 0  # tables written (0 when every row was already there)


def quarantine_bad_files(
    lake,
    bad: Sequence[tuple[str, str]],
    quarantined_at: dt.datetime,
    *,
    commit_metadata: dict[str, str] | None = None,
) -> BadFileQuarantine:
    """Write one ``bad_file_name`` row per misnamed landing file into ``quarantine/bronze/<table>``, idempotently.

    ``bad`` is the (path, reason) list of :meth:`LandingZone.scan`. Rows replace those of the same
    paths in the month they claim (predicate ``month_start = … AND source_file IN (…)``), and nothing
    is committed when they are already there: a poller may call this on every scan. The rows equal
    what a month rebuild writes for the same files. Paths that claim no table and served month are
    returned in ``unattributed`` (log them once; ``retail-assets landing check`` lists them).
    """
    frame, unattributed = bad_file_rows(bad, quarantined_at)
    report = BadFileQuarantine(unattributed=unattributed)
    for (table, month), part in sorted(frame.partition_by("table_name", PARTITION_COLUMN, as_dict=True).items()):
        target, paths = f"quarantine/bronze/{table}", part.get_column("source_file").to_list()
        report.rows[(table, month)] = part.height
        stored = _stored(lake, target, month, "source_file", paths, polars_schema(QUARANTINE_COLUMNS))
        if _same(stored, part, "quarantined_at", ["source_file"]):
            continue
        lake.replace(
            target,
            part,
            predicate=batch_predicate(month, paths, "source_file"),
            partition_by=[PARTITION_COLUMN],
            commit_metadata=commit_metadata,
        )
        report.committed += 1
    return report


# ---- batch files (facts and dimension snapshots) ------------------------------------------------


def read_batch_file(landing: LandingZone, f: LandingFile) -> tuple[pl.DataFrame, bool]:
    """A landed Parquet or CSV file as a frame, and whether it is text (CSV: every column a string).

    CSV fields are read as written: an empty field is the empty string (typing reads it as no value
    and says "empty" when the column is required)."""
    try:
        data = landing.read_bytes(f.path.path)
        if f.path.file_format == ".parquet":
            return pl.read_parquet(io.BytesIO(data)), False
        return pl.read_csv(io.BytesIO(data), infer_schema=False, empty_string_is_null=False), True
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
    identifiers = identifier_columns(spec.columns, spec.primary_key)
    for f in files:
        raw, text = read_batch_file(landing, f)
        landed += raw.height
        result = conform(
            raw,
            spec.columns,
            source=f"table {spec.name}, file {f.path.path}",
            text_source=text,
            keep_row_number=True,
            identifiers=identifiers,
        )
        drift = drift.merge(result.drift)
        if not result.drift.ok:
            file_drift[f.path.path] = result.drift.describe()
        rows = result.rows
        if spec.kind == "fact":
            rows, stray = _split_by_month(rows, spec, f, month, ingested_at)
            quarantined.append(_quarantine(stray, table=spec.name, month=month, f=f, at=ingested_at))
        else:
            rows = rows.with_columns(pl.lit(month).alias(partition_column))
        frames.append(_lineage(rows.drop(ROW_NUMBER), f, ingested_at))
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


def _misfiled(
    rows: pl.DataFrame,
    *,
    time_column: str,
    where: str,
    unit: str,
    month: dt.date,
    ingested_at: dt.datetime,
    day: tuple[dt.date, str] | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose ``time_column`` belongs where they were filed, and rejections for the others.

    ``out_of_range``: a month the platform does not serve (at ``ingested_at``); ``wrong_partition``:
    another month than ``month``; ``wrong_day`` (events, ``day`` = (folder day, event type)):
    another day than the folder's. ``rows`` carry ``__row_number`` and ``month_start``.
    """
    first, last = served_months(ingested_at)
    stamp = pl.col(time_column).dt.to_string(_STAMP)
    row_month = pl.col(PARTITION_COLUMN)
    code = (
        pl.when((row_month < first) | (row_month > last))
        .then(pl.lit("out_of_range"))
        .when(row_month != month)
        .then(pl.lit("wrong_partition"))
    )
    if day is not None:
        code = code.when(pl.col(time_column).dt.date() != day[0]).then(pl.lit("wrong_day"))
    staged = rows.with_columns(code.alias("__misfiled"))
    wrong = staged.filter(pl.col("__misfiled").is_not_null())
    if not wrong.height:
        return rows, REJECTION_SCHEMA.to_frame()
    row_day = pl.col(time_column).dt.date().cast(pl.String)
    if day is not None:
        belongs = pl.format(f"land it under events/{day[1]}/{{}}/", row_day)
        filed = f"the file is filed under {day[0].isoformat()}"
    else:
        belongs = pl.format("land it under that month's folder ({})", row_month.dt.to_string("%Y-%m"))
        filed = f"the file is filed under {month:%Y-%m}"
    explanation = (
        pl.when(pl.col("__misfiled") == "out_of_range")
        .then(
            pl.format(
                f"{time_column} {{}} is outside the months the platform serves ({first:%Y-%m} to {last:%Y-%m}); "
                "fix the producer's clock or the value",
                stamp,
            )
        )
        .when(pl.col("__misfiled") == "wrong_partition")
        .then(
            pl.format(f"{time_column} {{}} is in {{}}, but {filed}; {{}}", stamp, row_month.dt.to_string("%Y-%m"), belongs)
        )
        .otherwise(pl.format(f"{time_column} {{}} is on {{}}, but {filed}; {{}}", stamp, row_day, belongs))
    )
    record = pl.struct(pl.all().exclude(PARTITION_COLUMN, ROW_NUMBER, "__misfiled")).struct.json_encode()
    rejected = wrong.select(
        pl.col(ROW_NUMBER).cast(pl.Int64).alias("row_number"),
        pl.lit(time_column).alias("column_name"),
        stamp.alias("value"),
        pl.col("__misfiled").alias("reason_code"),
        pl.format(f"{where}, {unit} {{}}: {{}}", pl.col(ROW_NUMBER), explanation).alias("reason"),
        record.alias("record"),
        (pl.col("trace_id") if "trace_id" in rows.columns else pl.lit(None, dtype=pl.String)).alias("trace_id"),
    )
    return staged.filter(pl.col("__misfiled").is_null()).drop("__misfiled"), rejected


def _split_by_month(
    rows: pl.DataFrame, spec: TableSpec, f: LandingFile, month: dt.date, ingested_at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows whose time column falls in ``month``, and rejections for the rows filed elsewhere."""
    assert spec.time_column is not None
    rows = rows.with_columns(month_start(spec.time_column).alias(PARTITION_COLUMN))
    return _misfiled(
        rows,
        time_column=spec.time_column,
        where=f"table {spec.name}, file {f.path.path}",
        unit="row",
        month=month,
        ingested_at=ingested_at,
    )


def _with_bad_files(load: BronzeLoad, bad: pl.DataFrame) -> BronzeLoad:
    if bad.height:
        load.quarantine = _concat([load.quarantine, bad], QUARANTINE_COLUMNS)
        load.rejected_files = [*load.rejected_files, *bad.get_column("source_file").to_list()]
    return load


def load_fact_month(landing: LandingZone, table: str, month: dt.date, ingested_at: dt.datetime) -> BronzeLoad:
    """Every batch file landed for ``table`` and ``month``; misnamed files claiming it are quarantined.

    A month with no file loads as empty (the current month may only have streamed events so far);
    the asset reports it with a warning rather than failing, so Silver can still run.
    """
    spec = find_table(table)
    files, bad = landing.batch_listing(table, month)
    load = _load_batch_files(landing, spec, files, month, ingested_at, partition_column=PARTITION_COLUMN)
    return _with_bad_files(load, bad_file_rows(bad, ingested_at)[0])


# Rows of a landed batch file typed, checked and written at a time (setting RETAIL_BRONZE_CHUNK_ROWS): the memory
# of a fact month's Bronze step follows this, not the number of stores. A million rows of the widest fact
# (receipt lines) are ~0.3 GB decoded and typed; larger chunks buy nothing measurable (benchmarks/pipeline.py).
DEFAULT_CHUNK_ROWS = 1_000_000


def chunk_rows() -> int:
    """``RETAIL_BRONZE_CHUNK_ROWS`` (checked with the other settings before any command runs), else the default."""
    from retail_assets.lib.settings import bronze_chunk_rows

    return bronze_chunk_rows() or DEFAULT_CHUNK_ROWS


class ReconciliationError(RuntimeError):
    """Landed rows do not equal written + quarantined + duplicates: nothing was written."""


def _raw_chunks(landing: LandingZone, f: LandingFile, chunk_rows: int) -> Iterator[tuple[pl.DataFrame, bool, int]]:
    """(raw rows, read as text, rows of the file before them) of one landed file, ``chunk_rows`` at a time.

    Parquet is decoded chunk by chunk (polars pushes the slice down to row groups); a CSV file is read whole (text,
    usually small uploads) and typed chunk by chunk."""
    if f.path.file_format != ".parquet":
        raw, text = read_batch_file(landing, f)
        for offset in range(0, max(raw.height, 1), chunk_rows):
            yield raw.slice(offset, chunk_rows), text, offset
        return
    try:
        scan = pl.scan_parquet(landing.parquet_source(f.path.path))
        total = scan.select(pl.len()).collect().item()
        offset = 0
        while True:
            raw = scan.slice(offset, chunk_rows).collect()
            if raw.height or not offset:
                yield raw, False, offset
            offset += chunk_rows
            if offset >= total:
                return
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise LandingFileError(f"table {f.path.table}: landed file {f.path.path} cannot be read as .parquet: {exc}") from exc


@dataclass
class StreamedFactMonth:
    """One fact month for Bronze, produced chunk by chunk: ``chunks()`` yields typed rows with lineage and, as it
    goes, fills ``load`` (counts, quarantine, drift). After the last chunk it checks that the counts reconcile and
    raises :class:`ReconciliationError` otherwise, so a streamed write of the chunks commits nothing. Each call
    starts over (a retried commit produces the chunks again)."""

    landing: LandingZone
    table: str
    month: dt.date
    ingested_at: dt.datetime
    chunk_rows: int = DEFAULT_CHUNK_ROWS
    load: BronzeLoad | None = None

    def chunks(self) -> Iterator[pl.DataFrame]:
        spec = find_table(self.table)
        files, bad = self.landing.batch_listing(self.table, self.month)
        columns = bronze_columns(self.table)
        identifiers = identifier_columns(spec.columns, spec.primary_key)
        load = BronzeLoad(
            table=self.table,
            month=self.month,
            rows=empty_frame(columns),
            quarantine=empty_frame(QUARANTINE_COLUMNS),
            files=[f.path.path for f in files],
            streamed_rows=0,
        )
        quarantined: list[pl.DataFrame] = []
        self.load = load
        for f in files:
            for raw, text, offset in _raw_chunks(self.landing, f, self.chunk_rows):
                load.landed_rows += raw.height
                result = conform(
                    raw,
                    spec.columns,
                    source=f"table {spec.name}, file {f.path.path}",
                    text_source=text,
                    row_numbers=pl.int_range(offset + 1, offset + raw.height + 1, dtype=pl.Int64, eager=True),
                    keep_row_number=True,
                    identifiers=identifiers,
                )
                load.drift = load.drift.merge(result.drift)
                if not result.drift.ok:
                    load.file_drift[f.path.path] = result.drift.describe()
                rows, stray = _split_by_month(result.rows, spec, f, self.month, self.ingested_at)
                quarantined.append(_quarantine(stray, table=spec.name, month=self.month, f=f, at=self.ingested_at))
                quarantined.append(_quarantine(result.rejected, table=spec.name, month=self.month, f=f, at=self.ingested_at))
                rows = _concat([_lineage(rows.drop(ROW_NUMBER), f, self.ingested_at)], columns)
                load.streamed_rows += rows.height
                yield rows
        load.quarantine = _concat(quarantined, QUARANTINE_COLUMNS)
        _with_bad_files(load, bad_file_rows(bad, self.ingested_at)[0])
        if not load.reconciles:
            raise ReconciliationError(
                f"bronze/{self.table} {self.month:%Y-%m}: counts do not reconcile: {load.landed_rows} landed != "
                f"{load.row_count} written + {load.quarantine.height - len(load.rejected_files)} quarantined rows + "
                f"{load.duplicates_dropped} duplicates dropped; nothing was written"
            )


def load_dimension(landing: LandingZone, table: str, ingested_at: dt.datetime) -> list[BronzeLoad]:
    """Every landed snapshot of a dimension, one load per snapshot month.

    Misnamed files are quarantined under the snapshot month they claim (their rows are carried by
    that month's load, or by the latest one when that month has no valid snapshot)."""
    spec = find_table(table)
    snapshots, bad = landing.dimension_listing(table)
    if not snapshots:
        also = f"; misnamed files: {[path for path, _ in bad]}" if bad else ""
        raise NoLandedData(
            f"dimension {table}: no snapshot landed under batch/{table}/<YYYY-MM>/ (Parquet or CSV); "
            f"land one there or materialize the generator{also}"
        )
    loads = {
        month: _load_batch_files(landing, spec, files, month, ingested_at, partition_column="snapshot_month")
        for month, files in snapshots.items()
    }
    rejected = bad_file_rows(bad, ingested_at)[0]
    for (month,), part in rejected.partition_by(PARTITION_COLUMN, as_dict=True).items():
        _with_bad_files(loads.get(month, loads[max(loads)]), part)
    return list(loads.values())


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


class _NonFinite:
    """A NaN or infinite JSON number, as written (Python's parser would accept it as a float)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text


def _finite_float(text: str) -> float | _NonFinite:
    value = float(text)
    return value if math.isfinite(value) else _NonFinite(text)  # 1e999 overflows to inf


def _spelled(value: object) -> str:
    """A parsed JSON value as written (NaN stays NaN)."""
    if isinstance(value, _NonFinite):
        return value.text
    return json.dumps(value, default=lambda v: v.text if isinstance(v, _NonFinite) else str(v))


class _StrictJSON:
    """``json.loads`` that also notes what the JSON grammar allows but an event must not have: a key twice
    in one object (which value wins depends on the parser) and NaN/Infinity numbers (not JSON at all)."""

    def __init__(self) -> None:
        self.problems: list[tuple[str, str, dict, list]] = []  # (code, key, object holding it, values)
        self._decoder = json.JSONDecoder(
            object_pairs_hook=self._object, parse_constant=_NonFinite, parse_float=_finite_float
        )

    def _object(self, pairs: list[tuple[str, object]]) -> dict:
        obj: dict = {}
        for key, value in pairs:
            if _lone_surrogate(key) or (type(value) is str and _lone_surrogate(value)):
                self.problems.append(("invalid_unicode", key, obj, [value]))
            if key in obj:
                self.problems.append(("duplicate_key", key, obj, [obj[key], value]))
            elif isinstance(value, _NonFinite) or (type(value) is list and any(isinstance(v, _NonFinite) for v in value)):
                self.problems.append(("non_finite_number", key, obj, [value]))
            obj[key] = value
        return obj

    def loads(self, line: str) -> object:
        self.problems.clear()
        return self._decoder.decode(line)


_CONTROL_SET = frozenset(CONTROL_CHARACTERS)
# A JSON \u escape of a UTF-16 surrogate (D800-DFFF): valid only as a high + low pair.
_SURROGATE_ESCAPE = r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}"


def _lone_surrogate(text: str) -> bool:
    """A string JSON decoded with an unpaired surrogate escape: no Unicode text, and no UTF-8 to store."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def _clean_trace_id(doc: object) -> str | None:
    """The trace_id of a parsed line when it is a usable one (a non-blank printable string)."""
    value = doc.get("trace_id") if type(doc) is dict else None
    if type(value) is not str or not value.strip() or any(ch in _CONTROL_SET for ch in value):
        return None
    return value


def _describe_json_problem(doc: dict, problem: tuple[str, str, dict, list], column_of_field: dict[str, str]):
    """(code, reason, column, value, doc for the trace_id) of the first problem :class:`_StrictJSON` noted."""
    code, key, owner, values = problem
    place = "envelope" if owner is doc else "payload" if owner is doc.get("payload") else "nested"
    column = column_of_field.get(key, key) if place == "payload" else key
    if code == "duplicate_key":
        reason = (
            f"key {key!r} appears more than once in the {place} object ({' and '.join(map(_spelled, values))}); "
            "JSON parsers disagree on which value counts, so the event is ambiguous"
        )
        # A repeated trace_id is no trace_id to keep.
        return code, reason, column, _spelled(values), None if (place, key) == ("envelope", "trace_id") else doc
    name = f"{'payload.' if place == 'payload' else ''}{key}"
    if code == "invalid_unicode":
        value = values[0] if type(values[0]) is str else key
        shown = value.encode("utf-8", errors="backslashreplace").decode("ascii", errors="backslashreplace")
        return code, f"{name} holds an unpaired UTF-16 surrogate escape ({shown!r}): not Unicode text", column, shown, doc
    reason = f"{name} is {_spelled(values[0])}, not a finite number"
    return code, reason, column, _spelled(values[0]), doc


@dataclass
class _ParsedEvents:
    frame: pl.DataFrame  # text columns from :func:`_decode`, one row per structurally valid event
    line_numbers: list[int]
    lines: list[str]
    rejected: list[dict]
    extra_fields: set[str]
    total: int
    typed: pl.DataFrame | None = None  # the same rows typed to the spec, when every value reads as is


class EventDecodeError(RuntimeError):
    """Lines the per-line check passed as events that the decoder could not read: a bug in this module, never
    a property of the file (the two would disagree on what the file holds)."""


# A JSON object key: a string followed by a colon. Strings that merely contain such text make the
# check below cautious (the file then has its lines checked one by one), never wrong.
_KEY = r'"(?:[^"\\]|\\.)*"\s*:'


def _typed(text: pl.DataFrame, columns) -> pl.DataFrame | None:
    """Text columns typed as conform types them, for the value shapes a clean file has; None if any
    value would not read as is (conform then gives the reason, e.g. "empty" for a blank number)."""
    exprs, lost = [], []
    for c in columns:
        raw = pl.col(c.name)
        value = raw.str.strip_chars()
        value = pl.when(value.str.len_chars() > 0).then(value)
        match c.dtype.name:
            case "STRING":
                # As landed: conform reads blanks as no value and checks identifiers itself.
                exprs.append(raw.alias(c.name))
                continue
            case "INT32" | "INT64" | "FLOAT64":
                typed = value.cast(c.polars_dtype, strict=False)
            case "TIMESTAMP":
                typed = value.str.to_datetime(_STAMP, time_unit="us", time_zone="UTC", strict=False)
            case _:
                return None
        exprs.append(typed.alias(c.name))
        lost.append((typed.is_null() & raw.is_not_null()).any())
    if lost and any(text.select(pl.any_horizontal(lost)).row(0)):
        return None
    return text.select(exprs)


def _keys_known_and_single(text: pl.Series, keys: list[str]) -> bool:
    """No line has a key outside ``keys``, nor a key more often than a complete event has it (so none twice
    in one object; ``source`` is expected twice: in the envelope and in some payloads).

    Fast when every line has every key once in compact form (what producers write): then the number
    of ``":`` equals the number of keys and each key is there as often as expected, which leaves
    no room for another or a repeated key. Otherwise each line's keys are extracted and counted.
    """
    expected = Counter(f'"{k}":' for k in keys)
    line = pl.col(text.name)
    complete = [line.str.count_matches('":', literal=True) == sum(expected.values())]
    complete += [line.str.count_matches(k, literal=True) == n for k, n in expected.items()]
    if text.to_frame().select(pl.all_horizontal(complete).all()).item():  # one query, not one per key
        return True
    found = (
        pl.DataFrame({"key": text.str.extract_all(_KEY)})
        .with_row_index("line")
        .explode("key")
        .drop_nulls("key")
        .with_columns(pl.col("key").str.replace(r"\s*:$", "") + ":")
        .group_by("line", "key")
        .len()
    )
    limits = pl.DataFrame(
        {"key": list(expected), "limit": list(expected.values())}, schema={"key": pl.String, "limit": pl.UInt32}
    )
    checked = found.join(limits, on="key", how="left")
    return bool(checked.select((pl.col("limit").is_not_null() & (pl.col("len") <= pl.col("limit"))).all()).item())


def _is_list(c) -> bool:
    return c.dtype.name == "LIST_INT64"


def _decode(event: EventSpec, text: pl.Series) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The one decoder of event lines: every accepted event's values come from here, whatever else its file holds.

    Returns the envelope (its columns and the ``payload`` struct) and the event's text columns
    (envelope, then payload in spec order). Scalars are in polars' spelling of their JSON value (``4.0``
    is "4", ``true`` is "true"); a list field is its compact JSON text, which conform reads as it reads a
    list from a CSV field (polars' own list decoder would read ``[1.5]`` as ``[1]``). Keys outside the
    spec are not read. Raises polars' error when a line is not JSON or a known field holds an object or
    a list where the spec has a scalar; a line that is not an object, or has no object payload, comes
    out as nulls (the callers check).
    """
    scalar = [c for c in event.payload if not _is_list(c)]
    payload_dtype = pl.Struct({c.field: pl.String for c in scalar})
    envelope = text.str.json_decode(pl.Struct({**{c.name: pl.String for c in ENVELOPE}, "payload": payload_dtype}))
    envelope = envelope.struct.unnest()
    payload = envelope.get_column("payload").struct.unnest()
    lists = text.to_frame().select(
        pl.col(text.name).str.json_path_match(f"$.payload.{c.field}").alias(c.name)
        for c in event.payload
        if _is_list(c)
    )
    frame = pl.concat(
        [
            envelope.select(c.name for c in ENVELOPE),
            payload.select(pl.col(c.field).alias(c.name) for c in scalar),
            lists,
        ],
        how="horizontal",
    ).select(c.name for c in [*ENVELOPE, *event.payload])
    return envelope, frame


def _decode_clean_file(event: EventSpec, lines: list[bytes]) -> tuple[pl.Series, pl.DataFrame] | None:
    """All lines at once, when every line is a well-formed event of this type: the lines as text and their
    text columns from :func:`_decode`.

    Returns None when any line needs a closer look (not UTF-8 or JSON, NaN/Infinity, wrong type or
    version, oversized, no payload object, unknown or repeated keys): :func:`_explain_lines` then
    says which lines are not events, and why.
    """
    if any(len(raw) > MAX_EVENT_BYTES for raw in lines):
        return None
    try:
        text = pl.Series("line", lines, dtype=pl.Binary).cast(pl.String)
        envelope, frame = _decode(event, text)
    except pl.exceptions.PolarsError:
        return None
    payload = envelope.get_column("payload")
    # A key of both the envelope and the payload (``source``) may only be counted once in each: a line
    # with it twice in one object and not in the other would pass the key count, so both must be there.
    shared = [c.field for c in event.payload if c.field in envelope.columns]
    if not (
        (envelope.get_column("event_type") == event.event_type).fill_null(False).all()
        and envelope.get_column("schema_version").is_in(list(SCHEMA_VERSIONS)).fill_null(False).all()
        and payload.is_not_null().all()
        and all(
            envelope.get_column(k).is_not_null().all() and payload.struct.field(k).is_not_null().all() for k in shared
        )
        and _keys_known_and_single(text, [*(c.name for c in ENVELOPE), "payload", *(c.field for c in event.payload)])
        # polars decodes a lone surrogate escape (\ud800) to NUL: any surrogate escape gets the strict check,
        # which keeps pairs (emoji) and rejects lone ones.
        and not text.str.contains(_SURROGATE_ESCAPE).any()
    ):
        return None
    return text, frame


def _explain_lines(
    event: EventSpec, where: str, numbered: list[tuple[int, bytes]]
) -> tuple[list[tuple[int, str]], list[dict], set[str]]:
    """Each line of a file that is not clean, checked on its own (Python's JSON parser, strict): the lines
    that are events, as (line number, text), and for every other line its reject row with its reason.

    It builds no row: the events' values come from :func:`_decode`, as in a clean file. Also returns the
    keys outside the spec that the events carry (schema drift, not a rejection).
    """
    envelope_fields = [c.name for c in ENVELOPE]
    payload_fields = [(c.name, c.field) for c in event.payload]
    column_of_field = {json_field: name for name, json_field in payload_fields}
    known_envelope = {*envelope_fields, "payload"}
    known_payload = {json_field for _, json_field in payload_fields}
    # Where the spec has a scalar, an object or a list cannot be read (the decoder refuses it too).
    scalars = [(c, False) for c in ENVELOPE] + [(c, True) for c in event.payload if not _is_list(c)]
    good: list[tuple[int, str]] = []
    rejected: list[dict] = []
    extra: set[str] = set()
    strict = _StrictJSON()

    def reject(number, line, code, reason, column=None, value=None, doc=None):
        rejected.append(
            {
                "row_number": number,
                "column_name": column,
                "value": value,
                "reason_code": code,
                "reason": f"{where}, line {number}: {reason}",
                "record": line,
                "trace_id": _clean_trace_id(doc),
            }
        )

    for number, raw in numbered:
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
            doc = strict.loads(line)
        except json.JSONDecodeError as exc:
            reject(number, line, "malformed_json", f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if type(doc) is not dict:
            reject(number, line, "malformed_json", "an event must be a JSON object")
            continue
        if strict.problems:
            reject(number, line, *_describe_json_problem(doc, strict.problems[0], column_of_field))
            continue
        kind = doc.get("event_type")
        if kind != event.event_type:
            if isinstance(kind, str) and is_event_type(kind):
                code, reason = "wrong_event_type", (
                    f"event_type {kind!r} is filed under events/{event.event_type}/; land it under events/{kind}/"
                )
            else:
                code = "unknown_event_type"
                reason = "event_type is missing" if kind is None else f"unknown event_type {_text(kind)!r}"
            reject(number, line, code, reason, "event_type", _text(kind), doc)
            continue
        version = doc.get("schema_version")
        if version not in SCHEMA_VERSIONS:
            stated = "is missing" if version is None else f"{_text(version)!r} is not supported"
            reject(
                number,
                line,
                "unsupported_schema_version",
                f"schema_version {stated} (supported: {list(SCHEMA_VERSIONS)})",
                "schema_version",
                _text(version),
                doc,
            )
            continue
        payload = doc.get("payload")
        if type(payload) is not dict:
            reject(number, line, "malformed_payload", "payload must be a JSON object", "payload", _text(payload), doc)
            continue
        nested = next(
            (
                (c, value)
                for c, in_payload in scalars
                if type(value := (payload.get(c.field) if in_payload else doc.get(c.name))) in (dict, list)
            ),
            None,
        )
        if nested is not None:
            c, value = nested
            shown = _text(value)
            reason = f"column {c.name}: cannot read {shown} as {c.dtype.value}"
            reject(number, line, "type_error", reason, c.name, shown, doc)
            continue
        extra.update(payload.keys() - known_payload, doc.keys() - known_envelope)
        good.append((number, line))
    return good, rejected, extra


def parse_event_lines(event: EventSpec, path: str, data: bytes) -> _ParsedEvents:
    """Split a JSONL file into events (as text columns, and typed when every value reads as is) and rejected lines.

    One decoder gives every event's values (:func:`_decode`, polars'): a clean file (the usual case) is
    decoded at once; in a file with any questionable line, each line is checked on its own
    (:func:`_explain_lines`), which gives every bad line its own reason, and the other lines are decoded
    as a clean file is. So an event loads the same whatever else its file holds.
    """
    where = f"event {event.event_type}, file {path}"
    numbered = [(number, raw) for number, raw in enumerate(data.splitlines(), start=1) if raw and not raw.isspace()]
    clean = _decode_clean_file(event, [raw for _, raw in numbered]) if numbered else None
    if clean is not None:
        text, frame = clean
        line_numbers, lines, rejected, extra = [number for number, _ in numbered], text.to_list(), [], set()
    else:
        good, rejected, extra = _explain_lines(event, where, numbered)
        line_numbers, lines = [number for number, _ in good], [line for _, line in good]
        try:
            envelope, frame = _decode(event, pl.Series("line", lines, dtype=pl.String))
        except pl.exceptions.PolarsError as exc:
            raise EventDecodeError(f"{where}: the decoder cannot read lines checked as events ({exc})") from exc
        if envelope.get_column("payload").null_count():
            raise EventDecodeError(f"{where}: the decoder found no payload object in lines checked as events")
    typed = _typed(frame, [*ENVELOPE, *event.payload])
    return _ParsedEvents(frame, line_numbers, lines, rejected, extra, len(numbered), typed)


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
    """Parse, type and check one event file filed under ``month`` (and the day of its folder)."""
    event_type = event.event_type
    columns = event_columns(event)
    where = f"event {event_type}, file {f.path.path}"
    parsed = parse_event_lines(event, f.path.path, landing.read_bytes(f.path.path))
    raw_lines = dict(zip(parsed.line_numbers, parsed.lines, strict=True))
    result = conform(
        parsed.frame if parsed.typed is None else parsed.typed,
        columns,
        source=where,
        text_source=parsed.typed is None,
        row_numbers=pl.Series(parsed.line_numbers, dtype=pl.Int64),
        keep_row_number=True,
        identifiers=identifier_columns(columns),
        unit="line",
    )
    rows = result.rows.with_columns(month_start("ingest_timestamp").alias(PARTITION_COLUMN))
    rows, misfiled = _misfiled(
        rows,
        time_column="ingest_timestamp",
        where=where,
        unit="line",
        month=month,
        ingested_at=ingested_at,
        day=(f.path.period, event_type),
    )
    # Keep the line exactly as landed, not its re-encoding.
    # (No structurally valid line at all: polars' replace_strict with an empty mapping keeps the Int64 type.)
    as_landed = (
        pl.col("row_number").replace_strict(raw_lines, return_dtype=pl.String) if raw_lines else pl.lit(None, pl.String)
    ).alias("record")
    rejected = [
        pl.DataFrame(parsed.rejected, schema=REJECTION_SCHEMA),
        result.rejected.with_columns(as_landed),
        misfiled.with_columns(as_landed),
    ]
    quarantine = _quarantine(pl.concat(rejected, how="vertical"), table=event_type, month=month, f=f, at=ingested_at)
    rows = rows.rename({ROW_NUMBER: "__line"})
    return EventFileLoad(_lineage(rows, f, ingested_at), quarantine, parsed.total, parsed.extra_fields)


# ---- one trace_id rule -------------------------------------------------------------------------


@dataclass
class _Settled:
    kept: pl.DataFrame  # one row per trace_id: bronze columns + __line
    conflicts: pl.DataFrame  # quarantine rows of events reusing a kept trace_id with other content
    # every event that lost its trace_id: _source_file, trace_id, __winner_file, __conflict
    losers: pl.DataFrame
    members: pl.DataFrame  # every row given, in order, with its content digest (__content)


def _conflict_rows(losers: pl.DataFrame, event_type: str, month: dt.date, at: dt.datetime) -> pl.DataFrame:
    """Quarantine rows for events that lost their trace_id to one with other content.

    The reason does not name the kept event (it is in Bronze under the trace_id): so it is the same
    whichever path and order settled the conflict."""
    if not losers.height:
        return empty_frame(QUARANTINE_COLUMNS)
    content = [c.name for c in event_columns(find_event(event_type))]
    return quarantine_frame(
        # One chunk: polars 2.1 panics ("i < self.len()") formatting some filtered multi-chunk frames.
        losers.rechunk().select(
            pl.col("__line").alias("row_number"),
            pl.lit("trace_id").alias("column_name"),
            pl.col("trace_id").alias("value"),
            pl.lit(CONFLICTING_DUPLICATE).alias("reason_code"),
            pl.format(
                f"event {event_type}, file {{}}, line {{}}: trace_id {{}} is already used by another {event_type} event "
                f"of {month:%Y-%m} with different content; of events sharing a trace_id, the one from the landing path "
                "that sorts first (then the lowest line) is kept",
                pl.col("_source_file"),
                pl.col("__line"),
                pl.col("trace_id"),
            ).alias("reason"),
            pl.struct(content).struct.json_encode().alias("record"),
            pl.col("_source_file").alias("source_file"),
            pl.col("_batch_id").alias("batch_id"),
            pl.col("trace_id"),
        ),
        table=event_type,
        month=month,
        quarantined_at=at,
    )


def _settle(frames: list[pl.DataFrame], event_type: str, month: dt.date, at: dt.datetime) -> _Settled:
    """Apply the trace_id rule to rows given in (landing path, line) order: the first of each trace_id is kept."""
    frames = [f for f in frames if f.height]
    losers_schema = {"_source_file": pl.String, "trace_id": pl.String, "__winner_file": pl.String, "__conflict": pl.Boolean}
    if not frames:
        kept = empty_frame(bronze_columns(event_type)).with_columns(pl.lit(None, dtype=pl.Int64).alias("__line"))
        members = kept.with_columns(pl.lit(None, dtype=pl.UInt64).alias("__content"))
        return _Settled(kept, empty_frame(QUARANTINE_COLUMNS), pl.DataFrame(schema=losers_schema), members)
    content = [c.name for c in event_columns(find_event(event_type))]
    staged = (
        pl.concat(frames, how="vertical")
        .with_row_index("__order")
        .with_columns(pl.struct(content).hash().alias("__content"))
        .with_columns(
            (pl.col("__order") == pl.col("__order").min().over("trace_id")).alias("__first"),
            pl.col("__content").sort_by("__order").first().over("trace_id").alias("__first_content"),
            pl.col("_source_file").sort_by("__order").first().over("trace_id").alias("__winner_file"),
        )
    )
    repeats = staged.filter(~pl.col("__first")).with_columns(
        (pl.col("__content") != pl.col("__first_content")).alias("__conflict")
    )
    conflicts = _conflict_rows(repeats.filter(pl.col("__conflict")), event_type, month, at)
    kept = staged.filter(pl.col("__first")).drop("__order", "__content", "__first", "__first_content", "__winner_file")
    return _Settled(kept, conflicts, repeats.select(list(losers_schema)), staged)


@dataclass
class _EventMonth:
    load: BronzeLoad
    loads: dict[str, EventFileLoad]  # by landing path
    settled: _Settled


def _event_month(
    landing: LandingZone,
    event: EventSpec,
    files: Sequence[LandingFile],
    month: dt.date,
    ingested_at: dt.datetime,
    bad: Sequence[tuple[str, str]] = (),
    loaded: dict[str, EventFileLoad] | None = None,
) -> _EventMonth:
    event_type = event.event_type
    files = sorted(files, key=lambda f: f.path.path)
    loaded = loaded or {}
    loads = {
        f.path.path: loaded.get(f.path.path) or load_event_file(landing, event, f, month, ingested_at) for f in files
    }
    settled = _settle([load.rows for load in loads.values()], event_type, month, ingested_at)
    load = BronzeLoad(
        table=event_type,
        month=month,
        rows=_concat([settled.kept], bronze_columns(event_type)),
        quarantine=_concat([*(x.quarantine for x in loads.values()), settled.conflicts], QUARANTINE_COLUMNS),
        files=list(loads),
        landed_rows=sum(x.landed for x in loads.values()),
        duplicates_dropped=settled.losers.filter(~pl.col("__conflict")).height,
        drift=SchemaDrift(extra=tuple(sorted(set().union(*(x.extra_fields for x in loads.values()))))),
    )
    return _EventMonth(_with_bad_files(load, bad_file_rows(bad, ingested_at)[0]), loads, settled)


def load_event_month(
    landing: LandingZone,
    event_type: str,
    month: dt.date,
    ingested_at: dt.datetime,
    files: Sequence[LandingFile] | None = None,
) -> BronzeLoad:
    """Events landed for ``month`` (every file, or ``files``): typed, one per trace_id, bad events quarantined.

    Of events sharing a trace_id, the one from the landing path that sorts first (then the lowest
    line) is kept; a later exact duplicate is dropped and counted, a later one with different
    content is quarantined as ``conflicting_duplicate``. Misnamed files claiming the month are
    quarantined as ``bad_file_name``. Months without events load as empty (streaming may simply not
    have run).
    """
    event = find_event(event_type)
    bad: list[tuple[str, str]] = []
    if files is None:
        files, bad = landing.event_listing(event_type, month)
    return _event_month(landing, event, files, month, ingested_at, bad).load


# ---- incremental event batches ---------------------------------------------------------------


class BatchPathError(LandingPathError):
    """A run named a landing file that is not an event file of its event type and month."""


@dataclass
class BatchIngest:
    """The result of ingesting named event files into one Bronze month."""

    load: BronzeLoad  # rows and quarantine of these files, as stored after the ingest
    skipped: bool  # the files were already ingested with the same result: nothing was committed
    version: int | None  # Bronze table version after the ingest
    duplicates_of_earlier: int = 0  # exact duplicates of events kept from other files
    conflicts_with_earlier: int = 0  # events reusing a trace_id kept from another file, with other content
    # Rows of OTHER files this ingest removed from Bronze: their trace_id now belongs to an event of these
    # files (whose path sorts first); they were dropped as exact duplicates or quarantined as conflicts.
    displaced: int = 0
    # The ingest had to settle the month from every landed file (a kept event changed content or vanished):
    # rows of other files may have changed beyond ``displaced`` (e.g. a former duplicate now kept).
    rebuilt_month: bool = False

    @property
    def other_files_changed(self) -> bool:
        """Whether Bronze rows of files outside the batch changed: derived tables must rebuild the month."""
        return self.displaced > 0 or self.rebuilt_month


def batch_files(event_type: str, month: dt.date, paths: Sequence[str]) -> list[LandingFile]:
    """Validate the landing paths a run names: event files of ``event_type`` filed under ``month``, sorted."""
    if not paths:
        raise BatchPathError(f"event {event_type} {month:%Y-%m}: no landing files named")
    files = []
    for path in sorted(set(paths)):
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
        files.append(LandingFile(check_served(parsed), 0, dt.datetime.now(dt.UTC)))
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


def _read_batch(landing: LandingZone, event: EventSpec, files: Sequence[LandingFile], month: dt.date, at: dt.datetime):
    loads = {}
    for f in files:
        try:
            loads[f.path.path] = load_event_file(landing, event, f, month, at)
        except (FileNotFoundError, LookupError) as exc:
            raise LandingFileError(
                f"event {event.event_type}: landing file {f.path.path} named by the run cannot be read: {exc}"
            ) from exc
    return loads


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

    The result is what a month rebuild of the files ingested so far gives, whatever their order:

    - the files' rows replace whatever those files left before (predicate ``month_start = … AND
      _source_file IN (…)``); their quarantine rows likewise;
    - an event whose trace_id is kept from another file that sorts first is an exact duplicate
      (dropped, counted) or a conflict (quarantined as ``conflicting_duplicate``);
    - an event whose file sorts first takes the trace_id: the other file's row, an exact duplicate
      of it, leaves Bronze in the same commit (``displaced``). Nothing else is read for that.
    - when a kept event would change content or vanish (a file sorting first brings other content,
      or a re-landed file no longer has it), the files holding its dropped duplicates are not
      known from Bronze: the month is then settled from every landed file and written whole
      (``rebuilt_month``; rare: a true conflict or a rewritten file).

    When the result equals what is stored for these files, nothing is committed: ingesting the same
    batch twice changes nothing, Delta version included. Writers of one table and month must not
    run concurrently (the Dagster pool ``stream`` serialises them; see docs/streaming.md).
    """
    event = find_event(event_type)
    files = batch_files(event_type, month, paths)
    names = [f.path.path for f in files]
    table, quarantine_table = f"bronze/{event_type}", f"quarantine/bronze/{event_type}"
    loads = _read_batch(landing, event, files, month, ingested_at)
    settled = _settle([x.rows for x in loads.values()], event_type, month, ingested_at)
    columns = bronze_columns(event_type)
    schema = polars_schema(columns)
    content = [c.name for c in event_columns(event)]
    digest = pl.struct(content).hash()
    rows = settled.kept.select([pl.col(n).cast(t) for n, t in schema.items()] + ["__line"])
    # One snapshot and one read of the month for both questions below: what these files left before, and which
    # other files keep a trace_id of the batch (only those rows are read: the filter is pushed into the scan).
    delta = lake.open(table)
    ours = pl.col("_source_file").is_in(names)
    if delta is None:
        stored_rows, month_others = pl.DataFrame(schema=schema), None
    else:
        batch_ids = rows.get_column("trace_id").implode()
        found = lake.scan(table, [month], opened=delta).filter(ours | pl.col("trace_id").is_in(batch_ids)).collect()
        stored_rows, month_others = found.filter(ours), found.filter(~ours)

    # A trace_id these files kept before must stay with the same content; otherwise settle the month whole.
    stored_digest = pl.struct([pl.col(n).cast(schema[n]) for n in content]).hash()
    before = stored_rows.select(pl.col("trace_id"), stored_digest.alias("__before"))
    now = rows.select("trace_id", digest.alias("__now"))
    changed = before.join(now, on="trace_id", how="left").filter(~pl.col("__now").eq_missing(pl.col("__before")))
    if changed.height:
        return _ingest_whole_month(lake, landing, event, month, files, loads, ingested_at, commit_metadata)

    earlier_duplicates, earlier_conflicts, displaced = 0, empty_frame(QUARANTINE_COLUMNS), pl.DataFrame()
    local_conflicts, local_losers = settled.conflicts, settled.losers
    if rows.height and month_others is not None:
        # Not a second trace_id rule: stored Bronze already holds one row per trace_id and month (settled by
        # _settle), so this is the lookup of the row that holds each trace_id now. The unique only keeps the
        # join one row per trace_id, picking the holder whose path sorts first, as the rule would.
        others = (
            month_others.select(
                [pl.col(n).cast(schema[n]) for n in content] + [pl.col("_source_file").alias("__other_file")]
            )
            .sort("__other_file")
            .unique("trace_id", keep="first")
        )
        if others.height:
            matched = rows.join(
                others.select("trace_id", "__other_file", digest.alias("__other")), on="trace_id", how="left"
            ).with_columns(digest.alias("__content"))
            ours = pl.col("_source_file") < pl.col("__other_file")
            same = pl.col("__other") == pl.col("__content")
            if matched.filter(pl.col("__other").is_not_null() & ours & ~same).height:
                return _ingest_whole_month(lake, landing, event, month, files, loads, ingested_at, commit_metadata)
            displaced = matched.filter(pl.col("__other").is_not_null() & ours).select("__other_file", "trace_id")
            # A trace_id kept from a file that sorts first: every event of it here is compared with the kept one
            # (not with this batch's first, as a rebuild compares every later event with the kept one).
            lost = matched.filter(pl.col("__other").is_not_null() & ~ours).select("trace_id", "__other")
            later = settled.members.join(lost, on="trace_id")
            earlier_duplicates = later.filter(same).height
            earlier_conflicts = _conflict_rows(later.filter(~same), event_type, month, ingested_at)
            local_conflicts = local_conflicts.filter(~pl.col("trace_id").is_in(lost.get_column("trace_id").implode()))
            local_losers = local_losers.filter(~pl.col("trace_id").is_in(lost.get_column("trace_id").implode()))
            rows = matched.filter(pl.col("__other").is_null() | ours).drop("__other", "__content", "__other_file")
    rows = _concat([rows], columns)
    quarantine = _concat([*(x.quarantine for x in loads.values()), local_conflicts, earlier_conflicts], QUARANTINE_COLUMNS)
    load = BronzeLoad(
        table=event_type,
        month=month,
        rows=rows,
        quarantine=quarantine,
        files=names,
        landed_rows=sum(x.landed for x in loads.values()),
        duplicates_dropped=local_losers.filter(~pl.col("__conflict")).height + earlier_duplicates,
        drift=SchemaDrift(extra=tuple(sorted(set().union(*(x.extra_fields for x in loads.values()))))),
    )
    counts = {
        "duplicates_of_earlier": earlier_duplicates,
        "conflicts_with_earlier": earlier_conflicts.height,
        "displaced": displaced.height,
    }
    stored_quarantine = _stored(lake, quarantine_table, month, "source_file", names, polars_schema(QUARANTINE_COLUMNS))
    rows_same = not displaced.height and _same(stored_rows, rows, "_ingested_at", ["_source_file", "trace_id"])
    quarantine_same = _same(
        stored_quarantine, quarantine, "quarantined_at", ["source_file", "row_number", "reason_code", "column_name", "value"]
    )
    if rows_same and quarantine_same:
        load.rows, load.quarantine = stored_rows.select(rows.columns), stored_quarantine.select(quarantine.columns)
        return BatchIngest(load, True, None if delta is None else delta.version(), **counts)
    version = None if delta is None else delta.version()
    if not rows_same:
        predicate = batch_predicate(month, names)
        if displaced.height:
            # The displaced rows leave in the same commit: (file X AND trace_id IN (…)) for each other file X.
            taken = " OR ".join(
                f"(_source_file = {_sql_list([other])} AND trace_id IN ({_sql_list(part.get_column('trace_id'))}))"
                for (other,), part in sorted(displaced.partition_by("__other_file", as_dict=True).items())
            )
            predicate = f"{PARTITION_COLUMN} = '{month.isoformat()}' AND (_source_file IN ({_sql_list(names)}) OR {taken})"
        if rows.height:
            version = lake.replace(
                table, rows, predicate=predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata
            ).version
        else:
            lake.delete(table, predicate, commit_metadata=commit_metadata)
            version = lake.version(table)
    if not quarantine_same:
        q_predicate = batch_predicate(month, names, "source_file")
        if quarantine.height:
            lake.replace(
                quarantine_table, quarantine, predicate=q_predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata
            )
        else:
            lake.delete(quarantine_table, q_predicate, commit_metadata=commit_metadata)
    return BatchIngest(load, False, version, **counts)


def _ingest_whole_month(
    lake,
    landing: LandingZone,
    event: EventSpec,
    month: dt.date,
    files: Sequence[LandingFile],
    loads: dict[str, EventFileLoad],
    ingested_at: dt.datetime,
    commit_metadata: dict[str, str] | None,
) -> BatchIngest:
    """Settle ``month`` from every landed file (the batch's included) and write it whole, as a rebuild does."""
    event_type = event.event_type
    table, quarantine_table = f"bronze/{event_type}", f"quarantine/bronze/{event_type}"
    names = [f.path.path for f in files]
    listed, bad = landing.event_listing(event_type, month)
    every = {f.path.path: f for f in listed} | {f.path.path: f for f in files}
    month_result = _event_month(landing, event, list(every.values()), month, ingested_at, bad, loaded=loads)
    full = month_result.load
    ours = pl.col("_source_file").is_in(names)
    displaced = 0
    if lake.exists(table):
        before = lake.scan(table, [month]).filter(~ours).select("_source_file", "trace_id").collect()
        kept = full.rows.select("_source_file", "trace_id")
        displaced = before.join(kept, on=["_source_file", "trace_id"], how="anti").height
    report = lake.overwrite_months(table, full.rows, [month], commit_metadata=commit_metadata)
    if full.quarantine.height:
        lake.overwrite_months(quarantine_table, full.quarantine, [month], commit_metadata=commit_metadata)
    elif lake.exists(quarantine_table):
        lake.delete(quarantine_table, f"{PARTITION_COLUMN} = '{month.isoformat()}'", commit_metadata=commit_metadata)
    losers = month_result.settled.losers.filter(ours)
    from_earlier = losers.filter(~pl.col("__winner_file").is_in(names))
    load = BronzeLoad(
        table=event_type,
        month=month,
        rows=full.rows.filter(ours),
        quarantine=full.quarantine.filter(pl.col("source_file").is_in(names)),
        files=names,
        landed_rows=sum(loads[n].landed for n in names),
        duplicates_dropped=losers.filter(~pl.col("__conflict")).height,
        drift=SchemaDrift(extra=tuple(sorted(set().union(*(loads[n].extra_fields for n in names))))),
    )
    return BatchIngest(
        load,
        False,
        report.version,
        duplicates_of_earlier=from_earlier.filter(~pl.col("__conflict")).height,
        conflicts_with_earlier=from_earlier.filter(pl.col("__conflict")).height,
        displaced=displaced,
        rebuilt_month=True,
    )
