"""``retail-assets kql render [--out DIR] [--check]``: render ``kql/`` from the specs, or check it is current.

Alert thresholds are read from the ``RETAIL_ALERT_*`` environment variables (see
``retail_assets/lib/alerts.py``). The repository's ``kql/`` holds the defaults; render other
thresholds into another folder with ``--out``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]


def _default_out() -> Path | None:
    """The repository's ``kql/`` when running from a checkout, else None (``--out`` is then required)."""
    return PROJECT_ROOT / "kql" if (PROJECT_ROOT / "pyproject.toml").is_file() else None


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("kql", help="KQL for Eventhouse, rendered from the specs.")
    actions = parser.add_subparsers(dest="kql_command", required=True, metavar="ACTION")
    render = actions.add_parser("render", help="Write kql/ from the specs and alert thresholds (or --check it).")
    render.add_argument("--out", type=Path, help="Folder to render into (default: the repository's kql/).")
    render.add_argument(
        "--check",
        action="store_true",
        help="Write nothing; exit 1 when the folder differs from what the specs render (for CI).",
    )
    render.set_defaults(handler=run_render)


def run_render(args: argparse.Namespace) -> int:
    from retail_assets.lib.alerts import AlertConfigError, AlertThresholds
    from retail_assets.lib.kql import drift, render, write

    out = args.out or _default_out()
    if out is None:
        print("not in a repository checkout: pass --out <folder>", file=sys.stderr)
        return 2
    try:
        config = AlertThresholds.from_env()
    except AlertConfigError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    overridden = sorted(k for k, v in config.model_dump().items() if v != AlertThresholds().model_dump()[k])
    if overridden:
        print(f"alert thresholds from the environment: {', '.join(overridden)}")
    files = render(config)
    if args.check:
        found = drift(out, files)
        if found:
            print(f"{out} differs from what the specs render:\n{found.describe()}", file=sys.stderr)
            print("run `retail-assets kql render` and commit the result (remove files listed as not rendered)",
                  file=sys.stderr)
            return 1
        print(f"{out}: {len(files)} files up to date")
        return 0
    found = write(out, files)
    print(f"{out}: {len(files)} files rendered ({len(found.missing)} new, {len(found.changed)} updated)")
    if found.extra:
        print("not rendered, left in place (delete them if stale):\n" + "\n".join(f"  {p}" for p in found.extra))
    return 0
