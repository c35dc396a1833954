"""Streaming ingestion: the stream worker and the sensors that turn new event files and Event Hubs offsets into runs.

Three sources, one rule: nothing is acknowledged before it is durably in Bronze, and every batch
names exactly what it ingests (files, or an offset range), so replaying it changes nothing.
Silver and Gold follow by declarative automation (``medallion_automation``), except the hot path
(the Silver facts and minute-grain Gold KPIs of a batch), which the stream worker or the batch's
own run carries.

- ``stream_worker_sensor`` + job ``stream_worker`` (default, ``RETAIL_STREAM_MODE=worker``): one
  long-lived run applies each landed batch — Bronze, then the hot Silver facts appended and the
  minute Gold windows refreshed (``lib/streaming/incremental.py``) — acknowledging in the instance
  once in Bronze; seconds from event to minute KPI (docs/streaming.md).
- ``landing_events_sensor`` (``RETAIL_STREAM_MODE=runs``): new files under ``events/`` → one run per
  month: the Bronze event tables of the types that have files (one step, configured with the
  files), then the Silver facts and minute-grain Gold KPIs they feed (``hot_path``).
- ``eventhubs_sensor`` + job ``ingest_eventhubs`` (when ``RETAIL_EVENTHUB_*`` is set): per
  partition, the next offset range → the run reads exactly that range, lands it as files named
  after the range, ingests them and updates the blob checkpoint.
- ``capture_sensor`` + job ``ingest_capture`` (when ``RETAIL_CAPTURE_URI`` is set): new Capture
  Avro files → the run lands and ingests their events.
"""

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from retail_assets.defs.bronze import (
    BRONZE_EVENTS_POOL,
    EVENTS_OP,
    bronze_key,
    files_by_event_type,
    ingest_batch,
    ingest_files,
    quarantine_table,
)
from retail_assets.defs.gold import (
    RECONCILES_WITH_SILVER,
    alert_check_name,
    alert_thresholds,
    gold_asset_key,
    hosted_alerts,
)
from retail_assets.defs.silver import (
    FOREIGN_KEYS_RESOLVE,
    PRIMARY_KEY_UNIQUE,
    RECONCILES_WITH_BRONZE,
    fact_key_outcome,
    silver_asset_key,
    worker_check_outcomes,
)
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.checks import BLOCKING_CHECKS as DECLARED_BLOCKING
from retail_assets.lib.checks import (
    NOTHING_QUARANTINED,
    SCHEMA_PARITY,
    CheckOutcome,
    SpecValidationError,
    check_evaluation,
    parity_outcome,
    quarantine_outcome,
    stored_parity_outcome,
    stored_reason_codes,
)
from retail_assets.lib.gold.kpis.alerts import ALERT_RULES
from retail_assets.lib.gold.reconcile import reconciliation_outcome
from retail_assets.lib.gold.specs import gold_table
from retail_assets.lib.gates import failed_gates
from retail_assets.lib.gold.pipeline import written_outcomes
from retail_assets.lib.silver.pipeline import fact_events, silver_table
from retail_assets.lib.specs import silver_columns
from retail_assets.lib.streaming.incremental import HOT_SILVER, MINUTE_GOLD, GoldWindow, SilverAppend, gold_reading, hot_tables
from retail_assets.lib.streaming.worker import STALE_RETRY_SECONDS, WorkerState, apply_downstream, load_state, save_state
from retail_assets.lib.bronze import quarantine_bad_files
from retail_assets.lib.landing import LandingPathError, LandingZone, parse_landing_path
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import partition_key
from retail_assets.lib.pools import STREAM_POOL
from retail_assets.lib.serving import refresh_streamed_minutes
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.capture import CaptureFiles, capture_batch_name, read_capture
from retail_assets.lib.streaming.cursor import (
    MAX_ATTEMPTS,
    Batch,
    FileCursor,
    OffsetCursor,
    plan_file_tick,
    plan_offset_tick,
)
from retail_assets.lib.streaming.eventhubs import EventHubs
from retail_assets.lib.streaming.listing import list_event_files
from retail_assets.lib.streaming.route import (
    Message,
    Routed,
    files_by_type_and_month,
    publish,
    route,
    safe_name,
    write_unroutable,
)

# Dagster's run tags (documented names): the run key a sensor gave a run, and the queue priority of a run.
RUN_KEY_TAG, PRIORITY_TAG = "dagster/run_key", "dagster/priority"
# Dagster's daemons loop every 5 s at best; asking for less changes nothing.
SENSOR_INTERVAL_SECONDS = 5
LANDING_JOB_TAG = "retail/source"


