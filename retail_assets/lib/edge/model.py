"""The edge domain's Silver and Gold table specs: columns (the spine's ``ColumnSpec``), key, time column.

Retail's ``TableSpec`` and ``GoldTable`` are bound to retail's conventions (``fact_`` names, Silver facts of
``REGISTRY`` as Gold inputs); the seed's edge tables are named as the seed names them (``device_heartbeat``,
``device_health_summary``), so they get this small model, validated at import with the same column rules.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retail_assets.lib.specs import ColumnSpec, DType, SpecError
from retail_assets.lib.specs.model import SNAKE_CASE, Columns
from retail_assets.lib.specs.registry import MONTH_START


class EdgeTable(Columns, BaseModel):
    """A monthly Silver or Gold table of the edge domain (``edge/<layer>/<name>``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    layer: Literal["silver", "gold"]
    description: str = Field(min_length=10)
    grain: str = Field(min_length=3)
    columns: tuple[ColumnSpec, ...]
    key: tuple[str, ...]
    # The UTC instant or day whose month is the partition.
    time_column: str

    @property
    def lake_table(self) -> str:
        return f"edge/{self.layer}/{self.name}"

    @property
    def stored_columns(self) -> tuple[ColumnSpec, ...]:
        return (*self.columns, MONTH_START)

    @model_validator(mode="after")
    def _check(self) -> EdgeTable:
        owner = f"edge table {self.name!r}"
        if not SNAKE_CASE.match(self.name):
            raise SpecError(f"{owner}: names must be snake_case")
        names = self.column_names
        if len(set(names)) != len(names) or MONTH_START.name in names:
            raise SpecError(f"{owner}: a column is declared twice, or month_start (added by the platform) is declared")
        for k in self.key:
            if k not in names or self.column(k).nullable:
                raise SpecError(f"{owner}: key column {k!r} must be a non-null column")
        if self.time_column not in names or self.column(self.time_column).dtype not in (DType.TIMESTAMP, DType.DATE):
            raise SpecError(f"{owner}: time_column {self.time_column!r} must be a timestamp or date column")
        return self
