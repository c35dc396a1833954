"""Bronze: landed data as it arrived, typed against the spec, with lineage. One asset per table and event type.

The 18 event tables are one subsettable multi-asset (op ``bronze_events``): a streamed batch touching
every type is one step, one pool slot and one set of step events instead of eighteen.

Built by a factory from the spec registry. Facts and events are monthly-partitioned and support
single-run backfills of month ranges; dimensions are unpartitioned and keep every landed
snapshot. Each asset evaluates a blocking ``schema_parity`` check per month: the landed columns
must match the spec, or Silver does not run for that month. Rows that cannot be typed (and misnamed
files) go to ``quarantine/bronze/<table>`` with a reason, and the non-blocking ``nothing_quarantined``
check of that month then warns with the counts by reason; the landing files are never modified.
"""


import datetime as dt
from collections.abc import Callable, Iterator
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from retail_assets.defs.landing import landing_key
from retail_assets.lib.code_refs import code_references, event_spec, table_spec
from retail_assets.lib.bronze import (
    BatchIngest,
    BronzeLoad,
    LandingFileError,
    NoLandedData,
    ingest_event_batch,
    load_dimension,
    load_event_month,
    StreamedFactMonth,
    chunk_rows,
)
from retail_assets.lib.checks import (
    NOTHING_QUARANTINED,
    NOTHING_QUARANTINED_DESCRIPTION,
    SCHEMA_PARITY,
    CheckOutcome,
    check_spec,
    column_schema,
    emit_check_results,
    frame_parity,
    frame_schema,
    frame_table,
    parity_outcome,
    quarantine_outcome,
    schema_parity_spec,
)
from retail_assets.lib.conform import LandingSchemaError
from retail_assets.lib.lake import LakeStore, months_predicate
from retail_assets.lib.landing import LandingPathError, LandingZone, parse_landing_path
from retail_assets.lib.partitions import MONTHLY, describe_months, months_of, partition_key
from retail_assets.lib.pools import STREAM_POOL
from retail_assets.lib.specs import REGISTRY, bronze_columns, polars_schema

LAYER = "bronze"
# Errors that mean "this input cannot be loaded"; they fail the run with their message.
INPUT_ERRORS = (NoLandedData, LandingSchemaError, LandingFileError, LandingPathError)

LANDED_FILES = "landed_files"
LANDED_FILES_DESCRIPTION = (
    "At least one batch file landed for the month under batch/<table>/<YYYY-MM>/. WARN, not blocking: a month "
    "with only streamed events so far (the current month) legitimately has none, and Bronze then holds an empty "
    "month so Silver can still combine the stream."
)

PARITY_DESCRIPTION = (
    "Landed columns match the spec: none missing, none extra, none of the wrong type. Blocking: when it fails, "
    "Silver does not run for this partition. Rows that could be typed are in Bronze and the landed files are untouched; "
    "fix the producer (or the spec) and re-run."
)


def bronze_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([LAYER, name])


def quarantine_table(name: str) -> str:
    return f"quarantine/{LAYER}/{name}"


def _commit_metadata(context: dg.AssetExecutionContext, key: dg.AssetKey, months: str) -> dict[str, str]:
    return {"dagster_run_id": context.run.run_id, "dagster_asset": key.to_user_string(), "months": months}


def _load_metadata(load: BronzeLoad, lake: LakeStore, version: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": load.row_count,
        "dagster/column_schema": frame_schema(load.rows),
        "landed_rows": load.landed_rows,
        "quarantined_rows": load.quarantine.height,
        "duplicates_dropped": load.duplicates_dropped,
        "landed_files": len(load.files),
        "misnamed_files": len(load.rejected_files),
        "files": dg.MetadataValue.json(load.files[:100]),
        "delta_version": version,
        "lake_table": dg.MetadataValue.path(lake.uri(f"{LAYER}/{load.table}")),
    }
    if load.quarantine.height:
        metadata["quarantine_table"] = dg.MetadataValue.path(lake.uri(quarantine_table(load.table)))
        metadata["quarantine_preview"] = frame_table(
            load.quarantine.select("row_number", "reason_code", "column_name", "value", "reason")
        )
    return metadata


def _write_quarantine(lake: LakeStore, name: str, quarantine: pl.DataFrame, months: list[dt.date], meta: dict) -> None:
    """Replace the quarantined rows of these months (clearing them when a re-run rejects nothing)."""
    table = quarantine_table(name)
    if quarantine.height:
        lake.overwrite_months(table, quarantine, months, commit_metadata=meta)
    elif lake.exists(table):
        lake.delete(table, months_predicate(months), commit_metadata=meta)


