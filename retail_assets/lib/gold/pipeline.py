"""Gold against the lake: read the Silver months a table needs, build, validate before writing, write one commit.

A Gold month reads only the Silver months its spec names (the month, sometimes its neighbour) and,
for snapshot tables, its own previous month: its cost does not grow with history. Nothing is
written when an input or the output drifts from its spec, a non-nullable column holds NULLs, or
the grain is not unique (:class:`SpecValidationError`, naming the blocking check it fails). The checks
and the reconciliation read the written month back from the lake.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.checks import (
    GRAIN_UNIQUE,
    SCHEMA_PARITY,
    CheckOutcome,
    SpecValidationError,
    frame_parity,
    key_examples,
    key_outcome,
    parity_outcome,
)
from retail_assets.lib.conform import SchemaDrift
from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.frames import METRIC_PREFIX, GoldInputs
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.gold.specs import gold_table
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.months import add_months
from retail_assets.lib.partitions import FIRST_MONTH, month_start
from retail_assets.lib.specs import PARTITION_COLUMN, silver_columns

LAYER = "gold"


def gold_path(name: str) -> str:
    return f"{LAYER}/{name}"


class MissingGoldInput(LookupError):
    """A Silver table (or the previous snapshot) a Gold month needs is not in the lake."""


def read_inputs(
    lake: LakeStore,
    table: GoldTable,
    month: dt.date,
    *,
    previous: pl.DataFrame | None = None,
    thresholds: AlertThresholds | None = None,
) -> GoldInputs:
    """The Silver months ``table`` reads for ``month``, lazily (only the columns a transform uses are read)."""
    facts: dict[str, pl.LazyFrame] = {}
    for source in table.inputs:
        path = f"silver/{source.table}"
        if not lake.exists(path):
            raise MissingGoldInput(
                f"gold/{table.name} {month:%Y-%m} reads {path}, which does not exist; materialize it first"
            )
        months = [m for k in range(source.first, source.last + 1) if (m := add_months(month, k)) >= FIRST_MONTH]
        frame = lake.scan(path, months)
        drift = frame_parity(pl.DataFrame(schema=frame.collect_schema()), silver_columns(source.table))
        if not drift.ok:
            raise SpecValidationError(
                f"gold/{table.name} {month:%Y-%m}: input {path} does not match its spec ({drift.describe()}); nothing was "
                f"written. Re-materialize {path} with the current spec.",
                layer=LAYER,
                table=table.name,
                partition=month.isoformat(),
                drift=drift,
            )
        facts[source.table] = frame
    return GoldInputs(month=month, facts=facts, previous=previous, thresholds=thresholds or AlertThresholds())


def previous_snapshot(lake: LakeStore, table: GoldTable, month: dt.date) -> pl.DataFrame | None:
    """The snapshot of the month before ``month``; None when there is nothing before it.

    A missing previous snapshot is only acceptable when no Silver input has rows before ``month``
    (the first month of data); otherwise the previous month must be materialized first, because the
    snapshot is incremental.
    """
    before = add_months(month, -1)
    path = gold_path(table.name)
    if lake.exists(path):
        rows = lake.scan(path, [before]).collect()
        if rows.height:
            return rows.drop(PARTITION_COLUMN)
    for source in table.inputs:
        silver = f"silver/{source.table}"
        if (
            lake.exists(silver)
            and lake.scan(silver).filter(pl.col(PARTITION_COLUMN) < month).select(pl.len()).collect().item()
        ):
            raise MissingGoldInput(
                f"gold/{table.name} {month:%Y-%m} starts from the {before:%Y-%m} snapshot, which is not in the lake while "
                f"{silver} has earlier rows; materialize gold/{table.name} from the first month with data (a backfill "
                "over the whole range does it in order)"
            )
    return None


def null_columns(rows: pl.DataFrame, table: GoldTable) -> dict[str, int]:
    """NULL counts of the non-nullable columns of ``table`` that hold any."""
    required = [c.name for c in gold_columns(table) if not c.nullable and c.name in rows.columns]
    return {c: n for c, n in rows.select(pl.col(required).null_count()).row(0, named=True).items() if n}


def written_outcomes(stored: pl.LazyFrame, table: GoldTable, label: str) -> dict[str, CheckOutcome]:
    """``schema_parity`` (columns, types, no NULL where the spec forbids it) and ``grain_unique`` of Gold rows as
    read back from the lake after a write (a month, or the window the stream worker replaced). Reads the schema,
    the NULL counts and the grain columns, not the month's rows."""
    subject = f"gold/{table.name} {label}, as stored"
    schema = stored.collect_schema()
    drift = frame_parity(pl.DataFrame(schema=schema), gold_columns(table))
    required = [c.name for c in gold_columns(table) if not c.nullable and c.name in schema]
    counts = stored.select(pl.col(required).null_count()).collect().row(0, named=True) if required else {}
    nulls = {c: n for c, n in counts.items() if n}
    parity = parity_outcome(drift, subject=subject, extra_metadata={"null_columns": nulls})
    if nulls:
        parity = CheckOutcome(
            passed=False, description=f"{subject}: NULLs in non-nullable columns {nulls}", metadata=parity.metadata
        )
    keys = stored.select(list(table.key)).collect()
    grain = key_outcome(keys, table.key, subject=subject, nulls_allowed=True)
    if not grain.passed:
        grain.metadata["key_examples"] = key_examples(keys, table.key, nulls_allowed=True)
    return {SCHEMA_PARITY: parity, GRAIN_UNIQUE: grain}


