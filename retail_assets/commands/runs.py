"""``retail-assets runs [--limit N]``: the latest runs recorded in the Dagster instance, without the UI.

Shows what ``retail-assets run``, backfills, sensors and automation launched: run id, status, job,
month(s) and start time, newest first. It opens the instance like every other entry point (through
``lib/instance.py``), so it is also the quickest way to create the instance of a fresh ``DAGSTER_HOME``.
"""

from __future__ import annotations

import argparse
import datetime as dt

PARTITION_TAGS = ("dagster/partition", "dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("runs", help="List the latest runs recorded in the Dagster instance.")
    parser.add_argument("--limit", type=int, default=20, help="How many runs to list, newest first (default 20).")
    parser.set_defaults(handler=list_runs)


def _months(tags: dict[str, str]) -> str:
    single, start, end = (tags.get(t, "")[:7] for t in PARTITION_TAGS)
    if single:
        return single
    return f"{start}..{end}" if start else "-"


def list_runs(args: argparse.Namespace) -> int:
    from retail_assets.lib.instance import dagster_home, open_instance

    with open_instance() as instance:
        records = instance.get_run_records(limit=max(args.limit, 0))
        where = dagster_home() or "an ephemeral instance (set DAGSTER_HOME to keep runs)"
        print(f"{len(records)} most recent runs in {where}")
        for record in records:
            run = record.dagster_run
            started = (
                dt.datetime.fromtimestamp(record.start_time, dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
                if record.start_time
                else "not started"
            )
            print(f"  {run.run_id}  {run.status.value:<10} {run.job_name:<32} {_months(run.tags):<17} {started}")
    return 0