def _quarantine_outcome(lake: LakeStore, name: str, quarantine: pl.DataFrame, subject: str) -> CheckOutcome:
    return quarantine_outcome(quarantine, subject=subject, table_path=lake.uri(quarantine_table(name)))


def _quarantine_spec(key: dg.AssetKey, *, partitioned: bool) -> dg.AssetCheckSpec:
    return check_spec(
        NOTHING_QUARANTINED, key, partitioned=partitioned, blocking=False, description=NOTHING_QUARANTINED_DESCRIPTION
    )


def _landed_files_outcome(load: BronzeLoad) -> CheckOutcome:
    where = f"batch/{load.table}/{load.month:%Y-%m}/"
    return CheckOutcome(
        passed=bool(load.files),
        description=f"{len(load.files)} files landed under {where}" if load.files else f"no file landed under {where}",
        metadata={"landed_files": len(load.files)},
        severity=dg.AssetCheckSeverity.WARN,
    )


def _run_monthly(
    context: dg.AssetExecutionContext,
    lake: LakeStore,
    name: str,
    load_month: Callable[[dt.date, dt.datetime], BronzeLoad | StreamedFactMonth],
    *,
    batch: bool = False,
) -> Iterator[Any]:
    """Load and write each month of the run in turn; one Delta commit per month. A batch fact month is streamed
    to its commit chunk by chunk (``StreamedFactMonth``): typed, checked and reconciled as it goes, so memory holds
    a chunk, not the month, and a month that does not reconcile commits nothing."""
    key = bronze_key(name)
    ingested_at = dt.datetime.now(dt.UTC)
    months = months_of(context)
    columns = bronze_columns(name)
    outcomes: dict[dt.date, CheckOutcome] = {}
    quarantined: dict[dt.date, CheckOutcome] = {}
    landed: dict[dt.date, CheckOutcome] = {}
    written: dict[dt.date, dict[str, Any]] = {}
    month = months[0]
    try:
        for month in months:
            meta = _commit_metadata(context, key, describe_months([month]))
            source = load_month(month, ingested_at)
            if isinstance(source, StreamedFactMonth):
                report = lake.overwrite_months_streamed(
                    f"{LAYER}/{name}", source.chunks, polars_schema(columns), [month], commit_metadata=meta
                )
                load = source.load
            else:
                load = source
                _assert_reconciles(load)
                drift = frame_parity(load.rows, columns)
                if not drift.ok:
                    raise RuntimeError(f"bronze/{name} {month:%Y-%m}: frame does not match the Bronze spec ({drift.describe()})")
                report = lake.overwrite_months(f"{LAYER}/{name}", load.rows, [month], commit_metadata=meta)
            _write_quarantine(lake, name, load.quarantine, [month], meta)
            written[month] = _load_metadata(load, lake, report.version)
            context.add_asset_metadata(written[month], asset_key=key, partition_key=partition_key(month))
            outcomes[month] = parity_outcome(
                load.drift,
                subject=f"{name} {month:%Y-%m}, {len(load.files)} landed files",
                extra_metadata={"files_with_drift": dg.MetadataValue.json(load.file_drift)} if load.file_drift else None,
            )
            quarantined[month] = _quarantine_outcome(lake, name, load.quarantine, f"{name} {month:%Y-%m}")
            if batch:
                landed[month] = _landed_files_outcome(load)
            context.log.info(
                f"bronze/{name} {month:%Y-%m}: {load.landed_rows} landed, {load.row_count} written, "
                f"{load.quarantine.height} quarantined ({len(load.rejected_files)} misnamed files), "
                f"{load.duplicates_dropped} duplicates dropped"
            )
    except INPUT_ERRORS as exc:
        # Months already written are real materializations; record them before failing.
        for done, metadata in written.items():
            yield dg.AssetMaterialization(asset_key=key, partition=partition_key(done), metadata=metadata)
        raise dg.Failure(
            description=str(exc),
            metadata={
                "table": name,
                "partition": partition_key(month),
                "months_written_before_failure": [partition_key(m) for m in written],
            },
        ) from exc
    yield dg.MaterializeResult(asset_key=key)
    yield from emit_check_results(context, SCHEMA_PARITY, outcomes, key)
    yield from emit_check_results(context, NOTHING_QUARANTINED, quarantined, key)
    if batch:
        yield from emit_check_results(context, LANDED_FILES, landed, key)


