"""Peak memory of each Silver fact month against the chain size: rows, seconds, rows/s and peak RSS per table.

Each fact month is materialized in its own process (``materialize_fact_month``, the Silver assets' code
path), which reports its peak RSS (VmHWM); the parent samples the child's RSS and kills it above
``--limit-gb`` (a shared machine must never swap or OOM), reporting the table as killed. Point it at
lakes holding the same month's Bronze and Silver dimensions at several chain sizes, e.g. generated with
``RETAIL_PROFILE=reference RETAIL_GEN_STORES=22 retail-assets generate`` then Bronze materialized:

    uv run python benchmarks/silver_memory.py --lake 22=/tmp/d22/lake --lake 43=/tmp/d43/lake
    uv run python benchmarks/silver_memory.py --lake 22=/tmp/d22/lake --shard-rows 0      # unsharded (before)
    uv run python benchmarks/silver_memory.py --lake 22=/tmp/d22/lake --tables fact_receipt_lines

``--shard-rows`` sets ``RETAIL_SILVER_SHARD_ROWS`` for the children (0: never shard, today's single frame).
Wall times are only comparable on a quiet machine: the load average is printed with each table.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import time

from retail_assets.lib.months import parse_month
from retail_assets.lib.specs import REGISTRY

LARGE_FACTS = (
    "fact_receipt_lines",
    "fact_store_inventory_txn",
    "fact_ble_pings",
    "fact_online_order_lines",
    "fact_promo_lines",
    "fact_promotions",
    "fact_payments",
    "fact_dc_inventory_txn",
    "fact_receipts",
    "fact_marketing",
)


def vm_hwm_mb(pid: int | str = "self") -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def _rss_mb(pid: int) -> float:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_one(lake_root: str, table: str, month: dt.date) -> dict:
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.silver.pipeline import materialize_fact_month

    lake = LakeStore(root_uri=lake_root)
    started = time.perf_counter()
    written = materialize_fact_month(lake, table, month)
    seconds = time.perf_counter() - started
    build = written.build
    out = written.silver_rows + written.quarantined_rows + build.duplicates_dropped
    return {
        "bronze_rows": written.bronze_rows,
        "silver_rows": written.silver_rows,
        "quarantined": written.quarantined_rows,
        "shards": written.shards,
        "seconds": round(seconds, 2),
        "peak_rss_mb": round(vm_hwm_mb()),
        "reconciles": written.bronze_rows == out + build.updates_applied + build.updates_handed_back,
    }


def measure(lake_root: str, table: str, month: str, env: dict[str, str], limit_mb: float) -> dict:
    """One table in a child process, killed (by its pid) when its RSS passes ``limit_mb``."""
    child = subprocess.Popen(
        [sys.executable, __file__, "--one", table, "--lake", f"x={lake_root}", "--month", month],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    seen = 0.0
    while child.poll() is None:
        seen = max(seen, _rss_mb(child.pid))
        if seen > limit_mb:
            child.kill()
            child.wait()
            return {"killed": True, "peak_rss_mb": round(seen)}
        time.sleep(0.2)
    stdout, stderr = child.communicate()
    if child.returncode:
        raise SystemExit(f"{table} on {lake_root} failed:\n{stderr[-3000:]}")
    return json.loads(stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lake", action="append", required=True, help="LABEL=DIR: a lake root, labelled e.g. by stores.")
    parser.add_argument("--month", default="2024-01", help="Month to build, YYYY-MM.")
    parser.add_argument("--tables", nargs="*", default=list(LARGE_FACTS), help="Silver facts to measure.")
    parser.add_argument("--shard-rows", type=int, help="RETAIL_SILVER_SHARD_ROWS for the builds (0: never shard).")
    parser.add_argument("--limit-gb", type=float, default=13.0, help="Kill a build whose RSS passes this.")
    parser.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure one table in this process
    args = parser.parse_args()
    month = parse_month(args.month)
    lakes = dict(item.split("=", 1) for item in args.lake)
    if args.one:
        print(json.dumps(run_one(next(iter(lakes.values())), args.one, month)))
        return 0
    env = dict(os.environ)
    if args.shard_rows is not None:
        env["RETAIL_SILVER_SHARD_ROWS"] = str(args.shard_rows)
    print(f"{'table':26} {'lake':>5} {'bronze rows':>12} {'shards':>6} {'seconds':>8} {'rows/s':>10} {'peak RSS MB':>12} {'load':>5}")
    for table in args.tables:
        if table not in REGISTRY.tables:
            raise SystemExit(f"unknown table {table}")
        for label, root in lakes.items():
            r = measure(root, table, args.month, env, args.limit_gb * 1024)
            load = os.getloadavg()[0]
            if r.get("killed"):
                print(f"{table:26} {label:>5} {'':>12} {'':>6} {'':>8} {'':>10} {'>' + str(r['peak_rss_mb']):>12} {load:>5.1f}  KILLED")
                continue
            print(
                f"{table:26} {label:>5} {r['bronze_rows']:>12,} {r['shards']:>6} {r['seconds']:>8.1f} "
                f"{round(r['bronze_rows'] / r['seconds']):>10,} {r['peak_rss_mb']:>12,} {load:>5.1f}"
                f"{'' if r['reconciles'] else '  DOES NOT RECONCILE'}",
                flush=True,
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
