"""The store edge domain (seed 003, ``docs/edge.md``) as assets under ``edge/``: generator, Bronze, Silver, Gold.

- ``edge/generator/simulated_month`` (when the generator is on): a simulated month landed under ``edge/`` of the
  landing root (``lib/edge/``);
- ``edge/bronze/<dim>`` (every landed snapshot) and ``edge/bronze/stt_raw``, ``visual_stream``,
  ``device_heartbeat`` (monthly): loaded by the spine's Bronze code (``lib/bronze.py``), so typing, the trace_id
  rule and quarantine are retail's; a blocking ``schema_parity`` and a WARN ``nothing_quarantined`` check each;
- ``edge/serving/<gold table>`` and ``edge/serving/dimensions``: edge Gold and the latest dimension snapshots in the
  DuckDB serving file as ``edge_<name>`` tables, through the spine's serving writer (one writer at a time, pool
  ``duckdb``);
- ``edge/silver/device_heartbeat``: expectations (``lib/edge/heartbeat.py``), each an ``expect_<name>`` check, plus
  blocking ``schema_parity`` and ``primary_key_unique``; ``edge/gold/device_health_summary`` with blocking
  ``schema_parity`` and ``grain_unique`` and the WARN check ``no_unhealthy_devices``.

Silver and Gold start with the spine's gate (``assert_not_gated``) and validate a month before writing it: a failed
blocking check writes nothing of the month and holds what is downstream of it. The job ``edge_lakehouse`` builds the
domain for a month; retail's ``retail_lakehouse`` leaves it out. Between runs, Silver, Gold and serving months follow
their upstream months by declarative automation (sensor ``edge_automation``), as retail's do.
"""


import datetime as dt
import hashlib
import json
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import dagster as dg
import polars as pl
from dagster_duckdb import DuckDBResource
from pydantic import Field

from retail_assets.lib.bronze import BronzeLoad, load_dimension, load_event_month
from retail_assets.lib.checks import (
    GRAIN_UNIQUE,
    NOTHING_QUARANTINED,
    NOTHING_QUARANTINED_DESCRIPTION,
    PRIMARY_KEY_UNIQUE,
    SCHEMA_PARITY,
    CheckOutcome,
    check_evaluations,
    check_spec,
    column_schema,
    emit_check_results,
    frame_parity,
    frame_table,
    key_outcome,
    parity_outcome,
    quarantine_outcome,
    schema_parity_spec,
)
from retail_assets.lib import code_refs
from retail_assets.lib.edge import annotated, device_health, heartbeat, insights, multimodal, sentiment
from retail_assets.lib.edge.annotated import ANNOTATED_EVENTS
from retail_assets.lib.edge.device_health import DEVICE_HEALTH_SUMMARY, device_health_summary
from retail_assets.lib.edge.expectations import apply_expectations
from retail_assets.lib.edge.heartbeat import (
    DEVICE_HEARTBEAT_SILVER,
    EXPECTATIONS,
    finish,
    heartbeats_with_legacy,
    legacy_quarantine,
    prepare,
    registry_as_of,
    snapshot_as_of,
)
from retail_assets.lib.edge.landing import edge_landing, land_month
from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.edge.profiles import edge_profile
from retail_assets.lib.edge.simulate import simulate_month
from retail_assets.lib.edge.world import EdgeWorld
from retail_assets.lib.gates import assert_not_gated
from retail_assets.lib.lake import LakeStore, months_predicate
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.partitions import MONTHLY, describe_months, months_of, partition_key
from retail_assets.lib.pools import DUCKDB_POOL
from retail_assets.lib.serving import publish_months, replace_table, serving_writer
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import edge as edge_specs
from retail_assets.lib.streaming.automation import follows_upstream_months
from retail_assets.lib.specs.edge import BRONZE_TABLES
from retail_assets.lib.specs.registry import (
    EDGE_REGISTRY,
    QUARANTINE_COLUMNS,
    bronze_columns,
    empty_frame,
    polars_schema,
)

DOMAIN = "edge"
GENERATOR_KEY = dg.AssetKey([DOMAIN, "generator", "simulated_month"])
MAIN_JOB = "edge_lakehouse"
NO_UNHEALTHY_DEVICES = "no_unhealthy_devices"
RECONCILES = "reconciles_with_bronze"
RECONCILES_DESCRIPTION = (
    "Every Bronze event of the month (typed stream and legacy records) is in Silver or quarantined, once: Bronze "
    "events = Silver events + dropped by expectations + unreadable legacy records. Blocking."
)
AUTOMATION_INTERVAL_SECONDS = 5  # as retail's medallion_automation
PARITY_DESCRIPTION = (
    "Columns match the spec: none missing, none extra, none of the wrong type. Blocking: when it fails, nothing "
    "downstream runs for this partition."
)


def edge_key(layer: str, name: str) -> dg.AssetKey:
    return dg.AssetKey([DOMAIN, layer, name])


def lake_table(layer: str, name: str) -> str:
    return f"{DOMAIN}/{layer}/{name}"


def quarantine_table(layer: str, name: str) -> str:
    return f"{DOMAIN}/quarantine/{layer}/{name}"


def _commit_metadata(context: dg.AssetExecutionContext, months: list[dt.date]) -> dict[str, str]:
    return {
        "dagster_run_id": context.run.run_id,
        "dagster_asset": context.assets_def.key.to_user_string(),
        "months": describe_months(months),
    }


