"""Soak: `dagster dev` + a stream for a long while, the stream worker's process killed every few minutes.

    uv run python benchmarks/soak.py                                  # 1,000 events/s for 60 min, kill every 10 min
    uv run python benchmarks/soak.py --minutes 20 --kill-every 300    # shorter

What it does: a temporary instance (this repository's ``dagster.yaml``) and lake, the demo profile's dimensions,
``dagster dev`` (webserver + daemon: the stream worker sensor, the dead-run reaper, automation) started in its own
process group; the producer streams at ``--rate`` into the landing zone for ``--minutes``; every ``--kill-every``
seconds the process of the running ``stream_worker`` run (its ``retail/worker`` tag names it) gets SIGKILL. After
the stream it waits (``--drain``) until Bronze, Silver and Gold hold what was produced, then prints:

- events produced / in Bronze (distinct trace ids over the 18 event tables) / duplicated (rows − distinct) / lost
  (produced − distinct); receipts produced / in ``silver/fact_receipts`` / in ``gold/sales_minute_store``;
- per window (``--window``, 10 min): receipts sent, p50/p95/max seconds from the producer handing a receipt to the
  sink to the first poll (every 0.5 s) whose ``gold/sales_minute_store`` row counts it — over all receipts and
  without the minute after each kill —, peak RSS of the ``dagster dev`` process tree and of the worker process,
  median/max per-batch planning time (listing + plan, from the worker's debug log), batches and worker runs.

Targets (issue 14): 0 lost, 0 duplicated, p95 ≤ 15 s outside the minute after each kill, memory and batch time flat.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import warnings
from collections import defaultdict
from pathlib import Path

import dagster as dg
import polars as pl
import psutil

REPO = Path(__file__).resolve().parents[1]
warnings.filterwarnings("ignore", category=dg.BetaWarning)
TIMINGS = re.compile(r"stream worker \S+: (\d+) files; (.*)")


def _tree_rss(pid: int) -> tuple[float, dict[int, float]]:
    """RSS (GB) of a process and its descendants, and per pid."""
    try:
        root = psutil.Process(pid)
        procs = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return 0.0, {}
    per = {}
    for p in procs:
        try:
            per[p.pid] = p.memory_info().rss / 1e9
        except psutil.NoSuchProcess:
            pass
    return sum(per.values()), per


def _worker_pid(instance: dg.DagsterInstance) -> int | None:
    from retail_assets.lib.liveness import WORKER_TAG, Worker

    runs = instance.get_runs(filters=dg.RunsFilter(job_name="stream_worker", statuses=[dg.DagsterRunStatus.STARTED]), limit=1)
    if not runs or WORKER_TAG not in runs[0].tags:
        return None
    return Worker.from_tag(runs[0].tags[WORKER_TAG]).pid


def _percentile(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=1000)
    parser.add_argument("--minutes", type=float, default=60)
    parser.add_argument("--kill-every", type=float, default=600, help="Seconds between two kills of the worker (0: never).")
    parser.add_argument("--window", type=float, default=600, help="Seconds per reporting window.")
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--flush", type=float, default=1.0, help="Landing sink flush interval (s).")
    parser.add_argument("--drain", type=float, default=180, help="Seconds to wait for the last events after the stream.")
    parser.add_argument("--warmup", type=float, default=30, help="Seconds for dagster dev to start before streaming.")
    parser.add_argument("--port", type=int, default=3072)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()

    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.output import write_dimensions
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.specs import REGISTRY
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import LandingSink
    from retail_assets.devtools.processes import stop_process_group

    root = Path(tempfile.mkdtemp(prefix="retail-soak-"))
    home = root / "dagster"
    home.mkdir()
    (home / "dagster.yaml").write_text((REPO / "dagster.yaml").read_text().replace("data/dagster", str(home)))
    env = {"DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(root / "data"), "RETAIL_GENERATOR": "off",
           "RETAIL_PROFILE": args.profile, "RETAIL_STREAM_MODE": "worker"}
    os.environ.update(env)
    config = load_config(args.profile)
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    month = now.date().replace(day=1)
    landing, lake = LandingZone(root_uri=str(root / "data" / "landing")), LakeStore(root_uri=str(root / "data" / "lake"))
    landing.ensure_root()
    write_dimensions(config, [month], landing)
    from retail_assets.definitions import defs

    definitions = defs()
    dims = [k for k in definitions.resolve_asset_graph().get_all_asset_keys()
            if k.path[0] in ("bronze", "silver") and k.path[1].startswith("dim_")]
    with dg.DagsterInstance.get() as instance:
        assert definitions.resolve_implicit_global_asset_job_def().execute_in_process(instance=instance, asset_selection=dims).success
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(args.port)],
        cwd=REPO, env={**os.environ}, stdout=open(root / "dagster.log", "w"), stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    produced: dict[str, int] = defaultdict(int)
    sent: dict[tuple[int, dt.datetime], list[float]] = {}
    reached: dict[tuple[int, dt.datetime], list[float]] = {}
    kills: list[float] = []
    rss: list[tuple[float, float, float]] = []  # (time, tree GB, worker GB)
    stop = threading.Event()
    first_minute = now.replace(second=0)

    def poll() -> None:
        while not stop.is_set():
            try:
                if lake.exists("gold/sales_minute_store"):
                    rows = (lake.scan("gold/sales_minute_store", [month]).filter(pl.col("ts") >= first_minute)
                            .select("store_id", "ts", "receipts").collect())
                    at = time.time()
                    for store, minute, count in rows.iter_rows():
                        levels = reached.setdefault((store, minute), [])
                        levels.extend([at] * (count - len(levels)))
            except Exception as exc:  # noqa: BLE001 - a read racing a commit: next poll
                print(f"poll: {type(exc).__name__}: {exc}", file=sys.stderr)
            stop.wait(0.5)

    def watch(instance: dg.DagsterInstance) -> None:
        started = time.time()
        next_kill = started + args.kill_every if args.kill_every else float("inf")
        while not stop.is_set():
            worker = _worker_pid(instance)
            tree, per = _tree_rss(server.pid)
            rss.append((time.time(), tree, per.get(worker, 0.0) if worker else 0.0))
            if time.time() >= next_kill and worker:
                try:
                    os.kill(worker, signal.SIGKILL)
                    kills.append(time.time())
                    print(f"{time.time() - started:7.0f} s: killed the stream worker (pid {worker})", flush=True)
                except ProcessLookupError:
                    pass
                next_kill += args.kill_every
            stop.wait(2.0)

    def on_chunk(events: pl.DataFrame, _clock: float) -> None:
        at = time.time()
        for event_type, n in events.group_by("event_type").len().iter_rows():
            produced[event_type] += n
        receipts = events.filter(pl.col("event_type") == "receipt_created").select(
            pl.col("body").str.json_path_match("$.payload.store_id").cast(pl.Int64),
            pl.col("ingest_timestamp").dt.truncate("1m"),
        )
        for store, minute in receipts.iter_rows():
            sent.setdefault((store, minute), []).append(at)

    instance = dg.DagsterInstance.get()
    try:
        time.sleep(args.warmup)
        threads = [threading.Thread(target=poll, daemon=True), threading.Thread(target=watch, args=(instance,), daemon=True)]
        for t in threads:
            t.start()
        began = time.time()
        sink = LandingSink(landing, max_seconds=args.flush)
        report = produce(config, sink, rate=args.rate, duration=args.minutes * 60, start=now, on_chunk=on_chunk)
        ended = time.time()
        total_receipts = sum(len(v) for v in sent.values())

        def seen() -> int:
            return sum(min(len(v), len(reached.get(k, []))) for k, v in sent.items())

        deadline = time.time() + args.drain
        while time.time() < deadline and seen() < total_receipts:
            time.sleep(2)
        # Bronze and Silver may finish a little after Gold's receipts: give the last batch its report.
        time.sleep(5)
        stop.set()

        bronze_rows = bronze_distinct = 0
        for spec in REGISTRY.events:
            table = f"bronze/{spec.table_name}"
            if lake.exists(table):
                ids = lake.scan(table, [month]).select("trace_id").collect()
                bronze_rows += ids.height
                bronze_distinct += ids.get_column("trace_id").n_unique()
        events = sum(produced.values())
        silver = lake.scan("silver/fact_receipts", [month]).filter(pl.col("event_ts") >= now).select(pl.len()).collect().item() \
            if lake.exists("silver/fact_receipts") else 0
        print(f"\nsoak: {args.rate:,.0f} events/s for {args.minutes:.0f} min ({report.events:,} events in "
              f"{report.seconds:.0f} s), worker killed {len(kills)} times, load average now {os.getloadavg()[0]:.1f}")
        print(f"events produced {events:,}; in Bronze {bronze_distinct:,} (rows {bronze_rows:,}); duplicated "
              f"{bronze_rows - bronze_distinct:,}; lost {events - bronze_distinct:,}")
        print(f"receipts produced {produced.get('receipt_created', 0):,}; in silver/fact_receipts {silver:,}; "
              f"counted in gold/sales_minute_store {seen():,} of {total_receipts:,}")

        after_kill = lambda t: any(k <= t < k + 60 for k in kills)  # noqa: E731
        planning: dict[int, list[float]] = defaultdict(list)
        batches: dict[int, int] = defaultdict(int)
        worker_runs = instance.get_run_records(filters=dg.RunsFilter(job_name="stream_worker"))
        for record in worker_runs:
            for entry in instance.all_logs(record.dagster_run.run_id):
                found = TIMINGS.match(entry.user_message or "")
                if not found:
                    continue
                window = int((entry.timestamp - began) // args.window)
                batches[window] += 1
                parts = dict(p.rsplit(" ", 2)[:2] for p in found.group(2).split(", "))
                if "planning" in parts:
                    planning[window].append(float(parts["planning"]))
        windows = int((ended - began) // args.window) + 1
        print(f"\n{'window':>14} | {'receipts':>8} | {'p50 s':>6} | {'p95 s':>6} | {'max s':>6} | {'p95 excl. kill min':>18} | "
              f"{'peak RSS tree GB':>16} | {'worker GB':>9} | {'plan ms med/max':>15} | {'batches':>7}")
        for w in range(windows):
            lo, hi = began + w * args.window, began + (w + 1) * args.window
            lat, quiet = [], []
            for key, times in sent.items():
                got = reached.get(key, [])
                for i, t in enumerate(times):
                    if lo <= t < hi and i < len(got):
                        lat.append(got[i] - t)
                        if not after_kill(t):
                            quiet.append(got[i] - t)
            lat.sort()
            quiet.sort()
            mem = [(tree, worker) for at, tree, worker in rss if lo <= at < hi]
            plan = sorted(planning.get(w, []))
            print(f"{w * args.window / 60:5.0f}-{(w + 1) * args.window / 60:<4.0f} min | {len(lat):>8,} | "
                  f"{_percentile(lat, 0.5):6.1f} | {_percentile(lat, 0.95):6.1f} | {(lat or [float('nan')])[-1]:6.1f} | "
                  f"{_percentile(quiet, 0.95):18.1f} | {max((m[0] for m in mem), default=0):16.2f} | "
                  f"{max((m[1] for m in mem), default=0):9.2f} | "
                  f"{1000 * statistics.median(plan) if plan else float('nan'):6.0f}/{1000 * plan[-1] if plan else float('nan'):<8.0f} | "
                  f"{batches.get(w, 0):>7}")
        print(f"worker runs: {len(worker_runs)} ({sum(r.dagster_run.status.value == 'FAILURE' for r in worker_runs)} "
              "failed by the reaper after a kill)")
    finally:
        stop.set()
        instance.dispose()
        stop_process_group(server)
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
        else:
            print(f"kept {root}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
