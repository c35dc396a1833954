"""Incremental Silver and Gold for the streaming hot path: apply a batch of landing files, not the month.

A full month rebuild costs time proportional to the month (tens of seconds at reference size);
a streamed batch of a second's events must reach the minute KPIs in seconds. For the Silver facts a
minute-grain Gold table reads — each a row-by-row mapping of one event type, no step events — and
for those Gold tables:

- ``append_silver``: the Bronze rows of exactly the batch's files are mapped and checked by the same
  code as a month rebuild (``build_fact_month``), validated (schema parity, key unique and not null)
  and appended; their rejected rows replace the quarantine rows of those files. A row whose key the
  month already holds with the same content is an exact duplicate (dropped, counted — a replayed
  batch appends nothing). When the month holds the key with other content and that stored row is
  the month's batch row (the system of record, found in ``bronze/<fact>``), the batch is built
  again together with those batch rows, so each event is judged against its batch row exactly as
  a rebuild judges it (a duplicate when it agrees on what it carries, else quarantined as
  ``conflicts_with_batch``) and the month is still only appended to: a stream overlapping batch
  data never rebuilds the month for that. When the stored row is an earlier event (a conflict
  between events), or the key is already quarantined as a conflict, the month is rebuilt instead
  (``mode == "rebuild"``), so the outcome is what a rebuild gives.
- ``refresh_gold_window``: a minute-grain Gold table recomputes only the 15-minute-aligned window
  the appended rows fall in (each minute or 15-minute bucket depends only on its own Silver rows),
  replacing exactly that window of the month; a Gold month never built before is built whole.

Property (tested): any sequence of batches applied this way leaves Silver, its quarantine and the
Gold tables equal to a full rebuild of the month.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

import polars as pl

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.bronze import batch_predicate
from retail_assets.lib.checks import SCHEMA_PARITY, SpecValidationError
from retail_assets.lib.gold.builders import BUILDERS
from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.gold.pipeline import (
    GoldMonth,
    build_with_metrics,
    gold_path,
    materialize_gold_month,
    read_inputs,
)
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.gold.specs import GOLD_TABLES, gold_table
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.months import month_bounds_utc
from retail_assets.lib.silver.dedupe import content_columns, key_text
from retail_assets.lib.silver.facts import LOST_KEYS, FactMonth, build_fact_month
from retail_assets.lib.silver.pipeline import (
    WrittenMonth,
    fact_events,
    load_customer_devices,
    load_dimension_keys,
    materialize_fact_month,
    quarantine_table,
    read_bronze,
    silver_key,
    silver_table,
    stored_quarantine,
    unresolved_references,
    validate_output,
)
from retail_assets.lib.silver.rules import BATCH, CONFLICT, referenced_dimensions
from retail_assets.lib.silver.stream import UPDATE_EVENTS
from retail_assets.lib.specs import PARTITION_COLUMN, REGISTRY

# Gold tables at a grain finer than a day (what a live dashboard reads) and the Silver facts they read.
MINUTE_GOLD: tuple[str, ...] = tuple(t.name for t in GOLD_TABLES if t.refresh == "stream")
HOT_SILVER: tuple[str, ...] = tuple(sorted({i.table for t in MINUTE_GOLD for i in gold_table(t).inputs}))
# Gold windows are aligned to the coarsest minute grain (top_products_15m): a window always holds whole buckets.
WINDOW = dt.timedelta(minutes=15)
TIME_COLUMN = "event_ts"


def _row_local(table: str) -> bool:
    return not UPDATE_EVENTS.get(table) and len(fact_events(table)) >= 1


for _table in HOT_SILVER:  # an import-time guarantee, not a runtime surprise
    if not _row_local(_table):
        raise ValueError(f"silver/{_table} feeds a minute Gold table but is not a row-by-row event mapping")
for _name in MINUTE_GOLD:
    _spec = gold_table(_name)
    if _spec.kind == "snapshot" or any((i.first, i.last) != (0, 0) for i in _spec.inputs):
        raise ValueError(f"gold/{_name} reads more than its own month: it cannot be refreshed by window")


def gold_reading(silver: str) -> list[str]:
    """The minute-grain Gold tables that read ``silver``."""
    return [n for n in MINUTE_GOLD if any(i.table == silver for i in gold_table(n).inputs)]


def hot_tables(event_types: Sequence[str]) -> list[str]:
    """The hot Silver facts the events of ``event_types`` are mapped to."""
    return [t for t in HOT_SILVER if set(fact_events(t)) & set(event_types)]


@dataclass(frozen=True)
class SilverAppend:
    table: str
    month: dt.date
    mode: str  # "append" (only the batch's rows) or "rebuild" (the whole month, see the module docstring)
    reason: str  # why a rebuild was needed ("" for an append)
    build: FactMonth  # append: the batch's rows; rebuild: the month's
    appended: pl.DataFrame  # rows added to Silver (append mode); the month's rows (rebuild; none if built in shards)
    duplicates_of_stored: int  # batch rows whose key and content Silver already held
    bronze_rows: int  # Bronze rows of the batch's files this table takes
    version: int | None
    unresolved: dict[str, int]
    window: tuple[dt.datetime, dt.datetime] | None  # 15-minute-aligned span of the appended rows (append mode)
    quarantine_codes: pl.DataFrame  # reason_code of every quarantined row of the month, read back after the write
    written: WrittenMonth | None = None  # rebuild mode

    @property
    def quarantined(self) -> int:
        return self.build.quarantine.height

    @property
    def reconciles(self) -> bool:
        if self.written is not None:
            w = self.written
            return w.bronze_rows == w.silver_rows + w.quarantined_rows + self.build.duplicates_dropped
        return self.bronze_rows == (
            self.appended.height + self.quarantined + self.build.duplicates_dropped + self.duplicates_of_stored
        )


def aligned_window(times: pl.Series, month: dt.date) -> tuple[dt.datetime, dt.datetime] | None:
    """[first bucket start, last bucket end) of ``times`` in 15-minute buckets, within the month."""
    times = times.drop_nulls()
    if times.is_empty():
        return None
    low, high = month_bounds_utc(month)
    first = times.min().replace(tzinfo=dt.UTC) if times.min().tzinfo is None else times.min()
    last = times.max().replace(tzinfo=dt.UTC) if times.max().tzinfo is None else times.max()
    start = low + (first - low) // WINDOW * WINDOW
    end = low + ((last - low) // WINDOW + 1) * WINDOW
    return max(start, low), min(end, high)


def _batch_events(lake: LakeStore, table: str, month: dt.date, files: Sequence[str]) -> dict[str, pl.LazyFrame]:
    events = {}
    for event_type in fact_events(table):
        frame = read_bronze(lake, event_type, table=table, month=month)
        if frame is not None:
            events[event_type] = frame.filter(pl.col("_source_file").is_in(list(files)))
    return events


def _stored_conflicts(lake: LakeStore, table: str, month: dt.date, rows: pl.DataFrame) -> int:
    """How many keys of ``rows`` the month's quarantine holds as conflicts (a new version joins that conflict)."""
    target = quarantine_table(table)
    if not rows.height or not lake.exists(target):
        return 0
    keys = rows.select(key_text(silver_key(table)).alias("value"))
    return (
        lake.scan(target, [month])
        .filter(pl.col("reason_code") == CONFLICT)
        .select("value")
        .join(keys.lazy(), on="value", how="semi")
        .select(pl.len())
        .collect()
        .item()
    )


