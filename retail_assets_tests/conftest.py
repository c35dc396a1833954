"""Fixtures shared by every test: a throw-away lake and landing zone on the local filesystem."""

from __future__ import annotations

from pathlib import Path

import dagster as dg
import pytest

from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone


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
