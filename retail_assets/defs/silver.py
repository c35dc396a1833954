"""Silver: typed, batch ∪ stream, deduplicated on business keys, rejected rows quarantined, SCD2 dimensions.

Built by a factory from the spec registry: ``silver/<fact>`` (monthly, single-run backfills) for
every fact of the registry and ``silver/<dim>`` (unpartitioned) for every dimension. The transforms live in
``lib/silver``; this module wires them to partitions, metadata and checks.

Checks, evaluated per month on facts and once on dimensions (names are stable):

- ``schema_parity`` (blocking): the month as stored matches ``silver_columns``. Drift of the Bronze
  input or of the output is refused before anything is written: the check is recorded failed (table,
  partition, columns in its metadata) and the step fails, so the month's downstream waits.
- ``primary_key_unique`` (blocking): the key of the month as stored is never null and unique (SCD2:
  key + valid_from, one current version per key). A violation in the built frame is refused before
  writing and recorded failed the same way (with example keys).
- ``foreign_keys_resolve``: every reference of the written rows resolves to its Silver dimension
  (SCD2: to a version valid at event time). Rows that did not were quarantined (``fk_miss``).
- ``reconciles_with_bronze``: Bronze rows in (counted on Bronze) = Silver rows + quarantined
  (both counted back from the lake) + exact duplicates dropped (+ step events applied to online
  order lines; + snapshot rows repeating or superseded by another version, for dimensions).
- ``keeps_bronze_keys`` (facts): every business key of the month's Bronze batch rows that passed
  the row checks is in Silver. Counts alone cannot see a key lost to a conflict: both copies
  quarantined still reconcile.
- ``non_empty`` (WARN): the partition has rows.
- ``nothing_quarantined`` (WARN): no row was rejected; the metadata counts rejected rows by reason.
"""

import datetime as dt
from collections.abc import Iterator
from typing import Any

import dagster as dg
import polars as pl

from retail_assets.defs.bronze import bronze_key
from retail_assets.lib.code_refs import code_references, table_spec
from retail_assets.lib.checks import (
    NOTHING_QUARANTINED,
    NOTHING_QUARANTINED_DESCRIPTION,
    PRIMARY_KEY_UNIQUE,
    SCHEMA_PARITY,
    CheckOutcome,
    SpecValidationError,
    check_evaluations,
    check_spec,
    column_schema,
    emit_check_results,
    frame_schema,
    frame_table,
    key_examples,
    quarantine_outcome,
    record_before_failure,
    step_failure,
    stored_parity_outcome,
)
from retail_assets.lib.gates import assert_not_gated
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.pools import STREAM_POOL
from retail_assets.lib.partitions import MONTHLY, describe_months, months_of, partition_key
from retail_assets.lib.silver.facts import FactMonth
from retail_assets.lib.silver.pipeline import (
    MissingDimension,
    WrittenDimension,
    WrittenMonth,
    fact_events,
    materialize_dimension,
    materialize_fact_month,
    primary_key_problems,
    quarantine_table,
    silver_key,
    silver_table,
    stored_key_problems,
)
from retail_assets.lib.silver.rules import referenced_dimensions
from retail_assets.lib.silver.stream import MAPPING_NOTES, UPDATE_EVENTS
from retail_assets.lib.specs import REGISTRY, silver_columns
from retail_assets.lib.settings import Settings
from retail_assets.lib.streaming.automation import follows_upstream_months
from retail_assets.lib.streaming.incremental import HOT_SILVER, SilverAppend

LAYER = "silver"
FOREIGN_KEYS_RESOLVE = "foreign_keys_resolve"
RECONCILES_WITH_BRONZE = "reconciles_with_bronze"
KEEPS_BRONZE_KEYS = "keeps_bronze_keys"
NON_EMPTY = "non_empty"
# The hot Silver facts and minute Gold tables: their month rebuilds and the stream worker's incremental
# updates take turns on the stream pool's one slot (a rebuild must not overwrite a month while a batch is
# appended to it; lib/pools.py).
HOT_POOL = STREAM_POOL

