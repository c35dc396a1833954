"""Write generated months to the landing zone: ``batch/<table>/<YYYY-MM>/generated.parquet``.

One file per table and month, always under the same name, so re-generating a month replaces its
files (atomically, through ``LandingZone.staged_file``) and never leaves stale parts behind.
Dimensions land as a full snapshot per month. The sales and store-day tables (``tables.DAY_PARTS``)
are encoded day by day as the days are simulated, so a month's sales are never held; the others are
encoded to Parquet (zstd) on a small thread pool while the next stage is simulated, the largest in
parts encoded into a staged file as they are built (``LandingZone.staged_file``: neither the table
nor its bytes are held whole), and a stage's simulated data is dropped once its tables are written.
Months can fan out over processes.
"""

from __future__ import annotations

import datetime as dt
import io
import multiprocessing
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, ThreadPoolExecutor
from contextlib import ExitStack
from dataclasses import dataclass, field
from functools import lru_cache, partial
from itertools import chain
from pathlib import Path

import polars as pl
import pyarrow.parquet as pq
from polars.io.plugins import register_io_source

from retail_assets.lib.generator import FACT_TABLES, memory
from retail_assets.lib.generator.calendar import dim_date
from retail_assets.lib.generator.config import GeneratorConfig
from retail_assets.lib.generator.simulate import STAGES, Simulation, simulate
from retail_assets.lib.generator.tables import DAY_PARTS, day_parts, month_tail, shape, table_parts
from retail_assets.lib.generator.world import world_for
from retail_assets.lib.landing import LandingZone, batch_prefix
from retail_assets.lib.specs import REGISTRY, polars_schema

FILE_NAME = "generated.parquet"
Progress = Callable[[str, int, int], None]


@dataclass
class MonthReport:
    """What was written for one month."""

    month: dt.date
    rows: dict[str, int] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    bytes: int = 0
    seconds: float = 0.0

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())


def landing_path(table: str, month: dt.date) -> str:
    return batch_prefix(table, month) + FILE_NAME


def parquet_bytes(frame: pl.DataFrame) -> bytes:
    buffer = io.BytesIO()
    frame.write_parquet(buffer, compression="zstd", compression_level=3, statistics=False)
    return buffer.getvalue()


def write_parquet_parts(parts: Iterable[pl.DataFrame], path: Path) -> int:
    """Write consecutive frames as one Parquet file at ``path``, encoded as they are built: only a few
    parts are held at once, never the whole table nor its encoded bytes. Returns the rows written.
    A single part is written as ``parquet_bytes`` writes it."""
    parts = iter(parts)
    first = next(parts)
    second = next(parts, None)
    if second is None:
        first.write_parquet(path, compression="zstd", compression_level=3, statistics=False)
        return first.height
    rows = [0]

    def source(with_columns, predicate, n_rows, batch_size) -> Iterator[pl.DataFrame]:
        for part in chain((first, second), parts):
            rows[0] += part.height
            yield part

    register_io_source(source, schema=first.schema).sink_parquet(
        path, compression="zstd", compression_level=3, statistics=False, maintain_order=True
    )
    return rows[0]


