"""Fault drills at larger counts than the test suite runs: races, kills, batch/stream overlap.

    uv run python benchmarks/faults.py race --trials 200      # 5 writer processes race on a new table, per trial
    uv run python benchmarks/faults.py kill --trials 10       # kill the run holding each pool while another waits
    uv run python benchmarks/faults.py worker --kills 5       # SIGKILL the stream worker under dagster dev, mid-stream
    uv run python benchmarks/faults.py overlap --trials 5     # batch month + overlapping stream, Silver rebuilt
    uv run python benchmarks/faults.py all                    # each of the above at its default count

Each prints: trials, converged (the state a re-run or the platform itself reached is the right one), rows lost,
rows doubled, stalls (something still waiting at the drill's deadline) and recovery times. The drills are the
suite's (``retail_assets_tests/operations/drills.py``), which runs each once; run one drill at a time on a
small machine.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
warnings.filterwarnings("ignore")


def _peak_gb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, children) / 1024**2


def _print(report, name: str, started: float) -> None:
    print(report.line(name) + f"; {time.monotonic() - started:.0f} s wall, peak RSS {_peak_gb():.2f} GB")
    for note in report.notes[:20]:
        print(f"  {note}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("drill", choices=["race", "kill", "worker", "overlap", "all"])
    parser.add_argument("--trials", type=int, help="race: 200, kill: 10, overlap: 5")
    parser.add_argument("--kills", type=int, default=5, help="worker: stream worker kills in one stream (5)")
    parser.add_argument("--rate", type=float, default=300.0, help="worker: events/s streamed (300)")
    args = parser.parse_args()
    from retail_assets_tests.operations import drills

    todo = ["race", "kill", "worker", "overlap"] if args.drill == "all" else [args.drill]
    for drill in todo:
        started = time.monotonic()
        if drill == "race":
            _print(drills.race(args.trials or 200), "race (5 first writers, overlapping months)", started)
        elif drill == "kill":
            _print(drills.kill_pool_holders(args.trials or 10), "kill (pool holder SIGKILLed, waiter queued)", started)
        elif drill == "worker":
            report = drills.kill_stream_worker(args.kills, rate=args.rate, log=print)
            _print(report, f"worker (stream worker SIGKILLed {args.kills}x under dagster dev)", started)
        else:
            _print(drills.overlap(args.trials or 5), "overlap (batch month + stream over part of it)", started)
    return 0


if __name__ == "__main__":
    sys.exit(main())
