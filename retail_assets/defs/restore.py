"""The ``restore_table`` job: roll a lake table (or one month) back to an earlier Delta version, as a Dagster run.

``retail-assets restore`` executes it on the configured instance; it can also be launched from the UI
(Launchpad: select the op of the table's pool, give the config). Running the restore as a run, not as a
script beside Dagster, gives three things:

- **No race with the writers.** The job holds one op per concurrency pool of the platform's writers
  (``restore_in_<pool>`` for the Bronze event tables and the hot Silver/Gold tables, ``restore`` for tables no
  pool guards) and a run selects the op of the table's pool, so the restore waits for the pool's slot like every
  writer of that table, and they wait for it. Dagster enforces op pools across runs in the in-process executor
  (``InstanceConcurrencyContext`` claims a slot before each step), the executor of this code location.
- **Downstream is rebuilt by automation.** The op records a materialization of every asset partition whose
  content it changed, with the versions and row counts. The Silver and Gold followers' condition
  (``follows_upstream_months``: any dependency updated since last requested/updated) then requests the
  downstream months of exactly those partitions on the next ``medallion_automation`` tick, and their rebuilds
  read the restored rows.
- **Gates follow the restored data.** A blocking check that failed on the replaced (corrupted) materialization
  would keep downstream held (``lib/gates.py``). The op re-evaluates the table's blocking checks (schema parity,
  primary key / grain uniqueness) on the restored rows and records them against the restore's materialization:
  restored good data releases the gate; restoring a version that itself fails a blocking check keeps it held.
  Non-blocking checks (reconciliation with the upstream, quarantine counts) describe the build that wrote the
  version and are not re-evaluated.
"""

import datetime as dt
import getpass
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from retail_assets.defs.bronze import BRONZE_EVENTS_POOL
from retail_assets.defs.silver import HOT_POOL, primary_key_outcome
from retail_assets.lib.checks import (
    GRAIN_UNIQUE,
    PRIMARY_KEY_UNIQUE,
    SCHEMA_PARITY,
    CheckOutcome,
    check_evaluation,
    frame_parity,
    key_outcome,
    parity_outcome,
)
from retail_assets.lib.gold.model import gold_columns
from retail_assets.lib.gold.specs import GOLD
from retail_assets.lib import months
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import partition_key
from retail_assets.lib.restore import RestoreRefused, RestoreReport, resolve_target, restore
from retail_assets.lib.specs import bronze_columns, silver_columns

RESTORE_JOB = "restore_table"
# The pools the platform's writers run in; the lead may merge them, the set then holds one.
WRITER_POOLS = tuple(sorted({BRONZE_EVENTS_POOL, HOT_POOL}))


def op_name(pool: str | None) -> str:
    return f"restore_in_{pool}" if pool else "restore"


class RestoreConfig(dg.Config):
    """What to restore; exactly one of ``version`` and ``as_of``."""

    table: str = Field(description="Lake table as layer/table, e.g. silver/fact_receipts.")
    version: int | None = Field(default=None, description="Delta version to go back to.")
    as_of: str | None = Field(
        default=None, description="ISO 8601 time (UTC when no offset): the latest version committed at or before it."
    )
    month: str | None = Field(default=None, description="Only this month, YYYY-MM (month-partitioned tables).")
    allow_empty: bool = Field(default=False, description="Allow a month restore to empty the month.")
    command: str = Field(default="", description="The command that asked for the restore, kept in the commit metadata.")


@dataclass(frozen=True)
class RestoreTarget:
    """A lake table a restore can roll back: its asset, partitioning, writers' pool and blocking checks."""

    table: str
    key: dg.AssetKey
    partitioned: bool
    pool: str | None
    blocking_checks: tuple[str, ...]


# Domains whose tables a restore refuses: their blocking checks (DLT-style expectations, reconciliations) have no
# re-evaluation here, and a restore must re-evaluate every blocking check of what it restored (docs/edge.md).
UNRESTORABLE_DOMAINS = ("edge",)


