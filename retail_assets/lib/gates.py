"""Blocking checks that keep holding across runs: a month built from a failed input does not build.

Dagster stops the steps downstream of a failed blocking check *within* one run. A later run — a manual
materialization of Silver, or declarative automation reacting to the Bronze materialization the failed
step still recorded — would build on the drifted input. Two halves close that gap, with one rule: a
partition is *gated* while the latest evaluation of any blocking check of an upstream asset partition
(the same month, or the upstream's only partition when it is unpartitioned) failed against that
partition's latest materialization.

- Automation: ``not_gated()`` is part of every monthly follower's condition
  (``lib/streaming/automation.py``): gated months are not requested, and are requested as soon as the
  upstream passes again (their "upstream updated" stays true meanwhile).
- Manual runs and backfills: ``assert_not_gated(context)`` at the start of a Silver or Gold step fails the
  step at once, before anything is read or written, naming the upstream asset, partition and check and what
  to do.

Check evaluations must name the materialization they evaluated (``lib/checks.py`` does) for Dagster to tell
a current failure from a stale one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import dagster as dg

from retail_assets.lib.checks import BLOCKING_CHECKS
from retail_assets.lib.partitions import partition_key


@dataclass(frozen=True)
class Gate:
    """A failed blocking check of an upstream asset partition."""

    check: dg.AssetCheckKey
    partition: str | None
    run_id: str

    def describe(self) -> str:
        where = f"{self.check.asset_key.to_user_string()} {self.partition[:7]}" if self.partition else (
            self.check.asset_key.to_user_string()
        )
        by = f"run {self.run_id[:8]}" if self.run_id else "reported by the stream worker"
        return f"{where} failed its blocking check {self.check.name} ({by})"


def not_gated() -> dg.AutomationCondition:
    """True for a partition none of whose upstream partitions has a failed (current) blocking check."""
    failed = dg.AutomationCondition.any_checks_match(dg.AutomationCondition.check_failed(), blocking_only=True)
    return (~dg.AutomationCondition.any_deps_match(failed)).with_label("no upstream blocking check failed")


def _blocking_checks(context: dg.AssetExecutionContext, key: dg.AssetKey) -> list[tuple[dg.AssetCheckKey, bool]]:
    """(check key, partitioned) of every blocking check of the assets ``key`` depends on, as declared.

    Read from the declarations (``BLOCKING_CHECKS``), not from the run's asset graph: a run that executes
    a subset of the graph holds its upstream assets without their checks."""
    upstreams = sorted({dep.asset_key for dep in context.assets_def.specs_by_key[key].deps}, key=lambda k: k.to_user_string())
    return [
        (check_key, partitioned)
        for upstream in upstreams
        for check_key, partitioned in sorted(BLOCKING_CHECKS.get(upstream, {}).items(), key=lambda item: item[0].name)
    ]


def failed_gates(
    instance: dg.DagsterInstance, checks: Sequence[tuple[dg.AssetCheckKey, bool]], months: Sequence[dt.date]
) -> list[Gate]:
    """The upstream checks among ``checks`` whose latest evaluation failed on the latest materialization."""
    if not checks:
        return []
    partitioned = [key for key, is_partitioned in checks if is_partitioned]
    whole = [key for key, is_partitioned in checks if not is_partitioned]
    infos = []
    if partitioned and months:
        infos += instance.event_log_storage.get_asset_check_partition_info(
            partitioned, partition_keys=[partition_key(m) for m in months]
        )
    if whole:
        infos += instance.event_log_storage.get_asset_check_partition_info(whole)
    return sorted(
        (
            Gate(info.check_key, info.partition_key, info.latest_planned_run_id)
            for info in infos
            if info.latest_execution_status.value == "FAILED" and info.is_current
        ),
        key=lambda g: (g.check.asset_key.to_user_string(), g.partition or "", g.check.name),
    )


def built_by_this_run(
    instance: dg.DagsterInstance, run: dg.DagsterRun, checks: Sequence[tuple[dg.AssetCheckKey, bool]],
    months: Sequence[dt.date],
) -> set[dg.AssetKey]:
    """The upstream assets among ``checks``' whose latest materialization of every partition in question (each of
    ``months``, or the only one) was written by ``run`` itself.

    A step runs only after its upstream steps in the same run succeeded, and a step that materializes a partition
    evaluates that partition's blocking checks and fails on a failed one: so what this run wrote upstream passed them,
    and its checks need not be looked up — unless another run has materialized the partition since, which makes it
    no longer this run's latest and the checks are looked up as before. One materialization lookup per partition
    instead of two queries per check (Dagster's SQLite event log opens a connection per query: the lookups were half
    of a small Silver step). Upstream assets outside the run's asset selection, when it names one, are not probed."""
    selection = run.asset_selection
    found = set()
    for asset, partitioned in sorted({(k.asset_key, p) for k, p in checks}, key=lambda item: item[0].to_user_string()):
        if selection and asset not in selection:  # empty or None: the job's own selection, not known here
            continue
        partitions: list[str | None] = [partition_key(m) for m in months] if partitioned else [None]
        if not partitions:
            continue
        latest = [
            instance.fetch_materializations(
                dg.AssetRecordsFilter(asset_key=asset, asset_partitions=[p] if p is not None else None), limit=1
            ).records
            for p in partitions
        ]
        if all(records and records[0].run_id == run.run_id for records in latest):
            found.add(asset)
    return found


def assert_not_gated(context: dg.AssetExecutionContext, months: Sequence[dt.date]) -> None:
    """Fail the step, before it reads anything, when an upstream partition of ``months`` failed a blocking check."""
    key = context.assets_def.key
    checks = _blocking_checks(context, key)
    fresh = built_by_this_run(context.instance, context.run, checks, months)
    gates = failed_gates(context.instance, [(k, p) for k, p in checks if k.asset_key not in fresh], months)
    if not gates:
        return
    lines = "; ".join(g.describe() for g in gates)
    first = gates[0]
    raise dg.Failure(
        description=(
            f"{key.to_user_string()}: not built, an input is held by a failed blocking check: {lines}. Fix the input "
            f"and materialize {first.check.asset_key.to_user_string()}"
            + (f" for {first.partition[:7]}" if first.partition else "")
            + " again; this runs once the check passes (automation does it by itself)."
        ),
        metadata={
            "gated_by": dg.MetadataValue.json(
                [{"asset": g.check.asset_key.to_user_string(), "partition": g.partition, "check": g.check.name,
                  "run_id": g.run_id} for g in gates]
            )
        },
    )
