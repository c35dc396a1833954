"""``retail-assets restore <layer/table> (--version N | --as-of TIME) [--month YYYY-MM]``: roll a table back.

    retail-assets restore silver/fact_receipts --version 12 --month 2024-01
    retail-assets restore gold/sales_daily_store --as-of 2024-02-01T06:00:00Z

Executes the ``restore_table`` job (``defs/restore.py``) in this process on the configured Dagster instance,
so the restore is a run in the UI, waits for the pool of the table's writers (the stream worker, hot rebuilds)
and records a materialization of each restored partition; declarative automation then rebuilds the downstream
months. What cannot be restored (unknown table or version, data files removed by vacuum, a month the version
does not hold) is refused before any run starts, in one line naming the table, what was asked and the oldest
version still restorable (exit code 2). A failed run exits with 1.
"""

from __future__ import annotations

import argparse
import shlex
import sys
import time

from retail_assets.commands.run import month_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "restore",
        help="Roll a lake table (or one month) back to an earlier Delta version; automation rebuilds downstream.",
    )
    parser.add_argument("table", help="Lake table as layer/table, e.g. silver/fact_receipts.")
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument(
        "--version", type=int, metavar="N", help="Delta version to go back to (see the table's history)."
    )
    target.add_argument(
        "--as-of",
        metavar="TIME",
        help="ISO 8601 time, UTC unless it names an offset: the latest version committed by then.",
    )
    parser.add_argument("--month", type=month_argument, help="Only this month, YYYY-MM; other months are untouched.")
    parser.add_argument(
        "--allow-empty", action="store_true", help="With --month: allow emptying a month the old version does not hold."
    )
    parser.set_defaults(handler=restore)


def _command(args: argparse.Namespace) -> str:
    words = ["retail-assets", "restore", args.table]
    words += ["--version", str(args.version)] if args.version is not None else ["--as-of", args.as_of]
    if args.month:
        words += ["--month", f"{args.month:%Y-%m}"]
    if args.allow_empty:
        words.append("--allow-empty")
    return shlex.join(words)


def restore(args: argparse.Namespace) -> int:
    from retail_assets.definitions import defs
    from retail_assets.defs.restore import RESTORE_JOB, RestoreConfig, op_name, plan, restore_targets
    from retail_assets.lib.instance import open_instance
    from retail_assets.lib.liveness import start_watchdog, worker_tags

    definitions = defs()
    lake = definitions.resources["lake"].process_config_and_initialize()
    config = RestoreConfig(
        table=args.table,
        version=args.version,
        as_of=args.as_of,
        month=f"{args.month:%Y-%m}" if args.month else None,
        allow_empty=args.allow_empty,
        command=_command(args),
    )
    # Refusals (a RestoreRefused is a LakeError: one line, exit code 2) come before any run is created.
    target, _, version = plan(config, lake, restore_targets(definitions))
    op = op_name(target.pool)
    started = time.monotonic()
    with open_instance() as instance:
        start_watchdog(instance)
        result = definitions.resolve_job_def(RESTORE_JOB).execute_in_process(
            run_config={
                "ops": {op: {"config": config.model_dump()}},
                "loggers": {"console": {"config": {"log_level": "WARNING"}}},
            },
            instance=instance,
            op_selection=[op],
            tags={**worker_tags(), "retail/restore": args.table},
            raise_on_error=False,
        )
    if not result.success:
        # Committed but failing a blocking check on the restored rows: Dagster fails the step, like a build's.
        for event in result.all_events:
            if event.event_type_value == "ASSET_MATERIALIZATION":
                print(event.event_specific_data.materialization.description)
        failures = [e.step_failure_data.error.message.strip() for e in result.all_events if e.is_step_failure]
        reason = " ".join(failures) or "see the run in the UI"
        if "blocking asset check failed" in reason:
            reason = (
                f"the restored rows fail a blocking check; downstream stays held until the table passes again: {reason}"
            )
        print(f"restore {args.table}: FAILED (run {result.run_id}): {reason}", file=sys.stderr)
        return 1
    report = result.output_for_node(op)
    print(f"{report['summary']} (run {result.run_id}, {time.monotonic() - started:.1f} s)")
    if report["partitions"]:
        months = ", ".join(p[:7] for p in report["partitions"] if p) or "the table"
        print(
            f"recorded a materialization of {report['asset']} ({months}) and re-ran its blocking checks on the "
            "restored rows; declarative automation (sensor medallion_automation) rebuilds the downstream months"
        )
    else:
        print(f"nothing changed in {report['asset']}: no materialization recorded, nothing to rebuild downstream")

    if version.as_of is not None:
        print(
            f"--as-of {args.as_of} resolved to version {version.version}, committed "
            f"{version.committed_at:%Y-%m-%d %H:%M:%S} UTC"
        )
    return 0
