"""``retail-assets run --month 2024-01``: materialize the whole lakehouse for a month, in this process.

Runs are recorded in the Dagster instance of ``DAGSTER_HOME`` (the repository root when unset
and a ``dagster.yaml`` is there), so they show in the UI of ``dagster dev`` afterwards.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
from pathlib import Path


def _month(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(f"{text}-01" if len(text) == 7 else text).replace(day=1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a month (YYYY-MM)") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("run", help="Materialize the whole lakehouse for one month (or a range).")
    parser.add_argument("--month", type=_month, required=True, help="First month, YYYY-MM.")
    parser.add_argument("--to", type=_month, help="Last month of a range, YYYY-MM (one run covers the range).")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    if "DAGSTER_HOME" not in os.environ and Path("dagster.yaml").is_file():
        os.environ["DAGSTER_HOME"] = str(Path.cwd())
    import dagster as dg

    from retail_assets.defs.jobs import MAIN_JOB
    from retail_assets.definitions import defs
    from retail_assets.lib.partitions import partition_key

    job = defs().resolve_job_def(MAIN_JOB)
    first, last = args.month, args.to or args.month
    if last < first:
        print(f"--to {last:%Y-%m} is before --month {first:%Y-%m}", file=sys.stderr)
        return 2
    tags = (
        {"dagster/partition": partition_key(first)}
        if first == last
        else {
            "dagster/asset_partition_range_start": partition_key(first),
            "dagster/asset_partition_range_end": partition_key(last),
        }
    )
    instance = dg.DagsterInstance.get() if "DAGSTER_HOME" in os.environ else dg.DagsterInstance.ephemeral()
    result = job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)
    failed = [e.step_key for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    months = f"{first:%Y-%m}" if first == last else f"{first:%Y-%m}..{last:%Y-%m}"
    if result.success:
        print(f"{MAIN_JOB} {months}: success (run {result.run_id})")
        return 0
    print(f"{MAIN_JOB} {months}: FAILED in steps {failed} (run {result.run_id}); see the run in the Dagster UI", file=sys.stderr)
    return 1
