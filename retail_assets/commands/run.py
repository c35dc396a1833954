"""``retail-assets run --month 2024-01``: materialize the whole lakehouse for a month, in this process.

Runs are recorded in the Dagster instance of ``DAGSTER_HOME`` (the working directory when unset
and a ``dagster.yaml`` is there; see ``lib/instance.py``), so they show in the UI of ``dagster dev``
afterwards.

With ``RETAIL_EXECUTOR=celery`` (or ``k8s``) this process only orchestrates the run: its steps execute on the
workers (``lib/executors.py``). ``execute_in_process`` always executes in-process, so the run is launched with
``dagster.execute_job`` on a reconstructable job, which the workers load by module and function.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from collections import defaultdict

import dagster as dg

from retail_assets.lib.liveness import start_watchdog, worker_tags
from retail_assets.lib.months import parse_month
from retail_assets.lib.partitions import partition_key
from retail_assets.lib.settings import EXECUTOR, SettingsError, executor_settings


def month_argument(text: str) -> dt.date:
    """An argparse type: YYYY-MM (or a date) as the first day of its month."""
    try:
        return parse_month(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="Materialize the whole lakehouse for one month (or a range).")
    parser.add_argument("--month", type=month_argument, required=True, help="First month, YYYY-MM.")
    parser.add_argument("--to", type=month_argument, help="Last month of a range, YYYY-MM (one run covers the range).")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from retail_assets.defs.jobs import MAIN_JOB
    from retail_assets.definitions import defs
    from retail_assets.lib.instance import open_instance

    first, last = args.month, args.to or args.month
    if last < first:
        print(f"--to {last:%Y-%m} is before --month {first:%Y-%m}", file=sys.stderr)
        return 2
    executor = executor_settings().executor
    definitions = defs()
    check_lake_logs(definitions)
    with open_instance() as instance:
        return _execute(definitions.resolve_job_def(MAIN_JOB), instance, first, last, executor=executor)


def lake_tables() -> list[str]:
    """Every Delta table the main job reads or writes."""
    from retail_assets.lib.gold.specs import GOLD_TABLES
    from retail_assets.lib.quarantine_tables import registered
    from retail_assets.lib.specs import REGISTRY

    bronze = [f"bronze/{name}" for name in (*REGISTRY.tables, *REGISTRY.events_by_type)]
    silver = [f"silver/{name}" for name in REGISTRY.tables]
    return [*bronze, *silver, *(f"gold/{t.name}" for t in GOLD_TABLES), *sorted(q.path for q in registered())]


def check_lake_logs(definitions: dg.Definitions) -> None:
    """Open the transaction log of every existing lake table before the run starts: a damaged log is one line
    naming the table and commit (``LakeError``, exit code 2), not a step failure deep inside a run."""
    lake = definitions.resources["lake"].process_config_and_initialize()
    for table in lake_tables():
        if lake.exists(table):
            lake.version(table)


def _execute(
    job: dg.JobDefinition,
    instance: dg.DagsterInstance,
    first: dt.date,
    last: dt.date,
    *,
    executor: str = "in_process",
    asset_selection: list[dg.AssetKey] | None = None,
) -> int:
    """Run ``job`` (or its ``asset_selection``) for the months ``first``..``last`` as one run; print a summary."""
    tags = (
        {"dagster/partition": partition_key(first)}
        if first == last
        else {
            "dagster/asset_partition_range_start": partition_key(first),
            "dagster/asset_partition_range_end": partition_key(last),
        }
    )
    # Dagster's event stream is in the UI; the terminal gets warnings, errors and a summary.
    run_config = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}
    started = time.monotonic()
    # This process executes the run (or orchestrates it, when steps go to workers): record it as the run's worker and
    # watch over the pools it may wait for, so a kill of this command never leaves a run holding pool slots for ever
    # (lib/liveness.py).
    start_watchdog(instance)
    if executor == "in_process":
        result = job.execute_in_process(
            instance=instance, tags={**tags, **worker_tags()}, raise_on_error=False, run_config=run_config,
            asset_selection=asset_selection,
        )
        return _report(job, result, started, first, last, "")
    if instance.is_ephemeral:
        raise SettingsError(
            f"{EXECUTOR}={executor} needs a Dagster instance its workers share: set DAGSTER_HOME to one (its "
            f"dagster.yaml naming shared storage, e.g. PostgreSQL), or unset {EXECUTOR} to run in this process"
        )
    from retail_assets.lib.executors import reconstructable_job

    with dg.execute_job(
        reconstructable_job(job.name), instance=instance, tags={**tags, **worker_tags()}, raise_on_error=False,
        run_config=run_config, asset_selection=asset_selection,
    ) as result:
        return _report(job, result, started, first, last, f" on {executor} workers")


def _report(job: dg.JobDefinition, result, started: float, first: dt.date, last: dt.date, where: str) -> int:
    months = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"
    status = "success" if result.success else "FAILED"
    print(f"{job.name} {months}: {status}{where} in {time.monotonic() - started:.1f} s (run {result.run_id})")
    for line in summarize(result.all_events):
        print(f"  {line}")
    if not result.success:
        failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
        print(f"failed steps: {failed}; see the run in the Dagster UI", file=sys.stderr)
        return 1
    print("Browse it: DAGSTER_HOME=$PWD python3 -m uv run dagster dev  (http://127.0.0.1:3000)")
    return 0


# Materialization metadata counting the rows a Bronze or Silver table did not keep, per partition.
REJECTED = ("quarantined_rows", "duplicates_dropped")
# Tables listed with rejected rows; the rest are counted in one line (retail-assets quarantine lists all).
MAX_REJECTED_LINES = 20


def summarize(events) -> list[str]:
    """Rows materialized per layer, tables that quarantined or dropped rows, and check outcomes, from a run's events."""
    layers: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    assets_per_layer: dict[str, set] = defaultdict(set)
    rejected: dict[str, list[int]] = defaultdict(lambda: [0] * len(REJECTED))
    passed, failed, warned = 0, [], []
    for event in events:
        if event.event_type_value == "ASSET_MATERIALIZATION":
            materialization = event.event_specific_data.materialization
            layer = materialization.asset_key.path[0]
            assets_per_layer[layer].add(materialization.asset_key)
            rows = materialization.metadata.get("dagster/row_count")
            layers[layer][0] += int(rows.value) if rows is not None else 0
            for i, name in enumerate(REJECTED):
                count = materialization.metadata.get(name)
                if count is not None and count.value:
                    rejected[materialization.asset_key.to_user_string()][i] += int(count.value)
        elif event.event_type_value == "ASSET_CHECK_EVALUATION":
            check = event.event_specific_data
            label = f"{check.asset_key.to_user_string()} {check.check_name}" + (f" ({check.partition})" if check.partition else "")
            if check.passed:
                passed += 1
            elif check.severity == dg.AssetCheckSeverity.WARN:
                warned.append(label)
            else:
                failed.append(label)
    lines = [f"{layer:<10} {len(assets_per_layer[layer]):>3} assets {counts[0]:>14,} rows" for layer, counts in layers.items()]
    for table, (quarantined, duplicates) in sorted(rejected.items())[:MAX_REJECTED_LINES]:
        lines.append(f"rejected   {table}: {quarantined:,} quarantined, {duplicates:,} duplicates dropped")
    if len(rejected) > MAX_REJECTED_LINES:
        lines.append(f"rejected   ... and {len(rejected) - MAX_REJECTED_LINES} more tables")
    if rejected:
        lines.append("           the quarantined rows: retail-assets quarantine --rows 20 (and table quarantine in DuckDB)")
    lines.append(f"checks     {passed} passed, {len(failed)} failed, {len(warned)} warnings")
    lines += [f"  failed:  {label}" for label in failed] + [f"  warning: {label}" for label in warned[:20]]
    return lines