def _write_quarantine(lake: LakeStore, table: str, quarantine: pl.DataFrame, month: dt.date, meta: dict) -> None:
    """Replace the month's quarantined rows (clearing them when a re-run rejects nothing)."""
    if quarantine.height:
        lake.overwrite_months(table, quarantine, [month], commit_metadata=meta)
    elif lake.exists(table):
        lake.delete(table, months_predicate([month]), commit_metadata=meta)


def _quarantine_spec(key: dg.AssetKey, *, partitioned: bool) -> dg.AssetCheckSpec:
    return check_spec(
        NOTHING_QUARANTINED, key, partitioned=partitioned, blocking=False, description=NOTHING_QUARANTINED_DESCRIPTION
    )


# ---- generator -------------------------------------------------------------------------------


@dg.asset(
    key=GENERATOR_KEY,
    group_name=f"{DOMAIN}_generator",
    kinds={"polars", "parquet"},
    partitions_def=MONTHLY,
    backfill_policy=dg.BackfillPolicy.single_run(),
    description=(
        "A simulated month of the sari-sari store edge network (lib/edge/simulate.py) landed under edge/ of the "
        "landing root: dimension snapshots and, per UTC day, STT transcripts, visual detections and heartbeats. "
        "RETAIL_PROFILE sets the size (tiny, demo, reference); the same month always lands the same files."
    ),
    metadata=code_refs.code_references(code_refs.function(simulate_month, "simulation of a month")),
)
def simulated_month(context: dg.AssetExecutionContext, landing: LandingZone) -> dg.MaterializeResult:
    world = EdgeWorld(edge_profile(Settings.from_env().generator_profile))
    zone = edge_landing(landing)
    for month in months_of(context):
        simulated = simulate_month(world, month)
        paths = land_month(zone, world, simulated)
        counts = {event_type: frame.height for event_type, frame in simulated.events.items()}
        context.add_asset_metadata(
            {"profile": world.profile.name, "files": len(paths), **{f"events/{k}": v for k, v in counts.items()}},
            partition_key=partition_key(month),
        )
        context.log.info(f"edge/generator {month:%Y-%m}: {len(paths)} files landed, {counts}")
    return dg.MaterializeResult()


# ---- Bronze ----------------------------------------------------------------------------------


def _bronze_metadata(load: BronzeLoad, lake: LakeStore, table: str, version: int) -> dict[str, Any]:
    metadata: dict[str, Any] = {
        "dagster/row_count": load.row_count,
        "landed_rows": load.landed_rows,
        "quarantined_rows": load.quarantine.height,
        "duplicates_dropped": load.duplicates_dropped,
        "landed_files": len(load.files),
        "delta_version": version,
        "lake_table": dg.MetadataValue.path(lake.uri(lake_table("bronze", table))),
    }
    if load.quarantine.height:
        metadata["quarantine_preview"] = frame_table(load.quarantine.select("row_number", "reason_code", "reason"))
    return metadata


def _assert_reconciles(load: BronzeLoad, key: dg.AssetKey) -> None:
    if not load.reconciles:
        raise RuntimeError(
            f"{key.to_user_string()} {load.month:%Y-%m}: {load.landed_rows} landed != {load.row_count} written + "
            f"{load.quarantine.height} quarantined + {load.duplicates_dropped} duplicates"
        )