def rebuild_silver(
    lake: LakeStore, table: str, month: dt.date, reason: str, bronze_rows: int, commit_metadata: Mapping[str, str] | None
) -> SilverAppend:
    written = materialize_fact_month(lake, table, month, commit_metadata=commit_metadata)
    return SilverAppend(
        table=table,
        month=month,
        mode="rebuild",
        reason=reason,
        build=written.build,
        appended=written.build.rows,
        duplicates_of_stored=0,
        bronze_rows=bronze_rows,
        version=written.version,
        unresolved=written.unresolved,
        window=None,
        quarantine_codes=written.quarantine_codes,
        written=written,
    )


def append_silver(
    lake: LakeStore,
    table: str,
    month: dt.date,
    files: Sequence[str],
    *,
    at: dt.datetime | None = None,
    commit_metadata: Mapping[str, str] | None = None,
) -> SilverAppend:
    """Apply the Bronze rows of ``files`` to one month of ``silver/<table>`` (a hot fact), or rebuild the month."""
    if table not in HOT_SILVER:
        raise ValueError(f"silver/{table} is not appended incrementally; known: {list(HOT_SILVER)}")
    at = at or dt.datetime.now(dt.UTC)
    spec = REGISTRY.table(table)
    dims = load_dimension_keys(lake, referenced_dimensions(spec), needed_by=table)
    devices = load_customer_devices(lake) if table == "fact_ble_pings" else None
    events = _batch_events(lake, table, month, files)
    build = build_fact_month(table, month, batch=None, events=events, dims=dims, devices=devices, quarantined_at=at)
    bronze_rows = build.bronze_rows
    if not lake.exists(silver_table(table)) or not lake.scan(silver_table(table), [month]).select(pl.len()).collect().item():
        return rebuild_silver(lake, table, month, "the month was not built yet", bronze_rows, commit_metadata)
    if build.duplicates_dropped or build.quarantined_by_reason.get(CONFLICT):
        # Repeated keys inside the batch: let the month's deduplication see them with everything else.
        return rebuild_silver(lake, table, month, "the batch repeats keys", bronze_rows, commit_metadata)
    validate_output(build.rows, table, month)
    key, content = silver_key(table), content_columns(spec)
    stored = build.rows.clear().select(content)
    if build.rows.height:
        # Only the month's rows that could hold a batch key are read: the filter on the key's first column goes into
        # the Delta scan (file statistics, then the parquet reader), the semi-join then matches whole keys.
        stored = (
            lake.scan(silver_table(table), [month])
            .filter(pl.col(key[0]).is_in(build.rows.get_column(key[0]).unique().implode()))
            .join(build.rows.lazy().select(key), on=key, how="semi")
            .select(content)
            .collect()
        )
        changed = stored.join(build.rows.select(content), on=content, how="anti", nulls_equal=True)
        if changed.height:
            record = _stored_batch_rows(lake, table, month, changed, key, content)
            # The batch again, with the batch rows of those keys: each event is judged against its batch row.
            rejudged = (
                _without_batch_rows(
                    build_fact_month(table, month, batch=record, events=events, dims=dims, devices=devices, quarantined_at=at),
                    changed,
                    key,
                    content,
                )
                if record is not None
                else None
            )
            if rejudged is None:
                reason = f"{changed.height} stored keys arrive with new content and the stored rows are not the batch's"
                return rebuild_silver(lake, table, month, reason, bronze_rows, commit_metadata)
            build = rejudged
        if _stored_conflicts(lake, table, month, build.rows):
            return rebuild_silver(lake, table, month, "a key of the batch is quarantined as a conflict", bronze_rows, commit_metadata)
    rows = build.rows.join(stored.select(key), on=key, how="anti")
    duplicates = build.rows.height - rows.height
    version = lake.version(silver_table(table))
    if rows.height:
        version = lake.append(silver_table(table), rows, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata).version
    _replace_batch_quarantine(lake, table, month, files, build.quarantine, commit_metadata)
    return SilverAppend(
        table=table,
        month=month,
        mode="append",
        reason="",
        build=build,
        appended=rows,
        duplicates_of_stored=duplicates,
        bronze_rows=bronze_rows,
        version=version,
        unresolved=unresolved_references(rows, table, dims, month),
        window=aligned_window(rows.get_column(TIME_COLUMN), month),
        quarantine_codes=stored_quarantine(lake, table, month),
    )


