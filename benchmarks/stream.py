"""Benchmark streaming: sustained ingest into Bronze, and event → Silver latency with the Dagster daemon.

    uv run python benchmarks/stream.py ingest --events 1000000        # sensor → runs → Bronze, in process
    uv run python benchmarks/stream.py latency --rate 2000 --seconds 120  # dagster dev running, p50/p95
    uv run python benchmarks/stream.py eventhubs --events 50000       # real client ↔ AMQP test double (loopback)

``ingest`` lands ``--events`` demo-profile events with the producer (as fast as it goes), then
drives the real landing sensor and executes each run it requests (in this process, on a
persistent instance, so run statuses acknowledge batches exactly as under the daemon) until the
sensor is idle; it prints events/s from the first tick to the last Bronze commit, sensor tick
times and peak RSS. ``latency`` starts ``dagster dev`` (webserver + daemon) on a temporary
instance, materializes the dimensions, streams receipts at ``--rate`` for ``--seconds`` and polls
``silver/fact_receipts`` (or ``--table``) for each receipt: latency = first seen − sent.
``eventhubs`` starts the Event Hubs AMQP test double (``retail_assets_tests/streaming/amqp_server.py``)
in its own process on loopback, sends ``--events`` demo-profile events through the platform's sink
(the real ``azure-eventhub`` producer) and reads them back with ``EventHubs.read_range`` (the real
consumer), partition by partition. It measures the client and the platform code against a local
in-memory double: **not** Event Hubs performance (no network, TLS, service or throttling).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import dagster as dg
import polars as pl
from dagster._core.storage.tags import RUN_KEY_TAG

REPO = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", category=dg.BetaWarning)


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def ingest(args) -> None:
    from retail_assets.defs.bronze import build_bronze_assets
    from retail_assets.defs.streaming import landing_events_sensor
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import LandingSink

    root = Path(tempfile.mkdtemp(prefix="retail-stream-"))
    try:
        landing, lake = LandingZone(root_uri=str(root / "landing")), LakeStore(root_uri=str(root / "lake"))
        landing.ensure_root()
        sink = LandingSink(landing, max_events=args.file_events, max_seconds=1.0)
        report = produce(load_config(args.profile), sink, rate=0, duration=3600, max_events=args.events,
                         start=dt.datetime(2024, 1, 10, tzinfo=dt.UTC))
        print(f"producer: {report.events:,} events in {report.seconds:.1f} s ({report.rate:,.0f}/s), "
              f"{sink.stats.batches} files, {sink.stats.bytes / 1e6:.0f} MB")
        assets = build_bronze_assets()
        resources = {"lake": lake, "landing": landing}
        ticks: list[float] = []
        cursor = None
        (root / "dagster").mkdir()
        with dg.instance_for_test(temp_dir=str(root / "dagster")) as instance:
            started = time.perf_counter()
            while True:
                t0 = time.perf_counter()
                result = landing_events_sensor(dg.build_sensor_context(cursor=cursor, resources={"landing": landing}, instance=instance))
                ticks.append(time.perf_counter() - t0)
                cursor = result.cursor
                if not result.run_requests:
                    break
                for request in result.run_requests:
                    run = dg.materialize(
                        assets,
                        selection=request.asset_selection,
                        partition_key=request.partition_key,
                        run_config=request.run_config,
                        tags={**request.tags, RUN_KEY_TAG: request.run_key},
                        resources=resources,
                        instance=instance,
                    )
                    assert run.success
            elapsed = time.perf_counter() - started
        from retail_assets.lib.specs import REGISTRY

        rows = sum(lake.read(f"bronze/{e.event_type}").height for e in REGISTRY.events if lake.exists(f"bronze/{e.event_type}"))
        print(f"ingest: {rows:,} Bronze rows in {elapsed:.1f} s = {rows / elapsed:,.0f} events/s "
              f"(sensor → {len(ticks) - 1} ticks of runs → Bronze); sensor tick p50 {statistics.median(ticks) * 1000:.0f} ms, "
              f"max {max(ticks) * 1000:.0f} ms; peak RSS {_rss_gb():.2f} GB")
    finally:
        shutil.rmtree(root, ignore_errors=True)


def latency(args) -> None:
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.output import write_dimensions
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import LandingSink

    root = Path(tempfile.mkdtemp(prefix="retail-latency-"))
    home = root / "dagster"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    (home / "dagster.yaml").write_text((home / "dagster.yaml").read_text().replace("data/dagster", str(home)))
    env = {**os.environ, "DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(root / "data"), "RETAIL_GENERATOR": "off",
           "RETAIL_PROFILE": args.profile}
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "RETAIL_DATA_DIR", "RETAIL_GENERATOR", "RETAIL_PROFILE")})
    config = load_config(args.profile)
    now = dt.datetime.now(dt.UTC)
    landing, lake = LandingZone(root_uri=str(root / "data" / "landing")), LakeStore(root_uri=str(root / "data" / "lake"))
    landing.ensure_root()
    write_dimensions(config, [now.date().replace(day=1)], landing)
    from retail_assets.definitions import defs

    definitions = defs()
    dims = [k for k in definitions.resolve_asset_graph().get_all_asset_keys() if k.path[0] in ("bronze", "silver") and k.path[1].startswith("dim_")]
    with dg.DagsterInstance.get() as instance:
        assert definitions.get_implicit_global_asset_job_def().execute_in_process(
            instance=instance, asset_selection=dims).success
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(args.port)],
        cwd=REPO, env=env, stdout=open(root / "dagster.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    sent: dict[str, float] = {}
    seen: dict[str, float] = {}
    stop = threading.Event()

    def poll() -> None:
        while not stop.is_set():
            if lake.exists(f"silver/{args.table}"):
                ids = lake.scan(f"silver/{args.table}").select("receipt_id").collect().get_column("receipt_id")
                at = time.time()
                for receipt in ids.to_list():
                    seen.setdefault(receipt, at)
            stop.wait(0.5)

    def on_chunk(events: pl.DataFrame, _clock: float) -> None:
        at = time.time()
        for trace in events.filter(pl.col("event_type") == "receipt_created").get_column("trace_id").to_list():
            sent[trace] = at

    try:
        time.sleep(args.warmup)
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        sink = LandingSink(landing, max_seconds=args.flush)
        report = produce(config, sink, rate=args.rate, duration=args.seconds, start=now, on_chunk=on_chunk)
        deadline = time.time() + args.drain
        while time.time() < deadline and len(seen.keys() & sent.keys()) < len(sent):
            time.sleep(1)
        stop.set()
        latencies = sorted(seen[k] - sent[k] for k in sent if k in seen)
        missing = len(sent) - len(latencies)
        print(f"producer: {report.events:,} events at {report.rate:,.0f}/s for {report.seconds:.0f} s; {len(sent):,} receipts")
        if latencies:
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            print(f"latency event sent → row in silver/{args.table} (dagster dev, daemon): p50 {p(0.5):.1f} s, "
                  f"p95 {p(0.95):.1f} s, max {latencies[-1]:.1f} s; {missing} receipts not seen within {args.drain} s")
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            print(f"runs: {len(runs)} ({sum(r.status.value == 'SUCCESS' for r in runs)} succeeded)")
    finally:
        stop.set()
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")


class TimedSink:
    """Wraps a sink and adds up the wall time spent in it (batching, encoding, sending)."""

    def __init__(self, sink):
        self.sink, self.seconds = sink, 0.0

    def _timed(self, method, *args):
        started = time.perf_counter()
        try:
            return method(*args)
        finally:
            self.seconds += time.perf_counter() - started

    def send(self, events) -> None:
        self._timed(self.sink.send, events)

    def flush(self) -> None:
        self._timed(self.sink.flush)

    def close(self) -> None:
        self._timed(self.sink.close)


def eventhubs(args) -> None:
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.streaming.eventhubs import EventHubs
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import EventHubsSink

    double = subprocess.Popen(
        [sys.executable, "-m", "retail_assets_tests.streaming.amqp_server", "--hub", "bench", "--partitions", str(args.partitions)],
        cwd=REPO, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    try:
        connection = double.stdout.readline().strip()
        hub = EventHubs(connection_string=connection, eventhub_name="bench", checkpoint_connection_string="unused")
        sink = TimedSink(EventHubsSink(hub.producer()))
        report = produce(load_config(args.profile), sink, rate=0, duration=3600, max_events=args.events,
                         start=dt.datetime(2024, 1, 10, tzinfo=dt.UTC))
        stats = sink.sink.stats
        print(f"LOOPBACK TEST DOUBLE, not Event Hubs: produce {report.events:,} events in {report.seconds:.1f} s = "
              f"{report.rate:,.0f} events/s with the simulation; in the sink {sink.seconds:.1f} s = "
              f"{stats.events / sink.seconds:,.0f} events/s (real producer, {stats.batches} batches of ≤ 1 MiB, "
              f"{stats.bytes / 1e6:.0f} MB)")
        started = time.perf_counter()
        state = hub.partition_state()
        read = sum(len(hub.read_range(p, first, last)) for p, (first, last, empty) in sorted(state.items()) if not empty)
        elapsed = time.perf_counter() - started
        print(f"LOOPBACK TEST DOUBLE, not Event Hubs: read_range {read:,} events from {len(state)} partitions in "
              f"{elapsed:.1f} s = {read / elapsed:,.0f} events/s (real consumer, one partition after another); "
              f"peak RSS {_rss_gb():.2f} GB")
    finally:
        double.stdin.close()
        double.wait(timeout=30)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="mode", required=True)
    a = sub.add_parser("ingest")
    a.add_argument("--events", type=int, default=1_000_000)
    a.add_argument("--profile", default="demo")
    a.add_argument("--file-events", type=int, default=50_000, help="Events per landing file at most.")
    b = sub.add_parser("latency")
    b.add_argument("--rate", type=float, default=2000)
    b.add_argument("--seconds", type=float, default=120)
    b.add_argument("--profile", default="demo")
    b.add_argument("--table", default="fact_receipts")
    b.add_argument("--flush", type=float, default=1.0)
    b.add_argument("--warmup", type=float, default=30, help="Seconds for dagster dev to start before streaming.")
    b.add_argument("--drain", type=float, default=90, help="Seconds to wait for the last receipts.")
    b.add_argument("--port", type=int, default=3071)
    b.add_argument("--keep", action="store_true")
    c = sub.add_parser("eventhubs")
    c.add_argument("--events", type=int, default=50_000)
    c.add_argument("--partitions", type=int, default=4)
    c.add_argument("--profile", default="demo")
    args = parser.parse_args()
    {"ingest": ingest, "latency": latency, "eventhubs": eventhubs}[args.mode](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
