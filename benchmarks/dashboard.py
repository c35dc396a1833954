"""Benchmark the dashboard: each page's first render, in Chromium and in the server, over a published data directory.

    RETAIL_PROFILE=demo RETAIL_DATA_DIR=/tmp/demo uv run retail-assets run --month 2024-01   # once: a demo month
    RETAIL_DATA_DIR=/tmp/demo uv run python benchmarks/dashboard.py --runs 3

Starts ``retail-assets dashboard`` on a free loopback port over ``RETAIL_DATA_DIR``'s serving file and,
for every page, loads its address ``--runs`` times in Chromium (Debian's ``chromium`` through Playwright's
``executable_path``, as the tests do) and times from navigation to the page's content being drawn (its
charts or tables visible), in a browser that has the dashboard's scripts cached; the first visit of the
real-time page with nothing cached is timed apart. Separately, in this process, it times what the server does for
the page (open the file, run the page's queries, build the figures, close the file). Prints the median
and the worst of each, per page. Issue 18's target: every page's first render <= 2 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from retail_assets.dashboard import health, reports  # noqa: E402
from retail_assets.dashboard.app import render_realtime  # noqa: E402
from retail_assets.dashboard.reader import reading  # noqa: E402
from retail_assets.devtools.processes import stop_process_group  # noqa: E402
from retail_assets.lib.settings import Settings  # noqa: E402

CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
# Page -> the element whose appearance means the page has drawn its content.
PAGES = {
    "/": "#tile-trucks",
    **{path: "#report-content .js-plotly-plot" for path, _ in reports.PAGES},
    "/alerts": "#alerts-table",
    "/health": "#health-gold",
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def server_render(database: Path, path: str) -> None:
    if path == "/":
        render_realtime(database, 15)
    elif path in reports.BY_PATH:
        with reading(database) as reader:
            filters, _, _ = reports.default_filters(reader, "")
        reports.render(database, path, filters)
    elif path == "/alerts":
        health.alerts_layout(database)
        health.render_alerts(database, None, None)
    else:
        health.health_layout(database)


def browser_render(page, url: str, selector: str) -> float:
    """Seconds from navigating to ``url`` (a full page load) until ``selector`` is visible."""
    started = time.perf_counter()
    page.goto(url)
    page.locator(selector).first.wait_for(timeout=60_000)
    return time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=3, help="Renders per page (default 3).")
    args = parser.parse_args()
    settings = Settings.from_env()
    database = settings.duckdb_path
    if not database.exists():
        print(f"{database} does not exist: publish a month first (see the docstring)", file=sys.stderr)
        return 2
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        print("Chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    size = database.stat().st_size / 2**20
    print(f"serving file {database}: {size:,.0f} MiB; {args.runs} renders per page")

    server = {path: [] for path in PAGES}
    for _ in range(args.runs):
        for path in PAGES:
            started = time.perf_counter()
            server_render(database, path)
            server[path].append(time.perf_counter() - started)

    port = free_port()
    log = open(Path(os.environ.get("TMPDIR", "/tmp")) / f"dashboard-bench-{port}.log", "w")  # noqa: SIM115
    process = subprocess.Popen(
        [sys.executable, "-m", "retail_assets.cli", "dashboard", "--port", str(port)],
        cwd=REPO,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    browser_times: dict[str, list[float]] = {path: [] for path in PAGES}
    cold: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(url + "/", timeout=2).close()
                break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    print(f"the dashboard did not start; see {log.name}", file=sys.stderr)
                    return 1
                time.sleep(0.3)
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
            for _ in range(args.runs):  # a first visit: nothing cached (Dash's and plotly's scripts downloaded)
                context = browser.new_context(viewport={"width": 1400, "height": 1000})
                cold.append(browser_render(context.new_page(), url + "/", PAGES["/"]))
                context.close()
            # Every morning after: the browser has the scripts cached; each page is a full load of its address.
            page = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            for _ in range(args.runs):
                for path, selector in PAGES.items():
                    browser_times[path].append(browser_render(page, url + path, selector))
            browser.close()
    finally:
        stop_process_group(process, timeout=10)
        log.close()

    print(f"{'page':<16} {'browser median':>15} {'browser max':>12} {'server median':>14} {'server max':>11}")
    for path in PAGES:
        b, s = browser_times[path], server[path]
        browser_part = f"{statistics.median(b):>14.2f}s {max(b):>11.2f}s"
        print(f"{path:<16} {browser_part} {statistics.median(s):>13.3f}s {max(s):>10.3f}s")
    print(f"first visit of / (nothing cached): median {statistics.median(cold):.2f}s, max {max(cold):.2f}s")
    worst = max(max(b) for b in browser_times.values())
    print(f"worst page render in the browser (scripts cached): {worst:.2f} s (target <= 2 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
