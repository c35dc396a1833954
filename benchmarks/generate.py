"""Benchmark: generate one month into landing Parquet and print rows/s, seconds and peak RSS.

    uv run python benchmarks/generate.py --profile reference --month 2024-01 [--stores 344]

Peak RSS is printed for the run and for each stage of the simulation (sampled every 20 ms, the
stage being the one the progress reported last: a stage's tables are written while the next one
is simulated), so runs at several chain sizes (``--stores``) show what grows with the stores.

Also prints the month's per-table row counts and average rows per day next to what the reference
generator produced on this machine for January 2024 (research/anchor-datagen-bench.md). The
reference generator made ~256 receipts per store-day; this one runs stores at supermarket volume
(FMI: 12,700 transactions a week = ~1,814 a day), so receipt-driven tables are ~5x the reference's
per day while BLE pings (app users only) stay near it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import resource
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path

import polars as pl

from retail_assets.lib.generator import FACT_TABLES
from retail_assets.lib.generator.config import load_config
from retail_assets.lib.generator.output import landing_path, write_dimensions, write_month
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import parse_month
from retail_assets.lib.specs import REGISTRY

# Per-day volumes of the reference generator, January 2024, reference profile (~256 receipts per store-day).
REFERENCE_PER_DAY = {
    "fact_receipts": 22_000,
    "fact_receipt_lines": 258_600,
    "fact_store_inventory_txn": 262_000,
    "fact_ble_pings": 285_000,
    "fact_payments": 23_000,
    "fact_marketing": 5_400,
    "fact_online_order_headers": 880,
}
REFERENCE_ROWS_PER_DAY = 1_000_000
REFERENCE_ROWS_PER_SECOND = 7_500


def _rss_gb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024**2


class StagePeaks:
    """Peak resident memory (GiB) per simulation stage, sampled on a background thread."""

    def __init__(self, interval: float = 0.02):
        self.stage = "start"
        self.peaks: dict[str, float] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, args=(interval,), daemon=True)
        self._thread.start()

    @staticmethod
    def _current_gb() -> float:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**3

    def _sample(self, interval: float) -> None:
        while not self._stop.wait(interval):
            rss = self._current_gb()
            self.peaks[self.stage] = max(self.peaks.get(self.stage, 0.0), rss)

    def stop(self) -> dict[str, float]:
        self._stop.set()
        self._thread.join()
        return self.peaks


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="reference")
    parser.add_argument("--month", default="2024-01")
    parser.add_argument("--landing", help="Landing directory (default: a temporary one, removed afterwards).")
    parser.add_argument("--stores", type=int, help="Stores of the chain (RETAIL_GEN_STORES; default: the profile's).")
    args = parser.parse_args()
    month = parse_month(args.month)
    config = load_config(args.profile, **({"stores": args.stores} if args.stores else {}))
    root = Path(args.landing) if args.landing else Path(tempfile.mkdtemp(prefix="retail-generate-"))
    landing = LandingZone(root_uri=str(root))
    landing.ensure_root()
    steps: list[tuple[str, float]] = []
    started = time.perf_counter()
    cpu0 = time.process_time()

    sampler = StagePeaks() if os.path.exists("/proc/self/statm") else None

    def progress(step: str, done: int, total: int) -> None:
        steps.append((step, time.perf_counter() - started))
        if sampler:
            sampler.stage = step

    report = write_month(config, month, landing, progress)
    facts_wall = time.perf_counter() - started
    stage_peaks = sampler.stop() if sampler else {}
    facts_cpu = time.process_time() - cpu0
    dims_started = time.perf_counter()
    write_dimensions(config, [month], landing)
    dims_wall = time.perf_counter() - dims_started
    peak = _rss_gb()

    days = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - month
    rows = report.total_rows
    print(f"profile {config.profile}, {config.stores} stores, month {month:%Y-%m}, {os.cpu_count()} cores, landing {root}")
    print(f"fact rows            {rows:>14,}")
    print(f"facts wall time      {facts_wall:>14.1f} s   (cpu {facts_cpu:.1f} s)")
    print(
        f"fact rows/s          {rows / facts_wall:>14,.0f}   ({rows / facts_wall / REFERENCE_ROWS_PER_SECOND:.0f}x the reference's 7,500)"
    )
    print(f"dimension snapshot   {dims_wall:>14.1f} s")
    print(f"peak RSS             {peak:>14.2f} GiB ({peak * 1.073741824:.2f} GB)")
    print(f"parquet written      {report.bytes / 1e6:>14.1f} MB")
    for stage, gib in stage_peaks.items():
        print(f"  peak RSS while {stage + ':':28s} {gib:6.2f} GiB")
    simulated = next((t for s, t in steps if s == "done"), facts_wall)
    print(f"  simulation         {simulated:>14.1f} s; frames + parquet {facts_wall - simulated:.1f} s")
    print()
    print(f"{'table':32s} {'rows':>12s} {'per day':>10s} {'reference':>10s} {'ratio':>6s}")
    for table in FACT_TABLES:
        per_day = report.rows[table] / days.days
        ref = REFERENCE_PER_DAY.get(table)
        ratio = f"{per_day / ref:6.2f}" if ref else ""
        print(f"{table:32s} {report.rows[table]:>12,} {per_day:>10,.0f} {ref or '':>10} {ratio}")
    print(
        f"{'all facts':32s} {rows:>12,} {rows / days.days:>10,.0f} {REFERENCE_ROWS_PER_DAY:>10,} {rows / days.days / REFERENCE_ROWS_PER_DAY:6.2f}"
    )
    receipts = pl.read_parquet(root / landing_path("fact_receipts", month), columns=["receipt_type"])
    lines = report.rows["fact_receipt_lines"]
    print(f"lines per receipt: {lines / receipts.height:.2f} (reference generator 11.7)")
    daily = (
        pl.scan_parquet(root / landing_path("fact_receipts", month))
        .group_by(pl.col(REGISTRY.table("fact_receipts").time_column).dt.date().alias("day"))
        .len()
        .sort("day")
        .collect()
    )
    print(
        f"receipts per store-day: {daily['len'].mean() / config.stores:.0f} "
        f"(supermarket ~1,814: FMI 12,700 a week; reference generator ~256)"
    )
    if not args.landing:
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
