"""Table and event specs: the single source of truth for every column of the platform."""

from retail_assets.lib.specs.model import PARTITION_COLUMN, ColumnSpec, DType, EventSpec, SpecError, TableSpec
from retail_assets.lib.specs.registry import (
    INGESTION_COLUMNS,
    MONTH_START,
    QUARANTINE_COLUMNS,
    REGISTRY,
    SCD2_COLUMNS,
    SNAPSHOT_MONTH,
    bronze_columns,
    empty_frame,
    event_columns,
    polars_schema,
    silver_columns,
)

__all__ = [
    "INGESTION_COLUMNS",
    "MONTH_START",
    "PARTITION_COLUMN",
    "QUARANTINE_COLUMNS",
    "REGISTRY",
    "SCD2_COLUMNS",
    "SNAPSHOT_MONTH",
    "ColumnSpec",
    "DType",
    "EventSpec",
    "SpecError",
    "TableSpec",
    "bronze_columns",
    "empty_frame",
    "event_columns",
    "polars_schema",
    "silver_columns",
]