CHECK_DESCRIPTIONS = {
    SCHEMA_PARITY: (
        "The month as stored matches the Silver spec (no missing, extra or mistyped column). Blocking. Drift of the "
        "Bronze input or of the output is refused before anything is written: the check fails (its metadata names the "
        "table, partition and columns), the run fails and the month's downstream waits until the check passes."
    ),
    PRIMARY_KEY_UNIQUE: (
        "The business key of the rows as stored is never null and unique (SCD2 dimensions: key + valid_from, exactly "
        "one current version per key). Blocking; a violation in the built rows is refused before anything is written "
        "and fails the check (its metadata names the key, the counts and example values)."
    ),
    FOREIGN_KEYS_RESOLVE: (
        "Every reference of the written rows resolves to its Silver dimension; references to SCD2 dimensions resolve "
        "to a version valid at the row's event time. Rows that did not are in quarantine (reason_code fk_miss)."
    ),
    RECONCILES_WITH_BRONZE: (
        "Bronze rows in = Silver rows + quarantined + exact duplicates dropped (+ picked/shipped events applied to "
        "online order lines; + snapshot rows that repeat or were superseded, for dimensions). Bronze, Silver and "
        "quarantine are counted on the lake after the write."
    ),
    KEEPS_BRONZE_KEYS: (
        "Every business key of the month's Bronze batch rows that passed the row checks (required values, types, "
        "ranges, references, month) is in Silver. Fails (ERROR) naming the missing keys and how they were "
        "quarantined, e.g. two batch rows of one key that contradict each other (conflicting_duplicate). Not "
        "blocking: Silver is already written, and the missing keys are in quarantine with their reason."
    ),
    NON_EMPTY: "The partition has rows (WARN: an empty month usually means nothing landed or everything was rejected).",
    NOTHING_QUARANTINED: NOTHING_QUARANTINED_DESCRIPTION,
}


def silver_asset_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([LAYER, name])


def check_names(table: str) -> list[str]:
    names = [SCHEMA_PARITY, PRIMARY_KEY_UNIQUE]
    if referenced_dimensions(REGISTRY.table(table)):
        names.append(FOREIGN_KEYS_RESOLVE)
    names.append(RECONCILES_WITH_BRONZE)
    if REGISTRY.table(table).kind == "fact":
        names.append(KEEPS_BRONZE_KEYS)
    return [*names, NON_EMPTY, NOTHING_QUARANTINED]


def _check_specs(table: str, key: dg.AssetKey, *, partitioned: bool) -> list[dg.AssetCheckSpec]:
    return [
        check_spec(
            name,
            key,
            partitioned=partitioned,
            description=CHECK_DESCRIPTIONS[name],
            blocking=name in (SCHEMA_PARITY, PRIMARY_KEY_UNIQUE),
        )
        for name in check_names(table)
    ]


def _commit_metadata(context: dg.AssetExecutionContext, what: str) -> dict[str, str]:
    return {"dagster_run_id": context.run.run_id, "dagster_asset": context.assets_def.key.to_user_string(), "months": what}


def _fk_outcome(unresolved: dict[str, int], rows: int, fk_quarantined: int) -> CheckOutcome:
    failing = {name: n for name, n in unresolved.items() if n}
    return CheckOutcome(
        passed=not failing,
        description=(
            f"{rows} rows: every reference resolves ({fk_quarantined} rows with an unresolved reference were quarantined)"
            if not failing
            else f"unresolved references in written rows: {failing}"
        ),
        metadata={
            "unresolved": dg.MetadataValue.json(failing),
            "quarantined_fk_misses": fk_quarantined,
            "references": list(unresolved),
        },
    )


def stored_dimension_keys(lake: LakeStore, table: str) -> pl.DataFrame:
    """The key columns (and ``is_current`` of an SCD2 dimension) of ``silver/<dim>`` as stored."""
    current = ["is_current"] if REGISTRY.table(table).history == "scd2" else []
    return lake.scan(silver_table(table)).select([*silver_key(table), *current]).collect()


def primary_key_outcome(rows: pl.DataFrame, table: str) -> CheckOutcome:
    problems = primary_key_problems(rows, table)
    key = silver_key(table)
    return CheckOutcome(
        passed=not problems,
        description=f"key {key} unique and not null over {rows.height} rows" if not problems else f"key {key}: {problems}",
        metadata={
            "key": key,
            **{k: v for k, v in problems.items() if k != "key"},
            **({"key_examples": key_examples(rows, key)} if problems else {}),
        },
    )