def build_bronze_event_asset(event_type: str, deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    event = EDGE_REGISTRY.event(event_type)
    table = BRONZE_TABLES[event_type]
    key = edge_key("bronze", table)
    columns = bronze_columns(event_type)

    @dg.asset(
        key=key,
        deps=deps,
        group_name=f"{DOMAIN}_bronze",
        kinds={"polars", "delta"},
        tags={"layer": "bronze", "domain": DOMAIN},
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=(
            f"{event.description}\n\nBronze (seed 003 bronze_{table}): every {event_type} event landed under "
            f"edge/events/{event_type}/<day>/, typed against the envelope and payload spec, one per trace_id (exact "
            f"resends dropped and counted), with lineage; unreadable lines in {quarantine_table('bronze', table)}."
        ),
        metadata={
            "dagster/column_schema": column_schema(columns),
            "lake_table": lake_table("bronze", table),
            **code_refs.code_references(code_refs.declaration(edge_specs, event, f"spec of event {event_type}")),
        },
        check_specs=[
            schema_parity_spec(key, partitioned=True, description=PARITY_DESCRIPTION),
            _quarantine_spec(key, partitioned=True),
        ],
    )
    def _bronze(context: dg.AssetExecutionContext, lake: LakeStore, landing: LandingZone) -> Iterator[Any]:
        zone = edge_landing(landing)
        at = dt.datetime.now(dt.UTC)
        parity: dict[dt.date, CheckOutcome] = {}
        quarantined: dict[dt.date, CheckOutcome] = {}
        for month in months_of(context):
            load = load_event_month(zone, event_type, month, at)
            _assert_reconciles(load, key)
            drift = frame_parity(load.rows, columns)
            if not drift.ok:
                raise RuntimeError(
                    f"{key.to_user_string()} {month:%Y-%m}: frame does not match the spec ({drift.describe()})"
                )
            meta = _commit_metadata(context, [month])
            report = lake.overwrite_months(lake_table("bronze", table), load.rows, [month], commit_metadata=meta)
            _write_quarantine(lake, quarantine_table("bronze", table), load.quarantine, month, meta)
            context.add_asset_metadata(
                _bronze_metadata(load, lake, table, report.version), partition_key=partition_key(month)
            )
            subject = f"{key.to_user_string()} {month:%Y-%m}, {len(load.files)} landed files"
            parity[month] = parity_outcome(load.drift, subject=subject)
            quarantined[month] = quarantine_outcome(
                load.quarantine, subject=subject, table_path=lake.uri(quarantine_table("bronze", table))
            )
        yield dg.MaterializeResult(asset_key=key)
        yield from emit_check_results(context, SCHEMA_PARITY, parity, key)
        yield from emit_check_results(context, NOTHING_QUARANTINED, quarantined, key)

    return _bronze


def build_bronze_dimension_asset(table: str, deps: list[dg.AssetKey]) -> dg.AssetsDefinition:
    spec = EDGE_REGISTRY.table(table)
    key = edge_key("bronze", table)
    columns = bronze_columns(table)

    @dg.asset(
        key=key,
        deps=deps,
        group_name=f"{DOMAIN}_bronze",
        kinds={"polars", "delta"},
        tags={"layer": "bronze", "domain": DOMAIN},
        description=(
            f"{spec.description}\n\nBronze: every snapshot landed under edge/batch/{table}/<YYYY-MM>/, typed against "
            f"the spec, one snapshot_month per snapshot. Grain: {spec.grain} per snapshot."
        ),
        metadata={
            "dagster/column_schema": column_schema(columns),
            "lake_table": lake_table("bronze", table),
            **code_refs.code_references(code_refs.declaration(edge_specs, spec, f"spec of {table}")),
        },
        check_specs=[
            schema_parity_spec(key, partitioned=False, description=PARITY_DESCRIPTION),
            _quarantine_spec(key, partitioned=False),
        ],
    )
    def _dimension(context: dg.AssetExecutionContext, lake: LakeStore, landing: LandingZone) -> Iterator[Any]:
        loads = load_dimension(edge_landing(landing), table, dt.datetime.now(dt.UTC))
        for load in loads:
            _assert_reconciles(load, key)
        rows = pl.concat([load.rows for load in loads], how="vertical")
        quarantine = pl.concat([load.quarantine for load in loads], how="vertical")
        drift = frame_parity(rows, columns)
        if not drift.ok:
            raise RuntimeError(f"{key.to_user_string()}: frame does not match the spec ({drift.describe()})")
        meta = _commit_metadata(context, [load.month for load in loads])
        report = lake.replace(lake_table("bronze", table), rows, partition_by=["snapshot_month"], commit_metadata=meta)
        qtable = quarantine_table("bronze", table)
        if quarantine.height or lake.exists(qtable):
            lake.replace(qtable, quarantine, partition_by=["month_start"], commit_metadata=meta)
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": rows.height,
                "snapshots": [load.month.isoformat() for load in loads],
                "delta_version": report.version,
            }
        )
        subject = f"{key.to_user_string()}, {len(loads)} snapshots"
        drifts = loads[0].drift
        for load in loads[1:]:
            drifts = drifts.merge(load.drift)
        yield from emit_check_results(context, SCHEMA_PARITY, parity_outcome(drifts, subject=subject))
        yield from emit_check_results(
            context, NOTHING_QUARANTINED, quarantine_outcome(quarantine, subject=subject, table_path=lake.uri(qtable))
        )

    return _dimension


# ---- Silver and Gold -------------------------------------------------------------------------


def reconcile_outcome(subject: str, bronze: int, silver: int, dropped: int, unreadable: int) -> CheckOutcome:
    """``reconciles_with_bronze``: the month's Bronze events are all accounted for in Silver, once."""
    passed = bronze == silver + dropped + unreadable
    return CheckOutcome(
        passed=passed,
        description=(
            f"{subject}: {bronze} Bronze events {'=' if passed else '!='} {silver} in Silver + {dropped} dropped by "
            f"expectations + {unreadable} unreadable legacy records"
        ),
        metadata={"bronze_events": bronze, "silver_events": silver, "dropped": dropped, "unreadable": unreadable},
    )


GOLD_RECONCILES = "reconciles_with_silver"
GOLD_GATES = {SCHEMA_PARITY: True, GRAIN_UNIQUE: True, GOLD_RECONCILES: True}


def gold_balance(subject: str, totals: Mapping[str, tuple[int, int]]) -> CheckOutcome:
    """``reconciles_with_silver``: each Gold total equals the Silver count it sums (``{measure: (gold, silver)}``)."""
    totals = {m: (int(g), int(s_)) for m, (g, s_) in totals.items()}
    return CheckOutcome(
        passed=all(g == s_ for g, s_ in totals.values()),
        description=f"{subject}: "
        + "; ".join(f"{m} {g} in Gold {'=' if g == s_ else '!='} {s_} in Silver" for m, (g, s_) in totals.items()),
        metadata={m: {"gold": g, "silver": s_} for m, (g, s_) in totals.items()},
    )


def _gold_reconciles_spec(key: dg.AssetKey, what: str) -> dg.AssetCheckSpec:
    return check_spec(GOLD_RECONCILES, key, partitioned=True, description=f"{what} Blocking.")


def expectation_gates(expectations) -> dict[str, bool]:
    """check name → blocking, for each expectation (only ``fail`` expectations block)."""
    return {e.check_name: e.action == "fail" for e in expectations}


