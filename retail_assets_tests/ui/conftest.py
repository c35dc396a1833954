"""The real Dagster webserver (``dagster dev``: webserver + daemon) and a real Chromium, for UI tests.

Chromium comes from Debian (``apt-get install chromium``; `.ci/run` installs it) and is driven by
Playwright through ``executable_path`` — no browser download. The webserver runs on a free loopback
port against a temporary instance and a temporary data directory prepared by the test module.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from retail_assets_tests.operations.drills import stop_process_group

REPO = Path(__file__).resolve().parents[2]
CHROMIUM_FLAGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass(frozen=True)
class Webserver:
    url: str
    data_dir: Path
    home: Path

    def graphql(self, query: str, variables: dict | None = None, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            f"{self.url}/graphql",
            data=json.dumps({"query": query, "variables": variables or {}}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=timeout) as response:
            payload = json.load(response)
        if payload.get("errors"):
            raise AssertionError(f"GraphQL errors: {payload['errors']}")
        return payload["data"]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_webserver(home: Path, data_dir: Path, extra_env: dict[str, str] | None = None) -> tuple[subprocess.Popen, Webserver]:
    home.mkdir(parents=True, exist_ok=True)
    home.joinpath("dagster.yaml").write_text(
        "telemetry:\n  enabled: false\n"
        "concurrency:\n  runs:\n    max_concurrent_runs: 2\n"
    )
    port = _free_port()
    env = {**os.environ, "DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(data_dir), **(extra_env or {})}
    log = open(home / "dagster-dev.log", "w")  # noqa: SIM115 - closed with the process
    process = subprocess.Popen(
        ["dagster", "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO,
        env={**env, "PATH": f"{Path(sys.executable).parent}:{env.get('PATH', '')}"},
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    server = Webserver(url=f"http://127.0.0.1:{port}", data_dir=data_dir, home=home)
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"dagster dev exited: {(home / 'dagster-dev.log').read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{server.url}/server_info", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            time.sleep(0.5)
    else:
        stop_webserver(process)
        raise RuntimeError("dagster dev did not answer /server_info within 180 s")
    # The code location loads after the webserver answers; wait until its assets are visible.
    while time.monotonic() < deadline:
        nodes = server.graphql("{ assetNodes { id } }")["assetNodes"]
        if nodes:
            return process, server
        time.sleep(1)
    stop_webserver(process)
    raise RuntimeError("the code location did not load within 180 s")


def stop_webserver(process: subprocess.Popen) -> None:
    stop_process_group(process, timeout=30)


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None:
        raise RuntimeError("Chromium is not installed: `apt-get install chromium` (.ci/run does this)")
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def open_page(browser, url: str):
    """A fresh page on ``url`` with Dagster's first-visit community dialog dismissed.

    The dialog can appear late on a loaded machine (after the page has rendered), so besides
    dismissing it now, a locator handler dismisses it whenever it shows up before a later action.
    """
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    page = context.new_page()
    skip = page.get_by_role("button", name="Skip")
    page.add_locator_handler(skip, lambda button: button.click(), no_wait_after=True)
    page.goto(url)
    try:
        skip.wait_for(timeout=5000)
        skip.click()
    except PlaywrightTimeout:  # the dialog only shows on a first visit
        pass
    return page
