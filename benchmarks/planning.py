"""Benchmark: what planning one streaming batch costs as the landing zone grows (1 k, 100 k, 1 M landed files).

    uv run python benchmarks/planning.py                  # 1 k and 100 k files (about a minute)
    uv run python benchmarks/planning.py --million        # also 1 M files (about 2 more minutes, 1 M inodes)

A landing zone is built with empty event files at a constant stream rate — the 18 event types,
100 files per type and day (1,800 files a day), so more files means more days of history — and
``--newest`` files per type in today's folder. The cursor has acknowledged every file but today's,
as the planner leaves it (folders older than the two newest closed into fingerprints, the day
before today's names in ``done``). One planning is what a sensor tick or a worker poll does: parse
the cursor, list, ``plan_file_tick`` (one batch per month; here today's files).

- ``before``: the full listing the planners made until now (``LandingZone.scan("events/")``);
- ``after``: ``list_event_files`` (lib/streaming/listing.py). ``first`` is a fresh process's first
  poll (nothing remembered: it lists events/, the type folders, the open days and ``sweep``
  closed folders); ``warm`` the polls after it.

Each (size, mode) is measured in its own process, so the peak RSS printed is that planning's.
Printed: files, ms per planning (p50 / max), entries the listings returned, directory listings,
folder times read, files planned, peak RSS.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from retail_assets.lib.landing import LandingZone, parse_landing_path
from retail_assets.lib.partitions import partition_key
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.streaming.cursor import OPEN_FOLDERS, FileCursor, fingerprint, plan_file_tick
from retail_assets.lib.streaming.listing import list_event_files

PER_TYPE_DAY = 100


def month_of(path: str) -> str:
    """The worker's batch group: the partition (month) of the file."""
    return partition_key(parse_landing_path(path).month)
OLD = time.time() - 2 * 86400


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def build(root: Path, files: int, newest: int) -> dict:
    """Empty event files: ``newest`` per type today, the rest back in time at PER_TYPE_DAY per type and day."""
    marker = root / f".built-{files}-{newest}.json"
    if marker.exists():
        return json.loads(marker.read_text())
    types = sorted(e.event_type for e in REGISTRY.events)
    today = dt.datetime.now(dt.UTC).date()
    started = time.perf_counter()
    layout: dict[str, list[str]] = {}  # folder -> names
    remaining = files - newest * len(types)
    days = [(today, {t: newest for t in types})]
    day = today
    while remaining > 0:
        day -= dt.timedelta(days=1)
        counts = {}
        for t in types:
            counts[t] = min(PER_TYPE_DAY, remaining)
            remaining -= counts[t]
        days.append((day, counts))
    for day, counts in days:
        for t, n in counts.items():
            if not n:
                continue
            folder = root / "events" / t / day.isoformat()
            folder.mkdir(parents=True, exist_ok=True)
            names = [f"producer-{i:06d}.jsonl" for i in range(n)]
            for name in names:
                os.close(os.open(folder / name, os.O_CREAT | os.O_WRONLY, 0o644))
            os.utime(folder, (OLD, OLD))
            layout[f"events/{t}/{day.isoformat()}"] = names
    for parent in [*(root / "events" / t for t in types), root / "events"]:
        os.utime(parent, (OLD, OLD))
    # The cursor the planner leaves once every file but today's is acknowledged.
    cursor = FileCursor()
    by_type: dict[str, list[str]] = {}
    for folder in layout:
        by_type.setdefault(folder.rsplit("/", 1)[0], []).append(folder)
    for folders in by_type.values():
        ordered = sorted(folders)
        for folder in ordered:
            if folder.endswith(today.isoformat()):
                continue
            paths = [f"{folder}/{n}" for n in layout[folder]]
            if folder in ordered[-OPEN_FOLDERS:]:
                cursor.done.update({p: OLD for p in paths})
            else:
                cursor.closed[folder] = fingerprint(paths)
    info = {"files": files, "days": len(days), "folders": len(layout), "cursor": cursor.to_json(),
            "build_seconds": round(time.perf_counter() - started, 1)}
    marker.write_text(json.dumps(info))
    return info


