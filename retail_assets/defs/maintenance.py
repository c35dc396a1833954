"""The ``lake_maintenance`` job and its daily schedule: compaction, vacuum and checkpoints (lib/maintenance.py).

One step per table, in the pool of the table's writers: the Bronze event tables (and their quarantine)
in ``BRONZE_EVENTS_POOL``, the hot Silver facts and minute Gold tables in ``HOT_POOL``. A step holds its
pool's slot only while its table is maintained, so the stream worker waits for one table's compaction at
most, never for the whole job, and never writes a table while it is compacted. Other tables have no pool:
their writers are month runs, and Delta's conflict detection keeps them apart (lib/maintenance.py). Either
way the graph is the same if the two pools become one.

Figures per table are the step's output metadata (every table, "nothing new" included, in the run's
page) and, for tables that are assets and had anything new, an ``AssetObservation`` on the asset, so an
asset's page shows when it was last compacted and what that changed. ``record_lake_maintenance`` then
appends them to the ledger ``ops/maintenance`` (where the next run starts) and fails the run, naming them,
when a table could not be maintained.
"""

import os
import re
from dataclasses import dataclass

import dagster as dg
import polars as pl
from pydantic import Field

from retail_assets.defs.bronze import BRONZE_EVENTS_POOL
from retail_assets.defs.silver import HOT_POOL
from retail_assets.lib.checks import frame_table
from retail_assets.lib.lake import BACKGROUND_NICENESS, LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.maintenance import (
    LEDGER,
    TableMaintenance,
    asset_tables,
    lake_tables,
    maintain_table,
    maintained_through,
    record,
    summary,
)
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.incremental import HOT_SILVER, MINUTE_GOLD
from retail_assets.lib.streaming.retention import acknowledged_cursors, prune_landing
from retail_assets.lib.streaming.route import UNROUTABLE_TABLE

JOB = "lake_maintenance"
SCHEDULE = "lake_maintenance_schedule"
SCHEDULE_TAG = "dagster/schedule_name"

BRONZE_EVENT_TABLES = frozenset(
    {f"bronze/{e}" for e in REGISTRY.events_by_type} | {f"quarantine/bronze/{e}" for e in REGISTRY.events_by_type}
    | {UNROUTABLE_TABLE}
)
HOT_TABLES = frozenset(
    {f"silver/{t}" for t in HOT_SILVER} | {f"quarantine/silver/{t}" for t in HOT_SILVER}
    | {f"gold/{g}" for g in MINUTE_GOLD}
)
# Output of the plan -> the pool its tables' steps run in (None: no pool).
GROUPS: dict[str, str | None] = {
    "bronze_event_tables": BRONZE_EVENTS_POOL,
    "hot_tables": HOT_POOL,
    "other_tables": None,
}


def table_group(table: str) -> str:
    """Which step group maintains ``table``: the one in the pool of its writers."""
    if table in BRONZE_EVENT_TABLES:
        return "bronze_event_tables"
    if table in HOT_TABLES:
        return "hot_tables"
    return "other_tables"


class MaintenanceConfig(dg.Config):
    tables: list[str] = Field(
        default_factory=list,
        description="Lake tables to maintain, e.g. ['bronze/receipt_created']; empty: every Delta table of the lake.",
    )


@dataclass(frozen=True)
class TableTask:
    table: str
    through: int | None
    retention_hours: int


@dataclass(frozen=True)
class TableOutcome:
    table: str
    result: TableMaintenance | None
    error: str | None = None


@dg.op(
    name="plan_lake_maintenance",
    out={name: dg.DynamicOut(TableTask) for name in GROUPS},
    description="Lists the lake's Delta tables and where the last maintenance left each (ledger ops/maintenance).",
)
def plan_lake_maintenance(context: dg.OpExecutionContext, config: MaintenanceConfig, lake: LakeStore):
    # Scheduled maintenance is background work: on a small machine it must not slow the streaming path.
    if context.run.tags.get(SCHEDULE_TAG) and hasattr(os, "nice"):
        os.nice(BACKGROUND_NICENESS)
    settings = Settings.from_env()
    found = lake_tables(lake)
    if config.tables:
        unknown = sorted(set(config.tables) - set(found))
        if unknown:
            raise dg.Failure(
                description=f"lake_maintenance: tables {unknown} are not Delta tables of the lake; existing: {found}"
            )
        found = sorted(set(config.tables))
    through = maintained_through(lake)
    context.log.info(
        f"maintaining {len(found)} lake tables (vacuum retention {settings.vacuum_retention_hours} h); "
        f"{sum(t in through for t in found)} were maintained before"
    )
    for table in found:
        yield dg.DynamicOutput(
            TableTask(table, through.get(table), settings.vacuum_retention_hours),
            mapping_key=re.sub(r"[^A-Za-z0-9_]", "_", table.replace("/", "__")),
            output_name=table_group(table),
        )


