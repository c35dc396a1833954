"""Azure Event Hubs through ``azure-eventhub``: producer, partition metadata, exact offset ranges, checkpoints.

The resource holds no secret in code or config: the connection strings are ``dagster.EnvVar``s
(``RETAIL_EVENTHUB_CONNECTION_STRING``, ``RETAIL_CHECKPOINT_CONNECTION_STRING``) resolved at run
time and never logged. Checkpoints use the SDK's ``BlobCheckpointStore`` layout
(``<namespace>/<hub>/<consumer group>/checkpoint/<partition>``), so an ``EventHubConsumerClient``
with the same store resumes where this platform's ingestion stopped, and vice versa.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

import dagster as dg
from pydantic import Field


class EventHubsError(RuntimeError):
    """An offset range could not be read completely; nothing was acknowledged."""


@dataclass(frozen=True)
class ReceivedEvent:
    sequence_number: int
    offset: str
    enqueued_time: object
    body: bytes
    partition_key: str | None


def namespace_of(connection_string: str) -> str:
    """The fully qualified namespace (host[:port]) of an Event Hubs connection string."""
    for part in connection_string.split(";"):
        key, _, value = part.partition("=")
        if key.strip().lower() == "endpoint":
            return value.strip().removeprefix("sb://").removeprefix("amqps://").rstrip("/")
    raise ValueError("the Event Hubs connection string has no Endpoint=...")


class EventHubs(dg.ConfigurableResource):
    """An event hub, its consumer group and the blob container holding consumer checkpoints."""

    connection_string: str = Field(description="Event Hubs connection string (set from the environment only).")
    eventhub_name: str = Field(description="Event hub (entity) name.")
    consumer_group: str = Field(default="$Default", description="Consumer group the platform reads with.")
    checkpoint_connection_string: str = Field(description="Storage connection string of the checkpoint container.")
    checkpoint_container: str = Field(default="eventhub-checkpoints", description="Blob container for checkpoints.")

    @property
    def namespace(self) -> str:
        return namespace_of(self.connection_string)

    def producer(self, **kwargs):
        from azure.eventhub import EventHubProducerClient

        return EventHubProducerClient.from_connection_string(self.connection_string, eventhub_name=self.eventhub_name, **kwargs)

    def consumer(self, **kwargs):
        from azure.eventhub import EventHubConsumerClient

        return EventHubConsumerClient.from_connection_string(
            self.connection_string, consumer_group=self.consumer_group, eventhub_name=self.eventhub_name, **kwargs
        )

    def checkpoint_store(self):
        from azure.core.exceptions import ResourceExistsError
        from azure.eventhub.extensions.checkpointstoreblob import BlobCheckpointStore
        from azure.storage.blob import ContainerClient

        container = ContainerClient.from_connection_string(self.checkpoint_connection_string, self.checkpoint_container)
        try:
            container.create_container()
        except ResourceExistsError:
            pass
        return BlobCheckpointStore.from_connection_string(self.checkpoint_connection_string, self.checkpoint_container)

    # ---- cheap metadata (what the sensor reads) ------------------------------------------

    def partition_state(self) -> dict[str, tuple[int, int, bool]]:
        """Per partition: (beginning sequence number, last enqueued sequence number, is empty)."""
        with self.consumer() as client:
            state = {}
            for partition in client.get_partition_ids():
                props = client.get_partition_properties(partition)
                state[partition] = (
                    int(props["beginning_sequence_number"]),
                    int(props["last_enqueued_sequence_number"]),
                    bool(props["is_empty"]),
                )
            return state

    def checkpoints(self) -> dict[str, int]:
        """Last sequence number durably ingested, per partition (from the blob checkpoint store)."""
        store = self.checkpoint_store()
        try:
            found = store.list_checkpoints(self.namespace, self.eventhub_name, self.consumer_group)
            return {c["partition_id"]: int(c["sequence_number"]) for c in found if c.get("sequence_number") is not None}
        finally:
            store.close()

    def update_checkpoint(self, partition: str, sequence_number: int, offset: str) -> bool:
        """Record that everything up to ``sequence_number`` is durably in Bronze (call only after the commit).

        Never moves a checkpoint backwards: replaying an older range (idempotent in Bronze) leaves the
        partition's checkpoint where it is. Returns whether the checkpoint moved.
        """
        if self.checkpoints().get(partition, -1) >= sequence_number:
            return False
        store = self.checkpoint_store()
        try:
            store.update_checkpoint(
                {
                    "fully_qualified_namespace": self.namespace,
                    "eventhub_name": self.eventhub_name,
                    "consumer_group": self.consumer_group,
                    "partition_id": partition,
                    "sequence_number": sequence_number,
                    "offset": offset,
                }
            )
        finally:
            store.close()
        return True

    # ---- reading an exact range (what a run does) ------------------------------------------

    def read_range(self, partition: str, first: int, last: int, *, stall_seconds: float = 60.0) -> list[ReceivedEvent]:
        """Events ``first``..``last`` (sequence numbers, inclusive) of one partition, all of them or an error
        (when no event of the range arrived for ``stall_seconds``)."""
        received: dict[int, ReceivedEvent] = {}
        done = threading.Event()
        failure: list[BaseException] = []
        progress = [time.monotonic()]
        client = self.consumer()

        def on_batch(_context, events) -> None:
            if done.is_set():
                return
            for event in events:
                seq = event.sequence_number
                if first <= seq <= last:
                    key = event.partition_key
                    received[seq] = ReceivedEvent(
                        seq, str(event.offset), event.enqueued_time, b"".join(event.body),
                        key.decode() if isinstance(key, bytes) else key,
                    )
                    progress[0] = time.monotonic()
                if seq >= last:
                    done.set()

        def on_error(_context, error) -> None:
            failure.append(error)

        worker = threading.Thread(
            target=client.receive_batch,
            kwargs=dict(
                on_event_batch=on_batch,
                on_error=on_error,
                partition_id=partition,
                starting_position=first,
                starting_position_inclusive=True,
                # A batch is handed over when full or after max_wait_time: sized to the range and with a
                # short wait, the last events of a range are not held back.
                max_batch_size=min(1000, last - first + 1),
                max_wait_time=0.25,
                prefetch=2000,
            ),
            daemon=True,
        )
        worker.start()
        try:
            while not done.wait(0.1):
                if not worker.is_alive() or time.monotonic() - progress[0] > stall_seconds:
                    break
        finally:
            done.set()
            # Closing joins the client's keep-alive thread (up to a second); what was read is in hand.
            threading.Thread(target=client.close, name="eventhubs-close", daemon=True).start()
        got = dict(received)
        if len(got) != last - first + 1:
            cause = f" ({failure[0]!r})" if failure else ""
            raise EventHubsError(
                f"event hub {self.eventhub_name}, partition {partition}: read {len(got)} of the "
                f"{last - first + 1} events {first}..{last}{cause}; nothing was acknowledged, the range will be retried"
            )
        return [got[s] for s in range(first, last + 1)]
