"""Benchmark: ingest one generated month of landing files into Bronze; print rows/s, seconds and peak RSS.

    uv run python benchmarks/bronze.py --profile reference --month 2024-01
    uv run python benchmarks/bronze.py --landing /path/to/landing --month 2024-01   # files already landed

The landing files are generated first in a separate process (benchmarks/generate.py), so the peak
RSS printed is Bronze's own. Bronze is timed twice on the same files: the plain functions
(load + typed write + quarantine, per table) and the same work as one Dagster run of every
Bronze asset (in-process executor), to show the orchestration overhead.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import dagster as dg
import polars as pl

from retail_assets.defs.bronze import build_bronze_assets
from retail_assets.lib.bronze import load_dimension, load_fact_month
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import parse_month
from retail_assets.lib.specs import REGISTRY

HERE = Path(__file__).resolve().parent


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


def _plain(landing: LandingZone, lake: LakeStore, month: dt.date) -> tuple[int, float, list[tuple[str, int, float]]]:
    at = dt.datetime.now(dt.UTC)
    per_table, total, started = [], 0, time.perf_counter()
    for table in REGISTRY.dimensions:
        t0 = time.perf_counter()
        loads = load_dimension(landing, table.name, at)
        rows = sum(load.rows.height for load in loads)
        lake.replace(f"bronze/{table.name}", pl.concat([load.rows for load in loads]), partition_by=["snapshot_month"])
        per_table.append((table.name, rows, time.perf_counter() - t0))
        total += rows
    for table in REGISTRY.facts:
        t0 = time.perf_counter()
        load = load_fact_month(landing, table.name, month, at)
        lake.overwrite_months(f"bronze/{table.name}", load.rows, [month])
        per_table.append((table.name, load.rows.height, time.perf_counter() - t0))
        total += load.rows.height
    return total, time.perf_counter() - started, per_table


def _dagster(landing: LandingZone, lake: LakeStore, month: dt.date) -> float:
    started = time.perf_counter()
    assets = [a for a in build_bronze_assets() if all(k.path[1] in REGISTRY.tables for k in a.keys)]
    result = dg.materialize(
        assets,
        resources={"lake": lake, "landing": landing},
        partition_key=month.isoformat(),
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
    )
    assert result.success
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="reference")
    parser.add_argument("--month", default="2024-01")
    parser.add_argument("--landing", help="Use files already landed here instead of generating them.")
    args = parser.parse_args()
    month = parse_month(args.month)
    work = Path(tempfile.mkdtemp(prefix="retail-bronze-"))
    try:
        landing_dir = Path(args.landing) if args.landing else work / "landing"
        if not args.landing:
            print(f"generating {args.profile} {args.month} landing files ...", flush=True)
            subprocess.run(
                [sys.executable, str(HERE / "generate.py"), "--profile", args.profile, "--month", args.month,
                 "--landing", str(landing_dir)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
        landing = LandingZone(root_uri=str(landing_dir))
        rows, seconds, per_table = _plain(landing, LakeStore(root_uri=str(work / "lake-plain")), month)
        print(f"\n{'table':<30}{'rows':>14}{'seconds':>10}{'rows/s':>14}")
        for table, n, s in sorted(per_table, key=lambda t: -t[1]):
            print(f"{table:<30}{n:>14,}{s:>10.2f}{(n / s if s else 0):>14,.0f}")
        print(f"\nBronze, plain functions: {rows:,} rows in {seconds:.1f} s = {rows / seconds:,.0f} rows/s")
        with_dagster = _dagster(landing, LakeStore(root_uri=str(work / "lake-dagster")), month)
        print(f"Bronze, one Dagster run of the 26 table assets: {with_dagster:.1f} s = {rows / with_dagster:,.0f} rows/s "
              f"(overhead {with_dagster - seconds:+.1f} s)")
        print(f"peak RSS: {_rss_gb():.2f} GB")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
