"""The table-spec model: the one place a column is declared.

Every dimension, fact and streaming event of the platform is described by a pydantic model in
this package. Bronze/Silver/Gold assets, schema checks, quarantine, DuckDB serving and the KQL
scripts are all derived from these specs, so a column exists in exactly one place.

Conventions (validated at import; a bad spec fails the code location with a clear message):
- Names are snake_case.
- Money is integer cents: a column holding money is named ``*_cents`` and is ``int64``. Event
  payloads are the exception: they keep the reference system's field names and float dollars
  so that existing Event Hubs/Eventhouse producers work unchanged; Silver converts them.
- Timestamps are UTC instants with microsecond precision (polars ``Datetime("us", "UTC")``,
  Delta ``timestamp``). Landed timestamps without an offset are read as UTC. A store's local
  wall-clock time is ``event_ts`` converted to ``dim_stores.time_zone``.
- Facts and events are partitioned by calendar month (UTC) of their time column, stored in the
  ``month_start`` column (Date, first day of the month).
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, Field, model_validator

SNAKE_CASE = re.compile(r"^[a-z][a-z0-9_]*$")
# Lineage columns the platform adds (``_source_file``) start with an underscore; specs may not.
PLATFORM_COLUMN = re.compile(r"^_[a-z][a-z0-9_]*$")
# Words that mark a column as money; such a column must be integer cents (see module docstring).
MONEY_WORDS = ("price", "amount", "cost", "subtotal", "total", "tax", "discount", "revenue", "spend")

PARTITION_COLUMN = "month_start"


class SpecError(ValueError):
    """A table, column or event spec breaks a platform convention."""


class DType(StrEnum):
    """Logical column types; each maps to one polars, Delta/Arrow, DuckDB and KQL type."""

    BOOL = "bool"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT64 = "float64"
    STRING = "string"
    DATE = "date"
    TIMESTAMP = "timestamp"
    LIST_INT64 = "list<int64>"

    @property
    def polars(self) -> pl.DataType:
        return _POLARS[self]

    @property
    def kql(self) -> str:
        return _KQL[self]

    @property
    def duckdb(self) -> str:
        return _DUCKDB[self]

    @property
    def is_numeric(self) -> bool:
        return self in (DType.INT32, DType.INT64, DType.FLOAT64)


_POLARS: dict[DType, pl.DataType] = {
    DType.BOOL: pl.Boolean(),
    DType.INT32: pl.Int32(),
    DType.INT64: pl.Int64(),
    DType.FLOAT64: pl.Float64(),
    DType.STRING: pl.String(),
    DType.DATE: pl.Date(),
    DType.TIMESTAMP: pl.Datetime("us", "UTC"),
    DType.LIST_INT64: pl.List(pl.Int64()),
}
_KQL = {
    DType.BOOL: "bool",
    DType.INT32: "int",
    DType.INT64: "long",
    DType.FLOAT64: "real",
    DType.STRING: "string",
    DType.DATE: "datetime",
    DType.TIMESTAMP: "datetime",
    DType.LIST_INT64: "dynamic",
}
_DUCKDB = {
    DType.BOOL: "BOOLEAN",
    DType.INT32: "INTEGER",
    DType.INT64: "BIGINT",
    DType.FLOAT64: "DOUBLE",
    DType.STRING: "VARCHAR",
    DType.DATE: "DATE",
    DType.TIMESTAMP: "TIMESTAMPTZ",
    DType.LIST_INT64: "BIGINT[]",
}


class ColumnSpec(BaseModel):
    """One column: name, type, nullability, constraints and meaning."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    dtype: DType
    description: str = Field(min_length=3)
    nullable: bool = False
    # Name of the dimension this column references (its primary key), e.g. "dim_stores".
    references: str | None = None
    # Value constraints, enforced where rows are validated (Silver, event intake).
    ge: float | None = None
    gt: float | None = None
    le: float | None = None
    allowed: tuple[str, ...] | None = None
    # For event payload columns whose KQL/table column name differs from the JSON field
    # (the reference renames payload.source to payload_source).
    json_field: str | None = None

    @property
    def field(self) -> str:
        """The JSON field name in an event payload."""
        return self.json_field or self.name

    @property
    def polars_dtype(self) -> pl.DataType:
        return self.dtype.polars

    @model_validator(mode="after")
    def _check(self) -> ColumnSpec:
        if not (SNAKE_CASE.match(self.name) or PLATFORM_COLUMN.match(self.name)):
            raise SpecError(f"column {self.name!r}: names must be snake_case")
        if self.allowed is not None and self.dtype is not DType.STRING:
            raise SpecError(f"column {self.name!r}: allowed values only apply to string columns")
        if any(b is not None for b in (self.ge, self.gt, self.le)) and not self.dtype.is_numeric:
            raise SpecError(f"column {self.name!r}: numeric bounds on a {self.dtype} column")
        return self


