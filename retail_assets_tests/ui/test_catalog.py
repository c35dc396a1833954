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
    groups = webserver.graphql("{ assetNodes { groupName } }")["assetNodes"]
    present = {node["groupName"] for node in groups}
    assert {"landing", "bronze"} <= present
    page = open_page(browser, f"{webserver.url}/assets")
    for group in sorted(present):
        page.goto(f"{webserver.url}/locations/retail_assets/asset-groups/{group}")
        page.get_by_text("Asset Group in").first.wait_for(timeout=30_000)
        # The group's own page lists its assets (fact_receipts is in every layer that has facts).
        page.get_by_text("fact_receipts").first.wait_for(timeout=30_000)


def test_an_asset_page_shows_its_blocking_schema_check(webserver: Webserver, browser) -> None:
    page = open_page(browser, f"{webserver.url}/assets/bronze/fact_receipts?view=checks")
    page.get_by_text("schema_parity").first.wait_for(timeout=30_000)
    assert page.get_by_text("Blocking").count() >= 1