def fact_key_outcome(build: FactMonth, lake: LakeStore, month: dt.date) -> CheckOutcome:
    """``primary_key_unique`` of a written fact month, on the month as stored (a scan of its key columns): the check
    sees what readers see, whether the month was built whole or in key-hash shards."""
    rows, problems = stored_key_problems(lake, build.table, month)
    key = silver_key(build.table)
    shards = f" ({build.shards} key-hash shards)" if build.shards > 1 else ""
    return CheckOutcome(
        passed=not problems,
        description=(
            f"key {key} unique and not null over the {rows} rows stored{shards}"
            if not problems
            else f"key {key} over the {rows} rows stored{shards}: {problems}"
        ),
        metadata={
            "key": key,
            **({"key_hash_shards": build.shards} if build.shards > 1 else {}),
            **{k: v for k, v in problems.items() if k != "key"},
            **({"key_examples": stored_key_examples(lake, build.table, month)} if problems else {}),
        },
    )


def stored_key_examples(lake: LakeStore, table: str, month: dt.date) -> list[dict[str, Any]]:
    """Null or repeated key values of the month as stored (read only when its key check failed)."""
    return key_examples(lake.scan(silver_table(table), [month]).select(silver_key(table)).collect(), silver_key(table))


def _reconcile_outcome(
    bronze: int, silver: int, quarantined: int, duplicates: int, merged: int, merged_label: str
) -> CheckOutcome:
    total = silver + quarantined + duplicates + merged
    return CheckOutcome(
        passed=bronze == total,
        description=(
            f"Bronze {bronze} {'=' if bronze == total else '!='} Silver {silver} + quarantined {quarantined} + "
            f"duplicates dropped {duplicates} + {merged_label} {merged}"
        ),
        metadata={
            "bronze_rows": bronze,
            "silver_rows": silver,
            "quarantined_rows": quarantined,
            "duplicates_dropped": duplicates,
            merged_label.replace(" ", "_"): merged,
        },
    )


def keeps_bronze_keys_outcome(build: FactMonth) -> CheckOutcome:
    """``keeps_bronze_keys`` of one built month: the batch rows' keys against the rows written."""
    subject = f"silver/{build.table} {build.month:%Y-%m}"
    lost = build.lost_batch_keys
    how = lost.get_column("quarantined_as").fill_null("not quarantined")
    by_reason = dict(how.value_counts(sort=True).iter_rows())
    shown = ", ".join(lost.get_column("key").head(5).to_list())
    return CheckOutcome(
        passed=not lost.height,
        description=(
            f"{subject}: all {build.batch_keys} business keys of the Bronze batch rows that passed the row checks are in Silver"
            if not lost.height
            else f"{subject}: {lost.height} of {build.batch_keys} business keys of the Bronze batch rows are missing from "
            f"Silver ({by_reason}), e.g. {shown}. See {quarantine_table(build.table)} for their rows and reasons; fix the "
            "source (two different batch rows of one key: correct or remove one) and re-run the month"
        ),
        metadata={
            "batch_keys": build.batch_keys,
            "missing_keys": lost.height,
            "missing_by_quarantine_reason": dg.MetadataValue.json(by_reason),
            "missing_examples": dg.MetadataValue.json(lost.get_column("key").head(20).to_list()),
        },
    )


def month_quarantine_outcome(lake: LakeStore, table: str, month: dt.date, codes: pl.DataFrame) -> CheckOutcome:
    """``nothing_quarantined`` of one month of a Silver fact, on its quarantine as stored (``codes``)."""
    return quarantine_outcome(
        codes, subject=f"silver/{table} {month:%Y-%m}", table_path=lake.uri(quarantine_table(table))
    )


def worker_check_outcomes(lake: LakeStore, append: SilverAppend) -> dict[str, CheckOutcome]:
    """The checks of this module the stream worker evaluates after applying a batch to a hot fact month.

    ``nothing_quarantined`` always (on the month's stored quarantine, whichever batch rejected the rows);
    ``keeps_bronze_keys`` when the worker rebuilt the month (an append adds rows, it cannot lose batch keys).
    """
    outcomes = {NOTHING_QUARANTINED: month_quarantine_outcome(lake, append.table, append.month, append.quarantine_codes)}
    if append.mode == "rebuild":
        outcomes[KEEPS_BRONZE_KEYS] = keeps_bronze_keys_outcome(append.build)
    return outcomes


