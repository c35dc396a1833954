"""Gold: the KPI tables, the seed 002 marts and the alerts table, one monthly asset per table.

Built by a factory from ``lib/gold/specs.py`` (the specs of the KPI modules ``lib/gold/kpis/<table>.py``):
``gold/<table>`` (group ``gold``, monthly, single-run backfills). Each month reads only the Silver months its
spec names; snapshots (inventory positions, customer lifetime value) also read their own previous month,
declared as a self-dependency so a re-run of an earlier month marks the later ones stale. Transforms live
beside their spec in ``lib/gold/kpis/<table>.py``.

Checks, evaluated per month (names are stable):

- ``schema_parity`` (blocking): the month as stored matches the Gold spec (columns, types, no NULL in a
  non-nullable column). Drift of a Silver input or of the output is refused before anything is written:
  the check is recorded failed (table, partition, columns in its metadata) and the step fails.
- ``grain_unique`` (blocking): one row per grain key in the month as stored. Duplicates in the built
  rows are refused before writing and recorded failed the same way (with example keys).
- ``reconciles_with_silver``: the table's identities against Silver (spec ``reconciliation``), with the
  Gold side read back from the lake after the write.
- ``alert_<type>`` (WARN) on the table that hosts a business alert: fails when the month raised alerts;
  its metadata names the stores, products, trucks/shipments, campaigns or zones.
"""

import datetime as dt
import warnings
from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from retail_assets.defs.silver import HOT_POOL, silver_asset_key
from retail_assets.lib.code_refs import code_references, gold_spec
from retail_assets.lib.alerts import AlertConfigError, AlertThresholds
from retail_assets.lib.checks import (
    GRAIN_UNIQUE,
    SCHEMA_PARITY,
    CheckOutcome,
    SpecValidationError,
    check_spec,
    column_schema,
    emit_check_results,
    frame_schema,
    frame_table,
    record_before_failure,
    step_failure,
)
from retail_assets.lib.freshness import gold_freshness_policy
from retail_assets.lib.gates import assert_not_gated
from retail_assets.lib.gold.kpis.alerts import ALERT_HOSTS, ALERT_RULES, entities
from retail_assets.lib.gold.charts import chart_metadata
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.pipeline import (
    GoldMonth,
    MissingGoldInput,
    gold_path,
    materialize_gold_month,
    written_outcomes,
)
from retail_assets.lib.gold.reconcile import reconciliation_outcome
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.months import add_months
from retail_assets.lib.partitions import MONTHLY, describe_months, months_of, partition_key
from retail_assets.lib.streaming.automation import follows_upstream_months
from retail_assets.lib.streaming.incremental import MINUTE_GOLD

LAYER = "gold"
RECONCILES_WITH_SILVER = "reconciles_with_silver"


def gold_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([LAYER, name])


def alert_check_name(alert: str) -> str:
    return f"alert_{alert}"


def hosted_alerts(table: str) -> list[str]:
    return [alert for alert, host in ALERT_HOSTS.items() if host == table]


CHECK_DESCRIPTIONS = {
    SCHEMA_PARITY: (
        "The month as stored matches the Gold spec (no missing, extra or mistyped column, no NULL in a non-nullable "
        "one). Blocking. Drift of a Silver input or of the output is refused before anything is written: the check "
        "fails (its metadata names the table, partition and columns) and the run fails."
    ),
    GRAIN_UNIQUE: (
        "One row per grain key in the month as stored. Blocking; duplicates in the built rows are refused before "
        "anything is written and fail the check (its metadata names the key and example values)."
    ),
}


def check_names(table: GoldTable) -> list[str]:
    return [
        SCHEMA_PARITY,
        GRAIN_UNIQUE,
        RECONCILES_WITH_SILVER,
        *(alert_check_name(a) for a in hosted_alerts(table.name)),
    ]


def _check_specs(table: GoldTable, key: dg.AssetKey) -> list[dg.AssetCheckSpec]:
    descriptions = {
        **CHECK_DESCRIPTIONS,
        RECONCILES_WITH_SILVER: f"{table.reconciliation} The Gold side is read back from the lake after the write.",
        **{
            alert_check_name(a): (
                f"WARN when the month raised {a.replace('_', ' ')} alerts (thresholds from RETAIL_ALERT_*, the same as "
                "kql/rules); the metadata names the entities. Every occurrence is also a row of gold/alerts."
            )
            for a in hosted_alerts(table.name)
        },
    }
    return [
        check_spec(
            name, key, partitioned=True, description=descriptions[name], blocking=name in (SCHEMA_PARITY, GRAIN_UNIQUE)
        )
        for name in check_names(table)
    ]


def _months(first: int, last: int) -> dg.TimeWindowPartitionMapping:
    # Beta parameter, used on purpose: the first month has no previous one, the latest no next one.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        return dg.TimeWindowPartitionMapping(
            start_offset=first, end_offset=last, allow_nonexistent_upstream_partitions=True
        )


def _deps(table: GoldTable, key: dg.AssetKey) -> list[dg.AssetDep]:
    deps = [
        dg.AssetDep(
            silver_asset_key(s.table), partition_mapping=None if s.window == (0, 0) else _months(s.first, s.last)
        )
        for s in table.inputs
    ]
    if table.kind == "snapshot":
        deps.append(dg.AssetDep(key, partition_mapping=_months(-1, -1)))
    return deps


def _description(table: GoldTable) -> str:
    return (
        f"{table.description}\n\nGrain: {table.grain}. Formula: {table.formula}\n\nReconciliation: {table.reconciliation}\n\n"
        f"Origin: {table.origin}. Monthly (month_start); money in integer cents."
    )