def _assert_reconciles(load: BronzeLoad) -> None:
    if not load.reconciles:
        raise RuntimeError(
            f"bronze/{load.table} {load.month:%Y-%m}: counts do not reconcile: {load.landed_rows} landed != "
            f"{load.row_count} written + {load.quarantine.height - len(load.rejected_files)} quarantined rows + "
            f"{load.duplicates_dropped} duplicates (besides {len(load.rejected_files)} misnamed files)"
        )


def build_fact_asset(table: str) -> dg.AssetsDefinition:
    spec = REGISTRY.table(table)
    key = bronze_key(table)

    @dg.asset(
        key=key,
        deps=[landing_key(table)],
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER, "source": "batch"},
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"{spec.description}\n\nBronze: every file landed under batch/{table}/<YYYY-MM>/, typed against the spec, "
            f"with lineage columns. Grain: {spec.grain}. Rows filed under the wrong month or that cannot be typed "
            f"are quarantined in {quarantine_table(table)}."
        ),
        metadata={
            "dagster/column_schema": column_schema(bronze_columns(table)),
            "lake_table": f"{LAYER}/{table}",
            **code_references(table_spec(table)),
        },
        check_specs=[
            schema_parity_spec(key, partitioned=True, description=PARITY_DESCRIPTION),
            check_spec(LANDED_FILES, key, partitioned=True, blocking=False, description=LANDED_FILES_DESCRIPTION),
            _quarantine_spec(key, partitioned=True),
        ],
    )
    def _fact(context: dg.AssetExecutionContext, lake: LakeStore, landing: LandingZone):
        rows = chunk_rows()
        yield from _run_monthly(
            context, lake, table, lambda m, at: StreamedFactMonth(landing, table, m, at, chunk_rows=rows), batch=True
        )

    return _fact


# Every writer of Bronze event tables (these assets, the Event Hubs and Capture ingestion jobs, the stream worker)
# runs in the stream pool (lib/pools.py): an incremental ingest reads the month to deduplicate and then commits,
# and Delta does not detect two such writers of one month.
BRONZE_EVENTS_POOL = STREAM_POOL
# The op of the event multi-asset; run config for a batch is {"ops": {EVENTS_OP: {"config": {"files": [...]}}}}.
EVENTS_OP = "bronze_events"


class EventBatchConfig(dg.Config):
    """Which landed event files a run ingests."""

    files: list[str] = Field(
        default_factory=list,
        description=(
            "Landing paths events/<event_type>/<YYYY-MM-DD>/<batch>.jsonl to ingest, all of the run's month and of "
            "exactly the event types the run selects; only their rows are replaced (idempotent). Empty: rebuild the "
            "selected tables' months from every landed file (what a backfill does)."
        ),
    )


def batch_metadata(ingest: BatchIngest, lake: LakeStore, month_rows: int) -> dict[str, Any]:
    load = ingest.load
    metadata = _load_metadata(load, lake, ingest.version if ingest.version is not None else -1)
    metadata.update(
        {
            "dagster/row_count": month_rows,
            "batch_rows": load.rows.height,
            "already_ingested": ingest.skipped,
            "duplicates_of_earlier_events": ingest.duplicates_of_earlier,
            "conflicts_with_earlier_events": ingest.conflicts_with_earlier,
            "displaced_rows_of_other_files": ingest.displaced,
            "month_settled_from_every_file": ingest.rebuilt_month,
        }
    )
    return metadata


def month_row_count(lake: LakeStore, table: str, month: dt.date) -> int:
    return lake.scan(table, [month]).select(pl.len()).collect().item() if lake.exists(table) else 0


def month_quarantine(lake: LakeStore, name: str, month: dt.date) -> pl.DataFrame:
    """Reason codes of every row quarantined for a Bronze table's month (what ``nothing_quarantined`` counts)."""
    table = quarantine_table(name)
    if not lake.exists(table):
        return pl.DataFrame(schema={"reason_code": pl.String})
    return lake.scan(table, [month]).select("reason_code").collect()


def ingest_batch(
    lake: LakeStore, landing: LandingZone, event_type: str, month: dt.date, files: list[str], commit_metadata: dict[str, str]
) -> tuple[BatchIngest, dict[str, Any]]:
    """Ingest named files of one event type and month; the ingest result and its materialization metadata."""
    ingest = ingest_files(lake, landing, event_type, month, files, commit_metadata)
    return ingest, batch_metadata(ingest, lake, month_row_count(lake, f"{LAYER}/{event_type}", month))


