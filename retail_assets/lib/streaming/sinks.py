"""Where the producer sends events: landing files (default) or Azure Event Hubs.

Both take encoded event frames (``envelopes.EVENT_FRAME``) and batch them:

- :class:`LandingSink` buffers events per (event type, UTC day of ``ingest_timestamp``) and
  publishes a JSONL file under ``events/<event_type>/<YYYY-MM-DD>/`` when a buffer holds
  ``max_events`` or is ``max_seconds`` old (each file atomically: readers see all of it or none).
- :class:`EventHubsSink` sends through ``azure-eventhub``: events grouped by partition key, one
  ``EventDataBatch`` per key filled up to the hub's maximum message size; a send the hub rejects is
  retried with exponential backoff (connection errors are left to the client's own retry). The
  connection string comes from the environment only (``eventhubs.py``).
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl
import tenacity

from retail_assets.lib.landing import LandingZone, event_prefix

log = logging.getLogger(__name__)


@dataclass
class SinkStats:
    events: int = 0
    batches: int = 0  # files published or Event Hubs batches sent
    bytes: int = 0
    retries: int = 0
    published: list[str] = field(default_factory=list)  # landing paths, in publication order


def producer_id() -> str:
    """A name for one producer run, unique enough that two producers never overwrite each other's files."""
    return f"stream-{time.strftime('%Y%m%dT%H%M%S', time.gmtime())}-{os.getpid()}-{secrets.token_hex(2)}"


class LandingSink:
    """Batched JSONL files in the landing zone, one per event type and day per flush."""

    def __init__(
        self,
        landing: LandingZone,
        *,
        name: str | None = None,
        max_events: int = 50_000,
        max_seconds: float = 1.0,
        on_publish: Callable[[str, pl.DataFrame], None] | None = None,
    ):
        self.landing = landing
        self.name = name or producer_id()
        self.max_events = max_events
        self.max_seconds = max_seconds
        self.on_publish = on_publish
        self.stats = SinkStats()
        self._buffers: dict[tuple[str, str], list[pl.DataFrame]] = {}
        self._sizes: dict[tuple[str, str], int] = {}
        self._since: dict[tuple[str, str], float] = {}
        self._sequence = 0

    def send(self, events: pl.DataFrame) -> None:
        now = time.monotonic()
        keyed = events.with_columns(pl.col("ingest_timestamp").dt.date().cast(pl.String).alias("__day"))
        for (event_type, day), part in keyed.partition_by(["event_type", "__day"], as_dict=True, maintain_order=True).items():
            key = (str(event_type), str(day))
            self._buffers.setdefault(key, []).append(part.drop("__day"))
            self._sizes[key] = self._sizes.get(key, 0) + part.height
            self._since.setdefault(key, now)
            if self._sizes[key] >= self.max_events:
                self._publish(key)
        self.flush(older_than=self.max_seconds)

    def flush(self, older_than: float = 0.0) -> None:
        now = time.monotonic()
        for key in [k for k, since in self._since.items() if now - since >= older_than]:
            self._publish(key)

    def close(self) -> None:
        self.flush()

    def _publish(self, key: tuple[str, str]) -> None:
        parts = self._buffers.pop(key, [])
        self._sizes.pop(key, None)
        self._since.pop(key, None)
        if not parts:
            return
        frame = pl.concat(parts, how="vertical")
        event_type, day = key
        self._sequence += 1
        path = f"{event_prefix(event_type, dt.date.fromisoformat(day))}{self.name}-{self._sequence:06d}.jsonl"
        data = ("\n".join(frame.get_column("body").to_list()) + "\n").encode()
        self.landing.write_bytes(path, data)
        self.stats.events += frame.height
        self.stats.batches += 1
        self.stats.bytes += len(data)
        self.stats.published.append(path)
        if self.on_publish is not None:
            self.on_publish(path, frame)


class EventHubsSink:
    """Azure Event Hubs through ``azure-eventhub``: per-partition-key batches within the size limit, retried."""

    def __init__(
        self,
        client,
        *,
        max_seconds: float = 0.25,
        max_attempts: int = 5,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.client = client  # an azure.eventhub.EventHubProducerClient
        self.max_seconds = max_seconds
        self.max_attempts = max_attempts
        self.backoff_seconds = backoff_seconds
        self.sleep = sleep
        self.stats = SinkStats()
        self._pending: list[pl.DataFrame] = []
        self._since: float | None = None

    def send(self, events: pl.DataFrame) -> None:
        self._pending.append(events)
        if self._since is None:
            self._since = time.monotonic()
        if time.monotonic() - self._since >= self.max_seconds:
            self.flush()

    def flush(self) -> None:
        if not self._pending:
            return
        frame = pl.concat(self._pending, how="vertical")
        self._pending, self._since = [], None
        for key, part in frame.partition_by("partition_key", as_dict=True, maintain_order=True).items():
            self._send_key(key[0], part.get_column("body").to_list())

    def close(self) -> None:
        try:
            self.flush()
        finally:
            self.client.close()

    def _send_key(self, partition_key: str | None, bodies: list[str]) -> None:
        from azure.eventhub import EventData

        batch = self._new_batch(partition_key)
        for body in bodies:
            event = EventData(body)
            try:
                batch.add(event)
            except ValueError:
                # The batch reached the hub's maximum message size: send it and start another.
                if len(batch) == 0:
                    raise ValueError(
                        f"an event of {len(body.encode())} bytes (partition key {partition_key}) exceeds the hub's "
                        "maximum message size"
                    ) from None
                self._send_batch(batch)
                batch = self._new_batch(partition_key)
                batch.add(event)
        if len(batch):
            self._send_batch(batch)

    def _new_batch(self, partition_key: str | None):
        return self.client.create_batch(partition_key=partition_key) if partition_key else self.client.create_batch()

    def _send_batch(self, batch) -> None:
        """Send one batch; retry (backoff ``backoff_seconds`` × 2ⁿ) only a send the hub REJECTED.

        One retry layer per failure: azure-eventhub retries connection and link errors itself
        (``retry_total``, 3 by default, with its own backoff) but raises a rejected delivery
        (``EventDataSendError``: server busy, internal error) at once without retrying it (5.15.1:
        ``_handle_exception`` re-raises a ``MessageException``). Retrying every ``EventHubError`` here,
        as this sink once did, multiplied the two layers: up to 5 × 4 = 20 sends of one batch on a
        dead connection.
        """
        from azure.eventhub.exceptions import EventDataSendError

        def note(state: tenacity.RetryCallState) -> None:
            self.stats.retries += 1
            error = state.outcome.exception() if state.outcome else None
            log.warning(
                "Event Hubs rejected a send (%s); retry %d in %.1f s",
                type(error).__name__,
                state.attempt_number,
                state.upcoming_sleep,
            )

        for attempt in tenacity.Retrying(
            stop=tenacity.stop_after_attempt(self.max_attempts),
            wait=tenacity.wait_exponential(multiplier=self.backoff_seconds, exp_base=2, min=0, max=60),
            retry=tenacity.retry_if_exception_type(EventDataSendError),
            sleep=self.sleep,
            before_sleep=note,
            reraise=True,
        ):
            with attempt:
                self.client.send_batch(batch)
        self.stats.events += len(batch)
        self.stats.batches += 1
        self.stats.bytes += batch.size_in_bytes