def _registry(lake: LakeStore, month: dt.date) -> pl.DataFrame:
    return registry_as_of(
        lake.read(lake_table("bronze", "dim_edge_devices")), lake.read(lake_table("bronze", "dim_sari_stores")), month
    )


def _run_months(
    context: dg.AssetExecutionContext,
    lake: LakeStore,
    table: EdgeTable,
    build: Callable[[dt.date, dt.datetime], tuple[pl.DataFrame, pl.DataFrame, dict[str, CheckOutcome]]],
    blocking: Mapping[str, bool],
) -> Iterator[Any]:
    """Build, validate and write each month of the run in turn. ``build`` gives the month's rows, its quarantined
    rows and the outcomes of its own checks; a month failing a blocking check (its own, ``schema_parity`` or the
    key) writes nothing, records every outcome evaluated so far and fails the step naming table and month."""
    months = months_of(context)
    assert_not_gated(context, months)
    key = context.assets_def.key
    at = dt.datetime.now(dt.UTC)
    outcomes: dict[str, dict[dt.date, CheckOutcome]] = {}
    written: list[dt.date] = []
    key_check = PRIMARY_KEY_UNIQUE if table.layer == "silver" else GRAIN_UNIQUE
    for month in months:
        rows, quarantine, own = build(month, at)
        subject = f"{key.to_user_string()} {month:%Y-%m}"
        month_outcomes = {
            **own,
            SCHEMA_PARITY: parity_outcome(frame_parity(rows, table.stored_columns), subject=subject),
            key_check: key_outcome(rows, table.key, subject=subject),
        }
        if table.layer == "silver":
            month_outcomes[NOTHING_QUARANTINED] = quarantine_outcome(
                quarantine, subject=subject, table_path=lake.uri(quarantine_table(table.layer, table.name))
            )
        for name, outcome in month_outcomes.items():
            outcomes.setdefault(name, {})[month] = outcome
        failed = sorted(n for n, o in month_outcomes.items() if not o.passed and blocking.get(n, False))
        if failed:
            for name, by_month in outcomes.items():
                yield from check_evaluations(context, name, by_month)
            raise dg.Failure(
                description=(
                    f"{subject}: not written, blocking checks failed: "
                    + "; ".join(month_outcomes[n].description for n in failed)
                    + (f". Months written before: {describe_months(written)}" if written else "")
                ),
                metadata={"table": table.lake_table, "partition": partition_key(month), "failed_checks": failed},
            )
        meta = _commit_metadata(context, [month])
        report = lake.overwrite_months(table.lake_table, rows, [month], commit_metadata=meta)
        if table.layer == "silver":
            _write_quarantine(lake, quarantine_table(table.layer, table.name), quarantine, month, meta)
        context.add_asset_metadata(
            {
                "dagster/row_count": rows.height,
                "quarantined_rows": quarantine.height,
                "delta_version": report.version,
                "lake_table": dg.MetadataValue.path(lake.uri(table.lake_table)),
            },
            partition_key=partition_key(month),
        )
        written.append(month)
    yield dg.MaterializeResult(asset_key=key)
    for name, by_month in outcomes.items():
        yield from emit_check_results(context, name, by_month, key)


def follows(deps: list[dg.AssetKey]) -> dg.AutomationCondition:
    """A month follows its monthly upstream months (retail's rule, ``lib/streaming/automation.py``): requested when
    one of them was updated, never while an upstream month failed a blocking check. Dimension snapshots are not
    followed (a registry refresh would recompute every month; the job and backfills do that)."""
    return follows_upstream_months(dg.AssetSelection.assets(*(k for k in deps if not k.path[-1].startswith("dim_"))))


def _table_asset(
    table: EdgeTable, references: list[dg.LocalFileCodeReference], deps: list[dg.AssetKey],
    checks: list[dg.AssetCheckSpec], **kwargs,
):
    key = edge_key(table.layer, table.name)
    return dg.asset(
        key=key,
        deps=deps,
        group_name=f"{DOMAIN}_{table.layer}",
        kinds={"polars", "delta"},
        tags={"layer": table.layer, "domain": DOMAIN},
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        metadata={
            "dagster/column_schema": column_schema(table.stored_columns),
            "lake_table": table.lake_table,
            **code_refs.code_references(*references),
        },
        check_specs=[schema_parity_spec(key, partitioned=True, description=PARITY_DESCRIPTION), *checks],
        automation_condition=follows(deps),
        **kwargs,
    )


