"""Event Hubs path: offset-range sensor planning, checkpoints in blob storage (Azurite), acknowledgement order,
and the producer sink's batching and retries.

No Event Hubs (or emulator) runs here; reading a range is replaced by a recorded range in
``test_checkpoint_moves_only_after_bronze``. See docs/streaming.md for what is not covered.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.streaming import ingest_eventhubs
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.cursor import OffsetCursor, plan_offset_tick
from retail_assets.lib.streaming.eventhubs import EventHubs, ReceivedEvent, namespace_of
from retail_assets.lib.streaming.sinks import EventHubsSink
from retail_assets_tests.azurite import Azurite

HUB = "retail"
CONN = "Endpoint=sb://127.0.0.1:5672;SharedAccessKeyName=RootManageSharedAccessKey;SharedAccessKey=SAS_KEY_VALUE;UseDevelopmentEmulator=true"


def storage_connection_string(azurite: Azurite) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={azurite.account};AccountKey={azurite.key};"
        f"BlobEndpoint={azurite.endpoint};"
    )


def test_ranges_per_partition_resume_from_checkpoints_and_never_overlap():
    cursor, tick = plan_offset_tick(OffsetCursor(), {"0": 999, "1": 9}, {}, lambda k: None, hub=HUB, consumer_group="$Default", max_events=500)
    assert sorted((b.group, b.first, b.last) for b in tick.requests) == [("0", 0, 499), ("1", 0, 9)]
    # In flight: nothing new for those partitions, the same keys again if the runs were never submitted.
    cursor, again = plan_offset_tick(cursor, {"0": 1200, "1": 20}, {}, lambda k: None, hub=HUB, consumer_group="$Default", max_events=500)
    assert sorted(b.run_key for b in again.requests) == sorted(b.run_key for b in tick.requests)
    cursor, done = plan_offset_tick(cursor, {"0": 1200, "1": 20}, {}, lambda k: "SUCCESS", hub=HUB, consumer_group="$Default", max_events=500)
    assert sorted((b.group, b.first, b.last) for b in done.requests) == [("0", 500, 999), ("1", 10, 20)]
    assert cursor.acked == {"0": 499, "1": 9}
    # A sensor whose cursor was lost resumes from the checkpoints (what is durably in Bronze).
    fresh, resumed = plan_offset_tick(OffsetCursor(), {"0": 1200}, {"0": 999}, lambda k: None, hub=HUB, consumer_group="$Default")
    assert [(b.first, b.last) for b in resumed.requests] == [(1000, 1200)]
    # Events past retention are gone: start at the first available one.
    _, expired = plan_offset_tick(OffsetCursor(), {"0": 50}, {}, lambda k: None, hub=HUB, consumer_group="$Default", first_available={"0": 40})
    assert [(b.first, b.last) for b in expired.requests] == [(40, 50)]


@pytest.mark.azurite
def test_checkpoint_moves_only_after_bronze(azurite, lake, landing, instance, window_events, monkeypatch):
    hubs = EventHubs(connection_string=CONN, eventhub_name=HUB, checkpoint_connection_string=storage_connection_string(azurite),
                     checkpoint_container="checkpoints")
    assert namespace_of(CONN) == "127.0.0.1:5672"
    bodies = window_events.get_column("body").to_list()[:2000] + ["{broken"]
    recorded = [ReceivedEvent(i, str(i * 100), dt.datetime(2024, 1, 30, tzinfo=dt.UTC), b.encode(), None) for i, b in enumerate(bodies)]
    monkeypatch.setattr(EventHubs, "read_range", lambda self, p, first, last, **k: recorded[first : last + 1])
    resources = {"eventhubs": hubs, "lake": lake, "landing": landing}
    config = {"ops": {"ingest_eventhubs_range": {"config": {"partition": "0", "first": 0, "last": len(bodies) - 1}}}}

    def broken_commit(*args, **kwargs):
        raise OSError("disk full")

    with monkeypatch.context() as failing:
        failing.setattr("retail_assets.lib.lake.LakeStore.replace", broken_commit)
        assert not ingest_eventhubs.execute_in_process(run_config=config, resources=resources, instance=instance, raise_on_error=False).success
    assert hubs.checkpoints() == {}, "nothing may be acknowledged before it is in Bronze"
    for _ in range(2):  # the retried range, then a replay of it
        assert ingest_eventhubs.execute_in_process(run_config=config, resources=resources, instance=instance).success
    assert hubs.checkpoints() == {"0": len(bodies) - 1}
    total = sum(lake.read(f"bronze/{e.event_type}").height for e in REGISTRY.events if lake.exists(f"bronze/{e.event_type}"))
    assert total == 2000
    paths = {f.path.path for f in landing.list_files("events/")}
    assert paths and all(p.endswith(f"/eh-{HUB}-0-0-{len(bodies) - 1}.jsonl") for p in paths)


class RecordingClient:
    """Stands in for EventHubProducerClient: real EventDataBatch objects, sends recorded, first sends fail."""

    def __init__(self, failures: int):
        self.failures, self.sent, self.closed = failures, [], False

    def create_batch(self, partition_key=None):
        from azure.eventhub import EventDataBatch

        return EventDataBatch(max_size_in_bytes=64 * 1024, partition_key=partition_key)

    def send_batch(self, batch):
        from azure.eventhub.exceptions import EventHubError

        if self.failures:
            self.failures -= 1
            raise EventHubError("transient")
        self.sent.append((batch._partition_key, len(batch)))

    def close(self):
        self.closed = True


def test_sink_batches_by_partition_key_within_the_size_limit_and_retries(window_events):
    client = RecordingClient(failures=2)
    sleeps = []
    sink = EventHubsSink(client, backoff_seconds=0.5, sleep=sleeps.append)
    sink.send(window_events)
    sink.close()
    assert sum(n for _, n in client.sent) == window_events.height and client.closed
    keys = window_events.get_column("partition_key").n_unique()
    assert len(client.sent) > keys, "64 KiB batches: large keys need several"
    assert {k.decode() if isinstance(k, bytes) else k for k, _ in client.sent} == set(window_events.get_column("partition_key").unique())
    assert sleeps == [0.5, 1.0] and sink.stats.retries == 2
    by_key = pl.DataFrame(client.sent, schema=["key", "n"], orient="row")
    assert by_key.get_column("n").min() >= 1