def ingest_files(
    lake: LakeStore, landing: LandingZone, event_type: str, month: dt.date, files: list[str], commit_metadata: dict[str, str]
) -> BatchIngest:
    """Ingest named files of one event type and month (idempotent); raises if counts or columns do not add up."""
    ingest = ingest_event_batch(
        lake, landing, event_type, month, files, dt.datetime.now(dt.UTC), commit_metadata=commit_metadata
    )
    _assert_reconciles(ingest.load)
    drift = frame_parity(ingest.load.rows, bronze_columns(event_type))
    if not drift.ok:
        raise RuntimeError(f"bronze/{event_type} {month:%Y-%m}: frame does not match the Bronze spec ({drift.describe()})")
    return ingest


def _run_batch(
    context: dg.AssetExecutionContext, lake: LakeStore, landing: LandingZone, event_type: str, files: list[str]
) -> Iterator[Any]:
    key = bronze_key(event_type)
    months = months_of(context)
    if len(months) != 1:
        raise dg.Failure(
            description=(
                f"bronze/{event_type}: a run that names files must target one month partition, not {describe_months(months)}"
            ),
            metadata={"table": event_type, "files": dg.MetadataValue.json(files[:100])},
        )
    month = months[0]
    try:
        ingest, metadata = ingest_batch(
            lake, landing, event_type, month, files, _commit_metadata(context, key, describe_months([month]))
        )
    except INPUT_ERRORS as exc:
        raise dg.Failure(description=str(exc), metadata={"table": event_type, "partition": partition_key(month)}) from exc
    load = ingest.load
    context.log.info(
        f"bronze/{event_type} {month:%Y-%m}: {len(files)} files, {load.landed_rows} landed, {load.rows.height} written, "
        f"{load.quarantine.height} quarantined, {load.duplicates_dropped} duplicates dropped"
        + (" (already ingested: nothing committed)" if ingest.skipped else "")
    )
    yield dg.MaterializeResult(asset_key=key, metadata=metadata)
    yield from emit_check_results(
        context,
        SCHEMA_PARITY,
        {month: parity_outcome(load.drift, subject=f"{event_type} {month:%Y-%m}, {len(files)} files")},
        key,
    )
    # The month's whole quarantine, not only this batch's: a later clean batch must not hide earlier rejections.
    outcome = _quarantine_outcome(lake, event_type, month_quarantine(lake, event_type, month), f"{event_type} {month:%Y-%m}")
    yield from emit_check_results(context, NOTHING_QUARANTINED, {month: outcome}, key)


def files_by_event_type(files: list[str]) -> dict[str, list[str]]:
    """Landing paths grouped by the event type their path names (sorted, for deterministic commits)."""
    by_type: dict[str, list[str]] = {}
    for path in sorted(files):
        try:
            event_type = parse_landing_path(path).table
        except LandingPathError as exc:
            raise dg.Failure(description=str(exc), metadata={"file": path}) from exc
        by_type.setdefault(event_type, []).append(path)
    return by_type


def _event_spec(event_type: str) -> dg.AssetSpec:
    event = REGISTRY.event(event_type)
    return dg.AssetSpec(
        key=bronze_key(event_type),
        deps=[landing_key(event_type)],
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER, "source": "stream"},
        description=(
            f"{event.description}\n\nBronze: one row per {event_type} event landed under events/{event_type}/<date>/, "
            "the envelope and the flattened payload typed against the spec, one per trace_id (of events sharing one, "
            "the event from the landing path that sorts first is kept). Malformed, mistyped, misfiled and conflicting "
            f"events are quarantined in {quarantine_table(event_type)}. "
            "A run either rebuilds its months from every landed file or, when its config names files (the streaming "
            "sensors do), ingests exactly those files idempotently. All event tables are one step (op "
            f"{EVENTS_OP}): a streamed batch of every type costs one step, not eighteen."
        ),
        metadata={
            "dagster/column_schema": column_schema(bronze_columns(event_type)),
            "lake_table": f"{LAYER}/{event_type}",
            **code_references(event_spec(event_type)),
        },
    )


