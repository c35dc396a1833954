"""Benchmark serving freshness: streamed minute KPIs refreshed into the DuckDB file while a reader queries it.

    uv run python benchmarks/serving.py                       # demo-profile volume (3 stores), 40 refreshes
    uv run python benchmarks/serving.py --stores 86 --products 2350 --refreshes 20   # reference-profile volume

Writes a month of the four minute-grain Gold tables to a temporary lake (handmade rows, every store
or product in every minute or 15-minute window, ``retail_assets/devtools/minute_rows.py``: the densest
case, whatever the generator's profile) up to ``--streamed-from`` days, publishes the month into a DuckDB file, starts a reader process that runs
a dashboard query in a loop through ``serving_reader`` (open read-only, query, close), then streams:
each step replaces the next 15 minutes of every minute table in the lake (as the stream worker does)
and calls ``refresh_streamed_minutes``. With ``--run`` a Dagster run republishes the month of
``serving/top_products_15m`` (the largest table) half-way, the way a backfill would during streaming.

Prints per refresh call: total, lake-read and file-held seconds; the reader's lock waits (max, p95)
and query latency (p50/p95, open + query + close) while refreshes ran, queries and failures; the
file size; and what the rejected alternative — a published read copy swapped with ``os.replace`` —
would cost per refresh (copy + fsync + rename of the whole file).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import dagster as dg  # noqa: E402
from dagster_duckdb import DuckDBResource  # noqa: E402

from retail_assets.defs.serving import build_gold_serving_asset  # noqa: E402
from retail_assets.lib.gold.specs import gold_table  # noqa: E402
from retail_assets.lib.lake import LakeStore  # noqa: E402
from retail_assets.lib.serving import MinuteWindow, refresh_streamed_minutes  # noqa: E402
from retail_assets.devtools.minute_rows import MINUTE_TABLES, write_window  # noqa: E402

MONTH = dt.date(2024, 1, 1)
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
QUARTER = dt.timedelta(minutes=15)

READER = """
import json, sys, time
from pathlib import Path
from retail_assets.lib.serving import LockWait, serving_reader

database, stop, out = sys.argv[1], Path(sys.argv[2]), open(sys.argv[3], "w")
while not stop.exists():
    wait, started = LockWait(), time.monotonic()
    try:
        with serving_reader(database, wait=wait) as con:
            con.execute(
                "SELECT store_id, date_trunc('hour', ts) AS hour, sum(total_sales_cents), sum(receipts) "
                "FROM sales_minute_store WHERE ts >= (SELECT max(ts) FROM sales_minute_store) - INTERVAL 1 DAY "
                "GROUP BY ALL"
            ).fetchall()
        record = {"wait": wait.seconds, "seconds": time.monotonic() - started, "at": time.time()}
    except Exception as exc:
        record = {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - started, "at": time.time()}
    out.write(json.dumps(record) + "\\n")
    out.flush()
"""


def _keys(name: str, args) -> int:
    return args.products if name == "top_products_15m" else args.stores


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def _copy_cost(database: Path) -> float:
    started = time.perf_counter()
    target = database.with_suffix(".copy.tmp")
    shutil.copyfile(database, target)
    fd = os.open(target, os.O_RDONLY)
    os.fsync(fd)
    os.close(fd)
    os.replace(target, database.with_suffix(".published.duckdb"))
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stores", type=int, default=3, help="stores (keys of the three per-store minute tables)")
    parser.add_argument("--products", type=int, default=190, help="products in every 15-minute window")
    parser.add_argument("--streamed-from", type=int, default=20, help="day of month the stream starts (Gold before)")
    parser.add_argument("--refreshes", type=int, default=40, help="streamed 15-minute windows")
    parser.add_argument("--interval", type=float, default=0.0, help="seconds between refreshes (the worker: ≤30)")
    parser.add_argument("--run", action=argparse.BooleanOptionalAction, default=True, help="a run republishes mid-way")
    args = parser.parse_args()

    root = Path(tempfile.mkdtemp(prefix="serving-bench-"))
    lake, database = LakeStore(root_uri=str(root / "lake")), root / "retail.duckdb"
    stream_from = START + dt.timedelta(days=args.streamed_from - 1)
    started = time.perf_counter()
    rows = sum(write_window(lake, n, START, stream_from, keys=_keys(n, args)).height for n in MINUTE_TABLES)
    print(f"lake: {rows:,} Gold minute rows up to day {args.streamed_from} in {time.perf_counter() - started:.1f} s")
    whole = refresh_streamed_minutes(lake, database, [(n, MONTH, None) for n in MINUTE_TABLES])
    print(
        f"whole-month publish of the 4 tables: lake read {whole.read_seconds:.2f} s, "
        f"file held {whole.held_seconds:.2f} s"
        f"; file {database.stat().st_size / 1e6:.1f} MB"
    )

    stop, log = root / "stop", root / "reader.jsonl"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(database), str(stop), str(log)], env=env)
    while not log.exists() or not log.read_text():
        time.sleep(0.05)
    totals, reads, helds, run_seconds = [], [], [], None
    first = time.time()
    with dg.DagsterInstance.ephemeral() as instance:
        for step in range(args.refreshes):
            span = (stream_from + step * QUARTER, stream_from + (step + 1) * QUARTER)
            for name in MINUTE_TABLES:
                write_window(lake, name, *span, keys=_keys(name, args))
            t = time.perf_counter()
            report = refresh_streamed_minutes(lake, database, [MinuteWindow(n, MONTH, span) for n in MINUTE_TABLES])
            totals.append(time.perf_counter() - t)
            reads.append(report.read_seconds)
            helds.append(report.held_seconds)
            if args.run and step == args.refreshes // 2:
                t = time.perf_counter()
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    dg.materialize(
                        [build_gold_serving_asset(gold_table("top_products_15m"))],
                        resources={"lake": lake, "duckdb": DuckDBResource(database=str(database))},
                        instance=instance,
                        partition_key=MONTH.isoformat(),
                    )
                run_seconds = time.perf_counter() - t
            time.sleep(args.interval)
    last = time.time()
    stop.touch()
    reader.wait(timeout=60)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    during = [r for r in records if first <= r["at"] <= last]
    ok = [r for r in during if "error" not in r]
    waits, latencies = [r["wait"] for r in ok], [r["seconds"] for r in ok]

    print(f"refresh per call ({len(totals)} calls, 4 tables x 15 min): total p50 {statistics.median(totals):.3f} s, "
          f"p95 {_pct(totals, 0.95):.3f} s, max {max(totals):.3f} s; lake read p50 {statistics.median(reads):.3f} s; "
          f"file held p50 {statistics.median(helds):.3f} s, max {max(helds):.3f} s")
    if run_seconds is not None:
        print(f"run republishing serving/top_products_15m (whole month) mid-way: {run_seconds:.2f} s")
    print(f"reader during refreshes: {len(during)} queries, {len(during) - len(ok)} failed; lock wait max "
          f"{max(waits):.3f} s, p95 {_pct(waits, 0.95):.3f} s; query latency (open+query+close) p50 "
          f"{statistics.median(latencies) * 1000:.0f} ms, p95 {_pct(latencies, 0.95) * 1000:.0f} ms")
    size = database.stat().st_size
    copies = [_copy_cost(database) for _ in range(3)]
    print(f"file size {size / 1e6:.1f} MB; a published read copy (copy + fsync + os.replace) would cost "
          f"{min(copies):.3f}-{max(copies):.3f} s per refresh")
    shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
