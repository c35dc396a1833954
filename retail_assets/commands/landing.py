"""``retail-assets landing check``: list landed files that Bronze would never read, and why.
``retail-assets landing prune``: apply landing retention (``RETAIL_LANDING_RETENTION_*``) now."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landing", help="Inspect the landing zone.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="Report files outside the layout (unknown tables, bad folders, formats).")
    check.set_defaults(handler=check_landing)
    prune = actions.add_parser(
        "prune", help="Archive (or delete) acknowledged event files older than RETAIL_LANDING_RETENTION_DAYS."
    )
    prune.add_argument("--dry-run", action="store_true", help="Only say what would be archived or deleted.")
    prune.set_defaults(handler=prune_landing_files)


def check_landing(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.settings import Settings

    landing = build_resources(Settings.from_env())["landing"]
    problems = landing.audit()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} landed files outside the layout under {landing.root_uri}")
    return 1 if problems else 0


def prune_landing_files(args: argparse.Namespace) -> int:
    import dagster as dg

    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.settings import Settings
    from retail_assets.lib.streaming.retention import acknowledged_cursors, prune_landing

    settings = Settings.from_env()
    resources = build_resources(settings)
    with dg.DagsterInstance.get() as instance:
        cursors = acknowledged_cursors(instance)
    report = prune_landing(
        resources["landing"], cursors, retention_days=settings.landing_retention_days,
        mode=settings.landing_retention_mode, lake=resources["lake"], dry_run=args.dry_run,
    )
    print(("dry run: " if args.dry_run else "") + report.summary())
    return 0