def build_event_assets() -> dg.AssetsDefinition:
    """Every Bronze event table as one subsettable multi-asset: one step (and one pool slot) per run, whatever the
    number of event types in a streamed batch; a run selects the types it writes."""
    event_types = [e.event_type for e in REGISTRY.events]

    @dg.multi_asset(
        name=EVENTS_OP,
        specs=[_event_spec(t) for t in event_types],
        check_specs=[
            *(schema_parity_spec(bronze_key(t), partitioned=True, description=PARITY_DESCRIPTION) for t in event_types),
            *(_quarantine_spec(bronze_key(t), partitioned=True) for t in event_types),
        ],
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        can_subset=True,
        pool=BRONZE_EVENTS_POOL,
    )
    def _events(context: dg.AssetExecutionContext, config: EventBatchConfig, lake: LakeStore, landing: LandingZone):
        selected = sorted(k.path[1] for k in context.selected_asset_keys)
        if not config.files:
            for event_type in selected:
                yield from _run_monthly(context, lake, event_type, lambda m, at, t=event_type: load_event_month(landing, t, m, at))
            return
        by_type = files_by_event_type(config.files)
        if set(by_type) != set(selected):
            raise dg.Failure(
                description=(
                    f"{EVENTS_OP}: the run selects {selected} but its files are of {sorted(by_type)}; "
                    "a run that names files selects exactly the event types of those files"
                ),
                metadata={"files": dg.MetadataValue.json(config.files[:100])},
            )
        for event_type in selected:
            yield from _run_batch(context, lake, landing, event_type, by_type[event_type])

    return _events


def build_dimension_asset(table: str) -> dg.AssetsDefinition:
    spec = REGISTRY.table(table)
    key = bronze_key(table)

    @dg.asset(
        key=key,
        deps=[landing_key(table)],
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER, "source": "batch"},
        description=(
            f"{spec.description}\n\nBronze: every snapshot landed under batch/{table}/<YYYY-MM>/, typed against the "
            f"spec, one snapshot_month per snapshot. Grain: {spec.grain} per snapshot."
        ),
        metadata={
            "dagster/column_schema": column_schema(bronze_columns(table)),
            "lake_table": f"{LAYER}/{table}",
            **code_references(table_spec(table)),
        },
        check_specs=[
            schema_parity_spec(key, partitioned=False, description=PARITY_DESCRIPTION),
            _quarantine_spec(key, partitioned=False),
        ],
    )
    def _dimension(context: dg.AssetExecutionContext, lake: LakeStore, landing: LandingZone):
        ingested_at = dt.datetime.now(dt.UTC)
        try:
            loads = load_dimension(landing, table, ingested_at)
        except INPUT_ERRORS as exc:
            raise dg.Failure(description=str(exc), metadata={"table": table}) from exc
        columns = bronze_columns(table)
        for load in loads:
            _assert_reconciles(load)
        rows = pl.concat([load.rows for load in loads], how="vertical")
        quarantine = pl.concat([load.quarantine for load in loads], how="vertical")
        drift = frame_parity(rows, columns)
        if not drift.ok:
            raise RuntimeError(f"bronze/{table}: frame does not match the Bronze spec ({drift.describe()})")
        meta = _commit_metadata(context, key, describe_months([load.month for load in loads]))
        report = lake.replace(f"{LAYER}/{table}", rows, partition_by=["snapshot_month"], commit_metadata=meta)
        if quarantine.height or lake.exists(quarantine_table(table)):
            lake.replace(quarantine_table(table), quarantine, partition_by=["month_start"], commit_metadata=meta)
        latest = loads[-1]
        combined = BronzeLoad(
            table=table,
            month=latest.month,
            rows=rows,
            quarantine=quarantine,
            files=[f for load in loads for f in load.files],
            landed_rows=sum(load.landed_rows for load in loads),
            rejected_files=[f for load in loads for f in load.rejected_files],
        )
        all_drift = loads[0].drift
        for load in loads[1:]:
            all_drift = all_drift.merge(load.drift)
        file_drift = {f: d for load in loads for f, d in load.file_drift.items()}
        yield dg.MaterializeResult(
            metadata={
                **_load_metadata(combined, lake, report.version),
                "snapshots": [load.month.isoformat() for load in loads],
                "latest_snapshot": latest.month.isoformat(),
                "latest_snapshot_rows": latest.rows.height,
            }
        )
        yield from emit_check_results(
            context,
            SCHEMA_PARITY,
            parity_outcome(
                all_drift,
                subject=f"{table}, {len(loads)} snapshots",
                extra_metadata={"files_with_drift": dg.MetadataValue.json(file_drift)} if file_drift else None,
            ),
        )
        yield from emit_check_results(
            context, NOTHING_QUARANTINED, _quarantine_outcome(lake, table, quarantine, f"{table}, {len(loads)} snapshots")
        )

    return _dimension


def build_bronze_assets() -> list[dg.AssetsDefinition]:
    return [
        *(build_dimension_asset(t.name) for t in REGISTRY.dimensions),
        *(build_fact_asset(t.name) for t in REGISTRY.facts),
        build_event_assets(),
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_bronze_assets())
