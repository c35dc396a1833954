"""``retail-assets``: the platform's command line.

Each feature adds its subcommand as a module in ``retail_assets/commands/`` exposing
``register(subparsers)``; this file only discovers them.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import retail_assets.commands


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retail-assets", description="Retail lakehouse on Dagster.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(retail_assets.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"retail_assets.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.handler(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