def restore_targets(definitions: dg.Definitions) -> dict[str, RestoreTarget]:
    """Every asset of ``definitions`` that declares a ``lake_table``, by that table (retail's; not the edge domain's)."""
    targets = {}
    for assets_def in definitions.assets or []:
        if not isinstance(assets_def, dg.AssetsDefinition):
            continue
        for key in assets_def.keys:
            if key.path[0] in UNRESTORABLE_DOMAINS:
                continue
            table = assets_def.specs_by_key[key].metadata.get("lake_table")
            table = getattr(table, "value", table)
            if not isinstance(table, str):
                continue
            blocking = sorted(c.key.name for c in assets_def.check_specs if c.asset_key == key and c.blocking)
            targets[table] = RestoreTarget(
                table, key, assets_def.partitions_def is not None, assets_def.op.pool, tuple(blocking)
            )
    return targets


def platform_targets() -> dict[str, RestoreTarget]:
    from retail_assets.definitions import defs  # the code location itself; imported late (it imports this module)

    return restore_targets(defs())


def find_target(table: str, targets: dict[str, RestoreTarget]) -> RestoreTarget:
    if table in targets:
        return targets[table]
    domain = table.split("/", 1)[0]
    if domain in UNRESTORABLE_DOMAINS:
        raise RestoreRefused(
            f"{table!r}: tables of the {domain} domain cannot be restored by this command yet (their blocking checks "
            "are not re-evaluated on restored rows); rebuild the month from Bronze instead"
        )
    layer = table.split("/", 1)[0]
    same_layer = sorted(t for t in targets if t.split("/", 1)[0] == layer) or sorted(targets)
    raise RestoreRefused(
        f"{table!r} is not a lake table of the platform: use layer/table, e.g. {', '.join(same_layer[:4])}"
        + (f" ({len(same_layer)} in {layer})" if len(same_layer) > 4 else "")
    )


# Blocking checks re-evaluated on the restored rows: check name -> (layer, table, rows, subject) -> outcome.
def _schema_parity(layer: str, table: str, rows: pl.DataFrame, subject: str) -> CheckOutcome:
    columns = {"bronze": bronze_columns, "silver": silver_columns, "gold": lambda name: gold_columns(GOLD[name])}[layer]
    return parity_outcome(frame_parity(rows, columns(table)), subject=subject)


def _grain_unique(layer: str, table: str, rows: pl.DataFrame, subject: str) -> CheckOutcome:
    return key_outcome(rows, GOLD[table].key, subject=subject, nulls_allowed=True)


BLOCKING_EVALUATORS: dict[str, Callable[[str, str, pl.DataFrame, str], CheckOutcome]] = {
    SCHEMA_PARITY: _schema_parity,
    PRIMARY_KEY_UNIQUE: lambda layer, table, rows, subject: primary_key_outcome(rows, table),
    GRAIN_UNIQUE: _grain_unique,
}


def parse_as_of(text: str) -> dt.datetime:
    """ISO 8601 date or time; UTC when it names no offset."""
    try:
        moment = dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise RestoreRefused(f"--as-of {text!r} is not an ISO 8601 time, e.g. 2024-01-31T12:00:00Z") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def parse_month(text: str) -> dt.date:
    try:
        return months.parse_month(text)
    except ValueError:
        raise RestoreRefused(f"month {text!r} is not YYYY-MM") from None


def plan(config: RestoreConfig, lake: LakeStore, targets: dict[str, RestoreTarget]):
    """The target asset, month and version of ``config``; refuses (``RestoreRefused``) what cannot be restored."""
    target = find_target(config.table, targets)
    if (config.version is None) == (config.as_of is None):
        raise RestoreRefused(f"restore {config.table}: give exactly one of a version and an as-of time")
    month = parse_month(config.month) if config.month else None
    if month is not None and not target.partitioned:
        raise RestoreRefused(
            f"{config.table} is not month-partitioned ({target.key.to_user_string()} has no month partitions): "
            "restore the whole table, without a month"
        )
    version = resolve_target(
        lake,
        config.table,
        version=config.version,
        as_of=parse_as_of(config.as_of) if config.as_of else None,
        month=month,
        allow_empty=config.allow_empty,
    )
    return target, month, version