def _non_empty_outcome(rows: int, bronze: int) -> CheckOutcome:
    return CheckOutcome(
        passed=rows > 0,
        description=f"{rows} rows" if rows else f"no rows written ({bronze} Bronze rows in, all rejected or none landed)",
        metadata={"rows": rows, "bronze_rows": bronze},
        severity=dg.AssetCheckSeverity.WARN,
    )


def _fact_metadata(written: WrittenMonth, lake: LakeStore) -> dict[str, Any]:
    build = written.build
    metadata: dict[str, Any] = {
        "dagster/row_count": build.row_count,
        "dagster/column_schema": frame_schema(build.rows),
        "bronze_rows": written.bronze_rows,
        "rows_in_by_source": dg.MetadataValue.json(build.rows_in),
        "rows_out_by_source": dg.MetadataValue.json(build.rows_out),
        "rows_from_batch": build.rows_out.get("batch", 0),
        "rows_from_stream": sum(v for k, v in build.rows_out.items() if k != "batch"),
        "quarantined_rows": build.quarantine.height,
        "quarantined_by_reason": dg.MetadataValue.json(build.quarantined_by_reason),
        "duplicates_dropped": build.duplicates_dropped,
        "stream_rows_matching_batch": build.events_matching_batch,
        "delta_version": written.version,
        "lake_table": dg.MetadataValue.path(lake.uri(silver_table(build.table))),
    }
    if build.shards > 1:
        metadata["key_hash_shards"] = build.shards
    if build.updates_applied:
        metadata["step_events_applied"] = build.updates_applied
    if build.updates_handed_back:
        metadata["step_events_for_previous_month"] = build.updates_handed_back
    if written.missing_inputs:
        metadata["missing_inputs"] = list(written.missing_inputs)
    if build.quarantine.height:
        metadata["quarantine_table"] = dg.MetadataValue.path(lake.uri(quarantine_table(build.table)))
        metadata["quarantine_preview"] = frame_table(
            build.quarantine.select("reason_code", "column_name", "value", "reason")
        )
    return metadata


def _run_fact_months(context: dg.AssetExecutionContext, lake: LakeStore, table: str) -> Iterator[Any]:
    assert_not_gated(context, months_of(context))
    outcomes: dict[str, dict[dt.date, CheckOutcome]] = {name: {} for name in check_names(table)}
    written_months: dict[dt.date, dict[str, Any]] = {}
    for month in months_of(context):
        try:
            written = materialize_fact_month(
                lake, table, month, commit_metadata=_commit_metadata(context, describe_months([month]))
            )
        except (SpecValidationError, MissingDimension) as exc:
            yield from record_before_failure(context, written_months, outcomes, exc, month)
            raise step_failure(exc, table, partition_key(month)) from exc
        build = written.build
        metadata = _fact_metadata(written, lake)
        written_months[month] = metadata
        context.add_asset_metadata(metadata, partition_key=partition_key(month))
        outcomes[SCHEMA_PARITY][month] = stored_parity_outcome(
            lake, silver_table(table), silver_columns(table), month, subject=f"silver/{table} {month:%Y-%m}"
        )
        outcomes[PRIMARY_KEY_UNIQUE][month] = fact_key_outcome(build, lake, month)
        if FOREIGN_KEYS_RESOLVE in outcomes:
            outcomes[FOREIGN_KEYS_RESOLVE][month] = _fk_outcome(
                written.unresolved, build.row_count, build.quarantined_by_reason.get("fk_miss", 0)
            )
        outcomes[RECONCILES_WITH_BRONZE][month] = _reconcile_outcome(
            written.bronze_rows,
            written.silver_rows,
            written.quarantined_rows,
            build.duplicates_dropped,
            build.updates_applied + build.updates_handed_back,
            "step events applied or handed to the previous month",
        )
        outcomes[KEEPS_BRONZE_KEYS][month] = keeps_bronze_keys_outcome(build)
        outcomes[NON_EMPTY][month] = _non_empty_outcome(written.silver_rows, written.bronze_rows)
        outcomes[NOTHING_QUARANTINED][month] = month_quarantine_outcome(lake, table, month, written.quarantine_codes)
        context.log.info(
            f"silver/{table} {month:%Y-%m}: {written.bronze_rows} Bronze rows in {build.rows_in}, {build.row_count} written, "
            f"{build.quarantine.height} quarantined {build.quarantined_by_reason}, {build.duplicates_dropped} duplicates dropped"
        )
    yield dg.MaterializeResult()
    for name, by_month in outcomes.items():
        yield from emit_check_results(context, name, by_month)


