"""Benchmark: Bronze's JSONL event parser (parse + type, no Delta); print events/s and peak RSS per case.

    uv run python benchmarks/jsonl.py [--events 150000 --profile demo --repeat 3]

Each case parses one event file of one type with ``parse_event_lines`` and types it with ``conform``, as
``load_event_file`` does: a clean file, and the same file with one line in 1,000 replaced by a bad one
(malformed JSON), for a high-volume type (``receipt_line_added``) and the type with a list field
(``promotion_applied``). The events are the real generator's facts encoded by the platform's own
envelopes (``encode_events``), repeated to ``--events`` lines when the window holds fewer. Each case runs
in its own process, so its peak RSS is its own (printed with the RSS before parsing: imports and the
file's bytes); events/s is the best of ``--repeat`` runs.
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

CASES = [("receipt_line_added", "clean"), ("receipt_line_added", "1-in-1000 bad"),
         ("promotion_applied", "clean"), ("promotion_applied", "1-in-1000 bad")]  # fmt: skip
BAD_EVERY = 1000


def _land(work: Path, profile: str, events: int) -> None:
    """Write each case's file: the generator's events of the type, repeated to ``events`` lines."""
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.facts import facts_between
    from retail_assets.lib.streaming.envelopes import encode_events

    start = dt.datetime(2024, 1, 10, tzinfo=dt.UTC)
    encoded = encode_events(facts_between(load_config(profile), start, start + dt.timedelta(hours=6)))
    for event_type in dict(CASES):
        body = encoded.filter(encoded.get_column("event_type") == event_type).get_column("body").to_list()
        if not body:
            raise SystemExit(f"no {event_type} events in the window; try another --profile")
        lines = (body * (events // len(body) + 1))[:events]
        (work / f"{event_type}-clean.jsonl").write_text("\n".join(lines) + "\n")
        bad = [line if i % BAD_EVERY else line[: len(line) // 2] for i, line in enumerate(lines, start=1)]
        (work / f"{event_type}-bad.jsonl").write_text("\n".join(bad) + "\n")


def _one(path: Path, event_type: str, repeat: int) -> None:
    """One case in this process: print a JSON line with the best time, the counts and the peak RSS."""
    from retail_assets.lib.bronze import parse_event_lines
    from retail_assets.lib.conform import conform
    from retail_assets.lib.specs import REGISTRY, event_columns

    event, data = REGISTRY.event(event_type), path.read_bytes()
    columns = event_columns(event)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # imports and the file's bytes
    best, counts = float("inf"), None
    for _ in range(repeat):
        started = time.perf_counter()
        parsed = parse_event_lines(event, path.name, data)
        typed = parsed.typed
        result = conform(parsed.frame if typed is None else typed, columns, source=path.name, text_source=typed is None)
        best = min(best, time.perf_counter() - started)
        counts = parsed.total, result.rows.height, len(parsed.rejected) + result.rejected.height
        del parsed, typed, result  # not held while the next run parses
    events, rows, rejected = counts
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"events": events, "rows": rows, "rejected": rejected, "seconds": best, "rss_mb": rss, "base_mb": base}))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=150_000, help="lines per file")
    parser.add_argument("--profile", default="demo", help="generator profile of the events")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--one", nargs=2, metavar=("FILE", "EVENT_TYPE"), help=argparse.SUPPRESS)
    parser.add_argument("--land", metavar="DIR", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        _one(Path(args.one[0]), args.one[1], args.repeat)
        return 0
    if args.land:
        _land(Path(args.land), args.profile, args.events)
        return 0
    with tempfile.TemporaryDirectory(prefix="retail-jsonl-") as tmp:
        work = Path(tmp)
        # In its own process too: Linux keeps a process's peak RSS across fork and exec, so this process stays small.
        options = ["--profile", args.profile, "--events", str(args.events)]
        subprocess.run([sys.executable, __file__, "--land", str(work), *options], check=True)
        print(f"{'event type':<22}{'file':<16}{'events':>10}{'rejected':>10}{'seconds':>9}{'events/s':>12}{'peak RSS':>10}{'before parse':>14}")
        for event_type, case in CASES:
            path = work / f"{event_type}-{'clean' if case == 'clean' else 'bad'}.jsonl"
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(path), event_type, "--repeat", str(args.repeat)],
                check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            r = json.loads(out.splitlines()[-1])
            print(f"{event_type:<22}{case:<16}{r['events']:>10,}{r['rejected']:>10,}{r['seconds']:>9.2f}"
                  f"{r['events'] / r['seconds']:>12,.0f}{r['rss_mb']:>7,.0f} MB{r['base_mb']:>11,.0f} MB")  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main())