def measure(root: Path, mode: str, polls: int) -> dict:
    """Run in a child process: ``polls`` plannings; their times, what they listed, peak RSS."""
    info = json.loads(next(root.glob(".built-*.json")).read_text())
    landing = LandingZone(root_uri=str(root))
    times, first, planned, last = [], None, 0, None
    for n in range(polls):
        started = time.perf_counter()
        cursor = FileCursor.from_json(info["cursor"])
        if mode == "before":
            found, _ = landing.scan("events/")
            listed = [(f.path.path, f.modified.timestamp(), f.size) for f in found]
            stats = {"listings": 1, "entries": len(listed), "stamps": 0}
        else:
            listed, _, st = list_event_files(landing, cursor)
            stats = {"listings": st.listings, "entries": st.entries, "stamps": st.stamps}
        cursor, tick = plan_file_tick(
            cursor, listed, lambda key: None, group_of=month_of, prefix="worker", max_files=2_000
        )
        elapsed = time.perf_counter() - started
        planned = sum(len(b.files) for b in tick.requests)
        if n == 0 and mode == "after":
            first = {"ms": elapsed * 1000, **stats}
        else:
            times.append(elapsed * 1000)
            last = stats
    return {"times": times, "first": first, "stats": last, "planned": planned, "rss_mb": _rss_mb()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--million", action="store_true", help="also 1 M files (about 2 more minutes and 1 M inodes)")
    parser.add_argument("--sizes", default="1000,100000", help="landed files, comma-separated")
    parser.add_argument("--newest", type=int, default=10, help="new (unacknowledged) files per event type today")
    parser.add_argument("--polls", type=int, default=40, help="plannings per measurement (after)")
    parser.add_argument("--before-polls", type=int, default=4, help="plannings per measurement (before: full listing)")
    parser.add_argument(
        "--before-max", type=int, default=100_000,
        help="largest landing zone also planned with the full listing (1 M files: about a minute per planning)",
    )
    parser.add_argument("--workdir", help="keep the landing zones here (reused by the next run)")
    parser.add_argument("--child", nargs=3, metavar=("ROOT", "MODE", "POLLS"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        root, mode, polls = args.child
        print(json.dumps(measure(Path(root), mode, int(polls))))
        return
    sizes = [int(s) for s in args.sizes.split(",")] + ([1_000_000] if args.million else [])
    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="planning-bench-"))
    print(f"landing zones under {workdir}; {PER_TYPE_DAY} files per event type and day, {args.newest} new per type today")
    header = f"{'files':>9} {'days':>5} {'mode':>7} {'ms p50':>9} {'ms max':>9} {'entries':>9} {'listings':>8} {'stats':>6} {'planned':>7} {'RSS MB':>7}"
    rows = []
    for size in sizes:
        root = workdir / f"landing-{size}"
        info = build(root, size, args.newest)
        print(f"built {size:,} files in {info['days']} days, {info['folders']} folders ({info['build_seconds']} s)", flush=True)
        modes = [("before", args.before_polls)] if size <= args.before_max else []
        for mode, polls in [*modes, ("after", args.polls)]:
            out = subprocess.run(
                [sys.executable, __file__, "--child", str(root), mode, str(polls)], check=True, capture_output=True, text=True
            )
            result = json.loads(out.stdout.strip().splitlines()[-1])
            if result["first"]:
                f = result["first"]
                rows.append((size, info["days"], "first", f["ms"], f["ms"], f["entries"], f["listings"], f["stamps"],
                             result["planned"], result["rss_mb"]))
            s = result["stats"]
            rows.append((size, info["days"], "warm" if mode == "after" else mode, statistics.median(result["times"]),
                         max(result["times"]), s["entries"], s["listings"], s["stamps"], result["planned"], result["rss_mb"]))
            print(f"  {mode}: done", flush=True)
    print()
    print(header)
    for size, days, mode, p50, mx, entries, listings, stamps, planned, rss in rows:
        print(f"{size:>9,} {days:>5} {mode:>7} {p50:>9.1f} {mx:>9.1f} {entries:>9,} {listings:>8} {stamps:>6} {planned:>7} {rss:>7.0f}")


if __name__ == "__main__":
    main()