def run_status(instance: dg.DagsterInstance, run_key: str) -> str | None:
    """Status of the run requested under ``run_key`` (None: no such run yet)."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
    return runs[0].status.value if runs else None


def _tick_result(context, requests: list[dg.RunRequest], cursor: str, notes: list[str], idle: str) -> dg.SensorResult:
    for note in notes:
        context.log.warning(note)
    return dg.SensorResult(run_requests=requests, cursor=cursor, skip_reason=None if requests else idle)


# ---- landing files -------------------------------------------------------------------------


# Runs of the streaming hot path are dequeued before automation runs (dagster.yaml limits those to one at a time).
HOT_PATH_PRIORITY = "10"


def hot_path(event_types: Iterable[str]) -> list[dg.AssetKey]:
    """What one streamed batch's run materializes: the batch's Bronze event tables, the Silver facts those
    events map to that feed a minute-grain Gold table, and those Gold tables.

    Everything else the batch touches (the other Silver facts, daily Gold) follows by declarative
    automation, off the hot path."""
    event_types = set(event_types)
    facts = hot_tables(sorted(event_types))
    gold = [g for g in MINUTE_GOLD if any(g in gold_reading(f) for f in facts)]
    return [
        *(bronze_key(t) for t in sorted(event_types)),
        *(silver_asset_key(f) for f in facts),
        *(gold_asset_key(g) for g in gold),
    ]


# Everything the landing sensor may request.
STREAMED_ASSETS = hot_path(e.event_type for e in REGISTRY.events)


def landing_run_request(batch: Batch) -> dg.RunRequest:
    """One month's batch: the Bronze event tables it names (one step, configured with exactly its files), then the
    Silver facts and minute-grain Gold KPIs it feeds, in one run."""
    files = sorted(batch.files)
    event_types = {parse_landing_path(path).table for path in files}
    return dg.RunRequest(
        run_key=batch.run_key,
        partition_key=batch.group,
        asset_selection=hot_path(event_types),
        run_config={"ops": {EVENTS_OP: {"config": {"files": files}}}},
        tags={LANDING_JOB_TAG: "landing", "retail/files": str(len(files)), PRIORITY_TAG: HOT_PATH_PRIORITY},
    )


def landing_batch_status(instance: dg.DagsterInstance, run_key: str) -> str | None:
    """Status of a landing batch: its run's status, except that a run that failed *after* its Bronze step
    succeeded has ingested the batch durably, so the batch counts as done (SUCCESS) and is not ingested again;
    the failed Silver/Gold step stays visible as a failed run and is retried by automation."""
    runs = instance.get_runs(filters=dg.RunsFilter(tags={RUN_KEY_TAG: run_key}), limit=1)
    if not runs:
        return None
    run = runs[0]
    if run.status in (dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED):
        steps = instance.get_run_step_stats(run.run_id, step_keys=[EVENTS_OP])
        if steps and steps[0].status.value == "SUCCESS":
            return dg.DagsterRunStatus.SUCCESS.value
    return run.status.value


def listed_event_files(landing: LandingZone, cursor=None) -> tuple[list[tuple[str, float, int]], list[tuple[str, str]]]:
    """(path, modified, size) of the event files ``cursor`` (a ``FileCursor`` or its JSON) still needs, and (path,
    reason) of the misnamed ones (``.json``, a day folder ``2024-01-32``, a month the platform does not serve): those
    are never ingested, they are quarantined. Only day folders the cursor has not closed are listed; closed ones are
    checked cheaply for late files (``lib/streaming/listing.py``)."""
    return list_event_files(landing, cursor)[:2]


def report_bad_files(cursor: FileCursor, bad: list[tuple[str, str]], log) -> list[tuple[str, str]]:
    """Warn once per misnamed file (not on every poll); the new ones are returned."""
    new = cursor.new_bad_files(bad)
    for path, reason in new:
        log.warning(f"misnamed landing file, not ingested: {reason}")
    return new


def bronze_sources(lake: LakeStore):
    """``known(folder)`` for a file cursor: the files of an event day folder that Bronze already holds (rows or
    quarantined lines). Asked only when a late file lands in a folder the cursor had closed."""

    def known(folder: str) -> set[str]:
        try:
            parsed = parse_landing_path(f"{folder}/probe.jsonl")
        except LandingPathError:
            return set()
        held: set[str] = set()
        for table, column in ((f"bronze/{parsed.table}", "_source_file"), (f"quarantine/bronze/{parsed.table}", "source_file")):
            if lake.exists(table):
                held.update(
                    lake.scan(table, [parsed.month]).filter(pl.col(column).str.starts_with(f"{folder}/"))
                    .select(pl.col(column).unique()).collect().to_series().to_list()
                )
        return held

    return known


def plan_landing_tick(cursor_text: str | None, listed, status) -> tuple[FileCursor, list[dg.RunRequest], list[str]]:
    cursor, tick = plan_file_tick(
        FileCursor.from_json(cursor_text),
        listed,
        status,
        group_of=lambda path: partition_key(parse_landing_path(path).month),
        prefix="landing",
    )
    return cursor, [landing_run_request(b) for b in tick.requests], tick.notes


@dg.sensor(
    name="landing_events_sensor",
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    asset_selection=STREAMED_ASSETS,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def landing_events_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    """New event files under events/<type>/<date>/ → one run per month: Bronze (naming exactly those files),
    then the Silver facts and minute-grain Gold KPIs they feed.

    Lists the landing zone only (never reads a file). A month with a run in flight gets no second
    run until the first ends; files are acknowledged (cursor) only after their Bronze step succeeded,
    and a run that failed before that is requested again (up to 3 attempts)."""
    listed, bad = listed_event_files(landing, context.cursor)
    cursor, requests, notes = plan_landing_tick(context.cursor, listed, lambda key: landing_batch_status(context.instance, key))
    report_bad_files(cursor, bad, context.log)
    return _tick_result(context, requests, cursor.to_json(), notes, "no new event files")


# ---- shared by the Event Hubs and Capture runs ---------------------------------------------


def ingest_routed(
    context: dg.OpExecutionContext, lake: LakeStore, landing: LandingZone, parts: list[tuple[Routed, str]]
) -> Iterable[dg.AssetMaterialization]:
    """Land the routed files of every batch, ingest them into Bronze (one commit per event type and month),
    keep unroutable messages, and report a materialization per Bronze table and month."""
    paths = [path for routed, _ in parts for path in publish(landing, routed)]
    meta = {"dagster_run_id": context.run.run_id, "batch": ",".join(batch for _, batch in parts)[:1000]}
    months = []
    for (event_type, month), files in sorted(files_by_type_and_month(paths).items()):
        try:
            ingest, metadata = ingest_batch(lake, landing, event_type, month, files, {**meta, "months": f"{month:%Y-%m}"})
        except (LandingPathError, ValueError) as exc:
            raise dg.Failure(description=str(exc), metadata={"table": event_type, "partition": partition_key(month)}) from exc
        months.append(month)
        context.log.info(
            f"bronze/{event_type} {month:%Y-%m}: {ingest.load.landed_rows} landed, {ingest.load.rows.height} written, "
            f"{ingest.load.quarantine.height} quarantined, {ingest.load.duplicates_dropped} duplicates dropped"
        )
        yield dg.AssetMaterialization(asset_key=bronze_key(event_type), partition=partition_key(month), metadata=metadata)
    for routed, batch in parts:
        unroutable = write_unroutable(lake, routed, batch, months, meta)
        if unroutable:
            context.log.warning(f"{batch}: {unroutable} messages could not be routed; see quarantine/bronze/unroutable_events")


# ---- Event Hubs ----------------------------------------------------------------------------


class OffsetRange(dg.Config):
    partition: str = Field(description="Event Hubs partition id.")
    first: int = Field(description="First sequence number (inclusive).")
    last: int = Field(description="Last sequence number (inclusive).")


@dg.op(pool=BRONZE_EVENTS_POOL, tags={LANDING_JOB_TAG: "eventhubs"})
def ingest_eventhubs_range(
    context: dg.OpExecutionContext, config: OffsetRange, eventhubs: EventHubs, lake: LakeStore, landing: LandingZone
):
    """Read exactly one offset range of one partition, land it as files named after the range, ingest them into
    Bronze, and only then move the partition's checkpoint to the range's last event."""
    events = eventhubs.read_range(config.partition, config.first, config.last)
    batch = safe_name(f"eh-{eventhubs.eventhub_name}-{config.partition}-{config.first}-{config.last}")
    messages = [
        Message(e.body, e.enqueued_time or dt.datetime.now(dt.UTC), f"sequence {e.sequence_number}") for e in events
    ]
    routed = route(messages, batch, at=dt.datetime.now(dt.UTC))
    yield from ingest_routed(context, lake, landing, [(routed, batch)])
    if eventhubs.update_checkpoint(config.partition, events[-1].sequence_number, events[-1].offset):
        context.log.info(f"partition {config.partition}: checkpoint at sequence {events[-1].sequence_number}")
    else:
        context.log.info(f"partition {config.partition}: checkpoint already past {events[-1].sequence_number} (a replayed range)")
    yield dg.Output(None)


@dg.job(name="ingest_eventhubs", tags={LANDING_JOB_TAG: "eventhubs"})
def ingest_eventhubs():
    """One Event Hubs offset range → landing files → Bronze → checkpoint."""
    ingest_eventhubs_range()


def eventhubs_run_request(batch: Batch) -> dg.RunRequest:
    return dg.RunRequest(
        run_key=batch.run_key,
        run_config={"ops": {"ingest_eventhubs_range": {"config": {"partition": batch.group, "first": batch.first, "last": batch.last}}}},
        tags={"retail/partition": batch.group, "retail/range": f"{batch.first}-{batch.last}"},
    )


def plan_eventhubs_tick(cursor_text: str | None, eventhubs: EventHubs, status) -> tuple[OffsetCursor, list[dg.RunRequest], list[str]]:
    state = eventhubs.partition_state()
    cursor, tick = plan_offset_tick(
        OffsetCursor.from_json(cursor_text),
        {p: last for p, (_, last, empty) in state.items() if not empty},
        eventhubs.checkpoints(),
        status,
        hub=eventhubs.eventhub_name,
        consumer_group=eventhubs.consumer_group,
        first_available={p: begin for p, (begin, _, _) in state.items()},
    )
    return cursor, [eventhubs_run_request(b) for b in tick.requests], tick.notes


@dg.sensor(name="eventhubs_sensor", job=ingest_eventhubs, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS)
def eventhubs_sensor(context: dg.SensorEvaluationContext, eventhubs: EventHubs):
    """Per partition, the next offset range after what is durably in Bronze → one ingest run.

    Reads only partition properties (last enqueued sequence number) and the checkpoint blobs,
    never events. One range in flight per partition; the cursor records requested ranges, the
    checkpoint (written by the run after its Bronze commit) what is acknowledged."""
    cursor, requests, notes = plan_eventhubs_tick(context.cursor, eventhubs, lambda key: run_status(context.instance, key))
    return _tick_result(context, requests, cursor.to_json(), notes, "no new events")


# ---- Event Hubs Capture ----------------------------------------------------------------------


class CaptureBatch(dg.Config):
    files: list[str] = Field(description="Capture files (paths relative to the capture root) to ingest.")


@dg.op(pool=BRONZE_EVENTS_POOL, tags={LANDING_JOB_TAG: "capture"})
def ingest_capture_files(
    context: dg.OpExecutionContext, config: CaptureBatch, capture: CaptureFiles, lake: LakeStore, landing: LandingZone
):
    """Land the events of the named Capture files (one landing file per Capture file, type and day) and ingest them."""
    at = dt.datetime.now(dt.UTC)
    parts = [(route(read_capture(capture.read_bytes(p)), capture_batch_name(p), at=at), capture_batch_name(p)) for p in config.files]
    yield from ingest_routed(context, lake, landing, parts)
    context.log.info(f"{len(config.files)} capture files, {sum(r.events for r, _ in parts)} events landed")
    yield dg.Output(None)


@dg.job(name="ingest_capture", tags={LANDING_JOB_TAG: "capture"})
def ingest_capture():
    """Event Hubs Capture Avro files → landing files → Bronze."""
    ingest_capture_files()


def plan_capture_tick(cursor_text: str | None, listed, status) -> tuple[FileCursor, list[dg.RunRequest], list[str]]:
    cursor, tick = plan_file_tick(
        FileCursor.from_json(cursor_text), listed, status, group_of=lambda path: "capture", prefix="capture", max_files=200
    )
    requests = [
        dg.RunRequest(run_key=b.run_key, run_config={"ops": {"ingest_capture_files": {"config": {"files": sorted(b.files)}}}})
        for b in tick.requests
    ]
    return cursor, requests, tick.notes


@dg.sensor(name="capture_sensor", job=ingest_capture, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS)
def capture_sensor(context: dg.SensorEvaluationContext, capture: CaptureFiles):
    """New Event Hubs Capture files → one ingest run naming them (listing only; acknowledged after the run succeeded)."""
    cursor, requests, notes = plan_capture_tick(context.cursor, capture.list_files(), lambda key: run_status(context.instance, key))
    return _tick_result(context, requests, cursor.to_json(), notes, "no new capture files")


# ---- the stream worker: one long-lived run applying landed batches (the default) ----------------------


class StreamWorkerConfig(dg.Config):
    max_seconds: float = Field(default=3600.0, description="Hand over to a fresh run after this long (new code, bounded logs).")
    idle_seconds: float = Field(default=120.0, description="Stop after this long without a new file (the sensor restarts it).")
    poll_seconds: float = Field(default=0.25, description="Pause between two listings of the landing zone when idle.")
    report_seconds: float = Field(
        default=30.0,
        description=(
            "Coalesce the Dagster events (materializations, check evaluations) of each asset partition over this long: "
            "the data is in the lake at once, the catalog follows at most this much later."
        ),
    )
    max_files: int = Field(default=2_000, description="At most this many files per batch (a backlog is taken in slices).")
    serving_database: str | None = Field(
        default=None,
        description=(
            "The serving DuckDB file: the minute KPIs written since the last report are copied into it after each "
            "report (lib/serving.py refresh_streamed_minutes), so it is at most ~report_seconds behind the lake. "
            "None: not refreshed (stream_worker_sensor sets it to the configured data/retail.duckdb)."
        ),
    )


# Threads for the independent tables of one batch (Bronze event types; hot Silver facts; minute Gold tables).
POOL = ThreadPoolExecutor(max_workers=4, thread_name_prefix="stream-worker")


# Asset partitions of a catalog report written between two batches (a report is written in pieces).
REPORT_PIECE = 3
# Longest a serving refresh waits for the DuckDB file (a reader or a serving asset holding it); then next report.
SERVING_TIMEOUT_SECONDS = 20.0
# How often the worker looks for another run that needs the stream pool (a backfill, a month rebuild, maintenance).
HANDOVER_CHECK_SECONDS = 1.0
ACTIVE = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def stream_pool_keys() -> frozenset[dg.AssetKey]:
    """The assets whose writers are in the stream pool: the Bronze event tables, the hot Silver facts, the minute
    Gold tables (what the worker writes)."""
    return frozenset(
        [*(bronze_key(e.table_name) for e in REGISTRY.events), *(silver_asset_key(t) for t in HOT_SILVER),
         *(gold_asset_key(n) for n in MINUTE_GOLD)]
    )


def runs_needing_the_stream_pool(instance: dg.DagsterInstance, *, besides: str | None = None) -> list[dg.DagsterRun]:
    """Active runs, other than stream workers, that will write in the stream pool: runs selecting one of its assets,
    and runs with no asset selection (a whole asset job such as ``retail_lakehouse``, or an op job: Event Hubs and
    Capture ingestion, maintenance, restore), which are assumed to need it. Public run records only."""
    keys = stream_pool_keys()
    found = []
    for run in instance.get_runs(filters=dg.RunsFilter(statuses=ACTIVE)):
        if run.run_id == besides or run.job_name == "stream_worker":
            continue
        if run.asset_selection is None or run.asset_selection & keys:
            found.append(run)
    return found


@dataclass
class _Pending:
    metadata: dict[str, Any]
    checks: dict[str, CheckOutcome]
    at_report: dict[str, Callable[[], CheckOutcome]] = field(default_factory=dict)
    written: bool = True  # False: only check outcomes (a batch that was not written), no materialization


def _blocking_failure(key: dg.AssetKey, name: str, outcome: CheckOutcome) -> bool:
    return (
        not outcome.passed
        and outcome.severity == dg.AssetCheckSeverity.ERROR
        and dg.AssetCheckKey(key, name) in DECLARED_BLOCKING.get(key, {})
    )


class CatalogReport:
    """Materializations and check evaluations of the worker, coalesced per asset partition between reports.

    Counts add up over the batches of a report; a check keeps its first failing outcome (else its latest).
    A failed blocking check makes the report *urgent*: the worker writes it before its next batch, so the gate holds
    downstream (automation, manual runs: ``lib/gates.py``) at once rather than at the next report. Such an
    evaluation is logged as an event of the worker's run (``context.log_event``) instead of yielded: a failed blocking
    evaluation yielded by an op fails the op when it ends — the worker's run, up to an hour later — which is neither
    when nor where the failure is. Nor is it reported runless: Dagster stores one runless evaluation per check and
    partition and refused a month's second failure with an IntegrityError, which failed the worker's run."""

    ADDITIVE = ("batches", "files", "landed_rows", "rows_written", "rows_appended", "quarantined_rows",
                "duplicates_dropped", "displaced_rows_of_other_files", "windows_refreshed", "month_rebuilds")

    def __init__(self, context: dg.OpExecutionContext, lake: LakeStore):
        self.context, self.lake = context, lake
        self.pending: dict[tuple[dg.AssetKey, dt.date], _Pending] = {}
        self.last = time.monotonic()
        self.urgent = False
        self.in_progress = False  # a report being written in pieces
        self.current: list[list[tuple[dg.AssetKey, dt.date]]] = []  # pieces the report in progress has left
        self.reports = self.flushes = 0
        self.failures_reported = 0

    def add(
        self, key: dg.AssetKey, month: dt.date, metadata: dict[str, Any], checks: dict[str, CheckOutcome],
        at_report: dict[str, Callable[[], CheckOutcome]] | None = None, *, written: bool = True,
    ) -> None:
        """``at_report``: checks of the partition as a whole, evaluated once when the report is written.
        ``written=False``: outcomes of rows that were not written (they evaluate the partition as it stands)."""
        entry = self.pending.setdefault((key, month), _Pending({}, {}, written=written))
        entry.written = entry.written or written
        entry.at_report.update(at_report or {})
        for name, value in metadata.items():
            if name in self.ADDITIVE and isinstance(value, int):
                entry.metadata[name] = entry.metadata.get(name, 0) + value
            else:
                entry.metadata[name] = value
        for name, outcome in checks.items():
            kept = entry.checks.get(name)
            if kept is None or kept.passed:
                entry.checks[name] = outcome
            if _blocking_failure(key, name, outcome):
                self.urgent = True

    def due(self, every: float) -> bool:
        return self.in_progress or (bool(self.pending) and (self.urgent or time.monotonic() - self.last >= every))

    def flush(self, limit: int | None = None) -> Iterator[Any]:
        """The pending events (the op yields them, so Dagster writes them now): all of them, or the next piece of the
        report — the hot Silver and Gold partitions together, then Bronze partitions ``limit`` at a time — so a report
        is written between batches instead of stalling the stream (88 events took 8 s at load 9, during which files
        piled up and the next batch's latency doubled). A report with a failed blocking check is written whole."""
        instance = self.context.instance
        if self.urgent or limit is None:
            keys, self.current = list(self.pending), []
        else:
            if not self.in_progress:  # a report covers what was pending when it began; later batches: the next one
                # The hot Silver facts and minute Gold tables in ONE piece: automation must see a Silver month and
                # the Gold months the worker refreshed from it updated in the same tick, or it requests the Gold
                # months again — a run in the stream pool, which the worker would hand the pool over to.
                hot = [k for k in self.pending if k[0].path[0] != "bronze"]
                rest = [k for k in self.pending if k[0].path[0] == "bronze"]
                self.current = ([hot] if hot else []) + [rest[i : i + limit] for i in range(0, len(rest), limit)]
            keys, self.current = self.current[0], self.current[1:]
        self.in_progress = True
        # One lookup of the materialization just written per asset partition, shared by its evaluations.
        self.flushes += 1
        step = (self.context.run.run_id, f"worker-flush-{self.flushes}")
        for key, month in keys:
            entry = self.pending.pop((key, month), None)
            if entry is None:
                continue
            table = "/".join(key.path)
            if entry.written:
                metadata = {
                    **entry.metadata,
                    "lake_table": dg.MetadataValue.path(self.lake.uri(table)),
                    "written_by": "stream worker (incremental; counts are this report's)",
                }
                yield dg.AssetMaterialization(asset_key=key, partition=partition_key(month), metadata=metadata)
            for name, outcome in [*entry.checks.items(), *((n, evaluate()) for n, evaluate in entry.at_report.items())]:
                check = dg.AssetCheckKey(key, name)
                evaluation = check_evaluation(
                    instance, check, outcome, blocking=check in DECLARED_BLOCKING.get(key, {}), month=month,
                    step=step if entry.written else None,
                )
                if _blocking_failure(key, name, outcome):
                    self.context.log_event(evaluation)
                    # Written with the next event: this observation, yielded at once, says in the asset's timeline
                    # that the worker holds the month (observations of a materialized asset do not count as updates).
                    yield dg.AssetObservation(
                        asset_key=key, partition=partition_key(month),
                        metadata={"held_by_check": name, "reason": outcome.description or name},
                    )
                    self.failures_reported += 1
                    self.context.log.error(
                        f"stream worker: {table} {month:%Y-%m} failed its blocking check {name}: {outcome.description}. "
                        "Its downstream is held until the check passes."
                    )
                else:
                    yield evaluation
        if not self.current:
            self.in_progress = False
            self.urgent = False
            self.last = time.monotonic()
            self.reports += 1


def _bronze_quarantine_outcome(lake: LakeStore, event_type: str, month: dt.date) -> CheckOutcome:
    """``nothing_quarantined`` of a Bronze event month, on its quarantine as stored (every batch's rejections)."""
    table = quarantine_table(event_type)
    return quarantine_outcome(
        stored_reason_codes(lake, table, month), subject=f"bronze/{event_type} {month:%Y-%m}", table_path=lake.uri(table)
    )


def _silver_report(append: SilverAppend, lake: LakeStore) -> tuple[dict[str, Any], dict[str, CheckOutcome]]:
    build, subject = append.build, f"{append.table} {append.month:%Y-%m}"
    if append.mode == "rebuild":
        metadata: dict[str, Any] = {"month_rebuilds": 1, "rebuild_reason": append.reason}
    else:
        metadata = {"rows_appended": append.appended.height}
    metadata.update(
        quarantined_rows=build.quarantine.height,
        duplicates_dropped=build.duplicates_dropped + append.duplicates_of_stored,
        delta_version=append.version if append.version is not None else -1,
        batches=1,
    )
    scope = "the month (rebuilt)" if append.mode == "rebuild" else "the batch's Bronze rows"
    checks = {
        # The month as stored after the append or rebuild (its schema; its key columns), not just the rows appended.
        SCHEMA_PARITY: stored_parity_outcome(
            lake, silver_table(append.table), silver_columns(append.table), append.month, subject=f"silver/{subject}"
        ),
        PRIMARY_KEY_UNIQUE: fact_key_outcome(build, lake, append.month),
        RECONCILES_WITH_BRONZE: _reconciliation(append, subject, scope),
        **worker_check_outcomes(lake, append),
    }
    if append.unresolved:
        failing = {k: v for k, v in append.unresolved.items() if v}
        checks[FOREIGN_KEYS_RESOLVE] = CheckOutcome(
            not failing, f"{subject}: unresolved references in written rows: {failing}" if failing else
            f"{subject}: every reference of the written rows resolves", {"unresolved": failing}
        )
    return metadata, checks


def _reconciliation(append: SilverAppend, subject: str, scope: str) -> CheckOutcome:
    """Bronze rows in = Silver + quarantined + duplicates: over the batch's Bronze rows (append), or over the
    month counted back from the lake (rebuild)."""
    if append.written is not None:
        w = append.written
        bronze, silver, quarantined = w.bronze_rows, w.silver_rows, w.quarantined_rows
    else:
        bronze, silver, quarantined = append.bronze_rows, append.appended.height, append.quarantined
    duplicates = append.build.duplicates_dropped + append.duplicates_of_stored
    sign = "=" if append.reconciles else "!="
    return CheckOutcome(
        append.reconciles,
        f"{subject}, {scope}: Bronze {bronze} {sign} Silver {silver} + quarantined {quarantined} + duplicates {duplicates}",
        {"bronze_rows": bronze, "silver_rows": silver, "quarantined_rows": quarantined, "duplicates_dropped": duplicates},
    )


def _gold_report(refresh: GoldWindow) -> tuple[dict[str, Any], dict[str, CheckOutcome]]:
    label = f"{refresh.month:%Y-%m}" if refresh.window is None else (
        f"{refresh.window[0]:%Y-%m-%d %H:%M}..{refresh.window[1]:%H:%M}"
    )
    metadata: dict[str, Any] = {"batches": 1, "delta_version": refresh.version if refresh.version is not None else -1}
    metadata["month_rebuilds" if refresh.mode == "month" else "windows_refreshed"] = 1
    metadata["rows_written"] = refresh.rows.height
    if refresh.window is not None:
        metadata["last_window"] = label
    checks = {
        # The rows as read back after the write: the window the worker replaced (or the month it rebuilt).
        **written_outcomes(refresh.stored, gold_table(refresh.name), label),
        RECONCILES_WITH_SILVER: reconciliation_outcome(refresh.name, label, refresh.balances),
    }
    for alert in hosted_alerts(refresh.name):
        raised = ALERT_RULES[alert](refresh.inputs).collect()
        checks[alert_check_name(alert)] = CheckOutcome(
            raised.height == 0, f"{raised.height} {alert.replace('_', ' ')} alerts in {label}",
            {"alerts": raised.height}, severity=dg.AssetCheckSeverity.WARN,
        )
    return metadata, checks


INTERRUPTED = "a batch reached Bronze but the worker stopped before its hot Silver/Gold update"


def _upstream_gates(
    instance: dg.DagsterInstance, tables: Iterable[str], month: dt.date, evaluated: set[dg.AssetCheckKey]
) -> list[str]:
    """Failed blocking checks (current, ``lib/gates.py``) of the Bronze tables the hot Silver ``tables`` read for
    ``month``: the event tables and the fact's batch table. What ``assert_not_gated`` refuses a Silver step for.
    ``evaluated``: checks the batch in hand has just evaluated (not yet reported): its outcome is the newer one."""
    upstream = sorted({bronze_key(t) for t in tables} | {bronze_key(e) for t in tables for e in fact_events(t)},
                      key=lambda k: k.to_user_string())
    checks = [item for key in upstream for item in DECLARED_BLOCKING.get(key, {}).items() if item[0] not in evaluated]
    return [gate.describe() for gate in failed_gates(instance, checks, [month])]


def _validation_outcome(exc: Exception) -> tuple[dg.AssetKey, str, CheckOutcome] | None:
    """The blocking check a Silver or Gold validation error fails (nothing of that table was written)."""
    if not isinstance(exc, SpecValidationError) or exc.check is None:
        return None
    outcome = exc.outcome()
    return exc.asset_key, exc.check, CheckOutcome(False, f"{exc} (stream worker; nothing was written)", outcome.metadata)


def _apply_batch(context, lake: LakeStore, landing: LandingZone, state: WorkerState, batch: Batch, report: CatalogReport,
                 thresholds: AlertThresholds) -> dict[str, float]:
    month = dt.date.fromisoformat(batch.group)
    files = sorted(batch.files)
    by_type = files_by_event_type(files)
    meta = {"dagster_run_id": context.run.run_id, "written_by": "stream_worker", "months": f"{month:%Y-%m}"}
    timings: dict[str, float] = {}
    started = time.perf_counter()
    held: list[str] = []
    # One table per event type: independent commits, run side by side (Delta and polars release the GIL).
    ingests = list(POOL.map(lambda item: ingest_files(lake, landing, item[0], month, item[1], meta), by_type.items()))
    for (event_type, paths), ingest in zip(by_type.items(), ingests, strict=True):
        load = ingest.load
        parity = parity_outcome(load.drift, subject=f"{event_type} {month:%Y-%m}, {len(paths)} files")
        report.add(
            bronze_key(event_type), month,
            {"batches": 1, "files": len(paths), "landed_rows": load.landed_rows, "rows_written": load.rows.height,
             "quarantined_rows": load.quarantine.height, "duplicates_dropped": load.duplicates_dropped,
             "displaced_rows_of_other_files": ingest.displaced, "month_settled_from_every_file": ingest.rebuilt_month,
             "delta_version": ingest.version if ingest.version is not None else -1},
            {SCHEMA_PARITY: parity},
            {NOTHING_QUARANTINED: lambda t=event_type: _bronze_quarantine_outcome(lake, t, month)},
        )
        if _blocking_failure(bronze_key(event_type), SCHEMA_PARITY, parity):
            held.append(f"bronze/{event_type} {month:%Y-%m} failed its blocking check {SCHEMA_PARITY}")
    timings["bronze"] = time.perf_counter() - started
    stale = batch.group in state.stale
    # Durably in Bronze: acknowledged. In the same save, the month is marked stale until its hot Silver facts and
    # minute Gold have the batch: a worker killed in between would otherwise never append these rows (the files are
    # acknowledged); the next worker rebuilds the month instead.
    state.cursor.inflight.pop(batch.key, None)
    state.cursor.done.update(batch.files)
    if batch.files:
        state.stale.setdefault(batch.group, INTERRUPTED)
    save_state(context.instance, state)
    # Bronze rows of files outside the batch changed (the trace_id rule kept an event of this batch over theirs):
    # the incremental Silver append sees only the batch's rows, so the month is rebuilt.
    others_changed = any(i.other_files_changed for i in ingests)
    rebuild = stale or others_changed or bool(held)
    tables = list(HOT_SILVER) if rebuild else hot_tables(list(by_type))
    # A failed blocking check upstream holds the hot Silver facts of the month, as it holds a Silver step.
    evaluated = {dg.AssetCheckKey(bronze_key(t), SCHEMA_PARITY) for t in by_type}
    held += _upstream_gates(context.instance, tables, month, evaluated) if tables else []
    if held:
        reason = "; ".join(held)
        if state.stale.get(batch.group) != reason:
            context.log.error(
                f"stream worker {month:%Y-%m}: the batch is in Bronze; the hot Silver facts and minute Gold are held "
                f"({reason}). They are rebuilt once the check passes again."
            )
        state.stale[batch.group] = reason
        save_state(context.instance, state)
        return timings
    reports: dict[str, tuple[dict[str, Any], dict[str, CheckOutcome]]] = {}

    def silver_gate(appends: dict[str, SilverAppend]) -> str | None:
        """Blocking checks of the Silver rows just written, before any Gold window is refreshed from them."""
        failed = []
        for table, append in appends.items():
            reports[table] = _silver_report(append, lake)
            key = silver_asset_key(table)
            failed += [f"silver/{table} {month:%Y-%m} failed its blocking check {name}"
                       for name, outcome in reports[table][1].items() if _blocking_failure(key, name, outcome)]
        return "; ".join(failed) or None

    down = apply_downstream(
        lake, month, files, list(by_type), rebuild=stale or others_changed, thresholds=thresholds,
        commit_metadata=meta, map=POOL.map, silver_gate=silver_gate,
    )
    timings["silver_gold"] = down.seconds
    for table, append in down.silver.items():
        # A Silver month the batch did not change (every event a duplicate, or rejected) is not materialized again:
        # automation would take that for new Silver data and request the minute Gold month the worker keeps — a run in
        # the stream pool, to which the worker hands the pool over (measured: an 11 s stall, 172 files behind).
        report.add(silver_asset_key(table), month, *(reports.get(table) or _silver_report(append, lake)),
                   written=append.mode == "rebuild" or append.appended.height > 0)
    gold_failed = []
    for name, refresh in down.gold.items():
        metadata, checks = _gold_report(refresh)
        report.add(gold_asset_key(name), month, metadata, checks)
        gold_failed += [f"gold/{name} {month:%Y-%m} failed its blocking check {c}"
                        for c, o in checks.items() if _blocking_failure(gold_asset_key(name), c, o)]
    failed_validation = _validation_outcome(down.exception) if down.exception is not None else None
    if failed_validation is not None:
        key, check_name, outcome = failed_validation
        report.add(key, month, {}, {check_name: outcome}, written=False)
    error = down.error or ("; ".join(gold_failed) if gold_failed else None)
    if error is not None:
        state.stale[batch.group] = error
        context.log.error(
            f"stream worker {month:%Y-%m}: the batch is in Bronze, but the hot Silver/Gold update failed or was held: "
            f"{error}. The month is rebuilt whole on a later batch (every {STALE_RETRY_SECONDS:.0f} s at most) until "
            "its checks pass; nothing downstream is refreshed from it meanwhile."
        )
    else:
        state.stale.pop(batch.group, None)
        state.serve(list(down.gold.values()))
        if stale:
            context.log.info(f"stream worker {month:%Y-%m}: stale month rebuilt (hot Silver facts and minute Gold)")
    save_state(context.instance, state)
    return timings


def _quarantine_bad_files(context, lake: LakeStore, state: WorkerState, bad: list[tuple[str, str]]) -> None:
    """Misnamed event files: one quarantine row each (in the table and month their folders claim), reported once."""
    new = report_bad_files(state.cursor, bad, context.log)
    if not new:
        return
    done = quarantine_bad_files(lake, new, dt.datetime.now(dt.UTC), commit_metadata={
        "dagster_run_id": context.run.run_id, "written_by": "stream_worker"})
    for path, reason in done.unattributed:
        context.log.warning(f"{path} names no event type and month the platform serves; see `retail-assets landing check`")
    save_state(context.instance, state)


def _refresh_serving(context, lake: LakeStore, state: WorkerState, database: str | None) -> None:
    """Copy the minute Gold windows written since the last refresh into the serving DuckDB file (short transactions
    under the file's writer lock, docs/operations.md). A locked or failing refresh keeps the windows for the next."""
    if not database or not state.serving:
        return
    try:
        refreshed = refresh_streamed_minutes(lake, database, state.serving_windows(), timeout=SERVING_TIMEOUT_SECONDS)
    except Exception as exc:  # noqa: BLE001 - serving lags; the lake and the catalog are right; retried next report
        context.log.warning(f"stream worker: serving refresh of {database} postponed: {type(exc).__name__}: {exc}")
        return
    state.serving = []
    save_state(context.instance, state)
    context.log.debug(
        f"stream worker: serving refreshed ({len(refreshed.refreshed)} table months) in "
        f"{refreshed.read_seconds + refreshed.held_seconds:.2f} s, file held {refreshed.held_seconds:.2f} s"
    )


@dg.op(name="apply_landed_batches", pool=STREAM_POOL, tags={LANDING_JOB_TAG: "stream_worker"})
def stream_worker_op(context: dg.OpExecutionContext, config: StreamWorkerConfig, lake: LakeStore, landing: LandingZone):
    """Apply landed event batches as they arrive: Bronze (idempotent, acknowledged once committed), then the hot
    Silver facts (appended) and the minute Gold KPIs (their 15-minute windows refreshed). Runs until idle or
    ``max_seconds``, or until another run needs the stream pool (the op holds its slot, ``lib/pools.py``); the
    ``stream_worker_sensor`` starts the next one."""
    thresholds = alert_thresholds()
    state = load_state(context.instance)
    report = CatalogReport(context, lake)
    started = last_new = time.monotonic()
    stale_tried: dict[str, float] = {}
    batches = 0
    looked = 0.0
    while True:
        now = time.monotonic()
        if now - started >= config.max_seconds or now - last_new >= config.idle_seconds:
            break
        if now - looked >= HANDOVER_CHECK_SECONDS:
            looked = now
            waiting = runs_needing_the_stream_pool(context.instance, besides=context.run.run_id)
            if waiting:
                context.log.info(
                    f"stream worker: run {waiting[0].run_id[:8]} ({waiting[0].job_name}) needs the {STREAM_POOL} pool; "
                    "handing it over (the sensor starts a worker again once no such run is active)"
                )
                break
        listing = planning_started = time.perf_counter()
        listed, bad = listed_event_files(landing, state.cursor)
        listing = time.perf_counter() - listing
        _quarantine_bad_files(context, lake, state, bad)
        cursor, tick = plan_file_tick(
            state.cursor, listed, lambda key: None, group_of=lambda path: partition_key(parse_landing_path(path).month),
            prefix="worker", max_files=config.max_files, known=bronze_sources(lake),
        )
        state.cursor = cursor
        planning = time.perf_counter() - planning_started
        if tick.requests:
            save_state(context.instance, state)  # in flight: a restarted worker counts the attempts on
        for note in tick.notes:
            context.log.warning(note)
        if not tick.requests:
            retry = [m for m in state.stale if now - stale_tried.get(m, 0.0) >= STALE_RETRY_SECONDS]
            for month in retry:  # a stale month with no new batch: try the rebuild on its own
                stale_tried[month] = now
                tick.requests.append(Batch(key=f"worker:{month}:stale", group=month))
            if not retry:
                if report.due(config.report_seconds):
                    yield from report.flush(REPORT_PIECE)
                    if not report.in_progress:
                        _refresh_serving(context, lake, state, config.serving_database)
                time.sleep(config.poll_seconds)
                continue
        for batch in tick.requests:
            if batch.files:
                last_new = time.monotonic()
            try:
                began = time.perf_counter()
                timings = {"listing": listing, "planning": planning, **_apply_batch(context, lake, landing, state, batch, report, thresholds)}
                timings["batch_total"] = time.perf_counter() - began
            except Exception as exc:  # noqa: BLE001 - any failure of a batch: retried, then parked; the worker goes on
                state.cursor.inflight.pop(batch.key, None)
                what = f"{type(exc).__name__}: {exc}"
                if batch.attempt >= MAX_ATTEMPTS:
                    state.cursor.failed[batch.key] = batch
                    context.log.error(
                        f"stream worker: batch {batch.key} ({len(batch.files)} files) failed {batch.attempt} times, parked, "
                        f"not acknowledged: {what}"
                    )
                else:
                    batch.attempt += 1
                    state.cursor.inflight[batch.key] = batch
                    context.log.warning(f"stream worker: batch {batch.key} failed ({what}); attempt {batch.attempt} next")
                    time.sleep(1.0)
                save_state(context.instance, state)
                continue
            batches += 1
            if batch.group in state.stale:  # tried just now: a rebuild on its own waits STALE_RETRY_SECONDS from here
                stale_tried[batch.group] = time.monotonic()
            context.log.debug(
                f"stream worker {batch.group}: {len(batch.files)} files; " + ", ".join(f"{k} {v:.2f} s" for k, v in timings.items())
            )
        if report.due(config.report_seconds):
            flushing = time.perf_counter()
            yield from report.flush(REPORT_PIECE)
            context.log.debug(f"stream worker: catalog report piece in {time.perf_counter() - flushing:.2f} s")
            if not report.in_progress:
                _refresh_serving(context, lake, state, config.serving_database)
    yield from report.flush()
    _refresh_serving(context, lake, state, config.serving_database)
    context.log.info(f"stream worker: {batches} batches applied in {time.monotonic() - started:.0f} s")
    yield dg.Output(None)


@dg.job(name="stream_worker", tags={LANDING_JOB_TAG: "stream_worker", PRIORITY_TAG: HOT_PATH_PRIORITY})
def stream_worker():
    """Landed event batches → Bronze → hot Silver facts (appended) → minute Gold KPIs (windows refreshed), in one
    long-lived run. Started by ``stream_worker_sensor``."""
    stream_worker_op()


def waiting_files(state: WorkerState, listed) -> list[str]:
    """Listed event files the worker has not acknowledged (nor parked), whatever their modification time."""
    parked = {p for b in state.cursor.failed.values() for p in b.files}
    return [p for p, _, _ in state.cursor.unacknowledged(listed) if p not in parked]


@dg.sensor(name="stream_worker_sensor", job=stream_worker, minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
           default_status=dg.DefaultSensorStatus.RUNNING)
def stream_worker_sensor(context: dg.SensorEvaluationContext, landing: LandingZone):
    """Keeps one ``stream_worker`` run alive while event files are waiting (listing only; the worker acknowledges)."""
    active = context.instance.get_runs(filters=dg.RunsFilter(job_name="stream_worker", statuses=ACTIVE), limit=1)
    if active:
        return dg.SensorResult(skip_reason=f"stream worker run {active[0].run_id} is {active[0].status.value.lower()}")
    # A worker started now would take the stream pool's slot first (its priority is higher) and hand it over at once.
    others = runs_needing_the_stream_pool(context.instance)
    if others:
        return dg.SensorResult(
            skip_reason=f"run {others[0].run_id} ({others[0].job_name}) needs the {STREAM_POOL} pool; the worker waits"
        )
    state = load_state(context.instance)
    listed, bad = listed_event_files(landing, state.cursor)
    waiting = waiting_files(state, listed) + [p for p, _ in state.cursor.new_bad_files(bad)]
    if not waiting and not state.stale:
        return dg.SensorResult(skip_reason="no event files waiting")
    number = int(context.cursor or 0) + 1
    return dg.SensorResult(
        run_requests=[dg.RunRequest(
            run_key=f"stream-worker:{number}", tags={"retail/waiting_files": str(len(waiting))},
            run_config={"ops": {"apply_landed_batches": {"config": {
                "serving_database": str(Settings.from_env().duckdb_path)}}}},
        )],
        cursor=str(number),
    )


# ---- declarative automation ------------------------------------------------------------------

medallion_automation = dg.AutomationConditionSensorDefinition(
    "medallion_automation",
    target=dg.AssetSelection.groups("silver", "gold"),
    minimum_interval_seconds=SENSOR_INTERVAL_SECONDS,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Evaluates the automation conditions of Silver and Gold every few seconds: a month whose upstream "
        "was updated (a streamed batch, a late event) is recomputed."
    ),
)


def streaming_definitions(settings: Settings) -> dg.Definitions:
    sensors: list[Any] = [medallion_automation]
    jobs: list[Any] = []
    if settings.stream_mode == "worker":
        sensors.append(stream_worker_sensor)
        jobs.append(stream_worker)
    else:
        sensors.append(landing_events_sensor)
    if settings.eventhubs_enabled:
        sensors.append(eventhubs_sensor)
        jobs.append(ingest_eventhubs)
    if settings.capture_enabled:
        sensors.append(capture_sensor)
        jobs.append(ingest_capture)
    return dg.Definitions(sensors=sensors, jobs=jobs)


@dg.definitions
def defs() -> dg.Definitions:
    return streaming_definitions(Settings.from_env())
