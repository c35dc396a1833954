"""Type landed data to a spec, row by row, without ever dropping a row silently.

:func:`conform` casts every column of a raw frame to its spec type. A row is rejected, and goes to
quarantine with the column, the value, a reason and the whole original record, when

- a value cannot be read (``"abc"`` for an integer, ``1.5`` for an integer, a date that does not
  exist): ``type_error``;
- an identifier (the primary key, ``trace_id`` and every ``*_id`` string column) contains a control
  character (U+0000-U+001F, U+007F-U+009F, tab and newline included): ``control_character``, the
  value shown escaped;
- a required value is null, or an empty or blank string: ``null_required`` ("missing" or "empty").
  Empty strings are read as null in every column and format (CSV cannot tell them apart anyway);
- a float is NaN or infinite: ``non_finite_number``.

Strings are otherwise kept as landed (not trimmed). :func:`schema_drift` compares the columns as
landed with the spec (missing, extra, mistyped) for the ``schema_parity`` check.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.specs import QUARANTINE_COLUMNS, ColumnSpec, DType, polars_schema

ROW_NUMBER = "__row_number"
# Unicode control characters (category Cc): C0, DEL and C1. Never valid in an identifier.
CONTROL_CHARACTERS = tuple(chr(c) for c in (*range(0x20), *range(0x7F, 0xA0)))
_CONTROL = r"[\x00-\x1F\x7F-\x9F]"
_TRUE = ("true", "t", "1", "yes", "y")
_FALSE = ("false", "f", "0", "no", "n")
# ISO-8601 forms accepted for text timestamps, tried in order after normalising "T" and "Z".
_TIMESTAMP_FORMATS = (
    "%Y-%m-%d %H:%M:%S%.f%z",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M%z",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%d",
)


class LandingSchemaError(ValueError):
    """A landed file cannot be typed at all (e.g. a required column is missing)."""


@dataclass(frozen=True)
class SchemaDrift:
    """How the columns of landed data differ from the spec."""

    missing: tuple[str, ...] = ()
    missing_required: tuple[str, ...] = ()
    extra: tuple[str, ...] = ()
    # column -> (type found, type expected)
    mistyped: Mapping[str, tuple[str, str]] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not (self.missing or self.extra or self.mistyped)

    def describe(self) -> str:
        if self.ok:
            return "columns match the spec"
        parts = []
        if self.missing:
            parts.append(f"missing columns {list(self.missing)}")
        if self.extra:
            parts.append(f"extra columns {list(self.extra)}")
        if self.mistyped:
            parts.append(
                "mistyped columns "
                + ", ".join(f"{c} ({found}, expected {expected})" for c, (found, expected) in self.mistyped.items())
            )
        return "; ".join(parts)

    def merge(self, other: SchemaDrift) -> SchemaDrift:
        return SchemaDrift(
            missing=tuple(sorted({*self.missing, *other.missing})),
            missing_required=tuple(sorted({*self.missing_required, *other.missing_required})),
            extra=tuple(sorted({*self.extra, *other.extra})),
            mistyped={**self.mistyped, **other.mistyped},
        )


def _compatible(found: pl.DataType, dtype: DType) -> bool:
    """Whether landed data of type ``found`` is the spec type or a lossless form of it."""
    if isinstance(found, pl.Null):
        return True
    match dtype:
        case DType.INT32 | DType.INT64:
            return found.is_integer()
        case DType.FLOAT64:
            return found.is_float() or found.is_integer()
        case DType.STRING:
            return isinstance(found, (pl.String, pl.Categorical, pl.Enum))
        case DType.TIMESTAMP:
            return isinstance(found, pl.Datetime)
        case DType.DATE:
            return isinstance(found, pl.Date)
        case DType.BOOL:
            return isinstance(found, pl.Boolean)
        case DType.LIST_INT64:
            return isinstance(found, pl.List) and (found.inner.is_integer() or isinstance(found.inner, pl.Null))
    return False


def schema_drift(
    found: Mapping[str, pl.DataType], columns: Sequence[ColumnSpec], *, text_source: bool = False
) -> SchemaDrift:
    """Compare landed columns with the spec. Text sources (CSV, JSON) carry no types to compare."""
    found = {name: dtype() if isinstance(dtype, type) else dtype for name, dtype in found.items()}
    spec = {c.name: c for c in columns}
    missing = tuple(c.name for c in columns if c.name not in found)
    return SchemaDrift(
        missing=missing,
        missing_required=tuple(n for n in missing if not spec[n].nullable),
        extra=tuple(n for n in found if n not in spec and n != ROW_NUMBER),
        mistyped={}
        if text_source
        else {
            n: (str(found[n]), c.dtype.value)
            for n, c in spec.items()
            if n in found and not _compatible(found[n], c.dtype)
        },
    )


_TEXT = (pl.String, pl.Categorical, pl.Enum)


def _blank(text: pl.Expr) -> pl.Expr:
    return text.str.strip_chars().str.len_chars() == 0


def escaped(text: pl.Expr) -> pl.Expr:
    """Text with its control characters written as ``\\xNN``, safe to show in a reason or a UI."""
    return text.str.replace_many(list(CONTROL_CHARACTERS), [f"\\x{ord(c):02x}" for c in CONTROL_CHARACTERS])


def identifier_columns(columns: Sequence[ColumnSpec], primary_key: Sequence[str] = ()) -> tuple[str, ...]:
    """String columns that identify a row or an event: the primary key, ``trace_id`` and every ``*_id``."""
    return tuple(c.name for c in columns if c.dtype is DType.STRING and (c.name in primary_key or c.name.endswith("_id")))


def _parse_timestamp(text: pl.Expr) -> pl.Expr:
    normal = text.str.strip_chars().str.replace("T", " ", literal=True).str.replace(r"Z$", "+00:00")
    return pl.coalesce(
        [normal.str.to_datetime(fmt, time_unit="us", time_zone="UTC", strict=False) for fmt in _TIMESTAMP_FORMATS]
    )


def _cast(name: str, found: pl.DataType, target: DType, blank: pl.Expr | None = None) -> pl.Expr:
    """An expression reading column ``name`` as ``target``; null where the value cannot be read losslessly.

    ``blank``: for a text column, its empty-or-blank mask (None: the column has no such value)."""
    c = pl.col(name)
    want = target.polars
    text = isinstance(found, _TEXT)
    if target is DType.STRING and text:
        # Kept as landed, except that empty or blank is no value (as an empty CSV field is).
        c = c.cast(pl.String)
        return c if blank is None else pl.when(blank).then(None).otherwise(c)
    if found == want:
        return c
    if isinstance(found, pl.Null):
        return pl.lit(None, dtype=want)
    if text:
        c = c.cast(pl.String).str.strip_chars()
        c = pl.when(c.str.len_chars() == 0).then(None).otherwise(c)
    match target:
        case DType.TIMESTAMP:
            if isinstance(found, pl.Datetime):
                zoned = c.dt.convert_time_zone("UTC") if found.time_zone else c.dt.replace_time_zone("UTC")
                return zoned.dt.cast_time_unit("us")
            if isinstance(found, pl.Date):
                return c.cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
            return _parse_timestamp(c) if text else pl.lit(None, dtype=want)
        case DType.DATE:
            if text:
                return c.str.to_date("%Y-%m-%d", strict=False)
            if isinstance(found, pl.Datetime):
                # A datetime is a date only when it is midnight; otherwise the time would be lost.
                return pl.when(c.dt.time() == pl.time(0)).then(c.dt.date())
            return pl.lit(None, dtype=want)
        case DType.BOOL:
            if text:
                lower = c.str.to_lowercase()
                return pl.when(lower.is_in(_TRUE)).then(True).when(lower.is_in(_FALSE)).then(False)
            if found.is_integer():
                return pl.when(c == 1).then(True).when(c == 0).then(False)
            return pl.lit(None, dtype=want)
        case DType.INT32 | DType.INT64:
            if found.is_float():
                return pl.when(c == c.round(0)).then(c.cast(want, strict=False))
            return c.cast(want, strict=False)
        case DType.FLOAT64:
            return c.cast(want, strict=False)
        case DType.STRING:
            if isinstance(found, (pl.List, pl.Struct, pl.Array)):
                return pl.lit(None, dtype=want)
            return c.cast(pl.String)
        case DType.LIST_INT64:
            if isinstance(found, pl.List):
                return c.cast(want, strict=False)
            if text:
                inner = c.str.strip_chars("[] ")
                items = inner.str.split(",").list.eval(pl.element().str.strip_chars().cast(pl.Int64, strict=False))
                parsed = pl.when(inner.str.len_chars() == 0).then(pl.lit([], dtype=want)).otherwise(items)
                return pl.when(parsed.list.eval(pl.element().is_null()).list.any()).then(None).otherwise(parsed)
            return pl.lit(None, dtype=want)
    return pl.lit(None, dtype=want)


def _as_text(name: str, dtype: pl.DataType) -> pl.Expr:
    c = pl.col(name)
    if isinstance(dtype, pl.List):
        return pl.lit("[") + c.list.eval(pl.element().cast(pl.String)).list.join(",") + pl.lit("]")
    if isinstance(dtype, (pl.Struct, pl.Array, pl.Object)):
        return pl.lit(None, dtype=pl.String)
    return c.cast(pl.String)


@dataclass(frozen=True)
class Conformed:
    """Typed rows, rejected rows (quarantine-shaped, without the load context) and the schema drift."""

    rows: pl.DataFrame
    rejected: pl.DataFrame
    drift: SchemaDrift


REJECTION_SCHEMA = pl.Schema(
    {
        "row_number": pl.Int64(),
        "column_name": pl.String(),
        "value": pl.String(),
        "reason_code": pl.String(),
        "reason": pl.String(),
        "record": pl.String(),
        "trace_id": pl.String(),
    }
)


def conform(
    raw: pl.DataFrame,
    columns: Sequence[ColumnSpec],
    *,
    source: str,
    text_source: bool = False,
    row_numbers: pl.Series | None = None,
    keep_row_number: bool = False,
    identifiers: Collection[str] = (),
    unit: str = "row",
) -> Conformed:
    """Type ``raw`` to ``columns``. Raises :class:`LandingSchemaError` if a required column is missing.

    ``source`` names the file or table in messages, ``unit`` what a row number counts ("row" in
    tables, "line" in JSONL files). Row numbers are 1-based positions in ``raw`` unless
    ``row_numbers`` gives them (e.g. line numbers of a JSON file with skipped lines);
    ``keep_row_number`` keeps them on the typed rows as column ``__row_number``. ``identifiers``
    are the columns where a control character rejects the row (see :func:`identifier_columns`).
    """
    drift = schema_drift(raw.schema, columns, text_source=text_source)
    if drift.missing_required:
        raise LandingSchemaError(
            f"{source}: required columns {list(drift.missing_required)} are missing "
            f"(columns found: {[c for c in raw.columns if c != ROW_NUMBER]}); nothing from this file was loaded"
        )
    # Each text column's empty-or-blank mask, computed once (it feeds the cast, the type and the required checks)
    # and only kept for the columns that have such a value: most have none.
    text_columns = [c.name for c in columns if isinstance(raw.schema.get(c.name), _TEXT)]
    masks = raw.select(_blank(pl.col(n).cast(pl.String)).fill_null(False).alias(n) for n in text_columns)
    blank = {n: pl.col(f"__blank_{n}") for n in text_columns if masks.get_column(n).any()}
    numbered = raw.with_columns(
        (row_numbers if row_numbers is not None else pl.int_range(1, raw.height + 1, dtype=pl.Int64)).alias(ROW_NUMBER),
        *(masks.get_column(n).alias(f"__blank_{n}") for n in blank),
    )
    typed_exprs = [
        (
            _cast(c.name, raw.schema[c.name], c.dtype, blank.get(c.name))
            if c.name in raw.columns
            else pl.lit(None, dtype=c.polars_dtype)
        ).alias(c.name)
        for c in columns
    ]
    error_exprs: list[pl.Expr] = []
    for i, c in enumerate(columns):
        typed = typed_exprs[i]
        found = raw.schema.get(c.name)
        text = isinstance(found, _TEXT)
        unreadable, control = pl.lit(False), pl.lit(False)
        if found is not None and not (text and c.dtype is DType.STRING):  # text read as text is always readable
            unreadable = typed.is_null() & pl.col(c.name).is_not_null()
            if c.name in blank:
                unreadable = unreadable & ~blank[c.name]
        if text and c.name in identifiers:
            control = pl.col(c.name).cast(pl.String).str.contains(_CONTROL).fill_null(False)
        null_required = pl.lit(False) if c.nullable else typed.is_null()
        non_finite = ~typed.is_finite().fill_null(True) if c.dtype is DType.FLOAT64 else pl.lit(False)
        error_exprs.append(
            pl.when(unreadable)
            .then(pl.lit("type_error"))
            .when(control)
            .then(pl.lit("control_character"))
            .when(null_required)
            .then(pl.lit("null_required"))
            .when(non_finite)
            .then(pl.lit("non_finite_number"))
            .alias(f"__err_{i}")
        )
    staged = numbered.with_columns(*error_exprs)
    error_cols = [f"__err_{i}" for i in range(len(columns))]
    bad_mask = pl.any_horizontal([pl.col(e).is_not_null() for e in error_cols]) if error_cols else pl.lit(False)
    good = staged.filter(~bad_mask).select(typed_exprs + ([pl.col(ROW_NUMBER)] if keep_row_number else []))
    bad = staged.filter(bad_mask)
    rejected = _describe_rejections(bad, columns, raw.schema, source, unit) if bad.height else REJECTION_SCHEMA.to_frame()
    return Conformed(rows=good, rejected=rejected, drift=drift)


def _describe_rejections(
    bad: pl.DataFrame,
    columns: Sequence[ColumnSpec],
    raw_schema: Mapping[str, pl.DataType],
    source: str,
    unit: str,
) -> pl.DataFrame:
    reasons, first_col, first_code = [], [], []
    # The value of the first failing column, even when that value is null (so not a coalesce).
    first_val: pl.Expr | None = None
    for i, c in enumerate(columns):
        err = pl.col(f"__err_{i}")
        value = _as_text(c.name, raw_schema[c.name]) if c.name in raw_schema else pl.lit(None, dtype=pl.String)
        shown = pl.when(err == "control_character").then(escaped(value)).otherwise(value)
        emptiness = pl.when(value.is_not_null()).then(pl.lit("empty")).otherwise(pl.lit("missing"))
        reasons.append(
            pl.when(err == "type_error")
            .then(pl.format(f"column {c.name}: cannot read {{}} as {c.dtype.value}", value))
            .when(err == "control_character")
            .then(pl.format(f"column {c.name}: '{{}}' contains control characters; identifiers must be printable", shown))
            .when(err == "null_required")
            .then(pl.format(f"column {c.name}: required value is {{}}", emptiness))
            .when(err == "non_finite_number")
            .then(pl.format(f"column {c.name}: {{}} is not a finite number", value))
        )
        first_col.append(pl.when(err.is_not_null()).then(pl.lit(c.name)))
        first_val = pl.when(err.is_not_null()).then(shown) if first_val is None else first_val.when(err.is_not_null()).then(shown)
        first_code.append(err)
    raw_columns = [n for n in raw_schema if n != ROW_NUMBER]
    record = (
        pl.struct([pl.col(n) for n in raw_columns]).struct.json_encode() if raw_columns else pl.lit(None, dtype=pl.String)
    )
    trace_id = pl.lit(None, dtype=pl.String)
    if "trace_id" in raw_schema:
        text = _as_text("trace_id", raw_schema["trace_id"])
        # Only a trace_id that is one: not blank and printable (an invalid one is in value and record).
        trace_id = pl.when(~_blank(text) & ~text.str.contains(_CONTROL)).then(text)
    return bad.select(
        pl.col(ROW_NUMBER).cast(pl.Int64).alias("row_number"),
        pl.coalesce(first_col).alias("column_name"),
        (first_val.otherwise(None) if first_val is not None else pl.lit(None, dtype=pl.String)).alias("value"),
        pl.coalesce(first_code).alias("reason_code"),
        pl.format(
            f"{source}, {unit} {{}}: {{}}", pl.col(ROW_NUMBER), pl.concat_str(reasons, separator="; ", ignore_nulls=True)
        ).alias("reason"),
        record.alias("record"),
        trace_id.alias("trace_id"),
    )


def quarantine_frame(
    rejected: pl.DataFrame,
    *,
    table: str,
    month,
    source_file: str | None = None,
    batch_id: str | None = None,
    quarantined_at,
) -> pl.DataFrame:
    """Add the load context to rejected rows, giving the quarantine table's schema."""
    schema = polars_schema(QUARANTINE_COLUMNS)
    context = {
        "table_name": pl.lit(table),
        "month_start": pl.lit(month, dtype=pl.Date),
        "source_file": pl.lit(source_file, dtype=pl.String),
        "batch_id": pl.lit(batch_id, dtype=pl.String),
        "trace_id": pl.lit(None, dtype=pl.String),
        "quarantined_at": pl.lit(quarantined_at, dtype=schema["quarantined_at"]),
    }
    # Rows from several files carry their own source_file/batch_id; keep those.
    return rejected.with_columns(
        [expr.alias(name) for name, expr in context.items() if name not in rejected.columns]
    ).select([pl.col(n).cast(t) for n, t in schema.items()])
