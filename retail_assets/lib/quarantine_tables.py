"""Every quarantine table of the lake read as one frame: for ``retail-assets quarantine`` and the DuckDB file.

Bronze and Silver write rejected rows to ``quarantine/<layer>/<table>`` (Delta, partitioned by
``month_start``), one table per Bronze/Silver table, event type, and ``unroutable_events``. This
module finds the ones that exist and reads them together, adding two columns: ``layer`` (bronze,
silver) and ``quarantine_table`` (the table's name under its layer). The rows keep whatever columns
their Delta table has: the spec's ``QUARANTINE_COLUMNS`` grow over time (an older table may lack a
newer nullable column), so frames are aligned by name and a missing column reads as null.

Tables are found from the spec registry (every name Bronze and Silver write under), which works on
any storage; on a local lake, any other Delta table under ``quarantine/<layer>/`` is read too, so a
quarantine table added later is never missed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from retail_assets.lib.lake import LakeStore
from retail_assets.lib.specs import PARTITION_COLUMN, QUARANTINE_COLUMNS, REGISTRY, empty_frame
from retail_assets.lib.streaming.route import UNROUTABLE

ROOT = "quarantine"
LAYERS = ("bronze", "silver")
LAYER_COLUMN = "layer"
TABLE_COLUMN = "quarantine_table"
SUMMARY_COLUMNS = (LAYER_COLUMN, TABLE_COLUMN, PARTITION_COLUMN, "reason_code")


@dataclass(frozen=True, order=True)
class QuarantineTable:
    layer: str
    name: str

    @property
    def path(self) -> str:
        return f"{ROOT}/{self.layer}/{self.name}"

    @property
    def label(self) -> str:
        return f"{self.layer}/{self.name}"


def registered() -> set[QuarantineTable]:
    bronze = {*REGISTRY.tables, *REGISTRY.events_by_type, UNROUTABLE}
    return {QuarantineTable("bronze", n) for n in bronze} | {QuarantineTable("silver", n) for n in REGISTRY.tables}


def _on_local_disk(lake: LakeStore) -> set[QuarantineTable]:
    if not lake.is_local:
        return set()
    root = Path(lake.uri(ROOT))
    return {
        QuarantineTable(layer, folder.name)
        for layer in LAYERS
        if (root / layer).is_dir()
        for folder in (root / layer).iterdir()
        if (folder / "_delta_log").is_dir()
    }


def quarantine_tables(lake: LakeStore) -> list[QuarantineTable]:
    """The quarantine tables that exist in the lake, by layer and name."""
    return sorted(t for t in registered() | _on_local_disk(lake) if lake.exists(t.path))


def matches(table: QuarantineTable, wanted: str | None) -> bool:
    """``wanted`` names a table as ``fact_receipts`` (any layer) or ``bronze/fact_receipts``."""
    return wanted is None or wanted in (table.name, table.label)


def scan_quarantine(
    lake: LakeStore, months: Sequence[dt.date] | None = None, *, table: str | None = None
) -> pl.LazyFrame:
    """All quarantined rows (of ``months`` and ``table`` when given), with ``layer`` and ``quarantine_table`` first.

    The columns are those of ``QUARANTINE_COLUMNS`` plus any other column a quarantine table has; the
    frame has them even when no table exists.
    """
    no_rows = empty_frame(QUARANTINE_COLUMNS).lazy().with_columns(
        pl.lit(None, pl.String).alias(LAYER_COLUMN), pl.lit(None, pl.String).alias(TABLE_COLUMN)
    )
    frames = [no_rows]
    for found in quarantine_tables(lake):
        if matches(found, table):
            frames.append(
                lake.scan(found.path, months).with_columns(
                    pl.lit(found.layer).alias(LAYER_COLUMN), pl.lit(found.name).alias(TABLE_COLUMN)
                )
            )
    rows = pl.concat(frames, how="diagonal_relaxed")
    return rows.select(LAYER_COLUMN, TABLE_COLUMN, pl.all().exclude(LAYER_COLUMN, TABLE_COLUMN))


def summarize_quarantine(rows: pl.LazyFrame) -> pl.DataFrame:
    """Rows per layer, table, month and reason code, in that order."""
    return rows.group_by(SUMMARY_COLUMNS).agg(pl.len().alias("rows")).sort(SUMMARY_COLUMNS).collect()
