"""Column and input helpers the Gold KPI modules (lib/gold/kpis/) declare their specs with."""

from __future__ import annotations

from retail_assets.lib.gold.model import DATE_KEY, SilverInput
from retail_assets.lib.specs import ColumnSpec, DType
from retail_assets.lib.specs.columns import col, dc_id, store_id

D = DType

CHANNELS = ("STORE", "ONLINE")


def ts_column(description: str) -> ColumnSpec:
    return col("ts", D.TIMESTAMP, description)


def day_column(description: str = "UTC day (midnight UTC).") -> ColumnSpec:
    return col("day", D.TIMESTAMP, description)


def date_key_column() -> ColumnSpec:
    return col(DATE_KEY, D.INT32, "UTC day as yyyymmdd (dim_date.date_key).", references="dim_date", gt=0)


def count_column(name: str, description: str) -> ColumnSpec:
    return col(name, D.INT64, description, ge=0)


def ratio_column(name: str, description: str, *, nullable: bool = True) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=nullable)


def hours_column(name: str, description: str) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=True, ge=0)


def inputs(*tables: str | tuple[str, int, int]) -> tuple[SilverInput, ...]:
    return tuple(
        SilverInput(table=t) if isinstance(t, str) else SilverInput(table=t[0], first=t[1], last=t[2]) for t in tables
    )


def site_store(description: str = "Store; NULL for a distribution-centre row (dim_stores.store_id).") -> ColumnSpec:
    return store_id(nullable=True, description=description)


def site_dc(
    description: str = "Distribution centre; NULL for a store row (dim_distribution_centers.dc_id).",
) -> ColumnSpec:
    return dc_id(nullable=True, description=description)
