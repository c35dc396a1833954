"""``retail-assets landing check``: list landed files that Bronze would never read, and why."""

from __future__ import annotations

import argparse
import sys


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("landing", help="Inspect the landing zone.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="ACTION")
    check = actions.add_parser("check", help="Report files outside the layout (unknown tables, bad folders, formats).")
    check.set_defaults(handler=check_landing)


def check_landing(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.settings import Settings

    landing = build_resources(Settings.from_env())["landing"]
    problems = landing.audit()
    for problem in problems:
        print(problem, file=sys.stderr)
    print(f"{len(problems)} landed files outside the layout under {landing.root_uri}")
    return 1 if problems else 0
