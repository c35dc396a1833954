"""Benchmark: the stream worker's cost of one small batch (Bronze, then hot Silver + minute Gold), in process.

    uv run python benchmarks/batch.py                        # 8 batches of 1,000 events on a month of 100k
    uv run python benchmarks/batch.py --batches 20 --events 1000 --month-events 200000 --profile 40

What a streamed event waits for between landing and ``gold/sales_minute_store`` (besides the
landing sink's flush and the worker's listing) is the batch: Bronze ingests the batch's files per
event type (on ``--threads`` threads, as the worker does), then ``apply_downstream`` appends the
hot Silver facts and refreshes the minute Gold windows. This times exactly those two calls for
``--batches`` batches of ``--events`` demo events (each continuing the simulated time where the
previous one ended, as a live stream does) against a month already holding ``--month-events``
events, and prints per-batch seconds (p50 / p95 / max), events/s and peak RSS. ``--profile N``
prints the N costliest functions (cumulative) of one extra batch, run on one thread.
"""

from __future__ import annotations

import argparse
import cProfile
import datetime as dt
import pstats
import resource
import statistics
import tempfile
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import dagster as dg

from retail_assets.defs.bronze import build_bronze_assets, files_by_event_type, ingest_files
from retail_assets.defs.silver import build_silver_assets
from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.output import write_dimensions
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.streaming.producer import produce
from retail_assets.lib.streaming.sinks import LandingSink
from retail_assets.lib.streaming.worker import apply_downstream

MONTH = dt.date(2024, 1, 1)


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _quantile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


class Bench:
    def __init__(self, root: Path, threads: int) -> None:
        self.landing = LandingZone(root_uri=str(root / "landing"))
        self.lake = LakeStore(root_uri=str(root / "lake"))
        self.landing.ensure_root()
        self.config = load_config("demo")
        self.clock = dt.datetime(2024, 1, 10, 12, tzinfo=dt.UTC)
        self.pool = ThreadPoolExecutor(threads)

    def setup(self) -> None:
        """Dimensions into Bronze and Silver (what the hot Silver facts resolve references against)."""
        write_dimensions(self.config, [MONTH], self.landing)
        assets = [*build_bronze_assets(), *build_silver_assets()]
        keys = [k for a in assets if a.partitions_def is None for k in a.keys]
        with dg.DagsterInstance.ephemeral() as instance:
            result = dg.materialize(
                assets,
                selection=keys,
                resources={"lake": self.lake, "landing": self.landing},
                instance=instance,
                run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            )
            assert result.success

    def land(self, name: str, events: int) -> tuple[int, list[str]]:
        """``events`` demo events through the landing sink; the files it wrote."""
        sink = LandingSink(self.landing, name=name)
        produced = produce(self.config, sink, rate=0, duration=3600, start=self.clock, max_events=events)
        sink.close()
        # The next batch continues after this one (the generator is deterministic: starting again inside the span
        # just landed would replay its events, every one an exact duplicate).
        self.clock = produced.simulated_to + dt.timedelta(seconds=1)
        files = sorted(p for p, _, _ in self.landing._list("events/") if f"/{name}-" in p)
        return produced.events, files

    def apply(self, files: list[str], *, threads: bool = True) -> tuple[float, float]:
        """Bronze, then Silver + Gold, as the stream worker applies a batch: seconds of each."""
        run = self.pool.map if threads else map
        started = time.perf_counter()
        by_type = files_by_event_type(files)
        list(run(lambda item: ingest_files(self.lake, self.landing, item[0], MONTH, item[1], {}), by_type.items()))
        bronze = time.perf_counter()
        downstream = apply_downstream(self.lake, MONTH, files, list(by_type), rebuild=False, map=run)
        done = time.perf_counter()
        if downstream.error:
            raise RuntimeError(f"downstream failed: {downstream.error}")
        return bronze - started, done - bronze


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batches", type=int, default=8, help="batches timed (default 8)")
    parser.add_argument("--events", type=int, default=1000, help="events per batch (default 1,000)")
    parser.add_argument("--month-events", type=int, default=100_000, help="events in the month before (default 100k)")
    parser.add_argument("--threads", type=int, default=4, help="threads for event types and tables (the worker: 4)")
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="cProfile one more batch, print N lines (threads off)"
    )
    args = parser.parse_args()
    warnings.filterwarnings("ignore")
    with tempfile.TemporaryDirectory(prefix="batch-bench-") as tmp:
        bench = Bench(Path(tmp), args.threads)
        bench.setup()
        events, files = bench.land("warm", args.month_events)
        started = time.perf_counter()
        bench.apply(files)
        print(f"month: {events} events in {len(files)} files, first applied in {time.perf_counter() - started:.1f} s")
        bench.apply(bench.land("first", args.events)[1])  # not timed: the first small batch warms caches
        bronze, downstream, totals, landed = [], [], [], 0
        for i in range(args.batches):
            events, files = bench.land(f"b{i:03d}", args.events)
            b, d = bench.apply(files)
            bronze.append(b)
            downstream.append(d)
            totals.append(b + d)
            landed += events
            print(f"batch {i}: {events} events, {len(files)} files: Bronze {b:.2f} s, Silver+Gold {d:.2f} s")
        print(f"\n{args.batches} batches of {args.events} events on a month of {args.month_events}:")
        for what, values in (("Bronze", bronze), ("Silver+Gold", downstream), ("total", totals)):
            print(
                f"  {what:<12} p50 {statistics.median(values):.2f} s  p95 {_quantile(values, 0.95):.2f} s  "
                f"max {max(values):.2f} s"
            )
        print(f"  {landed / sum(totals):,.0f} events/s; peak RSS {_rss_gb():.2f} GB")
        if args.profile:
            files = bench.land("profiled", args.events)[1]
            profile = cProfile.Profile()
            profile.enable()
            bench.apply(files, threads=False)  # cProfile sees one thread only
            profile.disable()
            pstats.Stats(profile).sort_stats("cumulative").print_stats(args.profile)


if __name__ == "__main__":
    main()
