"""``retail-assets stream``: a live event producer driven by the generator's simulation.

    retail-assets stream --rate 20000 --duration 60                 # landing files (default)
    retail-assets stream --rate 500 --duration 600 --sink eventhubs  # RETAIL_EVENTHUB_* from the environment
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys


def _start(text: str) -> dt.datetime:
    try:
        stamp = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an ISO date-time (2024-01-10T00:00)") from None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=dt.UTC)


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("stream", help="Send simulated retail events to the landing zone or Event Hubs.")
    parser.add_argument("--rate", type=float, default=1000.0, help="Events per second (0: as fast as possible).")
    parser.add_argument("--duration", type=float, default=60.0, help="Seconds to run.")
    parser.add_argument("--sink", choices=("landing", "eventhubs"), default="landing")
    parser.add_argument("--start", type=_start, help="Simulated start time (UTC, default: now).")
    parser.add_argument("--profile", help="tiny, demo or reference (default: RETAIL_PROFILE, else demo).")
    parser.add_argument("--landing", help="Landing directory (default: the configured landing zone).")
    parser.add_argument("--flush-seconds", type=float, default=1.0, help="Landing sink: publish files at least this often.")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.generator.config import GeneratorConfigError, load_config
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.settings import Settings
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import EventHubsSink, LandingSink

    if args.rate < 0 or args.duration <= 0:
        print("--rate must be >= 0 and --duration > 0", file=sys.stderr)
        return 2
    try:
        settings = Settings.from_env()
        config = load_config(args.profile or settings.generator_profile)
        resources = build_resources(settings)
    except GeneratorConfigError as exc:  # --profile; the environment was checked before the command
        print(f"retail-assets: {exc}", file=sys.stderr)
        return 2
    if args.sink == "eventhubs":
        if "eventhubs" not in resources:
            print(
                "--sink eventhubs needs RETAIL_EVENTHUB_CONNECTION_STRING, RETAIL_EVENTHUB_NAME and "
                "RETAIL_CHECKPOINT_CONNECTION_STRING in the environment",
                file=sys.stderr,
            )
            return 2
        # Outside a Dagster run nothing resolves the resources' EnvVar fields: resolve them here.
        eventhubs = resources["eventhubs"].process_config_and_initialize()
        sink = EventHubsSink(eventhubs.producer())
        target = f"event hub {eventhubs.eventhub_name}"
    else:
        landing = LandingZone(root_uri=args.landing) if args.landing else resources["landing"].process_config_and_initialize()
        landing.ensure_root()
        sink = LandingSink(landing, max_seconds=args.flush_seconds)
        target = landing.root_uri
    report = produce(config, sink, rate=args.rate, duration=args.duration, start=args.start)
    print(
        f"{report.events:,} events in {report.seconds:.1f} s ({report.rate:,.0f}/s) -> {target}; simulated "
        f"{report.simulated_from:%Y-%m-%d %H:%M} .. {report.simulated_to:%Y-%m-%d %H:%M} UTC, profile {config.profile}"
    )
    for event_type, n in sorted(report.by_type.items()):
        print(f"  {event_type:<24} {n:>10,}")
    return 0
