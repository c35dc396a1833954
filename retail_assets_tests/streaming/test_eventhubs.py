"""Event Hubs path with the real ``azure-eventhub`` clients against an AMQP 1.0 test double (``retail_assets/devtools/eventhubs_double.py``).

The double is not Event Hubs (no retention, throttling, epochs, TLS; its own partition-key hash; see
its docstring). What these tests prove is that the platform's code talks AMQP correctly through the
real client: the producer sink, ``partition_state``, ``read_range``, the sensor and the ingest job,
with checkpoints in ``BlobCheckpointStore`` on Azurite. The connection string reaches the code only
through the environment, as in production.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import dagster as dg
import polars as pl
import pytest

from retail_assets.cli import main as cli
from retail_assets.defs.resources import streaming_resources
from retail_assets.defs.streaming import RUN_KEY_TAG, eventhubs_sensor, ingest_eventhubs
from retail_assets.lib import settings as s
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.cursor import OffsetCursor, plan_offset_tick
from retail_assets.lib.streaming.eventhubs import EventHubs, EventHubsError
from retail_assets.lib.streaming.route import UNROUTABLE_TABLE
from retail_assets.lib.streaming.sinks import EventHubsSink, SinkStats
from retail_assets_tests.azurite import Azurite
from retail_assets.devtools.eventhubs_double import EventHubsDouble, partition_for_key, running_double

MAX_MESSAGE = 256 * 1024  # Event Hubs Basic tier's limit: the busiest keys of the window need several batches
GROUP = "$Default"


def storage_connection_string(azurite: Azurite) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={azurite.account};AccountKey={azurite.key};"
        f"BlobEndpoint={azurite.endpoint};"
    )


@pytest.fixture(scope="module")
def double() -> EventHubsDouble:
    with running_double(max_message_size=MAX_MESSAGE) as server:
        yield server


@pytest.fixture
def configure(double, azurite, monkeypatch, tmp_path):
    """A new hub and checkpoint container, configured as users do it: environment variables only."""

    def make(partitions: int) -> EventHubs:
        name = f"retail-{uuid.uuid4().hex[:8]}"
        double.create_hub(name, partitions)
        monkeypatch.setenv(s.DATA_DIR, str(tmp_path / "data"))
        monkeypatch.setenv(s.EVENTHUB_CONNECTION_STRING, double.connection_string)
        monkeypatch.setenv(s.EVENTHUB_NAME, name)
        monkeypatch.setenv(s.CHECKPOINT_CONNECTION_STRING, storage_connection_string(azurite))
        monkeypatch.setenv(s.CHECKPOINT_CONTAINER, f"checkpoints-{name}")
        return streaming_resources(s.Settings.from_env())["eventhubs"]

    return make


def send(eventhubs: EventHubs, events: pl.DataFrame, **producer_kwargs) -> SinkStats:
    sink = EventHubsSink(eventhubs.producer(**producer_kwargs))
    sink.send(events)
    sink.close()
    return sink.stats


def tick(eventhubs: EventHubs, instance, cursor: str | None) -> dg.SensorResult:
    return eventhubs_sensor(dg.build_sensor_context(cursor=cursor, resources={"eventhubs": eventhubs}, instance=instance))


def ranges(result: dg.SensorResult) -> list[tuple[str, int, int]]:
    configs = [r.run_config["ops"]["ingest_eventhubs_range"]["config"] for r in result.run_requests]
    return sorted((c["partition"], c["first"], c["last"]) for c in configs)


def execute(request: dg.RunRequest, resources, instance) -> dg.ExecuteInProcessResult:
    return ingest_eventhubs.execute_in_process(
        run_config=request.run_config,
        resources=resources,
        instance=instance,
        tags={**request.tags, RUN_KEY_TAG: request.run_key},
        raise_on_error=False,
    )


def bronze_trace_ids(lake) -> pl.Series:
    tables = [f"bronze/{e.event_type}" for e in REGISTRY.events if lake.exists(f"bronze/{e.event_type}")]
    return pl.concat([lake.read(t).select("trace_id") for t in tables]).get_column("trace_id")


def last_sequence_numbers(double: EventHubsDouble, hub: str) -> dict[str, int]:
    """What the double holds, per non-empty partition (the service's view, independent of the client)."""
    return {str(p): len(events) - 1 for p in range(len(double.hubs[hub].partitions)) if (events := double.events(hub, p))}


def versions(lake) -> dict[str, int | None]:
    return {t: lake.version(t) for t in [f"bronze/{e.event_type}" for e in REGISTRY.events] + [UNROUTABLE_TABLE]}


def first_delivered(eventhubs: EventHubs, partition: str, position, inclusive: bool) -> int:
    """Sequence number of the first event a real consumer receives from ``position``."""
    client, got = eventhubs.consumer(), []

    def on_batch(_context, events):
        if events and not got:
            got.append(events[0].sequence_number)
            threading.Thread(target=client.close).start()

    worker = threading.Thread(
        target=client.receive_batch,
        kwargs=dict(on_event_batch=on_batch, partition_id=partition, starting_position=position,
                    starting_position_inclusive=inclusive, max_wait_time=0.5),
    )
    worker.start()
    worker.join(timeout=20)
    client.close()
    return got[0]


# ---- the double and the real clients ------------------------------------------------------------


def test_real_producer_batches_within_the_limit_and_each_key_keeps_one_partition_in_order(configure, double, window_events):
    window = window_events.head(3000)
    eventhubs = configure(2).process_config_and_initialize()
    stats = send(eventhubs, window)
    keys = set(window.get_column("partition_key"))
    assert {k.split("_")[0] for k in keys} == {"store", "dc", "marketing"}
    assert stats.events == window.height and stats.batches > len(keys), "busy keys need several batches"
    assert 0.75 * MAX_MESSAGE < double.largest_send <= MAX_MESSAGE, "batches are filled up to the hub's limit, never over"

    ends = last_sequence_numbers(double, eventhubs.eventhub_name)
    assert sorted(ends) == ["0", "1"] and sum(ends.values()) + 2 == window.height
    received = {p: eventhubs.read_range(p, 0, last) for p, last in ends.items()}
    assert all([e.sequence_number for e in events] == list(range(len(events))) for events in received.values())

    partitions_of, bodies = defaultdict(set), defaultdict(list)
    for partition, events in received.items():
        for event in events:
            partitions_of[event.partition_key].add(partition)
            bodies[event.partition_key].append(event.body.decode())
    assert dict(partitions_of) == {k: {str(partition_for_key(k, 2))} for k in keys}, "a key never changes partition"
    sent = window.group_by("partition_key", maintain_order=True).agg("body")
    assert dict(zip(sent["partition_key"], sent["body"].to_list(), strict=True)) == bodies, "each key: every event once, in order"

    last = ends["0"]
    with pytest.raises(EventHubsError, match=f"partition 0: read 0 of the 2 events {last + 1}..{last + 2}"):
        eventhubs.read_range("0", last + 1, last + 2, stall_seconds=1)


def test_selector_filters_and_a_link_lost_mid_range(configure, double, window_events):
    eventhubs = configure(1).process_config_and_initialize()
    send(eventhubs, window_events.head(600))
    events = double.events(eventhubs.eventhub_name, 0)
    times = [dt.datetime.fromtimestamp(e.enqueued_ms / 1000, dt.UTC) for e in events]
    cases = {  # (starting position, inclusive) -> sequence number of the first event delivered
        (str(events[10].offset), True): 10,
        (str(events[10].offset), False): 11,  # how a consumer resumes from a checkpoint
        (10, False): 11,
        (times[-1], True): times.index(times[-1]),
        (times[0], False): next(i for i, t in enumerate(times) if t > times[0]),
    }
    with ThreadPoolExecutor(len(cases)) as pool:
        found = dict(zip(cases, pool.map(lambda case: first_delivered(eventhubs, "0", *case), cases), strict=True))
    assert found == cases

    # The service drops the receive link mid-range: the client re-attaches after the last event it
    # received, and the range still comes back exactly once.
    double.detach_receivers_after(300)
    again = eventhubs.read_range("0", 0, 599)
    assert double.forced_detaches == 1
    assert [e.sequence_number for e in again] == list(range(600))
    assert sorted(e.body.decode() for e in again) == sorted(window_events.head(600).get_column("body"))


def test_sink_retries_transient_send_failures_with_backoff(configure, double, window_events):
    eventhubs = configure(2).process_config_and_initialize()
    double.reject_next_sends(3)
    sleeps: list[float] = []
    sink = EventHubsSink(eventhubs.producer(retry_total=0), backoff_seconds=0.5, sleep=sleeps.append)
    sink.send(window_events.head(300))
    sink.close()
    assert sink.stats.retries >= 1 and sleeps == [0.5 * 2**i for i in range(len(sleeps))]
    stored = [e for p in (0, 1) for e in double.events(eventhubs.eventhub_name, p)]
    assert len(stored) == sink.stats.events == 300, "nothing lost, nothing sent twice"


def test_single_events_are_routed_like_batches(configure, double):
    from azure.eventhub import EventData

    eventhubs = configure(2).process_config_and_initialize()
    with eventhubs.producer() as producer:
        producer.send_event(EventData("keyed"), partition_key="dc_1")
        producer.send_event(EventData("addressed"), partition_id="1")
    stored = {p: [(e.sequence_number, e.partition_key) for e in double.events(eventhubs.eventhub_name, p)] for p in (0, 1)}
    keyed = partition_for_key("dc_1", 2)
    assert stored[keyed][0] == (0, "dc_1") and (len(stored[1]) - 1, None) in stored[1]
    assert sum(map(len, stored.values())) == 2


def test_stream_command_sends_through_the_environment_configuration(configure, double, capsys):
    eventhubs = configure(2)
    argv = ["stream", "--sink", "eventhubs", "--profile", "tiny", "--start", "2024-01-30T00:00", "--rate", "2000"]
    # 3 s, not 1: on a loaded machine simulating the first events can take most of a second.
    assert cli([*argv, "--duration", "3"]) == 0
    sent = int(capsys.readouterr().out.split()[0].replace(",", ""))
    hub = eventhubs.process_config_and_initialize().eventhub_name
    assert sent > 0 and sum(len(double.events(hub, p)) for p in (0, 1)) == sent


# ---- sensor → ingest job → Bronze → checkpoint ----------------------------------------------------


@pytest.mark.azurite
def test_sensor_ranges_ingest_exactly_once_across_failure_restart_and_replay(
    configure, double, lake, landing, instance, window_events, monkeypatch
):
    eventhubs = configure(2)
    hub = eventhubs.process_config_and_initialize()
    resources = {"eventhubs": eventhubs, "lake": lake, "landing": landing}
    # January's last day, then (mid-stream) February's first hours: two Bronze months.
    january = pl.col("ingest_timestamp") < dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    first_part = window_events.filter(january & (pl.col("ingest_timestamp") >= dt.datetime(2024, 1, 31, tzinfo=dt.UTC)))
    second_part = window_events.filter(~january)
    sent = pl.concat([first_part, second_part])
    send(hub, first_part)

    ends = last_sequence_numbers(double, hub.eventhub_name)
    result = tick(eventhubs, instance, None)
    expected = [(p, 0, last) for p, last in sorted(ends.items())]
    assert len(expected) == 2 and ranges(result) == expected
    keys = [f"eventhubs:{hub.eventhub_name}:{GROUP}:{p}:{first}-{last}" for p, first, last in expected]
    assert sorted(r.run_key for r in result.run_requests) == keys
    assert hub.checkpoints() == {}

    # Partition 0's first run fails at the Bronze commit: its checkpoint must not move.
    by_partition = {r.run_config["ops"]["ingest_eventhubs_range"]["config"]["partition"]: r for r in result.run_requests}
    with monkeypatch.context() as failing:
        failing.setattr("retail_assets.lib.lake.LakeStore.replace", lambda *a, **k: (_ for _ in ()).throw(OSError("disk full")))
        assert not execute(by_partition["0"], resources, instance).success
    assert execute(by_partition["1"], resources, instance).success
    assert hub.checkpoints() == {"1": ends["1"]}

    retried = tick(eventhubs, instance, result.cursor)
    assert [r.run_key for r in retried.run_requests] == [by_partition["0"].run_key + "#attempt2"]
    assert execute(retried.run_requests[0], resources, instance).success
    assert hub.checkpoints() == ends
    assert sorted(bronze_trace_ids(lake)) == sorted(first_part.get_column("trace_id"))

    # More events arrive; the sensor restarts with its cursor lost. From the checkpoints it requests
    # exactly the ranges (and run keys) the running sensor would have requested: nothing lost or doubled.
    send(hub, second_part)
    new_ends = last_sequence_numbers(double, hub.eventhub_name)
    continuing = tick(eventhubs, instance, retried.cursor)
    restarted = tick(eventhubs, instance, None)
    grown = [(p, ends[p] + 1, new_ends[p]) for p in sorted(new_ends) if new_ends[p] > ends[p]]
    assert grown and ranges(restarted) == ranges(continuing) == grown
    assert sorted(r.run_key for r in restarted.run_requests) == sorted(r.run_key for r in continuing.run_requests)
    for request in restarted.run_requests:
        assert execute(request, resources, instance).success
    trace_ids = bronze_trace_ids(lake)
    assert trace_ids.len() == trace_ids.n_unique() == sent.height
    assert set(trace_ids) == set(sent.get_column("trace_id"))
    assert tick(eventhubs, instance, restarted.cursor).run_requests == []

    # Replaying a range changes nothing: no Delta commit, and the checkpoint stays where it is.
    before, checkpoints = versions(lake), hub.checkpoints()
    assert execute(restarted.run_requests[0], resources, instance).success
    assert versions(lake) == before and hub.checkpoints() == checkpoints


@pytest.mark.azurite
def test_sdk_consumer_and_platform_resume_from_each_others_checkpoints(configure, double, window_events):
    hub = configure(2).process_config_and_initialize()
    send(hub, window_events.head(300))
    stored = {str(p): double.events(hub.eventhub_name, p) for p in (0, 1)}
    assert all(stored.values())
    # The platform has ingested the first half of each partition (and checkpointed as its ingest run does).
    middle = {p: events[len(events) // 2] for p, events in stored.items()}
    for p, event in middle.items():
        assert hub.update_checkpoint(p, event.sequence_number, str(event.offset))
    ends = {p: events[-1].sequence_number for p, events in stored.items()}

    # An EventHubConsumerClient on the same checkpoint store resumes right after them, and its own
    # checkpoints are what the platform reads next.
    client = hub.consumer(checkpoint_store=hub.checkpoint_store())
    received: dict[str, list[int]] = defaultdict(list)
    checkpointed = threading.Event()

    def on_batch(context, events):
        received[context.partition_id].extend(e.sequence_number for e in events)
        if events and events[-1].sequence_number == ends[context.partition_id]:
            context.update_checkpoint(events[-1])
            if hub.checkpoints() == ends:
                checkpointed.set()

    receive = dict(on_event_batch=on_batch, starting_position="-1", max_wait_time=0.25)
    worker = threading.Thread(target=client.receive_batch, kwargs=receive)
    worker.start()
    checkpointed.wait(timeout=20)
    client.close()
    worker.join(timeout=10)
    assert dict(received) == {p: list(range(middle[p].sequence_number + 1, ends[p] + 1)) for p in ends}
    _, planned = plan_offset_tick(OffsetCursor(), {p: last + 5 for p, last in ends.items()}, hub.checkpoints(),
                                  lambda key: None, hub=hub.eventhub_name, consumer_group=GROUP)
    assert sorted((b.group, b.first) for b in planned.requests) == [(p, ends[p] + 1) for p in sorted(ends)]


def test_ranges_per_partition_resume_from_checkpoints_and_never_overlap():
    kw = dict(hub="retail", consumer_group=GROUP)
    cursor, tick_ = plan_offset_tick(OffsetCursor(), {"0": 999, "1": 9}, {}, lambda k: None, max_events=500, **kw)
    assert sorted((b.group, b.first, b.last) for b in tick_.requests) == [("0", 0, 499), ("1", 0, 9)]
    # In flight: nothing new for those partitions, the same keys again if the runs were never submitted.
    cursor, again = plan_offset_tick(cursor, {"0": 1200, "1": 20}, {}, lambda k: None, max_events=500, **kw)
    assert sorted(b.run_key for b in again.requests) == sorted(b.run_key for b in tick_.requests)
    cursor, done = plan_offset_tick(cursor, {"0": 1200, "1": 20}, {}, lambda k: "SUCCESS", max_events=500, **kw)
    assert sorted((b.group, b.first, b.last) for b in done.requests) == [("0", 500, 999), ("1", 10, 20)]
    assert cursor.acked == {"0": 499, "1": 9}
    # A sensor whose cursor was lost resumes from the checkpoints (what is durably in Bronze).
    _, resumed = plan_offset_tick(OffsetCursor(), {"0": 1200}, {"0": 999}, lambda k: None, **kw)
    assert [(b.first, b.last) for b in resumed.requests] == [(1000, 1200)]
    # Events past retention are gone: start at the first available one.
    _, expired = plan_offset_tick(OffsetCursor(), {"0": 50}, {}, lambda k: None, first_available={"0": 40}, **kw)
    assert [(b.first, b.last) for b in expired.requests] == [(40, 50)]


def test_sink_leaves_connection_errors_to_the_client_retry_and_does_not_multiply_it(window_events):
    """A dead hub: the client's own retry (retry_total) is the only one; the sink adds no second layer."""
    from azure.eventhub import EventHubProducerClient
    from azure.eventhub.exceptions import EventDataSendError, EventHubError

    sleeps: list[float] = []
    with running_double() as gone:
        gone.create_hub("gone", 2)
        producer = EventHubProducerClient.from_connection_string(
            gone.connection_string, eventhub_name="gone", retry_total=1, retry_backoff_factor=0.01
        )
        sink = EventHubsSink(producer, backoff_seconds=0.5, sleep=sleeps.append)
        sink.send(window_events.head(10))
        sink.flush()  # the link is open and works
        assert sink.stats.events == 10
    # The double has stopped: every reconnect is refused.
    sink.send(window_events.head(10))
    with pytest.raises(EventHubError) as raised:
        sink.flush()
    assert not isinstance(raised.value, EventDataSendError)
    assert sleeps == [] and sink.stats.retries == 0, "the sink must not retry what the client already retried"
    producer.close()
