"""The Gold table model: grain, columns, formula, inputs and reconciliation of each KPI table.

Every Gold table is declared once, in its module ``lib/gold/kpis/<table>.py``, as a :class:`GoldTable`
(collected in ``lib/gold/specs.py`` ``GOLD_TABLES``). The Gold
assets, their checks, the DuckDB serving tables and ``docs/gold.md`` are derived from it.

Conventions (validated at import, like the Silver specs):
- Columns are :class:`~retail_assets.lib.specs.ColumnSpec`: snake_case; money is int64 ``*_cents``
  and a float column may not carry a money word (ratios are ``*_rate``, ``roas``, ``basket_lift``).
- Every Gold table is monthly: ``month_start`` (Date) is appended to its columns. For time-grained
  tables it is the UTC month of the grain's time column (``ts`` or ``day``); for snapshots it is the
  month whose end the snapshot describes.
- Time-grained tables carry ``date_key`` (yyyymmdd of the UTC day, ``dim_date.date_key``) so that
  every table joins the calendar dimension of the star schema without time-zone arithmetic.
- ``inputs`` name the Silver facts a month reads and which months of them: ``(0, 0)`` the same
  month, ``(0, 1)`` also the next one (a lifecycle that starts in the month may end in the next),
  ``(-1, 0)`` also the previous one. ``snapshot`` tables also read their own previous month.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retail_assets.lib.specs import ColumnSpec, DType, SpecError
from retail_assets.lib.specs.model import MONEY_WORDS, SNAKE_CASE, Columns
from retail_assets.lib.specs.registry import MONTH_START, REGISTRY

DATE_KEY = "date_key"


class SilverInput(BaseModel):
    """A Silver fact a Gold month reads, and the months of it relative to the Gold month."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    table: str
    first: int = Field(default=0, ge=-1, le=0, description="First month read, relative to the Gold month.")
    last: int = Field(default=0, ge=0, le=1, description="Last month read, relative to the Gold month.")

    @model_validator(mode="after")
    def _check(self) -> SilverInput:
        spec = REGISTRY.tables.get(self.table)
        if spec is None or spec.kind != "fact":
            raise SpecError(f"Gold input {self.table!r} is not a Silver fact")
        return self

    @property
    def window(self) -> tuple[int, int]:
        return (self.first, self.last)


class GoldTable(Columns, BaseModel):
    """One Gold KPI table: what a row is, how it is computed, and how it reconciles with Silver."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    description: str = Field(min_length=10)
    grain: str = Field(min_length=3)
    # How the table is kept fresh, declared rather than read from the grain's wording:
    # "stream": minute grain, refreshed window by window by the stream worker and copied to serving as events
    #   stream (lib/streaming/incremental.py), with the minute freshness policy (lib/freshness.py);
    # "daily": one row set per UTC day, expected by the daily freshness hour;
    # "month": rebuilt with its month only (snapshots, occurrences).
    refresh: Literal["stream", "daily", "month"]
    formula: str = Field(min_length=10, description="How each measure is computed (shown in the UI and docs/gold.md).")
    reconciliation: str = Field(min_length=10, description="What must equal what, against Silver, for every month.")
    columns: tuple[ColumnSpec, ...]
    # Columns that identify a row (the grain); unique in every month.
    key: tuple[str, ...]
    kind: Literal["time", "snapshot"] = "time"
    # The grain's time column (``ts`` or ``day``) for time-grained tables.
    time_column: str | None = None
    inputs: tuple[SilverInput, ...]
    # The KPI of lib/kpi_twins.py this table holds, when Eventhouse computes the same figures.
    twin: str | None = None
    # The reference table this re-implements, or "seed 002" / "defined here".
    origin: str = Field(min_length=3)

    @property
    def reads_next_month(self) -> bool:
        return any(i.last > 0 for i in self.inputs)

    @model_validator(mode="after")
    def _check(self) -> GoldTable:
        owner = f"Gold table {self.name!r}"
        if not SNAKE_CASE.match(self.name):
            raise SpecError(f"{owner}: names must be snake_case")
        names = self.column_names
        if len(set(names)) != len(names):
            raise SpecError(f"{owner}: a column is declared twice")
        if MONTH_START.name in names:
            raise SpecError(f"{owner}: {MONTH_START.name!r} is added by the platform; do not declare it")
        for c in self.columns:
            if c.name.endswith("_cents") and c.dtype is not DType.INT64:
                raise SpecError(f"{owner}: column {c.name!r} holds cents and must be int64, not {c.dtype}")
            if c.dtype is DType.FLOAT64 and any(w in c.name for w in MONEY_WORDS):
                raise SpecError(f"{owner}: column {c.name!r} looks like money stored as float; use *_cents (int64)")
            if c.references is not None:
                target = REGISTRY.tables.get(c.references)
                if target is None or target.kind != "dimension":
                    raise SpecError(f"{owner}: column {c.name!r} references {c.references!r}, which is not a dimension")
                if target.column(target.primary_key[0]).dtype is not c.dtype:
                    raise SpecError(f"{owner}: column {c.name!r} is {c.dtype}, unlike {c.references}'s key")
        for k in self.key:
            if k not in names:
                raise SpecError(f"{owner}: key column {k!r} is not a column")
        if self.kind == "time":
            if self.time_column not in names or self.column(self.time_column).dtype is not DType.TIMESTAMP:
                raise SpecError(f"{owner}: a time-grained table needs a timestamp time_column among its columns")
            if DATE_KEY not in names:
                raise SpecError(f"{owner}: a time-grained table carries {DATE_KEY!r} (dim_date.date_key)")
        elif self.time_column is not None:
            raise SpecError(f"{owner}: a snapshot has no time column; month_start is the snapshot month")
        if self.refresh != "month" and self.kind != "time":
            raise SpecError(f"{owner}: refresh={self.refresh!r} needs a time-grained table (kind='time'); a snapshot is "
                            "refreshed with its month (refresh='month')")
        if not self.inputs:
            raise SpecError(f"{owner}: at least one Silver input is required")
        return self


def gold_columns(table: GoldTable) -> tuple[ColumnSpec, ...]:
    """Columns of ``gold/<table>`` in the lake: the declared columns and ``month_start``."""
    return (*table.columns, MONTH_START)
