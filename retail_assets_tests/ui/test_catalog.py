"""The asset catalog a user opens first: every layer present, every table's schema check visible."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from retail_assets_tests.ui.conftest import Webserver, open_page, start_webserver, stop_webserver

pytestmark = pytest.mark.ui


@pytest.fixture(scope="module")
def webserver(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    root = tmp_path_factory.mktemp("ui-catalog")
    process, server = start_webserver(root / "home", root / "data")
    try:
        yield server
    finally:
        stop_webserver(process)


def test_the_catalog_shows_each_layer_as_a_group(webserver: Webserver, browser) -> None:
    nodes = webserver.graphql("{ assetNodes { groupName assetKey { path } } }")["assetNodes"]
    names: dict[str, set[str]] = {}
    for node in nodes:
        # The list shows each asset's key ("landing / dim_stores"); a group's keys need not share its name.
        names.setdefault(node["groupName"], set()).add(" / ".join(node["assetKey"]["path"]))
    assert {"landing", "bronze"} <= set(names)
    page = open_page(browser, f"{webserver.url}/assets")
    for group, assets in sorted(names.items()):
        page.goto(f"{webserver.url}/locations/retail_assets/asset-groups/{group}")
        page.get_by_text("Asset Group in").first.wait_for(timeout=30_000)
        # The group's own list shows its assets (lineage and list render only what is in view: look at the first).
        page.get_by_role("tab", name="List").click()
        page.get_by_text(min(assets)).first.wait_for(timeout=30_000)


def test_an_asset_page_shows_its_blocking_schema_check(webserver: Webserver, browser) -> None:
    page = open_page(browser, f"{webserver.url}/assets/bronze/fact_receipts?view=checks")
    page.get_by_text("schema_parity").first.wait_for(timeout=30_000)
    assert page.get_by_text("Blocking").count() >= 1
