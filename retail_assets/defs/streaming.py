"""Streaming ingestion: sensors that turn new event files and Event Hubs offsets into Bronze runs.

Three sources, one rule: a sensor only *looks* (a file listing, partition metadata, checkpoint
blobs) and requests runs whose config names exactly what to ingest, under a deterministic run
key; the run reads, writes Bronze idempotently and only then is the batch acknowledged (the
sensor cursor after the run's Bronze step succeeded, the Event Hubs checkpoint inside the run after
the Bronze commit). Silver and Gold follow by declarative automation (``medallion_automation``),
except the hot path a landing run carries itself.

- ``landing_events_sensor`` (always on): new files under ``events/`` → one run per month: the
  Bronze event tables of the types that have files (one step, configured with the files), then the
  Silver facts and minute-grain Gold KPIs they feed (``hot_path``).
- ``eventhubs_sensor`` + job ``ingest_eventhubs`` (when ``RETAIL_EVENTHUB_*`` is set): per
  partition, the next offset range → the run reads exactly that range, lands it as files named
  after the range, ingests them and updates the blob checkpoint.
- ``capture_sensor`` + job ``ingest_capture`` (when ``RETAIL_CAPTURE_URI`` is set): new Capture
  Avro files → the run lands and ingests their events.
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

import dagster as dg
from dagster._core.execution.stats import StepEventStatus
from dagster._core.storage.tags import PRIORITY_TAG, RUN_KEY_TAG
from pydantic import Field

from retail_assets.defs.bronze import BRONZE_EVENTS_POOL, EVENTS_OP, bronze_key, ingest_batch
from retail_assets.defs.gold import gold_asset_key
from retail_assets.defs.silver import silver_asset_key
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.landing import LandingPathError, LandingZone, parse_landing_path
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.partitions import partition_key
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.capture import CaptureFiles, capture_batch_name, read_capture
from retail_assets.lib.streaming.cursor import Batch, FileCursor, OffsetCursor, plan_file_tick, plan_offset_tick
from retail_assets.lib.streaming.eventhubs import EventHubs
from retail_assets.lib.streaming.route import (
    Message,
    Routed,
    files_by_type_and_month,
    publish,
    route,
    safe_name,
    write_unroutable,
)

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


# Gold tables at a grain finer than a day: what a live dashboard reads, so each streamed batch carries them.
MINUTE_GOLD = [t for t in GOLD_TABLES if "minute" in t.grain]
# Runs of the streaming hot path are dequeued before automation runs (dagster.yaml limits those to one at a time).
HOT_PATH_PRIORITY = "10"


def hot_path(event_types: Iterable[str]) -> list[dg.AssetKey]:
    """What one streamed batch's run materializes: the batch's Bronze event tables, the Silver facts those
    events map to that feed a minute-grain Gold table, and those Gold tables.

    Everything else the batch touches (the other Silver facts, daily Gold) follows by declarative
    automation, off the hot path."""
    event_types = set(event_types)
    facts = sorted({f for t in event_types for f in REGISTRY.event(t).facts} & {i.table for g in MINUTE_GOLD for i in g.inputs})
    gold = [g.name for g in MINUTE_GOLD if {i.table for i in g.inputs} & set(facts)]
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
        if steps and steps[0].status == StepEventStatus.SUCCESS:
            return dg.DagsterRunStatus.SUCCESS.value
    return run.status.value


def listed_event_files(landing: LandingZone, log) -> list[tuple[str, float, int]]:
    """(path, modified, size) of every event file; files outside the layout are skipped with a warning."""
    found = []
    for path, size, modified in landing._list("events/"):
        try:
            parse_landing_path(path)
        except LandingPathError as exc:
            log.warning(f"skipping {path}: {exc}")
            continue
        found.append((path, modified.timestamp(), size))
    return found


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
    cursor, requests, notes = plan_landing_tick(
        context.cursor, listed_event_files(landing, context.log), lambda key: landing_batch_status(context.instance, key)
    )
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
    sensors: list[Any] = [landing_events_sensor, medallion_automation]
    jobs: list[Any] = []
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
