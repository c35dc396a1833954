"""``retail-assets``: the platform's command line.

Each feature adds its subcommand as a module in ``retail_assets/commands/`` exposing
``register(subparsers)``; this file only discovers them.

Before any command runs, every setting read from the environment is validated
(``lib/settings.validate_environment``). A configuration error, from there or from a command (a
``SettingsError``, a lake table that cannot be read, the instance lock held too long), is what a
user fixes, not a bug: it is printed as ``retail-assets: <one line>`` on stderr with exit code 2,
without a traceback. Any other exception keeps its traceback.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
from collections.abc import Sequence

import retail_assets.commands

CONFIGURATION_ERROR = 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="retail-assets", description="Retail lakehouse on Dagster.")
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module_info in sorted(pkgutil.iter_modules(retail_assets.commands.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"retail_assets.commands.{module_info.name}")
        module.register(subparsers)
    return parser


def _is_configuration_error(exc: Exception) -> bool:
    # Imported only once something failed: a command that never touched the lake pays nothing for it.
    from retail_assets.lib.instance import InstanceLockTimeout
    from retail_assets.lib.lake import LakeError
    from retail_assets.lib.settings import SettingsError

    return isinstance(exc, (SettingsError, LakeError, InstanceLockTimeout))


def one_line(message: str) -> str:
    return " ".join(part.strip() for part in message.strip().splitlines() if part.strip())


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        from retail_assets.lib.settings import validate_environment

        validate_environment()
        return int(args.handler(args) or 0)
    except Exception as exc:
        if not _is_configuration_error(exc):
            raise
        print(f"retail-assets: {one_line(str(exc))}", file=sys.stderr)
        return CONFIGURATION_ERROR


if __name__ == "__main__":
    sys.exit(main())