def _stored_batch_rows(
    lake: LakeStore, table: str, month: dt.date, changed: pl.DataFrame, key: list[str], content: list[str]
) -> pl.LazyFrame | None:
    """The month's ``bronze/<table>`` row equal to each stored Silver row of ``changed`` (one per key), or None
    when a stored row is not a batch row (it came from an earlier event).

    Only read when the batch brings a stored key with other content, so plain streaming never pays for it.
    """
    source = read_bronze(lake, table, table=table, month=month)
    if source is None:
        return None
    found = (
        source.join(changed.lazy().select(key), on=key, how="semi")
        .join(changed.lazy(), on=content, how="semi", nulls_equal=True)
        .unique(subset=content, keep="first", maintain_order=True)
        .collect()
    )
    return found.lazy() if found.height == changed.height else None


def _without_batch_rows(rejudged: FactMonth, record: pl.DataFrame, key: list[str], content: list[str]) -> FactMonth | None:
    """The batch's own part of a build that also took the batch rows ``record`` (already in Silver), or None when
    one of those rows was not kept as it is stored (a rebuild would not keep it either)."""
    kept = rejudged.rows.join(record, on=content, how="semi", nulls_equal=True)
    if kept.height != record.height or rejudged.quarantined_by_reason.get(CONFLICT):
        return None
    return replace(
        rejudged,
        rows=rejudged.rows.join(record.select(key), on=key, how="anti"),
        rows_in={k: v for k, v in rejudged.rows_in.items() if k != BATCH},
        rows_out={k: v for k, v in rejudged.rows_out.items() if k != BATCH},
        batch_keys=0,
        lost_batch_keys=LOST_KEYS.clear(),
    )