def _alert_outcome(alert: str, alerts: pl.DataFrame, month: dt.date) -> CheckOutcome:
    named = entities(alerts)
    return CheckOutcome(
        passed=alerts.height == 0,
        description=(
            f"no {alert.replace('_', ' ')} alerts in {month:%Y-%m}"
            if alerts.height == 0
            else f"{alerts.height} {alert.replace('_', ' ')} alerts in {month:%Y-%m}: {alerts['message'][0]}"
            + (" ..." if alerts.height > 1 else "")
        ),
        metadata={
            "alerts": alerts.height,
            **{f"{column}s": dg.MetadataValue.json(values) for column, values in named.items()},
            "preview": frame_table(alerts.select("alert_id", "occurred_at", "message")),
        },
        severity=dg.AssetCheckSeverity.WARN,
    )


def _metadata(written: GoldMonth, lake: LakeStore) -> dict[str, Any]:
    rows = written.rows
    metadata: dict[str, Any] = {
        "dagster/row_count": rows.height,
        "dagster/column_schema": frame_schema(rows),
        "delta_version": written.version,
        "lake_table": dg.MetadataValue.path(lake.uri(gold_path(written.table.name))),
        "preview": frame_table(rows.drop("month_start"), limit=5),
        **written.extra,
        **chart_metadata(written.table.name, rows),
    }
    return metadata


def alert_thresholds() -> AlertThresholds:
    """Alert thresholds from RETAIL_ALERT_*; a bad value fails the step naming it."""
    try:
        return AlertThresholds.from_env()
    except AlertConfigError as exc:
        raise dg.Failure(description=f"alert thresholds: {exc}") from exc


def _run_months(context: dg.AssetExecutionContext, lake: LakeStore, table: GoldTable) -> Iterator[Any]:
    assert_not_gated(context, months_of(context))
    thresholds = alert_thresholds()
    outcomes: dict[str, dict[dt.date, CheckOutcome]] = {name: {} for name in check_names(table)}
    done: dict[dt.date, dict[str, Any]] = {}
    previous: tuple[dt.date, pl.DataFrame] | None = None
    for month in months_of(context):
        carried = previous[1] if previous is not None and add_months(previous[0], 1) == month else None
        try:
            written = materialize_gold_month(
                lake,
                table.name,
                month,
                previous=carried,
                thresholds=thresholds,
                commit_metadata={
                    "dagster_run_id": context.run.run_id,
                    "dagster_asset": context.assets_def.key.to_user_string(),
                    "months": describe_months([month]),
                },
            )
        except (SpecValidationError, MissingGoldInput) as exc:
            yield from record_before_failure(context, done, outcomes, exc, month)
            raise step_failure(exc, table.name, partition_key(month)) from exc
        if table.kind == "snapshot":
            previous = (month, written.rows.drop("month_start"))
        metadata = _metadata(written, lake)
        done[month] = metadata
        context.add_asset_metadata(metadata, partition_key=partition_key(month))
        for name, outcome in written_outcomes(written.stored, table, f"{month:%Y-%m}").items():
            outcomes[name][month] = outcome
        outcomes[RECONCILES_WITH_SILVER][month] = reconciliation_outcome(table.name, f"{month:%Y-%m}", written.balances)
        for alert in hosted_alerts(table.name):
            raised = ALERT_RULES[alert](written.inputs).collect().sort("occurred_at", "alert_id")
            outcomes[alert_check_name(alert)][month] = _alert_outcome(alert, raised, month)
        context.log.info(
            f"gold/{table.name} {month:%Y-%m}: {written.rows.height} rows (Delta version {written.version})"
        )
    yield dg.MaterializeResult()
    for name, by_month in outcomes.items():
        yield from emit_check_results(context, name, by_month)


def _automation(table: GoldTable) -> dg.AutomationCondition:
    """A Silver month updated by hand, by automation or by a streamed batch updates the Gold months that read it —
    once every Silver input of the same month exists. (A stream-only lake never gets some facts, e.g. truck moves:
    requesting the Gold months that read them would only add a failed run to every wave of automation.)"""
    follows = follows_upstream_months(dg.AssetSelection.assets(*(silver_asset_key(s.table) for s in table.inputs)))
    same_month = [silver_asset_key(s.table) for s in table.inputs if s.window == (0, 0)]
    if not same_month:
        return follows
    missing = dg.AutomationCondition.any_deps_missing().allow(dg.AssetSelection.assets(*same_month))
    return (follows & ~missing).with_label("follows upstream months, inputs present")


def build_gold_asset(table: GoldTable) -> dg.AssetsDefinition:
    key = gold_asset_key(table.name)

    @dg.asset(
        key=key,
        deps=_deps(table, key),
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER},
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=_description(table),
        metadata={
            "dagster/column_schema": column_schema(gold_columns(table)),
            "lake_table": gold_path(table.name),
            "grain": table.grain,
            **code_references(*gold_spec(table.name)),
        },
        check_specs=_check_specs(table, key),
        automation_condition=_automation(table),
        pool=HOT_POOL if table.name in MINUTE_GOLD else None,
        freshness_policy=gold_freshness_policy(table.name),
    )
    def _gold(context: dg.AssetExecutionContext, lake: LakeStore):
        yield from _run_months(context, lake, table)

    return _gold


def build_gold_assets() -> list[dg.AssetsDefinition]:
    return [build_gold_asset(t) for t in GOLD_TABLES]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_gold_assets())
