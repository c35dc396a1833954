"""``retail-assets generate``: write synthetic months into the landing zone, with a progress bar.

Does what the generator assets do, without Dagster: a dimension snapshot and every fact table per
month, under ``batch/<table>/<YYYY-MM>/``. The landing zone is the configured one (``RETAIL_DATA_DIR``
or Azure settings) unless ``--landing DIR`` points elsewhere.
"""

from __future__ import annotations

import argparse
import sys
import time

from retail_assets.commands.run import month_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("generate", help="Generate synthetic retail data into the landing zone.")
    parser.add_argument("--profile", help="tiny, demo or reference (default: RETAIL_PROFILE, else demo).")
    parser.add_argument("--month", type=month_argument, required=True, help="First month, YYYY-MM.")
    parser.add_argument("--to", type=month_argument, help="Last month of a range, YYYY-MM.")
    parser.add_argument("--landing", help="Landing directory (default: the configured landing zone).")
    parser.add_argument("--seed", type=int, help="Override the profile's seed.")
    parser.add_argument("--workers", type=int, help="Months generated in parallel processes (default: one per core for large profiles).")
    parser.add_argument("--no-dimensions", action="store_true", help="Only facts; skip the dimension snapshots.")
    parser.set_defaults(handler=run)


class ProgressBar:
    """A one-line progress bar on stderr (redrawn in place on a terminal, one line per step otherwise)."""

    def __init__(self, stream=None, width: int = 30):
        # sys.stderr when called, not when this module was imported (it may have been replaced since).
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self.started = time.perf_counter()
        self.last = ""

    def __call__(self, label: str, done: int, total: int) -> None:
        filled = int(self.width * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (self.width - filled)}] {done:>3}/{total:<3} {label:<28} {time.perf_counter() - self.started:6.1f}s"
        if self.tty:
            self.stream.write("\r" + line)
        elif label != self.last:
            self.stream.write(line + "\n")
        self.last = label
        self.stream.flush()

    def finish(self) -> None:
        if self.tty:
            self.stream.write("\n")
        self.stream.flush()


def run(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.generator.config import GeneratorConfigError, load_config
    from retail_assets.lib.generator.output import default_workers, write_dimensions, write_months
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.months import month_range
    from retail_assets.lib.settings import Settings

    first, last = args.month, args.to or args.month
    if last < first:
        print(f"--to {last:%Y-%m} is before --month {first:%Y-%m}", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        config = load_config(args.profile or settings.generator_profile, seed=args.seed)
        landing = LandingZone(root_uri=args.landing) if args.landing else build_resources(settings)["landing"]
    except GeneratorConfigError as exc:  # --profile or --seed; the environment was checked before the command
        print(f"retail-assets: {exc}", file=sys.stderr)
        return 2
    months = month_range(first, last)
    workers = args.workers or default_workers(config, len(months))
    landing.ensure_root()
    started = time.perf_counter()
    bar = ProgressBar()
    if not args.no_dimensions:
        write_dimensions(config, months, landing)
    done = []

    def on_month(report) -> None:
        done.append(report)
        if workers > 1:
            bar(f"{report.month:%Y-%m} written", len(done), len(months))

    reports = write_months(config, months, landing, workers=workers, progress=bar if workers <= 1 else None, on_month=on_month)
    bar.finish()
    elapsed = time.perf_counter() - started
    rows = sum(r.total_rows for r in reports)
    for r in reports:
        print(f"{r.month:%Y-%m}: {r.total_rows:>12,} fact rows, {r.bytes / 1e6:8.1f} MB, {r.seconds:6.1f} s")
    print(
        f"profile {config.profile}, seed {config.seed}: {len(months)} month(s), {rows:,} fact rows in {elapsed:.1f} s "
        f"({rows / max(elapsed, 1e-9):,.0f} rows/s) -> {landing.root_uri}"
    )
    return 0
