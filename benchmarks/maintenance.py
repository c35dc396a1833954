"""Benchmark: a month written as many small appends, scanned before and after lake maintenance compacts it.

    uv run python benchmarks/maintenance.py                   # 3,600 appends of 20 rows (a streamed hour)
    uv run python benchmarks/maintenance.py --appends 20000   # a bigger backlog
    uv run python benchmarks/maintenance.py --dir /tmp/lake   # keep the lake (re-run: appends again)

The month is written the way the stream worker writes a Bronze event table: one append (one Delta
commit, one small Parquet file) per batch, plus one bigger month next to it that maintenance must leave
alone. The appends go through one open ``DeltaTable`` (the same commits and files as ``LakeStore.append``,
which reopens the table twice per append: 2x slower to set up, not what is measured here). A scan is what
a reader does for the month: open the table (replay its log) and collect the month through
``LakeStore.scan``, timed as the median of ``--scans`` fresh opens. Then
``maintain_table`` compacts the month and writes a checkpoint (vacuum keeps the small files: they are
younger than the 168 h retention) and the month is scanned again. Last, ``--probe`` more appends are
timed (a commit's cost grows with the number of files in the table: compaction makes writing cheaper too).
Prints files and bytes before and after, compaction seconds, scan milliseconds before and after, append
milliseconds before and after, and peak RSS.

Writing the appends takes most of the time and grows with the square of their number (each commit costs
more as the table's file count grows): 3,600 appends take minutes on a busy 2-core machine.
"""

from __future__ import annotations

import argparse
import datetime as dt
import resource
import statistics
import tempfile
import time
from pathlib import Path

import polars as pl
from deltalake import DeltaTable, write_deltalake

from retail_assets.lib.lake import LakeStore, to_arrow
from retail_assets.lib.maintenance import maintain_table

TABLE = "bronze/receipt_created"
MONTH, OTHER_MONTH = dt.date(2024, 1, 1), dt.date(2024, 2, 1)


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _batch(month: dt.date, batch: int, rows: int) -> pl.DataFrame:
    start = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC) + dt.timedelta(seconds=batch)
    return pl.DataFrame(
        {
            "event_id": [f"{month:%Y%m}-{batch:06d}-{i:03d}" for i in range(rows)],
            "event_ts": [start + dt.timedelta(milliseconds=10 * i) for i in range(rows)],
            "store_id": [(batch * rows + i) % 500 for i in range(rows)],
            "amount_cents": [(batch * 7919 + i * 104729) % 100_000 for i in range(rows)],
            "payload": [f"receipt {batch}/{i}" for i in range(rows)],
            "month_start": [month] * rows,
        }
    )


def _scan_ms(lake: LakeStore, scans: int) -> tuple[float, int]:
    times, rows = [], 0
    for _ in range(scans):
        started = time.perf_counter()
        rows = lake.scan(TABLE, [MONTH]).collect().height
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times), rows


def _mb(n: int) -> str:
    return f"{n / 1e6:.2f} MB"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--appends", type=int, default=3600, help="small appends to the month (default 3600)")
    parser.add_argument("--rows", type=int, default=20, help="rows per append (default 20)")
    parser.add_argument("--probe", type=int, default=50, help="appends timed before and after (default 50)")
    parser.add_argument("--scans", type=int, default=7, help="scans timed before and after (median; default 7)")
    parser.add_argument("--dir", type=Path, default=None, help="lake root (default: a temporary directory)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="maintenance-bench-") as tmp:
        lake = LakeStore(root_uri=str(args.dir or Path(tmp) / "lake"))
        # The neighbouring month: written once, big, never streamed; maintenance must not rewrite it.
        other = pl.concat([_batch(OTHER_MONTH, b, args.rows) for b in range(500)])
        lake.append(TABLE, other, partition_by=["month_start"])
        table = DeltaTable(lake.uri(TABLE))
        started, last = time.perf_counter(), time.perf_counter()
        for b in range(args.appends):
            if b == args.appends - args.probe:
                last = time.perf_counter()
            write_deltalake(table, to_arrow(_batch(MONTH, b, args.rows)), mode="append", partition_by=["month_start"])
            if (b + 1) % 500 == 0:
                print(f"  {b + 1} appends, {time.perf_counter() - started:.0f} s", flush=True)
        write_s = time.perf_counter() - started
        append_before = (time.perf_counter() - last) / min(args.probe, args.appends) * 1000
        print(
            f"wrote {args.appends} appends x {args.rows} rows to {TABLE} {MONTH:%Y-%m} in {write_s:.1f} s "
            f"({args.appends / write_s:.0f} commits/s), table version {lake.version(TABLE)}"
        )
        scan_before, rows = _scan_ms(lake, args.scans)

        result = maintain_table(lake, TABLE, through=None, retention_hours=168, run_id="benchmark")

        scan_after, rows_after = _scan_ms(lake, args.scans)
        assert rows_after == rows, f"compaction changed the month's rows: {rows} -> {rows_after}"
        table = DeltaTable(lake.uri(TABLE))
        started = time.perf_counter()
        for b in range(args.appends, args.appends + args.probe):
            write_deltalake(table, to_arrow(_batch(MONTH, b, args.rows)), mode="append", partition_by=["month_start"])
        append_after = (time.perf_counter() - started) / args.probe * 1000
        print(f"maintenance: {result.outcome}; checkpoint at version {result.version_after}")
        print(f"files        before {result.files_before:>7}   after {result.files_after:>7}   (both months)")
        print(f"bytes        before {_mb(result.bytes_before):>10}   after {_mb(result.bytes_after):>10}")
        print(f"compaction   {result.seconds:.2f} s ({result.files_compacted} files -> {result.files_written})")
        print(
            f"scan {MONTH:%Y-%m} ({rows} rows, median of {args.scans}): "
            f"before {scan_before:.0f} ms, after {scan_after:.0f} ms"
        )
        print(
            f"append       last {args.probe} before: {append_before:.0f} ms each; "
            f"{args.probe} after: {append_after:.0f} ms each"
        )
        print(f"peak RSS     {_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