def _check_money(owner: str, columns: tuple[ColumnSpec, ...]) -> None:
    for c in columns:
        if c.name.endswith("_cents") and c.dtype is not DType.INT64:
            raise SpecError(f"{owner}: column {c.name!r} holds cents and must be int64, not {c.dtype}")
        if c.dtype is DType.FLOAT64 and any(w in c.name for w in MONEY_WORDS):
            raise SpecError(
                f"{owner}: column {c.name!r} looks like money stored as float; "
                "store money as integer cents in a column named *_cents"
            )


def _check_unique(owner: str, columns: tuple[ColumnSpec, ...]) -> None:
    seen: set[str] = set()
    for c in columns:
        if PLATFORM_COLUMN.match(c.name):
            raise SpecError(f"{owner}: column {c.name!r}: leading underscores are reserved for platform lineage columns")
        if c.name in seen:
            raise SpecError(f"{owner}: column {c.name!r} is declared twice")
        seen.add(c.name)


class Columns:
    """Column lookup shared by every table model with ``name`` and ``columns`` (TableSpec, GoldTable)."""

    name: str
    columns: tuple[ColumnSpec, ...]

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    def column(self, name: str) -> ColumnSpec:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(f"table {self.name!r} has no column {name!r}")


class TableSpec(Columns, BaseModel):
    """A dimension or fact table of the retail model."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    kind: Literal["dimension", "fact"]
    description: str = Field(min_length=10)
    grain: str = Field(min_length=3)
    columns: tuple[ColumnSpec, ...]
    primary_key: tuple[str, ...]
    # Facts: the timestamp column whose UTC month is the partition.
    time_column: str | None = None
    # Dimensions: keep history as SCD Type 2 in Silver (valid_from, valid_to, is_current).
    history: Literal["snapshot", "scd2"] = "snapshot"
    # Streaming event types whose payloads map onto rows of this fact (reference spec §9.3).
    source_events: tuple[str, ...] = ()

    @property
    def partitioned(self) -> bool:
        return self.kind == "fact"

    @model_validator(mode="after")
    def _check(self) -> TableSpec:
        owner = f"table {self.name!r}"
        if not SNAKE_CASE.match(self.name):
            raise SpecError(f"{owner}: table names must be snake_case")
        expected_prefix = "dim_" if self.kind == "dimension" else "fact_"
        if not self.name.startswith(expected_prefix):
            raise SpecError(f"{owner}: a {self.kind} table name must start with {expected_prefix!r}")
        _check_unique(owner, self.columns)
        _check_money(owner, self.columns)
        names = set(self.column_names)
        if PARTITION_COLUMN in names:
            raise SpecError(f"{owner}: {PARTITION_COLUMN!r} is added by the platform; do not declare it")
        if not self.primary_key:
            raise SpecError(f"{owner}: a primary key is required")
        for key in self.primary_key:
            if key not in names:
                raise SpecError(f"{owner}: primary key column {key!r} is not a column")
            if self.column(key).nullable:
                raise SpecError(f"{owner}: primary key column {key!r} must not be nullable")
        if self.kind == "fact":
            if self.time_column is None:
                raise SpecError(f"{owner}: a fact needs a time_column to partition by month")
            if self.time_column not in names:
                raise SpecError(f"{owner}: time_column {self.time_column!r} is not a column")
            tc = self.column(self.time_column)
            if tc.dtype is not DType.TIMESTAMP or tc.nullable:
                raise SpecError(f"{owner}: time_column {self.time_column!r} must be a non-null timestamp")
            if self.history != "snapshot":
                raise SpecError(f"{owner}: SCD2 history applies to dimensions only")
        elif self.time_column is not None or self.source_events:
            raise SpecError(f"{owner}: dimensions have no time_column or source events")
        return self


class EventSpec(BaseModel):
    """A streaming event type: the reference envelope plus a typed payload."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    event_type: str
    description: str = Field(min_length=10)
    payload: tuple[ColumnSpec, ...]
    # Fact table(s) the event maps to in Silver (reference spec §9.3).
    facts: tuple[str, ...]
    # Eventhouse retention class (reference spec §12.1).
    retention_days: int = Field(gt=0)

    @property
    def table_name(self) -> str:
        """Bronze and KQL table name: the event type itself."""
        return self.event_type

    @model_validator(mode="after")
    def _check(self) -> EventSpec:
        owner = f"event {self.event_type!r}"
        if not SNAKE_CASE.match(self.event_type):
            raise SpecError(f"{owner}: event types must be snake_case")
        _check_unique(owner, self.payload)
        for c in self.payload:
            if c.name.endswith("_cents") and c.dtype is not DType.INT64:
                raise SpecError(f"{owner}: payload field {c.name!r} holds cents and must be int64")
        fields = [c.field for c in self.payload]
        if len(set(fields)) != len(fields):
            raise SpecError(f"{owner}: two payload columns read the same JSON field")
        return self
