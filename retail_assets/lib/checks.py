"""Asset-check and metadata helpers shared by every layer.

Checks are declared on the asset (``check_specs``) and evaluated in the same step, on the frame
being written. For partitioned assets run as a single-run backfill over several months, each
month gets its own check evaluation and its own materialization metadata, so the UI shows
results per partition (Dagster 1.13 partitioned checks).
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl
# Dagster 1.13 has no public way to say which materialization a check evaluated when one step writes several
# partitions (AssetCheckResult takes the step's single partition); without it a partition's result is never
# "current", and automation cannot tell a failed gate (lib/gates.py). This one private type fills that gap.
from dagster._core.definitions.asset_checks.asset_check_evaluation import AssetCheckEvaluationTargetMaterializationData

from retail_assets.lib.conform import SchemaDrift, schema_drift
from retail_assets.lib.partitions import MONTHLY, partition_key
from retail_assets.lib.specs import ColumnSpec

SCHEMA_PARITY = "schema_parity"
# Blocking key checks: Silver's business key, Gold's grain.
PRIMARY_KEY_UNIQUE = "primary_key_unique"
GRAIN_UNIQUE = "grain_unique"
# WARN check of every Bronze and Silver month: nothing was rejected. Rejections are never silent: a month
# that quarantines rows shows a warning with the counts by reason, next to the quarantine table's path.
NOTHING_QUARANTINED = "nothing_quarantined"
NOTHING_QUARANTINED_DESCRIPTION = (
    "No row of the partition was rejected. WARN, not blocking: rejected rows are kept in the quarantine table "
    "with their reason, file and line/row; the metadata counts them by reason."
)


def column_schema(columns: Sequence[ColumnSpec]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                name=c.name,
                type=c.dtype.value,
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in columns
        ]
    )


def frame_schema(df: pl.DataFrame) -> dg.TableSchema:
    """The schema of the data actually written, for ``dagster/column_schema``."""
    return dg.TableSchema(columns=[dg.TableColumn(name=n, type=str(t)) for n, t in df.schema.items()])


# Blocking checks by asset, as declared: asset key -> {check key: partitioned}. Filled by ``check_spec`` (every
# check of the platform is declared through it), so any process that built the assets knows the gates of
# their upstreams (``lib/gates.py``), whichever subset of the graph its run executes.
BLOCKING_CHECKS: dict[dg.AssetKey, dict[dg.AssetCheckKey, bool]] = {}


def check_spec(
    name: str, key: dg.AssetKey, *, partitioned: bool, description: str, blocking: bool = True
) -> dg.AssetCheckSpec:
    if blocking:
        BLOCKING_CHECKS.setdefault(key, {})[dg.AssetCheckKey(key, name)] = partitioned
    # Partitioned check specs are a 1.13 preview feature, used on purpose (per-month results in the UI).
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return dg.AssetCheckSpec(
            name,
            asset=key,
            blocking=blocking,
            partitions_def=MONTHLY if partitioned else None,
            description=description,
        )


def schema_parity_spec(key: dg.AssetKey, *, partitioned: bool, description: str) -> dg.AssetCheckSpec:
    return check_spec(SCHEMA_PARITY, key, partitioned=partitioned, description=description)


@dataclass
class CheckOutcome:
    passed: bool
    description: str
    metadata: dict[str, Any] = field(default_factory=dict)
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR


def parity_outcome(drift: SchemaDrift, *, subject: str, extra_metadata: Mapping[str, Any] | None = None) -> CheckOutcome:
    return CheckOutcome(
        passed=drift.ok,
        description=f"{subject}: {drift.describe()}",
        metadata={
            "missing_columns": list(drift.missing),
            "extra_columns": list(drift.extra),
            "mistyped_columns": {c: {"found": f, "expected": e} for c, (f, e) in drift.mistyped.items()},
            **(extra_metadata or {}),
        },
    )


class SpecValidationError(ValueError):
    """A Silver or Gold input or output does not match its spec; nothing was written.

    ``check`` names the blocking check the frame fails (``schema_parity`` — also for rows outside the partition or
    window —, ``primary_key_unique``, ``grain_unique``): the step records that check as failed (``outcome()``), with
    the table, partition, columns and values in its metadata, before it fails. None only for a fault no check covers."""

    def __init__(
        self,
        message: str,
        *,
        layer: str,
        table: str,
        partition: str,
        check: str | None = SCHEMA_PARITY,
        drift: SchemaDrift | None = None,
        **details: Any,
    ):
        super().__init__(message)
        self.layer = layer
        self.table = table
        self.partition = partition
        self.check = check
        self.drift = drift
        self.details = details

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey([self.layer, self.table])

    def metadata(self) -> dict[str, Any]:
        """Table, partition, the drifted columns and the details (keys, counts, example values)."""
        metadata: dict[str, Any] = {"table": self.table, "partition": self.partition}
        if self.drift is not None:
            metadata.update(
                missing_columns=list(self.drift.missing),
                extra_columns=list(self.drift.extra),
                mistyped_columns=dg.MetadataValue.json({c: list(t) for c, t in self.drift.mistyped.items()}),
            )
        metadata.update({k: dg.MetadataValue.json(v) if isinstance(v, (list, dict)) else v for k, v in self.details.items()})
        return metadata

    def outcome(self) -> CheckOutcome:
        """The failed evaluation of ``check`` (nothing was written: the partition keeps what it held)."""
        return CheckOutcome(passed=False, description=str(self), metadata=self.metadata())


def quarantine_outcome(quarantine: pl.DataFrame, *, subject: str, table_path: str | None = None) -> CheckOutcome:
    """WARN outcome of ``nothing_quarantined``: fails when ``quarantine`` (rows with a ``reason_code``) has rows."""
    by_reason = (
        dict(quarantine.group_by("reason_code").len().sort("reason_code").iter_rows()) if quarantine.height else {}
    )
    counts = ", ".join(f"{code} {n}" for code, n in by_reason.items())
    metadata: dict[str, Any] = {"quarantined_rows": quarantine.height, "by_reason": by_reason}
    if table_path:
        metadata["quarantine_table"] = dg.MetadataValue.path(table_path)
    return CheckOutcome(
        passed=not quarantine.height,
        description=(
            f"{subject}: {quarantine.height} rows quarantined ({counts})" if quarantine.height else f"{subject}: no row rejected"
        ),
        metadata=metadata,
        severity=dg.AssetCheckSeverity.WARN,
    )


def stored_reason_codes(lake, table: str, month: dt.date) -> pl.DataFrame:
    """The ``reason_code`` of every row a quarantine table holds for ``month`` (empty when it does not exist)."""
    if not lake.exists(table):
        return pl.DataFrame(schema={"reason_code": pl.String})
    return lake.scan(table, [month]).select("reason_code").collect()


def stored_parity_outcome(
    lake, table: str, columns: Sequence[ColumnSpec], month: dt.date | None, *, subject: str
) -> CheckOutcome:
    """``schema_parity`` of ``table`` (one month, or all of an unpartitioned table) as stored: the Delta table's
    schema (its metadata, no data read) against the spec, types compared exactly."""
    stored = lake.scan(table, [month] if month is not None else None).collect_schema()
    return parity_outcome(frame_parity(pl.DataFrame(schema=stored), columns), subject=f"{subject}, as stored")


def key_examples(
    rows: pl.DataFrame, key: Sequence[str], *, nulls_allowed: bool = False, limit: int = 5
) -> list[dict[str, Any]]:
    """Up to ``limit`` key values of ``rows`` that are repeated (or, unless ``nulls_allowed``, null): what a failed
    key check shows."""
    keys = rows.select(list(key))
    null = pl.lit(False) if nulls_allowed else pl.any_horizontal(pl.all().is_null())
    bad = keys.filter(null | keys.is_duplicated()).unique(maintain_order=True)
    return [{k: None if v is None else str(v) for k, v in r.items()} for r in bad.head(limit).to_dicts()]


def key_outcome(rows: pl.DataFrame, key: Sequence[str], *, subject: str, nulls_allowed: bool = False) -> CheckOutcome:
    """Whether ``key`` is unique (and, unless ``nulls_allowed``, never null) over ``rows``, evaluated on the rows.

    Gold grains may hold a null part (a stockout is at a store *or* a DC); null then counts as a value."""
    keys = rows.select(list(key))
    nulls = 0 if nulls_allowed else keys.filter(pl.any_horizontal(pl.all().is_null())).height
    # A unique 64-bit hash proves the key unique; only a repeated hash needs the exact (slower) count.
    hashes = keys.select(pl.struct(list(key)).hash()).to_series()
    duplicated = 0 if hashes.n_unique() == keys.height else int(keys.is_duplicated().sum())
    passed = not nulls and not duplicated
    return CheckOutcome(
        passed=passed,
        description=(
            f"{subject}: {rows.height} rows, one per {list(key)}" if passed
            else f"{subject}: key {list(key)} has {nulls} null and {duplicated} duplicated rows"
        ),
        metadata={"key": list(key), "rows": rows.height, "null_keys": nulls, "duplicate_keys": duplicated},
    )


def frame_parity(df: pl.DataFrame, columns: Sequence[ColumnSpec]) -> SchemaDrift:
    """Order-insensitive comparison of a frame with the spec, types compared exactly."""
    drift = schema_drift(df.schema, columns)
    exact = {
        c.name: (str(df.schema[c.name]), c.dtype.value)
        for c in columns
        if c.name in df.schema and df.schema[c.name] != c.polars_dtype and c.name not in drift.mistyped
    }
    return SchemaDrift(drift.missing, drift.missing_required, drift.extra, {**drift.mistyped, **exact})


def check_output_name(context: dg.AssetExecutionContext, check_key: dg.AssetCheckKey) -> str:
    for name, spec in context.assets_def.check_specs_by_output_name.items():
        if spec.key == check_key:
            return name
    raise KeyError(f"asset {check_key.asset_key.to_user_string()} has no check {check_key.name!r}")


def latest_materialization(
    instance: dg.DagsterInstance, asset_key: dg.AssetKey, partition: str | None
) -> AssetCheckEvaluationTargetMaterializationData | None:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=asset_key, asset_partitions=[partition] if partition else None), limit=1
    ).records
    if not records:
        return None
    return AssetCheckEvaluationTargetMaterializationData(
        run_id=records[0].run_id, storage_id=records[0].storage_id, timestamp=records[0].timestamp
    )


# Per step: the materialization a step's checks evaluated, looked up once per asset partition (~4 ms each).
_STEP_TARGETS: dict[tuple[str, str, dg.AssetKey, str | None], Any] = {}


def check_evaluation(
    instance: dg.DagsterInstance,
    key: dg.AssetCheckKey,
    outcome: CheckOutcome,
    *,
    blocking: bool,
    month: dt.date | None = None,
    step: tuple[str, str] | None = None,
) -> dg.AssetCheckEvaluation:
    """One check evaluation, of ``month`` (or of an unpartitioned check), naming the asset partition's latest
    materialization as the one evaluated: yield it after the materialization. ``step`` (run id, op and attempt): a
    step materializes an asset partition once, so its checks share one lookup."""
    partition = partition_key(month) if month is not None else None
    if step is None:
        target = latest_materialization(instance, key.asset_key, partition)
    else:
        cached = (*step, key.asset_key, partition)
        if cached not in _STEP_TARGETS:
            if len(_STEP_TARGETS) > 4096:
                _STEP_TARGETS.clear()
            _STEP_TARGETS[cached] = latest_materialization(instance, key.asset_key, partition)
        target = _STEP_TARGETS[cached]
    return dg.AssetCheckEvaluation(
        asset_key=key.asset_key,
        check_name=key.name,
        passed=outcome.passed,
        metadata=outcome.metadata,
        target_materialization_data=target,
        severity=outcome.severity,
        description=outcome.description,
        blocking=blocking,
        partition=partition,
    )


def check_evaluations(
    context: dg.AssetExecutionContext,
    check_name: str,
    outcomes: Mapping[dt.date, CheckOutcome] | CheckOutcome,
    asset_key: dg.AssetKey | None = None,
) -> Iterator[dg.AssetCheckEvaluation]:
    """The evaluations of one check, one per month (or one for an unpartitioned asset), without the check's output:
    what a failing step records before it raises (``emit_check_results`` adds the output)."""
    key = dg.AssetCheckKey(asset_key or context.assets_def.key, check_name)
    if key not in context.selected_asset_check_keys:
        return
    spec = context.assets_def.get_spec_for_check_key(key)
    step = (context.run.run_id, f"{context.op_execution_context.op.name}#{context.retry_number}")
    if isinstance(outcomes, CheckOutcome):
        yield check_evaluation(context.instance, key, outcomes, blocking=spec.blocking, step=step)
    else:
        for month, outcome in sorted(outcomes.items()):
            yield check_evaluation(context.instance, key, outcome, blocking=spec.blocking, month=month, step=step)


def emit_check_results(
    context: dg.AssetExecutionContext,
    check_name: str,
    outcomes: Mapping[dt.date, CheckOutcome] | CheckOutcome,
    asset_key: dg.AssetKey | None = None,
) -> Iterator[Any]:
    """Yield one check evaluation per month (or one for an unpartitioned asset), after the materialization.

    ``asset_key`` names the asset of a multi-asset (default: the step's only asset).

    Dagster's ``AssetCheckResult`` records a single evaluation per step, which for a multi-month
    single run would carry no partition; evaluations are therefore emitted per month directly,
    followed by the check's (empty) output.
    """
    key = dg.AssetCheckKey(asset_key or context.assets_def.key, check_name)
    if key not in context.selected_asset_check_keys:
        return
    yield from check_evaluations(context, check_name, outcomes, asset_key)
    yield dg.Output(None, output_name=check_output_name(context, key))


def _table_column_type(dtype: pl.DataType) -> str:
    if dtype == pl.Boolean:
        return "bool"
    if dtype.is_integer():
        return "int"
    if dtype.is_float() or dtype.is_decimal():
        return "float"
    if dtype == pl.Date:
        return "date"
    if dtype == pl.Datetime:
        return "timestamp"
    return "string"


def _table_value(value: Any, kind: str) -> str | int | float | bool | None:
    """A cell as ``TableRecord`` takes it: dates and timestamps as ISO text, other non-scalars as text (≤ 200 chars)."""
    if value is None or kind in ("bool", "int"):
        return value
    if kind == "float":
        number = float(value)
        return number if math.isfinite(number) else str(number)  # NaN/inf are not JSON: the UI could not parse the row
    if kind in ("date", "timestamp"):
        return value.isoformat()
    return str(value)[:200]


def frame_table(df: pl.DataFrame, limit: int | None = 10) -> dg.TableMetadataValue:
    """The first ``limit`` rows of a frame (all with ``None``) as Dagster table metadata, with typed columns.

    The UI renders it as a table in the metadata panel (previews of Gold rows and of quarantined rows, the bars of
    a Gold chart); keep it small (previews ≤ 10 rows), it is stored with every materialization.
    """
    head = df if limit is None else df.head(limit)
    kinds = {name: _table_column_type(dtype) for name, dtype in head.schema.items()}
    return dg.MetadataValue.table(
        records=[
            dg.TableRecord({name: _table_value(value, kinds[name]) for name, value in row.items()})
            for row in head.iter_rows(named=True)
        ],
        schema=dg.TableSchema(columns=[dg.TableColumn(name=name, type=kind) for name, kind in kinds.items()]),
    )


def step_failure(exc: Exception, table: str, partition: str) -> dg.Failure:
    """The failure of a Silver or Gold step whose month could not be built, naming table and partition."""
    metadata = exc.metadata() if isinstance(exc, SpecValidationError) else {"table": table, "partition": partition}
    return dg.Failure(description=str(exc), metadata=metadata)


def record_before_failure(
    context: dg.AssetExecutionContext,
    written: Mapping[dt.date, Mapping[str, Any]],
    outcomes: Mapping[str, Mapping[dt.date, CheckOutcome]],
    exc: Exception,
    month: dt.date,
) -> Iterator[Any]:
    """What a multi-month step records before it fails on ``month``: the months already written (real
    materializations) with their check evaluations, and, when ``exc`` is a validation error, the failed check of
    ``month``. Nothing of ``month`` was written: its failed evaluation names the partition's latest materialization,
    the rows still stored, so the failure is current and holds the month's downstream (``lib/gates.py``) until a
    run builds it again and the check passes."""
    for done, metadata in written.items():
        yield dg.AssetMaterialization(asset_key=context.assets_def.key, partition=partition_key(done), metadata=metadata)
    failed = exc.check if isinstance(exc, SpecValidationError) else None
    for name, by_month in outcomes.items():
        evaluated = {**by_month, **({month: exc.outcome()} if name == failed else {})}  # type: ignore[union-attr]
        if evaluated:
            yield from check_evaluations(context, name, evaluated)
