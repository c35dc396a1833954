"""A tiny month through the real pipeline, the real ``retail-assets dashboard`` process and Debian's Chromium.

The month (``RETAIL_PROFILE=tiny``, ``retail-assets run --month 2024-01``) is the session's main-command month
(built once, shared with test_main_command.py and every dashboard test module); each module starts its own dashboard process on a free loopback
port (stopped with its process group afterwards). The browser fixtures are the UI tests' own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from retail_assets.devtools.processes import stop_process_group
from retail_assets_tests.ui.conftest import CHROMIUM_FLAGS, _free_port, chromium_path  # noqa: F401 - fixture reused

REPO = Path(__file__).resolve().parents[2]
MONTH = "2024-01"
SCREENSHOTS = os.environ.get("RETAIL_DASHBOARD_SCREENSHOTS")  # a folder (docs/dashboard) to keep the screenshots in


@pytest.fixture(scope="package")
def browser(chromium_path: str) -> Iterator:
    """Debian's Chromium for the dashboard tests, closed when they end. Not the UI tests' session-wide one: a sync
    Playwright keeps an asyncio event loop running in pytest's thread while it is open, and every later in-process
    ``asyncio.run`` — Dagster's automation evaluation, in the tests after this package — fails with "cannot be called
    from a running event loop" (the whole suite did: 26 failures and errors)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


@dataclass(frozen=True)
class Lake:
    data_dir: Path
    env: dict[str, str]

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "retail.duckdb"

    def query(self, sql: str, parameters: list | None = None) -> list[tuple]:
        """An independent read of the serving file (plain DuckDB, opened and closed here)."""
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            con.execute("SET TimeZone = 'UTC'")
            return con.execute(sql, parameters).fetchall()


@pytest.fixture(scope="session")
def tiny_lake(main_command_month) -> Lake:
    """The session's main-command month (``retail_assets_tests/conftest.py``), read by the dashboard tests."""
    result = main_command_month.result
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    return Lake(main_command_month.data_dir, main_command_month.env)


@dataclass(frozen=True)
class Dashboard:
    url: str
    log: Path


def start_dashboard(lake: Lake, log: Path, *extra: str) -> tuple[subprocess.Popen, Dashboard]:
    port = _free_port()
    out = open(log, "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        [sys.executable, "-m", "retail_assets.cli", "dashboard", "--port", str(port), *extra],
        cwd=REPO,
        env=lake.env,
        stdout=out,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"retail-assets dashboard exited: {log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url + "/", timeout=2) as response:
                if response.status == 200:
                    return process, Dashboard(url, log)
        except OSError:
            time.sleep(0.3)
    stop_process_group(process, timeout=10)
    raise RuntimeError(f"retail-assets dashboard did not answer within 60 s: {log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dashboard(tiny_lake: Lake, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Dashboard]:
    process, server = start_dashboard(tiny_lake, tmp_path_factory.mktemp("dashboard") / "dashboard.log")
    try:
        yield server
    finally:
        stop_process_group(process, timeout=10)


def new_page(browser, url: str):  # noqa: F811 - the fixture's value
    """A page on ``url`` that records the browser console's errors in ``page.errors``."""
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.errors = []
    page.on("console", lambda message: page.errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(url)
    return page


def screenshot(page, name: str) -> None:
    """Keep a screenshot for docs/dashboard.md when RETAIL_DASHBOARD_SCREENSHOTS names a folder."""
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"), full_page=True)


def shown_number(text: str) -> float:
    """A number as the dashboard writes it: $1,234.56, -$3.10, 1,234, 45.3 min, 12.5%."""
    cleaned = text.replace("$", "").replace(",", "").replace("min", "").replace("%", "").strip()
    return float(cleaned)


def chart_data(page, element_id: str) -> list[dict]:
    """The traces a Plotly chart of the page draws (its ``data``, as the browser holds it)."""
    return page.evaluate(
        "id => JSON.parse(JSON.stringify(document.querySelector('#' + id + ' .js-plotly-plot').data))", element_id
    )