def _fact_description(table: str) -> str:
    spec = REGISTRY.table(table)
    sources = [f"bronze/{table}"] + [f"bronze/{e}" for e in fact_events(table)]
    return (
        f"{spec.description}\n\nSilver: {' ∪ '.join(sources)} for the month, typed to the spec, deduplicated on "
        f"{list(spec.primary_key)}: a batch row is the system of record, an event of its key is dropped as a duplicate "
        "when it agrees on every column it carries and quarantined (conflicts_with_batch) when it does not; otherwise "
        "exact duplicates are dropped and counted, differing rows with one key quarantined. "
        f"Grain: {spec.grain}. Event mapping: {MAPPING_NOTES[table]} Rejected rows (null key, bad type, out-of-range "
        f"value, wrong month, unresolved reference, conflict) go to {quarantine_table(table)} with the reason and "
        "their Bronze file."
    )


def _bronze_deps(table: str) -> list[dg.AssetDep]:
    """The Bronze months a Silver month reads: its own; for online order lines also the neighbours.

    A month of lines takes the next month's picked/shipped events of its orders and looks at the
    order ids of the previous and next months' lines (``lib/silver/lifecycle.py``), so new events
    of the next month bring this month up to date too.
    """
    if not UPDATE_EVENTS.get(table):
        return [dg.AssetDep(bronze_key(name)) for name in (table, *fact_events(table))]

    def months(before: int, after: int) -> dg.TimeWindowPartitionMapping:
        return dg.TimeWindowPartitionMapping(start_offset=before, end_offset=after, allow_nonexistent_upstream_partitions=True)

    return [
        dg.AssetDep(bronze_key(table), partition_mapping=months(-1, 1)),
        *[
            dg.AssetDep(bronze_key(e), partition_mapping=months(0, 1) if e in UPDATE_EVENTS[table] else None)
            for e in fact_events(table)
        ],
    ]


def _automation(table: str) -> dg.AutomationCondition:
    """New Bronze data of a month (a batch file, a streamed batch, a late event) updates that month. With the
    stream worker (the default), the worker applies events to the hot facts itself, so those follow only their
    Bronze batch table (a month rebuild per streamed batch is what the worker avoids)."""
    if table in HOT_SILVER and Settings.from_env().stream_mode == "worker":
        return follows_upstream_months(dg.AssetSelection.assets(bronze_key(table)))
    return follows_upstream_months(dg.AssetSelection.groups("bronze"))


def build_fact_asset(table: str) -> dg.AssetsDefinition:
    spec = REGISTRY.table(table)
    key = silver_asset_key(table)

    @dg.asset(
        key=key,
        deps=[*_bronze_deps(table), *[silver_asset_key(d) for d in referenced_dimensions(spec)]],
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER},
        partitions_def=MONTHLY,
        backfill_policy=dg.BackfillPolicy.single_run(),
        description=_fact_description(table),
        metadata={
            "dagster/column_schema": column_schema(silver_columns(table)),
            "lake_table": silver_table(table),
            **code_references(table_spec(table)),
        },
        check_specs=_check_specs(table, key, partitioned=True),
        automation_condition=_automation(table),
        pool=HOT_POOL if table in HOT_SILVER else None,
    )
    def _fact(context: dg.AssetExecutionContext, lake: LakeStore):
        yield from _run_fact_months(context, lake, table)

    return _fact