def _maintain_op(group: str, pool: str | None) -> dg.OpDefinition:
    @dg.op(
        name=f"maintain_{group}",
        pool=pool,
        description=(
            f"Compacts the months of one table written since the last maintenance, vacuums and checkpoints it"
            f"{f' (pool {pool}, shared with its writers)' if pool else ''}."
        ),
    )
    def _maintain(context: dg.OpExecutionContext, lake: LakeStore, task: TableTask):
        try:
            result = maintain_table(
                lake, task.table, through=task.through, retention_hours=task.retention_hours, run_id=context.run.run_id
            )
        except Exception as exc:  # noqa: BLE001 -- one table's failure must not stop the others; reported at the end
            context.log.error(f"lake table {task.table}: maintenance failed: {exc}")
            yield dg.Output(TableOutcome(task.table, None, str(exc)), metadata={"table": task.table, "error": str(exc)})
            return
        context.log.info(f"{task.table}: {result.outcome} ({result.seconds:.2f} s)")
        if result.changed and task.table in asset_tables():
            yield dg.AssetObservation(
                asset_key=dg.AssetKey(task.table.split("/")),
                description=f"lake maintenance: {result.outcome}",
                metadata=result.metadata(),
            )
        yield dg.Output(TableOutcome(task.table, result), metadata=result.metadata())

    return _maintain


MAINTAIN_OPS = {group: _maintain_op(group, pool) for group, pool in GROUPS.items()}


@dg.op(
    name="record_lake_maintenance",
    ins={group: dg.In(list[TableOutcome]) for group in GROUPS},
    description=f"Appends what each table's maintenance did to the ledger {LEDGER} and keeps the ledger compact.",
)
def record_lake_maintenance(context: dg.OpExecutionContext, lake: LakeStore, **outcomes: list[TableOutcome]):
    done = [o for group in GROUPS for o in outcomes[group]]
    results = [o.result for o in done if o.result is not None]
    ledger = record(
        lake, results, run_id=context.run.run_id, retention_hours=Settings.from_env().vacuum_retention_hours
    )
    metadata = dict(summary(results))
    metadata["ledger"] = f"{LEDGER}: {ledger.outcome}" if ledger is not None else "nothing new: no ledger row"
    metadata["per_table"] = _per_table(results)
    failed = sorted((o.table, o.error) for o in done if o.error is not None)
    if failed:
        raise dg.Failure(
            description=(
                f"lake maintenance failed for {len(failed)} tables (the others were maintained; the next run retries "
                f"these): " + "; ".join(f"{t}: {e}" for t, e in failed)
            ),
            metadata=metadata,
        )
    context.add_output_metadata(metadata)


@dg.op(
    name="prune_landing_files",
    description=(
        "Landing retention (RETAIL_LANDING_RETENTION_DAYS, off by default): archives (or deletes, when Bronze holds "
        "them) the acknowledged event files of day folders older than the retention (lib/streaming/retention.py)."
    ),
)
def prune_landing_files(context: dg.OpExecutionContext, lake: LakeStore, landing: LandingZone):
    settings = Settings.from_env()
    report = prune_landing(
        landing, acknowledged_cursors(context.instance), retention_days=settings.landing_retention_days,
        mode=settings.landing_retention_mode, lake=lake,
    )
    context.log.info(report.summary())
    context.add_output_metadata({
        "landing_retention": report.summary(), "files_archived": len(report.archived),
        "files_deleted": len(report.deleted), "files_kept": len(report.kept), "folders": report.folders,
    })


def _per_table(results: list[TableMaintenance]) -> dg.TableMetadataValue:
    """One row per table (changed tables first), as a typed table in the UI."""
    rows = [
        {
            "table": r.table,
            "outcome": r.outcome,
            "files_before": r.files_before,
            "files_after": r.files_after,
            "mb_before": round(r.bytes_before / 1e6, 1),
            "mb_after": round(r.bytes_after / 1e6, 1),
            "files_vacuumed": r.files_vacuumed,
            "seconds": round(r.seconds, 2),
        }
        for r in sorted(results, key=lambda r: (not r.changed, r.table))
    ]
    schema = {
        "table": pl.String, "outcome": pl.String, "files_before": pl.Int64, "files_after": pl.Int64,
        "mb_before": pl.Float64, "mb_after": pl.Float64, "files_vacuumed": pl.Int64, "seconds": pl.Float64,
    }
    return frame_table(pl.DataFrame(rows, schema=schema), limit=None)


@dg.job(
    name=JOB,
    description=(
        "Daily lake maintenance: for every Delta table, compacts the months written since the last maintenance, "
        "vacuums files no version younger than the retention needs (RETAIL_VACUUM_RETENTION_HOURS, default 168) and "
        "writes a checkpoint; each table in the pool of its writers. Where it left each table: ledger ops/maintenance. "
        "Also applies landing retention (RETAIL_LANDING_RETENTION_DAYS; off by default)."
    ),
)
def lake_maintenance():
    prune_landing_files()
    planned = plan_lake_maintenance()
    record_lake_maintenance(
        **{group: getattr(planned, group).map(MAINTAIN_OPS[group]).collect() for group in GROUPS}
    )


def maintenance_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=SCHEDULE,
        job=lake_maintenance,
        cron_schedule=settings.maintenance_cron,
        execution_timezone="UTC",
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Runs {JOB} at {settings.maintenance_cron!r} (UTC; RETAIL_MAINTENANCE_CRON).",
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[lake_maintenance], schedules=[maintenance_schedule(Settings.from_env())])
