"""Fixtures shared by every test: a throw-away lake and landing zone on the local filesystem."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.azurite import Azurite, start_azurite


@pytest.fixture
def lake(tmp_path: Path) -> LakeStore:
    return LakeStore(root_uri=str(tmp_path / "lake"))


@pytest.fixture
def landing(tmp_path: Path) -> LandingZone:
    zone = LandingZone(root_uri=str(tmp_path / "landing"))
    zone.ensure_root()
    return zone


@pytest.fixture
def resources(lake: LakeStore, landing: LandingZone) -> dict[str, dg.ConfigurableResource]:
    return {"lake": lake, "landing": landing}


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.DagsterInstance.ephemeral() as inst:
        yield inst


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Azurite:
    """One Azurite blob service for the whole session, on a free loopback port."""
    process, emulator = start_azurite(tmp_path_factory.mktemp("azurite"))
    try:
        yield emulator
    finally:
        process.terminate()
        process.wait(timeout=10)


def azure_lake(azurite: Azurite, container: str) -> LakeStore:
    from dagster_deltalake import AzureConfig
    from dagster_deltalake.config import ClientConfig

    azurite.create_container(container)
    return LakeStore(
        root_uri=f"abfss://{container}@{azurite.account}.dfs.core.windows.net/lake",
        storage=AzureConfig(account_name=azurite.account, account_key=azurite.key),
        client=ClientConfig(allow_http=True),
        endpoint=azurite.endpoint,
    )


def azure_landing(azurite: Azurite, container: str) -> LandingZone:
    zone = LandingZone(
        root_uri=f"az://{container}/landing", account_name=azurite.account, account_key=azurite.key, endpoint=azurite.endpoint
    )
    zone.ensure_root()
    return zone


@dataclass(frozen=True)
class MainCommandMonth:
    """The README's main command run once for the session: ``retail-assets run --month 2024-01`` at the tiny profile."""

    root: Path
    env: dict[str, str]
    result: subprocess.CompletedProcess

    @property
    def data_dir(self) -> Path:
        return self.root / "data"


@pytest.fixture(scope="session")
def main_command_month(tmp_path_factory: pytest.TempPathFactory) -> MainCommandMonth:
    """One tiny month through the real command in a fresh DAGSTER_HOME, shared by the tests that check the command
    and the ones that read what it published (the dashboard's): built once, it saves CI a month's run per package."""
    root = tmp_path_factory.mktemp("main-command")
    (root / "home").mkdir()
    (root / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    env = {**os.environ, "RETAIL_DATA_DIR": str(root / "data"), "RETAIL_PROFILE": "tiny", "DAGSTER_HOME": str(root / "home")}
    result = subprocess.run(
        [sys.executable, "-m", "retail_assets.cli", "run", "--month", "2024-01"],
        cwd=Path(__file__).resolve().parents[1], env=env, capture_output=True, text=True, timeout=900,
    )
    return MainCommandMonth(root, env, result)