def validate_output(rows: pl.DataFrame, table: GoldTable, month: dt.date) -> None:
    where = f"gold/{table.name} {month:%Y-%m}"
    drift = frame_parity(rows, gold_columns(table))
    if not drift.ok:
        raise SpecValidationError(
            f"{where}: output does not match the spec ({drift.describe()}); nothing was written. The transform in "
            "lib/gold/kpis/<table>.py disagrees with its spec there.",
            layer=LAYER,
            table=table.name,
            partition=month.isoformat(),
            drift=drift,
        )
    nulls = null_columns(rows, table)
    if nulls:
        raise SpecValidationError(
            f"{where}: NULLs in non-nullable columns {nulls}; nothing was written",
            layer=LAYER,
            table=table.name,
            partition=month.isoformat(),
            check=SCHEMA_PARITY,
            null_columns=nulls,
        )
    duplicates = int(rows.select(table.key).is_duplicated().sum())
    if duplicates:
        raise SpecValidationError(
            f"{where}: {duplicates} rows share a grain key {list(table.key)}; nothing was written",
            layer=LAYER,
            table=table.name,
            partition=month.isoformat(),
            check=GRAIN_UNIQUE,
            key=list(table.key),
            duplicate_rows=duplicates,
            key_examples=key_examples(rows, table.key, nulls_allowed=True),
        )
    outside = rows.filter(pl.col(PARTITION_COLUMN) != month).height
    if table.time_column is not None:
        outside += rows.filter(month_start(table.time_column) != month).height
    if outside:
        raise SpecValidationError(
            f"{where}: {outside} rows fall outside the month; nothing was written",
            layer=LAYER,
            table=table.name,
            # Rows that do not belong to the partition do not match the table's spec for it.
            check=SCHEMA_PARITY,
            partition=month.isoformat(),
            rows_outside=outside,
        )


def build_month(inputs: GoldInputs, table: GoldTable) -> pl.DataFrame:
    """The Gold rows of one month, in spec column order, sorted by the grain (validated, not written)."""
    return build_with_metrics(inputs, table)[0]


def build_with_metrics(inputs: GoldInputs, table: GoldTable) -> tuple[pl.DataFrame, dict[str, int]]:
    """The Gold rows of one month and the sums of the transform's ``__metric_*`` columns."""
    rows = BUILDERS[table.name].build(inputs).collect()
    metrics = {c.removeprefix(METRIC_PREFIX): int(rows[c].sum()) for c in rows.columns if c.startswith(METRIC_PREFIX)}
    order = [c.name for c in gold_columns(table)]
    missing = [c for c in order if c not in rows.columns]
    if missing:
        raise SpecValidationError(
            f"gold/{table.name} {inputs.month:%Y-%m}: the transform produced no columns {missing}; nothing was written",
            layer=LAYER,
            table=table.name,
            partition=inputs.month.isoformat(),
            drift=SchemaDrift(missing=tuple(missing)),
        )
    rows = rows.select(order).sort(list(table.key), nulls_last=True)
    validate_output(rows, table, inputs.month)
    return rows, metrics


@dataclass(frozen=True)
class GoldMonth:
    table: GoldTable
    month: dt.date
    inputs: GoldInputs
    rows: pl.DataFrame  # what was written
    stored: pl.LazyFrame  # the month as read back from the lake after the write (what the checks evaluate)
    version: int
    balances: list[Balance]  # Gold side read back from the lake
    extra: dict[str, int]


def materialize_gold_month(
    lake: LakeStore,
    name: str,
    month: dt.date,
    *,
    previous: pl.DataFrame | None = None,
    thresholds: AlertThresholds | None = None,
    commit_metadata: Mapping[str, str] | None = None,
) -> GoldMonth:
    """Build, validate and write one month of ``gold/<name>``, then reconcile what landed with Silver.

    For a snapshot table, ``previous`` is the previous month's snapshot when the caller has it (a
    multi-month run); otherwise it is read from the lake.
    """
    table = gold_table(name)
    if table.kind == "snapshot" and previous is None:
        previous = previous_snapshot(lake, table, month)
    inputs = read_inputs(lake, table, month, previous=previous, thresholds=thresholds)
    rows, extra = build_with_metrics(inputs, table)
    report = lake.overwrite_months(gold_path(name), rows, [month], commit_metadata=commit_metadata)
    stored = lake.scan(gold_path(name), [month])
    return GoldMonth(
        table=table,
        month=month,
        inputs=inputs,
        rows=rows,
        stored=stored,
        version=report.version,
        balances=BUILDERS[name].reconcile(inputs, stored),
        extra=extra,
    )