def _partitions(target: RestoreTarget, report: RestoreReport) -> list[dt.date | None]:
    """The asset partitions whose content the restore changed (``None``: the asset is unpartitioned)."""
    if not report.changed:
        return []
    if not target.partitioned:
        return [None]
    return list(report.changed_months or [])


def _run_restore(
    context: dg.OpExecutionContext, config: RestoreConfig, lake: LakeStore, pool: str | None
) -> Iterator[Any]:
    targets = platform_targets()
    try:
        target, month, version = plan(config, lake, targets)
        if target.pool != pool:
            raise RestoreRefused(
                f"{config.table} is written in pool {target.pool or '(none)'}: run op {op_name(target.pool)} of "
                f"{RESTORE_JOB}, not {op_name(pool)}, so the restore waits for its writers"
            )
        metadata = {
            "command": config.command or f"{RESTORE_JOB} job",
            "requested_by": getpass.getuser(),
            "dagster_run_id": context.run.run_id,
            "dagster_asset": target.key.to_user_string(),
        }
        report = restore(
            lake, config.table, version, month=month, allow_empty=config.allow_empty, commit_metadata=metadata
        )
    except RestoreRefused as exc:
        raise dg.Failure(description=str(exc), metadata={"table": config.table}) from exc
    context.log.info(report.summary())
    layer, name = config.table.split("/", 1)
    for partition in _partitions(target, report):
        rows = lake.read(config.table, [partition] if partition else None)
        subject = f"{config.table} {partition:%Y-%m}" if partition else config.table
        yield dg.AssetMaterialization(
            asset_key=target.key,
            partition=partition_key(partition) if partition else None,
            description=f"Restored: {report.summary()}",
            metadata={
                "dagster/row_count": rows.height,
                "restored_from_version": report.target.version,
                "as_of": report.target.as_of.isoformat() if report.target.as_of else "",
                "version_before": report.version_before,
                "delta_version": report.version_after,
                "rows_before": report.rows_before,
                "rows_after": report.rows_after,
                "restore_scope": f"{month:%Y-%m}" if month else "whole table",
                "restore_run": "yes",
                "lake_table": dg.MetadataValue.path(lake.uri(config.table)),
            },
        )
        for check in target.blocking_checks:
            evaluate = BLOCKING_EVALUATORS.get(check)
            if evaluate is None:
                context.log.warning(f"{subject}: blocking check {check} is not re-evaluated by a restore")
                continue
            # A failed evaluation fails the step (Dagster does so for blocking checks), after the commit: the run
            # shows red, failure alerts fire, and the month's downstream stays held.
            outcome = evaluate(layer, name, rows, f"{subject} (restored)")
            yield check_evaluation(
                context.instance, dg.AssetCheckKey(target.key, check), outcome, blocking=True, month=partition
            )
    yield dg.Output(
        {
            "summary": report.summary(),
            "asset": target.key.to_user_string(),
            "partitions": [partition_key(p) if p else "" for p in _partitions(target, report)],
            "version_before": report.version_before,
            "version_after": report.version_after,
            "restored_from_version": report.target.version,
        }
    )


def _restore_op(pool: str | None) -> dg.OpDefinition:
    @dg.op(
        name=op_name(pool),
        pool=pool,
        description=(
            f"Restore a lake table written in pool {pool} (waits for that pool's slot)." if pool
            else "Restore a lake table no writer pool guards."
        ),
        out=dg.Out(dict),
    )
    def _restore(context: dg.OpExecutionContext, config: RestoreConfig, lake: LakeStore):
        yield from _run_restore(context, config, lake, pool)

    return _restore


RESTORE_OPS = {pool: _restore_op(pool) for pool in (None, *WRITER_POOLS)}


@dg.job(
    name=RESTORE_JOB,
    description=(
        "Roll a lake table (or one month) back to an earlier Delta version: `retail-assets restore`. Select the op of "
        "the table's pool. Downstream months are rebuilt by declarative automation."
    ),
    tags={"retail/operation": "restore"},
)
def restore_table() -> None:
    for op in RESTORE_OPS.values():
        op()


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(jobs=[restore_table])
