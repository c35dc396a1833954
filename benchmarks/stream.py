"""Benchmark streaming: sustained ingest into Bronze, and event → Gold minute KPI latency with the Dagster daemon.

    uv run python benchmarks/stream.py ingest --events 1000000        # sensor → runs → Bronze, in process
    uv run python benchmarks/stream.py latency --rate 1000 --seconds 60   # dagster dev running, p50/p95
    uv run python benchmarks/stream.py latency --rate 1000 --seconds 60 --demo-month  # with the month's batch data
    uv run python benchmarks/stream.py eventhubs --events 50000       # real client ↔ AMQP test double (loopback)

``ingest`` lands ``--events`` demo-profile events with the producer (as fast as it goes), then
drives the real landing sensor and executes each run it requests (in this process, on a
persistent instance, so run statuses acknowledge batches exactly as under the daemon) until the
sensor is idle; it prints events/s from the first tick to the last Bronze commit, sensor tick
times and peak RSS. ``latency`` starts ``dagster dev`` (webserver + daemon) on a temporary
instance, materializes the dimensions (with ``--demo-month`` also the demo generator's batch facts
of the current month up to today, through Bronze, Silver and Gold), streams at ``--rate`` for
``--seconds`` and polls ``gold/sales_minute_store`` (or ``--table``): a receipt's latency is from
the moment the producer handed it to the sink to the first poll whose row for its store and minute
counts it. It also prints the load average and, per streamed-batch run, the seconds of each stage.
``eventhubs`` starts the Event Hubs AMQP test double (``retail_assets/devtools/eventhubs_double.py``)
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

REPO = Path(__file__).resolve().parents[1]
RUN_KEY_TAG = "dagster/run_key"  # Dagster's documented tag name
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
        if args.stream_mode == "worker":
            _ingest_with_worker(args, root, landing, lake, resources)
            return
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
                        # Ingest into Bronze: the Bronze step of each run (the hot path's Silver and Gold
                        # steps are measured by ``latency``).
                        selection=[k for k in request.asset_selection if k.path[0] == "bronze"],
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


def _ingest_with_worker(args, root: Path, landing, lake, resources) -> None:
    """The landed events applied by the stream worker job (in process, on a persistent instance): Bronze, the hot
    Silver facts and the minute Gold tables, batch after batch, until idle."""
    from retail_assets.defs.bronze import build_bronze_assets
    from retail_assets.defs.gold import build_gold_assets
    from retail_assets.defs.silver import build_silver_assets
    from retail_assets.defs.streaming import stream_worker
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.output import write_dimensions
    from retail_assets.lib.specs import REGISTRY

    write_dimensions(load_config(args.profile), [dt.date(2024, 1, 1)], landing)
    assets = [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]
    (root / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(root / "dagster")) as instance:
        dims = [k for a in assets if a.partitions_def is None for k in a.keys if k.path[0] in ("bronze", "silver")]
        assert dg.materialize(assets, selection=dims, resources=resources, instance=instance).success
        config = {"ops": {"apply_landed_batches": {"config": {"idle_seconds": 0.5, "max_files": args.max_files}}}}
        started = time.perf_counter()
        assert stream_worker.execute_in_process(run_config=config, resources=resources, instance=instance).success
        elapsed = time.perf_counter() - started - 0.5
        stages = _worker_stages(instance)
    rows = sum(lake.read(f"bronze/{e.event_type}").height for e in REGISTRY.events if lake.exists(f"bronze/{e.event_type}"))
    bronze = sum(stages.get("bronze (per batch)", [0.0]))
    print(f"ingest (stream worker, in process): {rows:,} Bronze rows in {elapsed:.1f} s = {rows / elapsed:,.0f} events/s "
          f"through Bronze, the hot Silver facts and the minute Gold tables ({len(stages.get('bronze (per batch)', []))} "
          f"batches of ≤ {args.max_files} files); Bronze alone {bronze:.1f} s = {rows / bronze:,.0f} events/s; "
          f"peak RSS {_rss_gb():.2f} GB")


def _month_so_far(config, month: dt.date, cut: dt.datetime, landing) -> int:
    """Land the demo generator's batch facts of ``month`` before ``cut`` (the month's history up to today; the
    stream supplies the rest). Returns the rows landed."""
    import io

    from retail_assets.lib.generator import FACT_TABLES
    from retail_assets.lib.generator.output import landing_path, write_month
    from retail_assets.lib.specs import REGISTRY

    write_month(config, month, landing)
    rows = 0
    for table in FACT_TABLES:
        path = landing_path(table, month)
        frame = pl.read_parquet(io.BytesIO(landing.read_bytes(path)))
        name = REGISTRY.table(table).time_column
        dtype, column = frame.schema[name], pl.col(name)
        if dtype == pl.String:
            column = column.str.to_datetime(time_zone="UTC")
        elif getattr(dtype, "time_zone", None) is None:
            column = column.dt.replace_time_zone("UTC")
        frame = frame.filter(column < cut)
        buffer = io.BytesIO()
        frame.write_parquet(buffer)
        landing.write_bytes(path, buffer.getvalue())
        rows += frame.height
    return rows


def _stages(instance, landing) -> dict[str, list[float]]:
    """Seconds per stage of every finished streamed-batch run, from the instance's event log: sensor, run
    creation (planned events), queue, launch (process + code location load), Bronze, Silver, Gold."""
    from retail_assets.defs.bronze import EVENTS_OP

    modified = {path: at.timestamp() for path, _, at in landing._list("events/")}
    stages: dict[str, list[float]] = {}

    def add(name: str, seconds: float) -> None:
        stages.setdefault(name, []).append(seconds)

    for record in instance.get_run_records(filters=dg.RunsFilter(tags={"retail/source": "landing"})):
        run = record.dagster_run
        files = run.run_config["ops"][EVENTS_OP]["config"]["files"]
        steps = sorted(instance.get_run_step_stats(run.run_id), key=lambda s: s.start_time or 0)
        if not steps or record.start_time is None or record.end_time is None:
            continue
        add("file landed → run created (sensor tick)", record.create_timestamp.timestamp() - max(modified.get(f, 0) for f in files))
        kinds = (dg.DagsterEventType.RUN_ENQUEUED, dg.DagsterEventType.RUN_STARTING, dg.DagsterEventType.RUN_START)
        events = {
            e.event_log_entry.dagster_event.event_type: e.event_log_entry.timestamp
            for e in instance.get_records_for_run(run.run_id, of_type=set(kinds)).records
        }
        created = record.create_timestamp.timestamp()
        enqueued, launched, run_start = (events.get(k) for k in kinds)
        if None in (enqueued, launched, run_start):
            continue
        add("run created → enqueued (sensor daemon writes the planned materializations and checks)", enqueued - created)
        add("enqueued → launched (run queue)", launched - enqueued)
        add("launched → run started (process spawn, imports, code location load)", run_start - launched)
        add("run started → first step (executor, resources)", steps[0].start_time - run_start)
        add("landing files in the run", len(files))
        for layer in ("bronze", "silver", "gold"):
            mine = [s for s in steps if s.step_key.startswith(layer) and s.end_time]
            if mine:
                add(f"{layer} steps ({'one' if layer == 'bronze' else 'each in turn'})", sum(s.end_time - s.start_time for s in mine))
        add("gold/sales_minute_store written after run start", next(
            (s.end_time - record.start_time for s in steps if s.step_key == "gold__sales_minute_store" and s.end_time), float("nan")))
        add("last step → run end", record.end_time - max(s.end_time or 0 for s in steps))
        add("run total (created → end)", record.end_time - record.create_timestamp.timestamp())
    return stages


def _warm_up(config, landing, lake, month: dt.date, now: dt.datetime, args) -> float:
    """Land a few minutes of events from an hour ago (minutes the measurement ignores) and wait until the worker has
    applied them: it is then running, as it is while a stream flows. Returns that cold-start time."""
    from retail_assets.lib.generator.facts import facts_between
    from retail_assets.lib.streaming.envelopes import encode_events
    from retail_assets.lib.streaming.sinks import LandingSink

    start = max(now - dt.timedelta(hours=1), dt.datetime.combine(month, dt.time(), dt.UTC))
    events = encode_events(facts_between(config, start, start + dt.timedelta(minutes=5)))
    sink = LandingSink(landing, name="warmup")
    landed = time.time()
    sink.send(events)
    sink.close()
    from retail_assets.lib.streaming.worker import load_state

    files = {p for p, _, _ in landing._list("events/") if "/warmup-" in p}
    with dg.DagsterInstance.get() as instance:
        while time.time() - landed < 300:
            cursor = load_state(instance).cursor
            warmup = [f for f in landing._list("events/") if f[0] in files]
            if not cursor.unacknowledged(warmup):
                return time.time() - landed
            time.sleep(0.2)
    raise SystemExit("the stream worker did not apply the warm-up batch within 300 s; see the dagster dev log")


def _worker_stages(instance) -> dict[str, list[float]]:
    """Seconds per stage of every batch the stream worker applied, from its debug log lines."""
    import re

    stages: dict[str, list[float]] = {}
    pattern = re.compile(r"stream worker \S+: (\d+) files; (.*)")
    for record in instance.get_run_records(filters=dg.RunsFilter(job_name="stream_worker")):
        for entry in instance.all_logs(record.dagster_run.run_id):
            found = pattern.match(entry.user_message or "")
            if not found:
                continue
            stages.setdefault("landing files per batch", []).append(float(found.group(1)))
            for part in found.group(2).split(", "):
                name, seconds, _ = part.split(" ")
                stages.setdefault(f"{name} (per batch)", []).append(float(seconds))
    return stages


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
           "RETAIL_PROFILE": args.profile, "RETAIL_STREAM_MODE": args.stream_mode}
    os.environ.update({k: env[k] for k in ("DAGSTER_HOME", "RETAIL_DATA_DIR", "RETAIL_GENERATOR", "RETAIL_PROFILE",
                                           "RETAIL_STREAM_MODE")})
    config = load_config(args.profile)
    now = dt.datetime.now(dt.UTC)
    month = now.date().replace(day=1)
    landing, lake = LandingZone(root_uri=str(root / "data" / "landing")), LakeStore(root_uri=str(root / "data" / "lake"))
    landing.ensure_root()
    write_dimensions(config, [month], landing)
    from retail_assets.definitions import defs

    definitions = defs()
    graph = definitions.resolve_asset_graph()
    keys = graph.get_all_asset_keys()
    dims = [k for k in keys if k.path[0] in ("bronze", "silver") and k.path[1].startswith("dim_")]
    with dg.DagsterInstance.get() as instance:
        job = definitions.resolve_implicit_global_asset_job_def()
        assert job.execute_in_process(instance=instance, asset_selection=dims).success
        if args.demo_month:
            started = time.perf_counter()
            cut = dt.datetime.combine(now.date(), dt.time(), dt.UTC)
            rows = _month_so_far(config, month, cut, landing)
            monthly = [k for k in keys if k.path[0] in ("bronze", "silver", "gold") and graph.get(k).partitions_def is not None]
            assert job.execute_in_process(instance=instance, asset_selection=monthly, partition_key=month.isoformat()).success
            print(f"demo month {month:%Y-%m} up to {cut:%Y-%m-%d}: {rows:,} batch fact rows landed and built into Bronze, "
                  f"Silver and Gold in {time.perf_counter() - started:.0f} s")
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(args.port)],
        cwd=REPO, env=env, stdout=open(root / "dagster.log", "w"), stderr=subprocess.STDOUT, start_new_session=True,
    )
    # Receipts per (store, minute), in the order sent: the k-th receipt of a key is in Gold once the key's row
    # counts k receipts (Gold aggregates; a minute's receipts are produced and ingested in order).
    sent: dict[tuple[int, dt.datetime], list[float]] = {}
    reached: dict[tuple[int, dt.datetime], list[float]] = {}
    stop = threading.Event()
    table = f"gold/{args.table}"

    def poll() -> None:
        while not stop.is_set():
            if lake.exists(table):
                rows = (lake.scan(table, [month]).filter(pl.col("ts") >= now.replace(second=0, microsecond=0))
                        .select("store_id", "ts", "receipts").collect())
                at = time.time()
                for store, minute, count in rows.iter_rows():
                    levels = reached.setdefault((store, minute), [])
                    levels.extend([at] * (count - len(levels)))
            stop.wait(0.5)

    def on_chunk(events: pl.DataFrame, _clock: float) -> None:
        at = time.time()
        receipts = events.filter(pl.col("event_type") == "receipt_created").select(
            pl.col("body").str.json_path_match("$.payload.store_id").cast(pl.Int64),
            pl.col("ingest_timestamp").dt.truncate("1m"),
        )
        for store, minute in receipts.iter_rows():
            sent.setdefault((store, minute), []).append(at)

    try:
        time.sleep(args.warmup)
        cold = _warm_up(config, landing, lake, month, now, args) if args.stream_mode == "worker" else None
        load_before = os.getloadavg()
        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        sink = LandingSink(landing, max_seconds=args.flush)
        report = produce(config, sink, rate=args.rate, duration=args.seconds, start=now, on_chunk=on_chunk)
        total = sum(len(v) for v in sent.values())

        def seen() -> int:
            return sum(min(len(v), len(reached.get(k, []))) for k, v in sent.items())

        deadline = time.time() + args.drain
        while time.time() < deadline and seen() < total:
            time.sleep(1)
        stop.set()
        load_after = os.getloadavg()
        latencies = sorted(reached[k][i] - t for k, v in sent.items() for i, t in enumerate(v) if i < len(reached.get(k, [])))
        missing = total - len(latencies)
        print(f"producer: {report.events:,} events at {report.rate:,.0f}/s for {report.seconds:.0f} s; {total:,} receipts; "
              f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after (1 min)")
        if latencies:
            p = lambda q: latencies[min(len(latencies) - 1, int(q * len(latencies)))]  # noqa: E731
            if cold is not None:
                print(f"cold start (no worker running): a warm-up batch landed → applied by the worker after {cold:.1f} s "
                      "(sensor tick, run launch, process start, first batch)")
            print(f"latency event sent → counted in {table} (dagster dev, daemon, {args.stream_mode} mode"
                  f"{', demo month in the lake' if args.demo_month else ', streamed events only'}): p50 {p(0.5):.1f} s, "
                  f"p95 {p(0.95):.1f} s, max {latencies[-1]:.1f} s; {missing} receipts not seen within {args.drain} s")
        with dg.DagsterInstance.get() as instance:
            runs = instance.get_runs()
            streamed = [r for r in runs if r.tags.get("retail/source") == "landing"]
            print(f"runs: {len(runs)} ({sum(r.status.value == 'SUCCESS' for r in runs)} succeeded), "
                  f"{len(streamed)} streamed-batch runs, {len(runs) - len(streamed)} automation/other")
            stages = _stages(instance, landing) if args.stream_mode == "runs" else _worker_stages(instance)
            for name, values in stages.items():
                values = sorted(v for v in values if v == v)
                unit = "" if name.startswith("landing files") else " s"
                if values:
                    print(f"  {name}: median {statistics.median(values):.1f}{unit}, max {values[-1]:.1f}{unit} (n={len(values)})")
    finally:
        stop.set()
        from retail_assets.devtools.processes import stop_process_group

        stop_process_group(server)
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
        [sys.executable, "-m", "retail_assets.devtools.eventhubs_double", "--hub", "bench", "--partitions", str(args.partitions)],
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
    sub = parser.add_subparsers(dest="command", required=True)
    a = sub.add_parser("ingest")
    a.add_argument("--events", type=int, default=1_000_000)
    a.add_argument("--profile", default="demo")
    a.add_argument("--file-events", type=int, default=50_000, help="Events per landing file at most.")
    a.add_argument("--stream-mode", dest="stream_mode", choices=("worker", "runs"), default="worker",
                   help="The stream worker job (default) or the landing sensor's runs (Bronze only).")
    a.add_argument("--max-files", type=int, default=2000, help="Files per worker batch at most.")
    b = sub.add_parser("latency")
    b.add_argument("--rate", type=float, default=2000)
    b.add_argument("--seconds", type=float, default=120)
    b.add_argument("--profile", default="demo")
    b.add_argument("--table", default="sales_minute_store", help="Gold table with store_id, ts and receipts.")
    b.add_argument("--demo-month", action="store_true",
                   help="First land and build the demo generator's batch data of the current month up to today.")
    b.add_argument("--flush", type=float, default=1.0)
    b.add_argument("--warmup", type=float, default=30, help="Seconds for dagster dev to start before streaming.")
    b.add_argument("--drain", type=float, default=90, help="Seconds to wait for the last receipts.")
    b.add_argument("--port", type=int, default=3071)
    b.add_argument("--keep", action="store_true")
    b.add_argument("--stream-mode", dest="stream_mode", choices=("worker", "runs"), default="worker",
                   help="RETAIL_STREAM_MODE: the stream worker (default) or one run per batch.")
    c = sub.add_parser("eventhubs")
    c.add_argument("--events", type=int, default=50_000)
    c.add_argument("--partitions", type=int, default=4)
    c.add_argument("--profile", default="demo")
    args = parser.parse_args()
    {"ingest": ingest, "latency": latency, "eventhubs": eventhubs}[args.command](args)
    return 0


if __name__ == "__main__":
    sys.exit(main())
