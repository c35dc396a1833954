"""``retail-assets realism``: how close the generated world is to published retail statistics.

    retail-assets realism --month 2024-01 --to 2024-12                 # score what is landed
    retail-assets realism --generate --profile demo --month 2024-01     # generate into a temp landing, then score

Every metric of ``lib/realism.py`` is computed from the landed months (the configured landing zone,
or ``--landing DIR``) and printed against its band and source; Gold's conversion KPI is read from
the configured lake when the landing is the configured one. Exit code 1 when a metric is out of its
band, 2 on bad arguments or nothing to score.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import tempfile
import time
from contextlib import ExitStack

from retail_assets.commands.run import month_argument

OUT_OF_BAND = 1
BAD_ARGUMENTS = 2
STORE_PERFORMANCE = "gold/store_performance_daily"


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "realism", help="Score landed (or freshly generated) months against published retail statistics."
    )
    parser.add_argument(
        "--month",
        type=month_argument,
        help="First month, YYYY-MM (default: every landed month; with --generate, "
        "the year of the profile's first month).",
    )
    parser.add_argument("--to", type=month_argument, help="Last month of a range, YYYY-MM.")
    parser.add_argument(
        "--landing",
        help="Landing directory to read, or to generate into (default: the configured landing zone; "
        "with --generate, a temporary directory).",
    )
    parser.add_argument(
        "--generate", action="store_true", help="Generate the months first (all fact tables and dimensions)."
    )
    parser.add_argument(
        "--profile", help="Profile --generate generates: tiny, demo or reference (default: RETAIL_PROFILE, else demo)."
    )
    parser.set_defaults(handler=run)


def _error(message: str) -> int:
    print(f"retail-assets: {message}", file=sys.stderr)
    return BAD_ARGUMENTS


def run(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.alerts import AlertThresholds
    from retail_assets.lib.generator.config import GeneratorConfigError, load_config
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.months import month_range
    from retail_assets.lib.realism import RealismError, scan_landing, scorecard
    from retail_assets.lib.settings import Settings

    if args.profile and not args.generate:
        return _error(
            "--profile chooses what --generate generates: add --generate, or drop --profile to score the landed months"
        )
    if args.to and not args.month:
        return _error("--to needs --month (the first month of the range)")
    if args.month and args.to and args.to < args.month:
        return _error(f"--to {args.to:%Y-%m} is before --month {args.month:%Y-%m}")
    settings = Settings.from_env()
    with ExitStack() as stack:
        if args.generate:
            try:
                config = load_config(args.profile or settings.generator_profile)
            except GeneratorConfigError as exc:
                return _error(str(exc))
            root = args.landing or stack.enter_context(tempfile.TemporaryDirectory(prefix="retail-realism-"))
            landing = LandingZone(root_uri=root)
            first = args.month or config.first_month
            last = args.to or (args.month or dt.date(first.year, 12, 1))
            months = month_range(first, last)
            _generate(config, months, landing)
        else:
            landing = LandingZone(root_uri=args.landing) if args.landing else build_resources(settings)["landing"]
            months = month_range(args.month, args.to or args.month) if args.month else _landed_months(landing)
            if not months:
                return _error(
                    f"nothing landed under {landing.root_uri}: generate months first (add --generate, or retail-assets generate)"
                )
        started = time.perf_counter()
        try:
            landed = scan_landing(landing, months)
        except RealismError as exc:
            return _error(str(exc))
        if args.generate or args.landing:
            gold, no_gold = None, "no Gold: the lake holds the configured landing zone's months, not these"
        else:
            gold, no_gold = _gold(settings, months)
        card = scorecard(landed, thresholds=AlertThresholds.from_env(), store_performance=gold, no_gold=no_gold)
        elapsed = time.perf_counter() - started
    span = f"{months[0]:%Y-%m}" + (f"..{months[-1]:%Y-%m}" if len(months) > 1 else "")
    print(f"realism of {span} landed under {landing.root_uri}")
    _print(card)
    out = card.out_of_band
    measured = [m for m in card.metrics if m.in_band is not None]
    print(
        f"{len(measured) - len(out)} of {len(measured)} metrics in band, {len(out)} out"
        + (f" ({', '.join(m.id for m in out)})" if out else "")
        + f", {len(card.metrics) - len(measured)} not measured; scored in {elapsed:.1f} s"
    )
    return OUT_OF_BAND if out else 0


def _generate(config, months, landing) -> None:
    from retail_assets.lib.generator.output import default_workers, write_dimensions, write_months

    started = time.perf_counter()
    landing.ensure_root()
    write_dimensions(config, months, landing)
    reports = write_months(config, months, landing, workers=default_workers(config, len(months)))
    rows = sum(r.total_rows for r in reports)
    print(
        f"generated profile {config.profile}, seed {config.seed}: {len(months)} month(s), {rows:,} fact rows "
        f"in {time.perf_counter() - started:.1f} s -> {landing.root_uri}"
    )


def _landed_months(landing) -> list[dt.date]:
    files, _ = landing.scan("batch/fact_receipts/")
    return sorted({f.path.month for f in files})


def _gold(settings, months):
    """Gold's store_performance_daily for ``months`` from the configured lake, or (None, why not)."""
    import polars as pl

    from retail_assets.defs.resources import build_resources

    lake = build_resources(settings)["lake"].process_config_and_initialize()
    if not lake.exists(STORE_PERFORMANCE):
        return None, f"no Gold: {STORE_PERFORMANCE} is not in the lake at {lake.uri(STORE_PERFORMANCE)}"
    frame = lake.scan(STORE_PERFORMANCE, months)
    if not frame.select(pl.len()).collect().item():
        return None, f"no Gold: {STORE_PERFORMANCE} has no rows for these months"
    return frame, ""


def _print(card) -> None:
    rows = [
        (
            m.id,
            m.shown_value,
            m.band.describe(m.unit),
            {True: "yes", False: "NO", None: "skipped"}[m.in_band],
            m.source,
            m.note,
        )
        for m in card.metrics
    ]
    widths = [
        max(len(r[i]) for r in [("metric", "generated", "band", "in band", "source", ""), *rows]) for i in range(4)
    ]
    print(
        f"{'metric':<{widths[0]}}  {'generated':>{widths[1]}}  {'band':<{widths[2]}}  {'in band':<{widths[3]}}  source"
    )
    for id, value, band, ok, source, note in rows:
        print(f"{id:<{widths[0]}}  {value:>{widths[1]}}  {band:<{widths[2]}}  {ok:<{widths[3]}}  {source}")
        if note:
            print(f"{'':<{widths[0]}}  {'':>{widths[1]}}  {'':<{widths[2]}}  {'':<{widths[3]}}  ({note})")