def build_device_heartbeat_asset() -> dg.AssetsDefinition:
    table = DEVICE_HEARTBEAT_SILVER
    key = edge_key("silver", table.name)
    blocking = {SCHEMA_PARITY: True, PRIMARY_KEY_UNIQUE: True, RECONCILES: True, **expectation_gates(EXPECTATIONS)}

    @_table_asset(
        table,
        [
            code_refs.declaration(heartbeat, table, f"spec of {table.name}"),
            code_refs.function(prepare, "enrichment with the registry"),
        ],
        deps=[edge_key("bronze", "device_heartbeat"), edge_key("bronze", "raw_events"),
              edge_key("bronze", "dim_edge_devices"), edge_key("bronze", "dim_sari_stores")],
        checks=[
            check_spec(PRIMARY_KEY_UNIQUE, key, partitioned=True, description="trace_id is unique and never null."),
            _quarantine_spec(key, partitioned=True),
            check_spec(RECONCILES, key, partitioned=True, description=RECONCILES_DESCRIPTION),
            *(e.spec(key) for e in EXPECTATIONS),
        ],
        description=(
            f"{table.description} Seed 003 silver_device_heartbeat. Grain: {table.grain}. Expectations (check "
            "expect_<name>; warn keeps the row, drop quarantines it, fail writes nothing of the month): "
            + "; ".join(f"{e.name} ({e.action}): {e.description}" for e in EXPECTATIONS)
        ),
    )
    def _silver(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            bronze, unreadable = heartbeats_with_legacy(
                lake.read(lake_table("bronze", "device_heartbeat"), [month]),
                lake.read(lake_table("bronze", "raw_events"), [month]),
                table=f"silver/{table.name}",
                month=month,
                at=at,
            )
            expected = apply_expectations(
                prepare(bronze, _registry(lake, month)),
                EXPECTATIONS,
                table=f"silver/{table.name}",
                month=month,
                at=at,
                record=table.column_names,
            )
            rows = finish(expected.rows)
            balance = reconcile_outcome(
                f"{key.to_user_string()} {month:%Y-%m}",
                bronze.height + unreadable.height,
                rows.height,
                expected.quarantine.height,
                unreadable.height,
            )
            return rows, pl.concat([unreadable, expected.quarantine]), {**expected.outcomes, RECONCILES: balance}

        yield from _run_months(context, lake, table, build, blocking)

    return _silver


def build_annotated_events_asset() -> dg.AssetsDefinition:
    table = ANNOTATED_EVENTS
    key = edge_key("silver", table.name)
    expectations = annotated.EXPECTATIONS
    blocking = {SCHEMA_PARITY: True, PRIMARY_KEY_UNIQUE: True, RECONCILES: True, **expectation_gates(expectations)}
    dims = ("dim_edge_devices", "dim_sari_stores", "dim_fmcg_brands", "dim_fmcg_products")

    @_table_asset(
        table,
        [
            code_refs.declaration(annotated, table, f"spec of {table.name}"),
            code_refs.function(annotated.annotate, "the annotation rules"),
        ],
        deps=[*(edge_key("bronze", t) for t in ("stt_raw", "visual_stream", "raw_events")),
              *(edge_key("bronze", d) for d in dims)],
        checks=[
            check_spec(PRIMARY_KEY_UNIQUE, key, partitioned=True,
                       description="(trace_id, annotation_seq) is unique and never null."),
            _quarantine_spec(key, partitioned=True),
            check_spec(RECONCILES, key, partitioned=True, description=RECONCILES_DESCRIPTION),
            *(e.spec(key) for e in expectations),
        ],
        description=(
            f"{table.description} Seed 003 silver_annotated_events. Grain: {table.grain}. Expectations (check "
            "expect_<name>; warn keeps the row, drop quarantines it, fail writes nothing of the month): "
            + "; ".join(f"{e.name} ({e.action}): {e.description}" for e in expectations)
        ),
    )
    def _silver(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            raw = lake.read(lake_table("bronze", "raw_events"), [month])
            transcripts, bad_speech = annotated.with_legacy(
                lake.read(lake_table("bronze", "stt_raw"), [month]), raw, "stt_transcript"
            )
            detections, bad_vision = annotated.with_legacy(
                lake.read(lake_table("bronze", "visual_stream"), [month]), raw, "visual_detection"
            )
            brands = snapshot_as_of(lake.read(lake_table("bronze", "dim_fmcg_brands")), month)
            products = snapshot_as_of(lake.read(lake_table("bronze", "dim_fmcg_products")), month)
            expected = apply_expectations(
                annotated.events(transcripts, detections, _registry(lake, month), brands, products),
                expectations,
                table=f"silver/{table.name}",
                month=month,
                at=at,
                record=table.column_names,
            )
            unreadable = legacy_quarantine(pl.concat([bad_speech, bad_vision]), f"silver/{table.name}", month, at)
            rows = annotated.annotate(expected.rows, brands, products, month)
            balance = reconcile_outcome(
                f"{key.to_user_string()} {month:%Y-%m}",
                transcripts.height + detections.height + unreadable.height,
                rows.get_column("trace_id").n_unique(),
                expected.quarantine.height,
                unreadable.height,
            )
            return rows, pl.concat([unreadable, expected.quarantine]), {**expected.outcomes, RECONCILES: balance}

        yield from _run_months(context, lake, table, build, blocking)

    return _silver


class AlignmentConfig(dg.Config):
    """How close in time speech and vision of a device must be to be aligned."""

    window_seconds: float = Field(
        default=multimodal.DEFAULT_WINDOW_SECONDS, gt=0, le=3600, description="Alignment window, seconds either side."
    )


def build_multimodal_aligned_asset() -> dg.AssetsDefinition:
    table = multimodal.MULTIMODAL_ALIGNED
    key = edge_key("silver", table.name)

    @_table_asset(
        table,
        [
            code_refs.declaration(multimodal, table, f"spec of {table.name}"),
            code_refs.function(multimodal.align, "the alignment rule"),
        ],
        deps=[edge_key("silver", "annotated_events")],
        checks=[check_spec(PRIMARY_KEY_UNIQUE, key, partitioned=True, description="alignment_id is unique.")],
        description=(
            f"{table.description} Seed 003 silver_multimodal_aligned. Grain: {table.grain}. Rule (lib/edge/"
            "multimodal.py): a speech annotation aligns with every vision annotation of the same device within "
            "window_seconds (run config, default 90) either side."
        ),
    )
    def _aligned(context: dg.AssetExecutionContext, config: AlignmentConfig, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            annotations = lake.read(lake_table("silver", "annotated_events"), [month])
            return multimodal.align(annotations, config.window_seconds, month), empty_frame(QUARANTINE_COLUMNS), {}

        yield from _run_months(context, lake, table, build, {SCHEMA_PARITY: True, PRIMARY_KEY_UNIQUE: True})

    return _aligned


def build_store_interaction_asset() -> dg.AssetsDefinition:
    table = multimodal.STORE_INTERACTION_METRICS
    key = edge_key("gold", table.name)

    @_table_asset(
        table,
        [
            code_refs.declaration(multimodal, table, f"spec of {table.name}"),
            code_refs.function(multimodal.store_interaction_metrics, "the metrics"),
        ],
        deps=[edge_key("silver", "annotated_events"), edge_key("silver", "multimodal_aligned")],
        checks=[
            check_spec(GRAIN_UNIQUE, key, partitioned=True, description="One row per store and hour."),
            _gold_reconciles_spec(key, "Mentions and pick-ups summed equal annotated_events' of the month."),
        ],
        description=(
            f"{table.description} Seed 003 gold_store_interaction_metrics. Grain: {table.grain}. Conversion = "
            "mentions followed within the alignment window by a pick-up of the brand / mentions."
        ),
    )
    def _metrics(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            annotations = lake.read(lake_table("silver", "annotated_events"), [month])
            aligned = lake.read(lake_table("silver", "multimodal_aligned"), [month])
            metrics = multimodal.store_interaction_metrics(annotations, aligned, month)
            kinds = annotations.get_column("annotation_type")
            balance = gold_balance(
                f"{key.to_user_string()} {month:%Y-%m}",
                {
                    "brand_mentions": (metrics.get_column("brand_mentions").sum(), (kinds == "mention").sum()),
                    "pickups": (metrics.get_column("pickups").sum(), (kinds == "pickup").sum()),
                },
            )
            return metrics, pl.DataFrame(), {GOLD_RECONCILES: balance}

        yield from _run_months(context, lake, table, build, GOLD_GATES)

    return _metrics


def build_sentiment_asset() -> dg.AssetsDefinition:
    table = sentiment.TRANSCRIPT_SENTIMENT_ANALYSIS
    key = edge_key("gold", table.name)

    @_table_asset(
        table,
        [
            code_refs.declaration(sentiment, table, f"spec of {table.name}"),
            code_refs.function(sentiment.transcript_sentiment, "the scoring"),
        ],
        deps=[edge_key("silver", "annotated_events")],
        checks=[
            check_spec(GRAIN_UNIQUE, key, partitioned=True, description="One row per store, brand and day."),
            _gold_reconciles_spec(key, "Mentions summed equal annotated_events' (transcript, brand) mentions."),
        ],
        description=(
            f"{table.description} Seed 003 gold_transcript_sentiment_analysis. Grain: {table.grain}. VADER "
            "(vaderSentiment, lexicon in the package) with Filipino words added (lib/edge/sentiment.py)."
        ),
    )
    def _sentiment(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            annotations = lake.read(lake_table("silver", "annotated_events"), [month])
            scored = sentiment.transcript_sentiment(annotations, month)
            mentioned = annotations.filter(pl.col("annotation_type") == "mention").select("trace_id", "brand_id")
            balance = gold_balance(
                f"{key.to_user_string()} {month:%Y-%m}",
                {"mentions": (int(scored.get_column("mentions").sum()), mentioned.unique().height)},
            )
            return scored, pl.DataFrame(), {GOLD_RECONCILES: balance}

        yield from _run_months(context, lake, table, build, GOLD_GATES)

    return _sentiment


def build_insight_feedback_asset() -> dg.AssetsDefinition:
    table = insights.INSIGHT_FEEDBACK
    key = edge_key("gold", table.name)

    @_table_asset(
        table,
        [
            code_refs.declaration(insights, table, f"spec of {table.name}"),
            code_refs.function(insights.derive_insights, "the insight rules"),
        ],
        deps=[
            edge_key("gold", "transcript_sentiment_analysis"),
            edge_key("gold", "device_health_summary"),
            edge_key("bronze", "insight_feedback"),
            edge_key("bronze", "dim_fmcg_brands"),
            edge_key("bronze", "dim_edge_barangays"),
        ],
        checks=[check_spec(GRAIN_UNIQUE, key, partitioned=True, description="One row per insight_id.")],
        description=(
            f"{table.description} Seed 003 gold_insight_feedback. Grain: {table.grain}. Insights by ISO week "
            "(lib/edge/insights.py): brand mentions up/down >= 40 % in a barangay, devices critical or offline, "
            "negative sentiment on 2+ days; each takes the latest advisor verdict landed as insight_feedback_given."
        ),
    )
    def _insights(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            feedback_table = lake_table("bronze", "insight_feedback")
            found = insights.derive_insights(
                lake.read(lake_table("gold", "transcript_sentiment_analysis"), [month]),
                lake.read(lake_table("gold", "device_health_summary"), [month]),
                snapshot_as_of(lake.read(lake_table("bronze", "dim_fmcg_brands")), month),
                snapshot_as_of(lake.read(lake_table("bronze", "dim_edge_barangays")), month),
            )
            # Verdicts arrive after their insight, in any later month: all of them are read.
            feedback = lake.read(feedback_table) if lake.exists(feedback_table) else pl.DataFrame(
                schema=polars_schema(bronze_columns("insight_feedback_given"))
            )
            return insights.insight_feedback(found, feedback, month), pl.DataFrame(), {}

        yield from _run_months(context, lake, table, build, {SCHEMA_PARITY: True, GRAIN_UNIQUE: True})

    return _insights


def unhealthy_outcome(summary: pl.DataFrame, subject: str) -> CheckOutcome:
    """WARN: device-days that are critical or offline (the device alerts of the month)."""
    bad = summary.filter(pl.col("health_status").is_in(["critical", "offline"]))
    by_status = dict(bad.group_by("health_status").len().sort("health_status").iter_rows()) if bad.height else {}
    return CheckOutcome(
        passed=not bad.height,
        description=(
            f"{subject}: {bad.height} device-days critical or offline ({by_status})" if bad.height
            else f"{subject}: every device-day healthy or degraded"
        ),
        metadata={"unhealthy_device_days": bad.height, "by_status": by_status}
        | ({"examples": frame_table(bad.select("day", "device_id", "health_status", "uptime_pct",
                                                "max_cpu_temp_c"), limit=10)} if bad.height else {}),
        severity=dg.AssetCheckSeverity.WARN,
    )


def build_device_health_asset() -> dg.AssetsDefinition:
    table = DEVICE_HEALTH_SUMMARY
    key = edge_key("gold", table.name)

    @_table_asset(
        table,
        [
            code_refs.declaration(device_health, table, f"spec of {table.name}"),
            code_refs.function(device_health_summary, "the summary's rules"),
        ],
        deps=[edge_key("silver", "device_heartbeat"), edge_key("bronze", "dim_edge_devices")],
        checks=[
            check_spec(GRAIN_UNIQUE, key, partitioned=True, description="One row per device and day."),
            _gold_reconciles_spec(key, "The heartbeats counted equal Silver device_heartbeat's of the month."),
            check_spec(
                NO_UNHEALTHY_DEVICES,
                key,
                partitioned=True,
                blocking=False,
                description="No device-day is critical (uptime < 90 %, CPU >= 85 °C) or offline. WARN.",
            ),
        ],
        description=(
            f"{table.description} Seed 003 gold_device_health_summary. Grain: {table.grain}. Rules in "
            "lib/edge/device_health.py (expected interval = the device's median gap; offline after 3 intervals)."
        ),
    )
    def _gold(context: dg.AssetExecutionContext, lake: LakeStore) -> Iterator[Any]:
        def build(month: dt.date, at: dt.datetime):
            heartbeats = lake.read(table=lake_table("silver", "device_heartbeat"), months=[month])
            devices = _registry(lake, month).select(
                "device_id",
                pl.col("__registered_store").alias("store_id"),
                pl.col("__installed_on").alias("installed_on"),
            )
            summary = device_health_summary(heartbeats, devices, month).with_columns(
                pl.lit(month, dtype=pl.Date).alias("month_start")
            )
            subject = f"{key.to_user_string()} {month:%Y-%m}"
            balance = gold_balance(subject, {"heartbeats": (summary.get_column("heartbeats").sum(), heartbeats.height)})
            outcomes = {NO_UNHEALTHY_DEVICES: unhealthy_outcome(summary, subject), GOLD_RECONCILES: balance}
            return summary, pl.DataFrame(), outcomes

        yield from _run_months(context, lake, table, build, GOLD_GATES)

    return _gold


# ---- serving -----------------------------------------------------------------------------------

# Each Gold table and the module declaring it.
GOLD_TABLES = {
    DEVICE_HEALTH_SUMMARY: device_health,
    multimodal.STORE_INTERACTION_METRICS: multimodal,
    sentiment.TRANSCRIPT_SENTIMENT_ANALYSIS: sentiment,
    insights.INSIGHT_FEEDBACK: insights,
}


def served_name(name: str) -> str:
    """The edge table's name in the DuckDB file: ``edge_<name>`` beside retail's tables."""
    return f"{DOMAIN}_{name}"


def build_gold_serving_asset(table: EdgeTable) -> dg.AssetsDefinition:
    name = served_name(table.name)

    @dg.asset(
        key=edge_key("serving", table.name),
        deps=[edge_key("gold", table.name)],
        group_name=f"{DOMAIN}_serving",
        kinds={"duckdb"},
        tags={"layer": "serving", "domain": DOMAIN},
        pool=DUCKDB_POOL,
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        automation_condition=follows([edge_key("gold", table.name)]),
        description=(
            f"edge/gold/{table.name} in the DuckDB file as table {name}: each month deleted and re-inserted in one "
            f"transaction (the spine's serving writer). Joins edge_dim_* on its ids.\n\n{table.description}"
        ),
        metadata={
            "dagster/column_schema": column_schema(table.stored_columns),
            "duckdb_table": name,
            **code_refs.code_references(code_refs.declaration(GOLD_TABLES[table], table, f"spec of {table.name}")),
        },
    )
    def _serve(context: dg.AssetExecutionContext, lake: LakeStore, duckdb: DuckDBResource) -> dg.MaterializeResult:
        months = months_of(context)
        assert_not_gated(context, months)
        frame = lake.read(table.lake_table, months)
        with serving_writer(duckdb.database, config=duckdb.connection_config) as con:
            publish_months(con, name, table.stored_columns, frame, months, description=table.description)
        return dg.MaterializeResult(metadata={"dagster/row_count": frame.height, "duckdb_table": name})

    return _serve


@dg.asset(
    key=edge_key("serving", "dimensions"),
    deps=[edge_key("bronze", t.name) for t in EDGE_REGISTRY.dimensions],
    group_name=f"{DOMAIN}_serving",
    kinds={"duckdb"},
    tags={"layer": "serving", "domain": DOMAIN},
    pool=DUCKDB_POOL,
    description=(
        "The edge dimensions in the DuckDB file as tables edge_<dim> (edge_dim_sari_stores, ...): the latest landed "
        "snapshot of each, replaced whole in one transaction per table."
    ),
    metadata=code_refs.code_references(
        code_refs.declaration(edge_specs, edge_specs.EDGE_DIMENSIONS, "the edge dimensions")
    ),
)
def served_dimensions(context: dg.AssetExecutionContext, lake: LakeStore, duckdb: DuckDBResource):
    frames = {}
    for spec in EDGE_REGISTRY.dimensions:
        stored = lake.read(lake_table("bronze", spec.name))
        latest = stored.filter(pl.col("snapshot_month") == stored.get_column("snapshot_month").max())
        frames[spec] = latest.select(spec.column_names)
    with serving_writer(duckdb.database, config=duckdb.connection_config) as con:
        for spec, frame in frames.items():
            replace_table(con, served_name(spec.name), spec.columns, frame, description=spec.description)
    return dg.MaterializeResult(metadata={served_name(s.name): f.height for s, f in frames.items()})


def build_edge_assets(generator: bool) -> list[dg.AssetsDefinition]:
    deps = [GENERATOR_KEY] if generator else []
    return [
        *([simulated_month] if generator else []),
        *(build_bronze_dimension_asset(t.name, deps) for t in EDGE_REGISTRY.dimensions),
        *(build_bronze_event_asset(e.event_type, deps) for e in EDGE_REGISTRY.events),
        build_device_heartbeat_asset(),
        build_annotated_events_asset(),
        build_multimodal_aligned_asset(),
        build_device_health_asset(),
        build_store_interaction_asset(),
        build_sentiment_asset(),
        build_insight_feedback_asset(),
        *(build_gold_serving_asset(t) for t in GOLD_TABLES),
        served_dimensions,
    ]


edge_automation = dg.AutomationConditionSensorDefinition(
    "edge_automation",
    target=dg.AssetSelection.groups(f"{DOMAIN}_silver", f"{DOMAIN}_gold", f"{DOMAIN}_serving"),
    minimum_interval_seconds=AUTOMATION_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the automation conditions of the edge domain's Silver, Gold and serving assets: a month whose "
        "upstream month was updated (new Bronze, a rebuilt Silver) is recomputed, unless a blocking check holds it."
    ),
)

EDGE_BRONZE_EVENTS = dg.AssetSelection.assets(*(edge_key("bronze", t) for t in BRONZE_TABLES.values()))
LANDING_INTERVAL_SECONDS = 30


def landed_months(zone: LandingZone) -> dict[str, str]:
    """Month (partition key) → a digest of its landed edge event files (path, size, modification time)."""
    files, _ = zone.scan("events/")
    by_month: dict[str, list[str]] = {}
    for f in files:
        by_month.setdefault(partition_key(f.path.month), []).append(f"{f.path.path}|{f.size}|{f.modified.isoformat()}")
    return {
        month: hashlib.sha256("\n".join(sorted(entries)).encode()).hexdigest()[:16]
        for month, entries in sorted(by_month.items())
    }


@dg.sensor(
    name="edge_landing_sensor",
    minimum_interval_seconds=LANDING_INTERVAL_SECONDS,
    asset_selection=EDGE_BRONZE_EVENTS,
    default_status=dg.DefaultSensorStatus.STOPPED,
)
def edge_landing_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    """Requests a Bronze run of the edge event tables for each month whose landed files changed (new, replaced or
    removed files), with a run key naming the month and its files' digest, so a month is loaded once per change.

    It lists edge/events/ at every tick (edge volumes: thousands of files a month) and keeps one digest per month in
    its cursor. Bronze reloads the whole month, idempotently; Silver onwards follow by automation. Off by default:
    turn it on where devices land files continuously (edge_lakehouse builds a month on demand)."""
    known = json.loads(context.cursor) if context.cursor else {}
    current = landed_months(edge_landing(landing))
    changed = [month for month, digest in current.items() if known.get(month) != digest]
    requests = [
        dg.RunRequest(run_key=f"edge-bronze-{month}-{current[month]}", partition_key=month) for month in changed
    ]
    if not requests:
        return dg.SkipReason(f"no edge event file changed ({len(current)} months landed)")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(current, sort_keys=True))


edge_lakehouse = dg.define_asset_job(
    MAIN_JOB,
    selection=dg.AssetSelection.key_prefixes([DOMAIN]),
    description="The store edge domain (seed 003) for the chosen month(s): generator (when on), Bronze, Silver, Gold.",
)


@dg.definitions
def defs() -> dg.Definitions:
    assets = build_edge_assets(Settings.from_env().generator_enabled)
    return dg.Definitions(assets=assets, jobs=[edge_lakehouse], sensors=[edge_automation, edge_landing_sensor])