def _replace_batch_quarantine(
    lake: LakeStore, table: str, month: dt.date, files: Sequence[str], rows: pl.DataFrame, meta: Mapping[str, str] | None
) -> None:
    target = quarantine_table(table)
    predicate = batch_predicate(month, sorted(files), "source_file")
    if rows.height:
        lake.replace(target, rows, predicate=predicate, partition_by=[PARTITION_COLUMN], commit_metadata=meta)
    elif lake.exists(target):
        stored = lake.scan(target, [month]).filter(pl.col("source_file").is_in(list(files))).select(pl.len()).collect().item()
        if stored:
            lake.delete(target, predicate, commit_metadata=meta)


@dataclass(frozen=True)
class GoldWindow:
    name: str
    month: dt.date
    mode: str  # "window" or "month"
    window: tuple[dt.datetime, dt.datetime] | None
    rows: pl.DataFrame  # the rows written (the window's, or the month's)
    stored: pl.LazyFrame  # the same span read back from the lake after the write (what the checks evaluate)
    version: int | None
    balances: list[Balance]
    inputs: GoldInputs
    extra: dict[str, int] = field(default_factory=dict)
    month_build: GoldMonth | None = None


def _restricted(inputs: GoldInputs, start: dt.datetime, end: dt.datetime) -> GoldInputs:
    """The inputs' rows in [start, end), read once into memory: a window is minutes of rows, and the build and
    the reconciliation query them several times (each lazy Delta scan would list and read the month's files)."""
    span = (pl.col(TIME_COLUMN) >= start) & (pl.col(TIME_COLUMN) < end)
    return GoldInputs(
        month=inputs.month,
        facts={name: frame.filter(span).collect().lazy() for name, frame in inputs.facts.items()},
        previous=inputs.previous,
        thresholds=inputs.thresholds,
    )


def refresh_gold_window(
    lake: LakeStore,
    name: str,
    month: dt.date,
    window: tuple[dt.datetime, dt.datetime] | None,
    *,
    thresholds: AlertThresholds | None = None,
    commit_metadata: Mapping[str, str] | None = None,
) -> GoldWindow:
    """Recompute ``window`` of one month of a minute-grain Gold table (the whole month when ``window`` is None
    or the month was never built), validated before writing, reconciled on what was written."""
    if name not in MINUTE_GOLD:
        raise ValueError(f"gold/{name} is not refreshed by window; known: {list(MINUTE_GOLD)}")
    table = gold_table(name)
    path = gold_path(name)
    built = lake.exists(path) and lake.scan(path, [month]).select(pl.len()).collect().item() > 0
    if window is None or not built:
        whole = materialize_gold_month(lake, name, month, thresholds=thresholds, commit_metadata=commit_metadata)
        return GoldWindow(
            name, month, "month", None, whole.rows, whole.stored, whole.version, whole.balances, whole.inputs, whole.extra,
            whole,
        )
    start, end = window
    if (start - month_bounds_utc(month)[0]) % WINDOW or (end - month_bounds_utc(month)[0]) % WINDOW:
        raise ValueError(f"gold/{name} {month:%Y-%m}: window {start}..{end} is not aligned to {WINDOW}")
    inputs = _restricted(read_inputs(lake, table, month, thresholds=thresholds), start, end)
    rows, extra = build_with_metrics(inputs, table)
    column = table.time_column
    outside = rows.filter((pl.col(column) < start) | (pl.col(column) >= end)).height
    if outside:
        raise SpecValidationError(
            f"gold/{name} {month:%Y-%m}: {outside} rows fall outside the window {start:%Y-%m-%d %H:%M}..{end:%H:%M}; "
            "nothing was written",
            layer="gold",
            table=name,
            partition=month.isoformat(),
            check=SCHEMA_PARITY,  # rows that do not belong to the window do not match the spec for it
            rows_outside=outside,
        )
    predicate = (
        f"{PARTITION_COLUMN} = '{month.isoformat()}' AND {column} >= '{start.isoformat()}' AND {column} < '{end.isoformat()}'"
    )
    if rows.height:
        version = lake.replace(path, rows, predicate=predicate, partition_by=[PARTITION_COLUMN], commit_metadata=commit_metadata).version
    else:
        lake.delete(path, predicate, commit_metadata=commit_metadata)
        version = lake.version(path)
    written = lake.scan(path, [month]).filter((pl.col(column) >= start) & (pl.col(column) < end)).collect().lazy()
    balances = BUILDERS[name].reconcile(inputs, written)
    return GoldWindow(name, month, "window", window, rows, written, version, balances, inputs, extra)


def union_window(
    windows: Sequence[tuple[dt.datetime, dt.datetime] | None],
) -> tuple[dt.datetime, dt.datetime] | None:
    """The span covering every window (None when there is none)."""
    found = [w for w in windows if w is not None]
    if not found:
        return None
    return min(w[0] for w in found), max(w[1] for w in found)
