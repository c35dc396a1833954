"""Silver dimensions from every landed Bronze snapshot.

Each snapshot's rows are checked (required values, bounds, allowed values, references to other
Silver dimensions) and deduplicated on the key within the snapshot; rejected rows go to
quarantine under their snapshot month. Then:

- SCD2 dimensions (``history="scd2"``: dim_stores, dim_customers) become versions (``scd2.py``);
- the others keep, per key, the row of the latest snapshot that has it, so a key dropped by a
  later snapshot still resolves for older facts.

Counts reconcile: Bronze rows = Silver rows + quarantined + exact duplicates dropped + snapshot
rows that repeated (SCD2) or were superseded by (snapshot dims) a later row of the same key.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.silver.dedupe import deduplicate
from retail_assets.lib.silver.quarantine import empty_quarantine, quarantine_rows
from retail_assets.lib.silver.rules import (
    BATCH,
    BATCH_ID,
    EVENT_TRACE_ID,
    ORIGIN,
    SOURCE_FILE,
    DimensionKeys,
    column_checks,
    flag_rows,
    foreign_key_checks,
    split_flagged,
)
from retail_assets.lib.silver.scd2 import build_versions, latest_rows
from retail_assets.lib.specs import REGISTRY, SNAPSHOT_MONTH, silver_columns

SNAPSHOT = SNAPSHOT_MONTH.name


@dataclass(frozen=True)
class DimensionBuild:
    table: str
    rows: pl.DataFrame
    quarantine: pl.DataFrame
    bronze_rows: int
    duplicates_dropped: int
    versions_collapsed: int
    snapshots: tuple[dt.date, ...]

    @property
    def quarantined(self) -> int:
        return self.quarantine.height


def build_dimension(
    table: str, bronze: pl.LazyFrame, dims: dict[str, DimensionKeys], *, quarantined_at: dt.datetime
) -> DimensionBuild:
    spec = REGISTRY.table(table)
    candidates = bronze.select(
        *spec.column_names,
        SNAPSHOT,
        pl.lit(BATCH, dtype=pl.Categorical).alias(ORIGIN),
        pl.col("_source_file").alias(SOURCE_FILE),
        pl.col("_batch_id").alias(BATCH_ID),
        pl.lit(None, dtype=pl.String).alias(EVENT_TRACE_ID),
    )
    checks = [*column_checks(spec), *foreign_key_checks(spec, dims)]
    flagged = flag_rows(candidates, checks).collect()
    valid, described = split_flagged(flagged, checks)
    deduped = deduplicate(valid, [*spec.primary_key, SNAPSHOT], [*spec.column_names, SNAPSHOT], table=table)
    rejected = pl.concat([described.select(deduped.conflicts.columns), deduped.conflicts], how="vertical_relaxed")
    if spec.history == "scd2":
        rows, collapsed = build_versions(deduped.rows, spec)
    else:
        rows, collapsed = latest_rows(deduped.rows, spec)
    quarantine = [
        quarantine_rows(group, table=table, month=month, record_columns=spec.column_names, quarantined_at=quarantined_at)
        for (month,), group in rejected.partition_by(SNAPSHOT, as_dict=True).items()
    ]
    return DimensionBuild(
        table=table,
        rows=rows.select([c.name for c in silver_columns(table)]),
        quarantine=pl.concat(quarantine, how="vertical") if quarantine else empty_quarantine(),
        bronze_rows=flagged.height,
        duplicates_dropped=deduped.duplicates_dropped,
        versions_collapsed=collapsed,
        snapshots=tuple(sorted(flagged.get_column(SNAPSHOT).unique().to_list())),
    )


def dimension_keys(table: str, silver_rows: pl.LazyFrame) -> DimensionKeys:
    """What facts need from a Silver dimension: its keys, and for SCD2 each key's first valid_from."""
    spec = REGISTRY.table(table)
    key = spec.primary_key[0]
    if spec.history == "scd2":
        first = silver_rows.group_by(key).agg(pl.col("valid_from").min()).collect()
        return DimensionKeys(table, key, first.get_column(key), first.get_column("valid_from"))
    return DimensionKeys(table, key, silver_rows.select(key).unique().collect().get_column(key))