def _dimension_metadata(written: WrittenDimension, lake: LakeStore) -> dict[str, Any]:
    build = written.build
    metadata: dict[str, Any] = {
        "dagster/row_count": build.rows.height,
        "dagster/column_schema": frame_schema(build.rows),
        "bronze_rows": written.bronze_rows,
        "snapshots": [m.isoformat() for m in build.snapshots],
        "quarantined_rows": build.quarantined,
        "duplicates_dropped": build.duplicates_dropped,
        "versions_collapsed": build.versions_collapsed,
        "delta_version": written.version,
        "lake_table": dg.MetadataValue.path(lake.uri(silver_table(build.table))),
    }
    if REGISTRY.table(build.table).history == "scd2":
        metadata["current_versions"] = int(build.rows.get_column("is_current").sum())
    if build.quarantined:
        metadata["quarantine_table"] = dg.MetadataValue.path(lake.uri(quarantine_table(build.table)))
        metadata["quarantine_preview"] = frame_table(
            build.quarantine.select("month_start", "reason_code", "column_name", "value", "reason")
        )
    return metadata


def _dimension_description(table: str) -> str:
    spec = REGISTRY.table(table)
    if spec.history == "scd2":
        history = (
            "SCD Type 2 over every landed snapshot: a version starts (valid_from, 00:00 UTC on the first day of the "
            "snapshot month that introduced it) when any attribute changes; valid_to is the next version's start, "
            "is_current marks the open one. Facts resolve to the version valid at their event time."
        )
    else:
        history = "Each key's row from the latest snapshot that has it (keys dropped later still resolve for older facts)."
    return (
        f"{spec.description}\n\nSilver: {history} Rows with a null key, an out-of-range value, an unresolved reference "
        f"or a conflicting duplicate within a snapshot go to {quarantine_table(table)} under their snapshot month."
    )


def build_dimension_asset(table: str) -> dg.AssetsDefinition:
    spec = REGISTRY.table(table)
    key = silver_asset_key(table)

    @dg.asset(
        key=key,
        deps=[bronze_key(table), *[silver_asset_key(d) for d in referenced_dimensions(spec)]],
        group_name=LAYER,
        kinds={"polars", "delta"},
        tags={"layer": LAYER},
        description=_dimension_description(table),
        metadata={
            "dagster/column_schema": column_schema(silver_columns(table)),
            "lake_table": silver_table(table),
            **code_references(table_spec(table)),
        },
        check_specs=_check_specs(table, key, partitioned=False),
    )
    def _dimension(context: dg.AssetExecutionContext, lake: LakeStore):
        assert_not_gated(context, [])
        try:
            written = materialize_dimension(lake, table, commit_metadata=_commit_metadata(context, "all snapshots"))
        except (SpecValidationError, MissingDimension) as exc:
            if isinstance(exc, SpecValidationError) and exc.check is not None:
                # Nothing was written; the failed evaluation names the table's latest materialization (what is
                # stored), so it holds the dimension's downstream until a run passes (lib/checks.py).
                yield from check_evaluations(context, exc.check, exc.outcome())
            raise step_failure(exc, table, "unpartitioned") from exc
        build = written.build
        yield dg.MaterializeResult(metadata=_dimension_metadata(written, lake))
        outcomes = {
            SCHEMA_PARITY: stored_parity_outcome(lake, silver_table(table), silver_columns(table), None, subject=f"silver/{table}"),
            PRIMARY_KEY_UNIQUE: primary_key_outcome(stored_dimension_keys(lake, table), table),
            RECONCILES_WITH_BRONZE: _reconcile_outcome(
                written.bronze_rows,
                written.silver_rows,
                written.quarantined_rows,
                build.duplicates_dropped,
                build.versions_collapsed,
                "snapshot rows repeating or superseded",
            ),
            NON_EMPTY: _non_empty_outcome(written.silver_rows, written.bronze_rows),
            NOTHING_QUARANTINED: quarantine_outcome(
                build.quarantine, subject=f"silver/{table}", table_path=lake.uri(quarantine_table(table))
            ),
        }
        if FOREIGN_KEYS_RESOLVE in check_names(table):
            outcomes[FOREIGN_KEYS_RESOLVE] = _fk_outcome(
                written.unresolved, build.rows.height, int((build.quarantine["reason_code"] == "fk_miss").sum())
            )
        for name in check_names(table):
            yield from emit_check_results(context, name, outcomes[name])

    return _dimension


def build_silver_assets() -> list[dg.AssetsDefinition]:
    return [
        *(build_dimension_asset(t.name) for t in REGISTRY.dimensions),
        *(build_fact_asset(t.name) for t in REGISTRY.facts),
    ]


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(assets=build_silver_assets())