class _ParquetStream:
    """One table's Parquet file, fed frame by frame (a push writer: ``sink_parquet`` pulls from one
    source, but a simulated day feeds several tables at once) into a staged file of the landing zone,
    published on ``close`` and discarded on ``abort``. Frames are encoded as they come, so neither the
    table nor its bytes are ever held whole. Small frames (a day of a small table) are gathered up to
    ROW_GROUP_ROWS first: a row group per frame would make the file larger and slower to write."""

    ROW_GROUP_ROWS = 256 * 1024

    def __init__(self, landing: LandingZone, table: str, path: str):
        self.table, self.path = table, path
        self.stack = ExitStack()
        self.staged = self.stack.enter_context(landing.staged_file(path))
        self.writer: pq.ParquetWriter | None = None
        self.pending: list[pl.DataFrame] = []
        self.pending_rows = 0
        self.rows = 0

    def write(self, frame: pl.DataFrame) -> None:
        if frame.height:
            self.pending.append(frame)
            self.pending_rows += frame.height
        if self.pending_rows >= self.ROW_GROUP_ROWS:
            self._flush()

    def _flush(self) -> None:
        frame = pl.concat(self.pending) if self.pending else shape(self.table, pl.DataFrame())
        self.pending, self.pending_rows = [], 0
        data = frame.to_arrow()
        if self.writer is None:
            self.writer = pq.ParquetWriter(
                self.staged, data.schema, compression="zstd", compression_level=3, write_statistics=False
            )
        if frame.height or not self.rows:
            self.writer.write_table(data)
        self.rows += frame.height

    def close(self) -> tuple[str, int, int]:
        if self.pending or self.writer is None:  # the last rows, or the spec's columns of an empty table
            self._flush()
        self.writer.close()
        size = self.staged.stat().st_size
        self.stack.close()
        return self.path, self.rows, size

    def abort(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.stack.__exit__(RuntimeError, RuntimeError("month not generated"), None)


class _DayStreams:
    """The tables simulated day by day (``tables.DAY_PARTS``), written as the days are simulated: a
    month's sales are never held, only a couple of days waiting for the writer thread. Days are
    written in order on one thread, and each table's month tail (returns, online payments) after its
    last day, so the rows and their order are the month builders'."""

    BACKLOG_DAYS = 2

    def __init__(self, landing: LandingZone, month: dt.date, tables: Iterable[str]):
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="day-writer")
        self.streams = {t: _ParquetStream(landing, t, landing_path(t, month)) for t in tables}
        self.backlog: deque[Future] = deque()

    def day(self, sim: Simulation) -> None:
        """Queue one simulated day (simulate's on_day); waits while BACKLOG_DAYS are not yet written."""
        while len(self.backlog) >= self.BACKLOG_DAYS:
            self.backlog.popleft().result()
        self.backlog.append(self.pool.submit(self._write_day, sim))

    def _write_day(self, sim: Simulation) -> None:
        for table, stream in self.streams.items():
            for frame in day_parts(sim, table):
                stream.write(frame)

    def finish(self, sim: Simulation, table: str) -> Future:
        """Append ``table``'s month tail after its days and publish it (result: path, rows, bytes).
        The days written so far are waited for first: a day that failed must fail the month, not
        leave its table short."""
        while self.backlog:
            self.backlog.popleft().result()
        return self.pool.submit(self._finish, sim, table)

    def _finish(self, sim: Simulation, table: str) -> tuple[str, int, int]:
        stream = self.streams[table]
        for frame in month_tail(sim, table):
            stream.write(frame)
        published = stream.close()
        del self.streams[table]  # only once published: ``close`` discards what failed
        return published

    def close(self) -> None:
        """Stop the writer; tables not finished (the month failed) are discarded."""
        self.pool.shutdown(wait=True, cancel_futures=True)
        for stream in self.streams.values():
            stream.abort()
        self.streams.clear()


class _Publisher:
    """Builds, encodes and publishes frames on background threads while the caller keeps simulating.

    Polars and numpy release the GIL for their heavy work, so this uses the second core.
    """

    def __init__(self, landing: LandingZone, workers: int = 2):
        self.landing = landing
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="landing-writer")
        self.pending: list[Future] = []

    def submit(self, path: str, build: Callable[[], Iterable[pl.DataFrame]]) -> Future:
        """Write the frames ``build`` returns (consecutive parts of one table) as one file."""
        future = self.pool.submit(self._write, path, build)
        self.pending.append(future)
        return future

    def _write(self, path: str, build: Callable[[], Iterable[pl.DataFrame]]) -> tuple[str, int, int]:
        with self.landing.staged_file(path) as staged:
            rows = write_parquet_parts(build(), staged)
            size = staged.stat().st_size
        return path, rows, size

    def track(self, future: Future) -> Future:
        """Count a file written elsewhere (a day stream) among this month's, for ``wait``."""
        self.pending.append(future)
        return future

    def wait(self) -> list[tuple[str, int, int]]:
        done = [f.result() for f in self.pending]
        self.pending.clear()
        return done

    def close(self) -> None:
        self.pool.shutdown(wait=True, cancel_futures=True)


def write_month(
    config: GeneratorConfig,
    month: dt.date,
    landing: LandingZone,
    progress: Progress | None = None,
    tables: Sequence[str] = FACT_TABLES,
) -> MonthReport:
    """Simulate one month and land every fact table of it; tables are written as their stage completes."""
    memory.tune()
    started = time.perf_counter()
    month = month.replace(day=1)
    report = MonthReport(month)
    wanted = set(tables)
    publisher = _Publisher(landing)
    # The store-day and sales tables are written as the days are simulated (the month's sales are the
    # largest arrays of a month); the other tables when their stage is complete.
    days = _DayStreams(landing, month, [t for t in DAY_PARTS if t in wanted])

    def on_stage(stage: str, sim: Simulation) -> None:
        builds = []
        for table in STAGES[stage]:
            if table in wanted:
                report.files[table] = landing_path(table, month)
                if table in DAY_PARTS:
                    builds.append(publisher.track(days.finish(sim, table)))
                else:
                    builds.append(publisher.submit(report.files[table], partial(table_parts, sim, table)))
        _release_when_done(sim, stage, builds)

    try:
        simulate(config, month, progress, on_stage=on_stage, ledger_after_sales_released=True, on_day=days.day)
        for path, rows, size in publisher.wait():
            report.rows[next(t for t, p in report.files.items() if p == path)] = rows
            report.bytes += size
    finally:
        days.close()
        publisher.close()
    report.rows = {t: report.rows[t] for t in FACT_TABLES if t in report.rows}
    report.seconds = time.perf_counter() - started
    return report


