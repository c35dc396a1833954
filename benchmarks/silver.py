"""Silver throughput for one generated month: rows/s and peak RSS per table.

The month is the real generator's (``benchmarks/generate.py``, reference profile, ``--scale`` × its 86 stores),
landed and loaded into Bronze by the platform's own Bronze functions; then each Silver fact month is materialized
in its own process (so each table's peak RSS is its own) through the code path the Silver assets use (read Bronze,
map, check, dedupe, validate, write Silver and quarantine). Silver built from streamed events is measured by
``benchmarks/stream.py``.

    uv run python benchmarks/silver.py                      # a reference month (86 stores)
    uv run python benchmarks/silver.py --scale 0.1          # 9 stores
    uv run python benchmarks/silver.py --lake DIR --month 2024-01 --reuse
                                                            # a lake that already holds the month's Bronze
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import polars as pl

from retail_assets.lib.bronze import load_dimension, load_fact_month
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import parse_month
from retail_assets.lib.silver.pipeline import materialize_dimension, materialize_fact_month
from retail_assets.lib.specs import REGISTRY

HERE = Path(__file__).resolve().parent
REFERENCE_STORES = 86
FACTS = ("fact_receipts", "fact_receipt_lines", "fact_store_inventory_txn", "fact_ble_pings", "fact_promotions")
DIMENSIONS = tuple(t.name for t in REGISTRY.dimensions)


def peak_rss_mb() -> float:
    """This process's peak RSS. Not ru_maxrss: Linux carries it over from the forking parent across exec."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build_lake(lake: LakeStore, month: dt.date, scale: float, work: Path) -> dict[str, int]:
    """Generate the month into ``work``/landing (a separate process) and load every table into Bronze."""
    landing_dir = work / "landing"
    stores = max(1, round(REFERENCE_STORES * scale))
    subprocess.run(
        [sys.executable, str(HERE / "generate.py"), "--profile", "reference", "--month", f"{month:%Y-%m}",
         "--stores", str(stores), "--landing", str(landing_dir)],
        check=True, stdout=subprocess.DEVNULL,
    )
    landing, at, sizes = LandingZone(root_uri=str(landing_dir)), dt.datetime.now(dt.UTC), {}
    for table in REGISTRY.dimensions:
        loads = load_dimension(landing, table.name, at)
        lake.replace(f"bronze/{table.name}", pl.concat([load.rows for load in loads]),
                     partition_by=["snapshot_month"])
    for table in REGISTRY.facts:
        load = load_fact_month(landing, table.name, month, at)
        lake.overwrite_months(f"bronze/{table.name}", load.rows, [month])
        sizes[table.name] = load.rows.height
    return sizes


# ---- measuring -----------------------------------------------------------------------------------


def run_one(lake_root: str, table: str, month: dt.date) -> dict:
    lake = LakeStore(root_uri=lake_root)
    started = time.perf_counter()
    written = materialize_fact_month(lake, table, month)
    seconds = time.perf_counter() - started
    build = written.build
    merged = build.updates_applied + build.updates_handed_back
    out = written.silver_rows + written.quarantined_rows + build.duplicates_dropped + merged
    return {
        "table": table,
        "bronze_rows": written.bronze_rows,
        "silver_rows": written.silver_rows,
        "quarantined": written.quarantined_rows,
        "duplicates": build.duplicates_dropped,
        "rows_in": build.rows_in,
        "seconds": round(seconds, 2),
        "rows_per_s": round(written.bronze_rows / seconds),
        "peak_rss_mb": round(peak_rss_mb()),
        "reconciles": written.bronze_rows == out,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", help="Lake root (default: a temporary directory).")
    parser.add_argument("--month", default="2024-01", help="Month to build, YYYY-MM.")
    parser.add_argument("--scale", type=float, default=1.0, help="Chain size as a multiple of the reference's 86 stores.")
    parser.add_argument("--reuse", action="store_true", help="Use the Bronze tables already in --lake.")
    parser.add_argument("--tables", nargs="*", default=list(FACTS), help="Silver facts to measure.")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one table in this process
    args = parser.parse_args()
    month = parse_month(args.month)
    if args.one:
        print(json.dumps(run_one(args.lake, args.one, month)))
        return 0
    root = args.lake or tempfile.mkdtemp(prefix="silver-bench-")
    lake = LakeStore(root_uri=root)
    if not args.reuse:
        started = time.perf_counter()
        sizes = build_lake(lake, month, args.scale, Path(root))
        print(f"generated {args.month} and loaded it into Bronze in {time.perf_counter() - started:.1f} s: {sizes}")
    started = time.perf_counter()
    for dim in DIMENSIONS:
        if lake.exists(f"bronze/{dim}"):
            materialize_dimension(lake, dim)
    print(f"Silver dimensions in {time.perf_counter() - started:.1f} s (peak RSS so far {peak_rss_mb():.0f} MB)")
    total_rows, total_seconds = 0, 0.0
    print(
        f"{'table':28} {'bronze rows':>12} {'silver':>12} {'quar.':>7} {'dups':>6} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12}"
    )
    for table in args.tables:
        if table not in REGISTRY.tables:
            raise SystemExit(f"unknown table {table}")
        out = subprocess.run(
            [sys.executable, __file__, "--lake", root, "--month", args.month, "--one", table],
            check=True,
            capture_output=True,
            text=True,
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        total_rows += r["bronze_rows"]
        total_seconds += r["seconds"]
        print(
            f"{table:28} {r['bronze_rows']:>12,} {r['silver_rows']:>12,} {r['quarantined']:>7,} {r['duplicates']:>6,} "
            f"{r['seconds']:>8.1f} {r['rows_per_s']:>10,} {r['peak_rss_mb']:>12,}{'' if r['reconciles'] else '  DOES NOT RECONCILE'}"
        )
    print(
        f"{'total':28} {total_rows:>12,} {'':>12} {'':>7} {'':>6} {total_seconds:>8.1f} {round(total_rows / total_seconds):>10,}"
    )
    print(f"lake: {Path(root)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
