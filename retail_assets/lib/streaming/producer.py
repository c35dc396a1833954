"""The live event producer: the generator's simulation, replayed as events at a chosen rate.

A simulated clock starts at ``start`` (default: now) and advances window by window; each window's
facts come from ``generator.facts.facts_between`` (the same deterministic simulation as the batch
files), are encoded as events (``envelopes.py``) in business-time order, and are handed to the sink
in small chunks paced to ``rate`` events per second. The simulated clock therefore runs as fast as
the rate requires: at 20,000 events/s a demo-profile day passes in a few seconds. ``rate=0`` sends
as fast as the sink takes them.

The reference produced ~2 events/s (one outbox row per 500 ms tick), and its real-time fallback
made loosely consistent synthetic events; here every event is a simulated fact, so a receipt's
lines, payment, promotion and inventory movements agree to the cent.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Protocol

import polars as pl

from retail_assets.lib.generator.config import GeneratorConfig
from retail_assets.lib.generator.facts import facts_between
from retail_assets.lib.streaming.envelopes import encode_events


class Sink(Protocol):
    def send(self, events: pl.DataFrame) -> None: ...

    def flush(self) -> None: ...

    def close(self) -> None: ...


@dataclass
class ProducerReport:
    events: int = 0
    seconds: float = 0.0
    simulated_from: dt.datetime | None = None
    simulated_to: dt.datetime | None = None
    by_type: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.events / self.seconds if self.seconds else 0.0


MIN_WINDOW, MAX_WINDOW = dt.timedelta(minutes=1), dt.timedelta(days=1)


def event_windows(config: GeneratorConfig, start: dt.datetime, target_events: int, window: dt.timedelta = dt.timedelta(hours=1)):
    """Encoded events of consecutive simulated windows from ``start``: (window start, window end, events).

    Windows adapt towards ``target_events`` events each: every window costs a scan of the simulated
    month, so a fast producer reads long windows and a slow one short windows.
    """
    current = start
    while True:
        end = current + window
        events = encode_events(facts_between(config, current, end))
        yield current, end, events
        current = end
        if events.height < target_events // 2:
            window = min(window * 2, MAX_WINDOW)
        elif events.height > target_events * 2:
            window = max(window / 2, MIN_WINDOW)


def produce(
    config: GeneratorConfig,
    sink: Sink,
    *,
    rate: float,
    duration: float,
    start: dt.datetime | None = None,
    max_events: int | None = None,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    on_chunk: Callable[[pl.DataFrame, float], None] | None = None,
) -> ProducerReport:
    """Send events for ``duration`` wall seconds (or until ``max_events``) at ``rate`` events/s."""
    start = (start or dt.datetime.now(dt.UTC)).astimezone(dt.UTC)
    report = ProducerReport(simulated_from=start, simulated_to=start)
    # Chunks of 1/20 s keep pacing smooth without per-event overhead.
    chunk = max(1, int(rate / 20)) if rate > 0 else 5_000
    began = clock()
    try:
        # About two seconds of events per simulated window.
        target = int(rate * 2) if rate > 0 else 200_000
        for _, window_end, events in event_windows(config, start, max(target, 1_000)):
            offset = 0
            while offset < events.height:
                if clock() - began >= duration or (max_events is not None and report.events >= max_events):
                    return report
                size = chunk if max_events is None else min(chunk, max_events - report.events)
                part = events.slice(offset, size)
                offset += part.height
                if rate > 0:
                    due = began + (report.events + part.height) / rate
                    wait = due - clock()
                    if wait > 0:
                        sleep(wait)
                sink.send(part)
                if on_chunk is not None:
                    on_chunk(part, clock())
                report.events += part.height
                for event_type, n in part.group_by("event_type").len().iter_rows():
                    report.by_type[event_type] = report.by_type.get(event_type, 0) + n
                report.simulated_to = part.get_column("ingest_timestamp").max()
            report.simulated_to = window_end
            if clock() - began >= duration:
                return report
    finally:
        sink.close()
        report.seconds = clock() - began
    return report
