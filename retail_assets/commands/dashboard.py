"""``retail-assets dashboard [--host 127.0.0.1] [--port 8050]``: the store and merchandising managers' dashboard.

Serves the Dash app of ``retail_assets/dashboard/`` over the serving DuckDB file of the configured data
directory (``RETAIL_DATA_DIR``, ``./data`` by default). It only reads the file, one short session per page
render, so it can run while the pipeline, the stream worker and automation write. Stop it with Ctrl-C.
"""

from __future__ import annotations

import argparse
import sys

from retail_assets.dashboard import DEFAULT_REFRESH_SECONDS, MAX_REFRESH_SECONDS


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("dashboard", help="Serve the retail dashboard over the serving DuckDB file.")
    parser.add_argument(
        "--host", default="127.0.0.1", help="Interface to listen on (default 127.0.0.1: this machine only)."
    )
    parser.add_argument("--port", type=int, default=8050, help="Port to listen on (default 8050).")
    parser.add_argument(
        "--refresh-seconds",
        type=int,
        default=DEFAULT_REFRESH_SECONDS,
        help=f"How often the real-time page re-reads the file, 1-30 s (default {DEFAULT_REFRESH_SECONDS}).",
    )
    parser.set_defaults(handler=serve)


def serve(args: argparse.Namespace) -> int:
    from retail_assets.dashboard.app import create_app
    from retail_assets.lib.settings import Settings

    if not 1 <= args.refresh_seconds <= MAX_REFRESH_SECONDS:
        print(f"--refresh-seconds must be between 1 and {MAX_REFRESH_SECONDS}", file=sys.stderr)
        return 2
    settings = Settings.from_env()
    app = create_app(settings.duckdb_path, refresh_seconds=args.refresh_seconds)
    print(f"Retail dashboard on http://{args.host}:{args.port}/ over {settings.duckdb_path}", flush=True)
    app.run(host=args.host, port=args.port, debug=False)
    return 0
