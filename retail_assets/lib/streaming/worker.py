"""The stream worker's state and its unit of work: one month's batch of landing files, Bronze → Silver → Gold.

The worker (``defs/streaming.py``, job ``stream_worker``) is one long-lived Dagster run that
applies batches as they land, instead of one run per batch: a run costs ~10 s of process start,
code load and run bookkeeping before its first step, more than a live minute KPI can wait. Each
batch names exactly its files (the same ``FileCursor`` planning as the landing sensor), and:

1. Bronze ingests them (idempotent, one commit per event type; ``ingest_batch``);
2. only then is the batch acknowledged: its files join the cursor, saved in the Dagster instance;
3. the hot Silver facts append the batch's rows and the minute Gold tables refresh their windows
   (``lib/streaming/incremental.py``). A month whose Silver or Gold step failed is *stale*: it is
   rebuilt whole on a later batch (every ``STALE_RETRY_SECONDS`` at most) until that succeeds.

State (cursor + stale months) is JSON in the instance's key-value store, so a restarted worker
resumes where the last one acknowledged; replaying a batch changes nothing.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.checks import SpecValidationError
from retail_assets.lib.gold.pipeline import MissingGoldInput
from retail_assets.lib.silver.pipeline import MissingDimension
from retail_assets.lib.streaming.cursor import FileCursor
from retail_assets.lib.streaming.incremental import (
    HOT_SILVER,
    MINUTE_GOLD,
    GoldWindow,
    SilverAppend,
    append_silver,
    gold_reading,
    hot_tables,
    rebuild_silver,
    refresh_gold_window,
    union_window,
)

STATE_KEY = "retail_assets/stream_worker"
STALE_RETRY_SECONDS = 30.0
DOWNSTREAM_ERRORS = (SpecValidationError, MissingDimension, MissingGoldInput)


@dataclass
class WorkerState:
    cursor: FileCursor = field(default_factory=FileCursor)
    stale: dict[str, str] = field(default_factory=dict)  # month (ISO) -> why its hot Silver/Gold must be rebuilt
    # Minute Gold rows written but not yet copied to the serving DuckDB file: [table, month, start, end] (ISO;
    # start/end None = the whole month). Saved, so windows written just before a crash are still served.
    serving: list[list[str | None]] = field(default_factory=list)

    def to_json(self) -> str:
        return json.dumps(
            {"cursor": json.loads(self.cursor.to_json()), "stale": self.stale, "serving": self.serving}, sort_keys=True
        )

    @classmethod
    def from_json(cls, text: str | None) -> WorkerState:
        if not text:
            return cls()
        raw = json.loads(text)
        return cls(
            cursor=FileCursor.from_json(json.dumps(raw["cursor"])), stale=dict(raw.get("stale", {})),
            serving=[list(w) for w in raw.get("serving", [])],
        )

    def serve(self, windows: Sequence[GoldWindow]) -> None:
        """Remember minute Gold windows to copy into the serving file (a whole month once asked, its spans dropped)."""
        for w in windows:
            month = w.month.isoformat()
            whole = [w.name, month, None, None]
            if whole in self.serving:
                continue
            if w.window is None:
                self.serving = [s for s in self.serving if s[:2] != [w.name, month]] + [whole]
            else:
                item = [w.name, month, w.window[0].isoformat(), w.window[1].isoformat()]
                if item not in self.serving:
                    self.serving.append(item)

    def serving_windows(self) -> list[tuple[str, dt.date, tuple[dt.datetime, dt.datetime] | None]]:
        return [
            (t, dt.date.fromisoformat(m), None if a is None else (dt.datetime.fromisoformat(a), dt.datetime.fromisoformat(b)))
            for t, m, a, b in self.serving
        ]


def load_state(instance) -> WorkerState:
    return WorkerState.from_json(instance.run_storage.get_cursor_values({STATE_KEY}).get(STATE_KEY))


def save_state(instance, state: WorkerState) -> None:
    instance.run_storage.set_cursor_values({STATE_KEY: state.to_json()})


@dataclass
class Downstream:
    """What the hot Silver facts and minute Gold tables did with one month's batch."""

    month: dt.date
    silver: dict[str, SilverAppend] = field(default_factory=dict)
    gold: dict[str, GoldWindow] = field(default_factory=dict)
    error: str | None = None
    # The validation error behind ``error`` (nothing of that table was written), or None.
    exception: Exception | None = None
    # Why the minute Gold windows were not refreshed: a blocking check of the Silver rows just written failed.
    held: str | None = None
    seconds: float = 0.0


def apply_downstream(
    lake,
    month: dt.date,
    files: Sequence[str],
    event_types: Sequence[str],
    *,
    rebuild: bool,
    thresholds: AlertThresholds | None = None,
    commit_metadata: Mapping[str, str] | None = None,
    clock: Callable[[], float] = time.perf_counter,
    map: Callable = map,  # noqa: A002 - a thread pool's map runs the independent tables side by side
    silver_gate: Callable[[dict[str, SilverAppend]], str | None] | None = None,
) -> Downstream:
    """Append the batch to the hot Silver facts it touches and refresh the minute Gold windows they feed.

    ``rebuild``: the month was stale (an earlier batch failed downstream): rebuild every hot fact and
    minute table of the month instead. A validation error or missing input is returned, not raised:
    the batch is already durably in Bronze.

    ``silver_gate`` sees the Silver results before any Gold window is refreshed from them: a reason returned
    (a blocking check of the written rows failed) holds the month — no Gold is refreshed, ``held`` and
    ``error`` say why, and the month is rebuilt on later batches until its checks pass.
    """
    started = clock()
    out = Downstream(month)
    tables = list(HOT_SILVER) if rebuild else hot_tables(event_types)
    def silver(table: str) -> SilverAppend:
        if rebuild:
            return rebuild_silver(lake, table, month, "the month was stale", 0, commit_metadata)
        return append_silver(lake, table, month, files, commit_metadata=commit_metadata)

    def gold(item: tuple[str, tuple | None]) -> GoldWindow:
        name, window = item
        return refresh_gold_window(lake, name, month, window, thresholds=thresholds, commit_metadata=commit_metadata)

    try:
        out.silver = dict(zip(tables, map(silver, tables), strict=True))
        held = silver_gate(out.silver) if silver_gate is not None else None
        if held is not None:
            out.held = out.error = held
            out.seconds = clock() - started
            return out
        todo = []
        for name in MINUTE_GOLD:
            sources = [out.silver[t] for t in out.silver if name in gold_reading(t)]
            if not sources:
                continue
            whole = rebuild or any(s.mode == "rebuild" for s in sources)
            window = None if whole else union_window([s.window for s in sources])
            if whole or window is not None:
                todo.append((name, window))
        out.gold = dict(zip([n for n, _ in todo], map(gold, todo), strict=True))
    except Exception as exc:  # noqa: BLE001 - the batch is in Bronze whatever happens here: the month goes stale
        out.error = str(exc) if isinstance(exc, DOWNSTREAM_ERRORS) else f"{type(exc).__name__}: {exc}"
        out.exception = exc
    out.seconds = clock() - started
    return out