def _release_when_done(sim: Simulation, stage: str, builds: list[Future]) -> None:
    """Free what only ``stage``'s tables read as soon as the last of them is built (failed or not)."""
    if not builds:
        sim.release(stage)
        memory.trim()
        return
    remaining = [len(builds)]
    lock = threading.Lock()

    def done(_: Future) -> None:
        with lock:
            remaining[0] -= 1
            last = remaining[0] == 0
        if last:
            sim.release(stage)
            memory.trim()

    for future in builds:
        future.add_done_callback(done)


def dimension_frames(config: GeneratorConfig, month: dt.date) -> Iterable[tuple[str, pl.DataFrame]]:
    """Every dimension as of ``month`` (stores and customers change month to month)."""
    world = world_for(config)
    month = month.replace(day=1)
    yield "dim_geographies", world.dim_geographies()
    yield "dim_distribution_centers", world.dim_distribution_centers()
    yield "dim_stores", world.dim_stores(month)
    yield "dim_trucks", world.dim_trucks()
    yield "dim_customers", world.dim_customers(month)
    yield "dim_products", world.dim_products()
    yield "dim_date", _dim_date()


@lru_cache(maxsize=1)
def _dim_date() -> pl.DataFrame:
    schema = polars_schema(REGISTRY.table("dim_date").columns)
    return dim_date().select([pl.col(n).cast(t) for n, t in schema.items()])


def _one_part(frame: pl.DataFrame) -> list[pl.DataFrame]:
    return [frame]


def write_dimensions(config: GeneratorConfig, months: Iterable[dt.date], landing: LandingZone) -> list[MonthReport]:
    """Land a full snapshot of every dimension for each month."""
    reports = []
    publisher = _Publisher(landing)
    try:
        for month in months:
            started = time.perf_counter()
            report = MonthReport(month.replace(day=1))
            for table, frame in dimension_frames(config, month):
                path = landing_path(table, month)
                report.rows[table] = frame.height
                report.files[table] = path
                publisher.submit(path, partial(_one_part, frame))
            report.bytes = sum(size for _, _, size in publisher.wait())
            report.seconds = time.perf_counter() - started
            reports.append(report)
    finally:
        publisher.close()
    return reports


def default_workers(config: GeneratorConfig, months: int) -> int:
    """Processes for ``months``: one per core for large profiles; small months are done faster in
    this process than a spawned process takes to start (~4 s of imports)."""
    if months <= 1 or config.stores * config.receipts_per_store_day < 6_000:
        return 1
    return min(months, os.cpu_count() or 1)


def _month_in_process(args: tuple[GeneratorConfig, dt.date, dict]) -> MonthReport:
    config, month, landing_fields = args
    return write_month(config, month, LandingZone(**landing_fields))


def write_months(
    config: GeneratorConfig,
    months: Sequence[dt.date],
    landing: LandingZone,
    *,
    workers: int = 1,
    progress: Progress | None = None,
    on_month: Callable[[MonthReport], None] | None = None,
) -> list[MonthReport]:
    """Generate and land several months; with ``workers`` > 1 months run in parallel processes.

    Months are independent, so the output is the same whatever the order or parallelism.
    Processes are spawned (never forked: polars is multi-threaded).
    """
    months = [m.replace(day=1) for m in months]
    if workers <= 1 or len(months) <= 1:
        reports = []
        for month in months:
            step = (lambda s, d, t, _m=month: progress(f"{_m:%Y-%m} {s}", d, t)) if progress else None
            report = write_month(config, month, landing, step)
            reports.append(report)
            if on_month:
                on_month(report)
        return reports
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=min(workers, len(months)), mp_context=context) as pool:
        reports = []
        # Resources do not pickle; each process rebuilds the landing zone from its settings.
        fields = {name: getattr(landing, name) for name in LandingZone.model_fields}
        for report in pool.map(_month_in_process, [(config, m, fields) for m in months]):
            reports.append(report)
            if on_month:
                on_month(report)
    return reports
