"""The path people take through the Dagster UI, in a real browser and through the same GraphQL API.

One platform (``dagster dev``: webserver + daemon, tiny generator profile) serves the whole module;
the tests build on each other in file order, as a user's session would:
1. one selection materializes the whole graph for a month;
2. a 3-month backfill runs each asset once for the whole range and shows check results per month;
3. a file that breaks the contract fails the blocking check, visibly, with its column diff, and the
   downstream Silver table of that month does not run;
4. the same flows through GraphQL.
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Iterator

import polars as pl
import pytest

from retail_assets_tests.factories import land_table, sample_rows
from retail_assets_tests.ui.conftest import Webserver, open_page, start_webserver, stop_webserver

pytestmark = pytest.mark.ui

RUN_TIMEOUT = 900


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Webserver]:
    root = tmp_path_factory.mktemp("ui-user-path")
    process, server = start_webserver(root / "home", root / "data", {"RETAIL_PROFILE": "tiny"})
    try:
        yield server
    finally:
        stop_webserver(process)


# ---- GraphQL helpers ---------------------------------------------------------------------------


def materializable_keys(server: Webserver) -> list[list[str]]:
    nodes = server.graphql("{ assetNodes { assetKey { path } isMaterializable isPartitioned } }")["assetNodes"]
    return [n["assetKey"]["path"] for n in nodes if n["isMaterializable"]]


def backfills(server: Webserver) -> list[dict]:
    data = server.graphql(
        "{ partitionBackfillsOrError(limit: 20) { ... on PartitionBackfills { results { id status partitionNames } } } }"
    )
    return data["partitionBackfillsOrError"]["results"]


def wait_for_backfill(server: Webserver, backfill_id: str) -> str:
    deadline = time.monotonic() + RUN_TIMEOUT
    query = "query($id: String!) { partitionBackfillOrError(backfillId: $id) { ... on PartitionBackfill { status } } }"
    while time.monotonic() < deadline:
        status = server.graphql(query, {"id": backfill_id})["partitionBackfillOrError"]["status"]
        if status in ("COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED"):
            # A backfill is complete when its runs are launched; wait for the runs themselves too.
            wait_for_runs(server, backfill_id, deadline)
            return status
        time.sleep(2)
    raise AssertionError(f"backfill {backfill_id} did not finish within {RUN_TIMEOUT} s")


def runs_of(server: Webserver, backfill_id: str) -> list[dict]:
    query = """query($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
        ... on Runs { results { runId status tags { key value } } } } }"""
    return server.graphql(query, {"id": backfill_id})["runsOrError"]["results"]


def wait_for_runs(server: Webserver, backfill_id: str, deadline: float) -> None:
    while time.monotonic() < deadline:
        runs = runs_of(server, backfill_id)
        if runs and all(r["status"] in ("SUCCESS", "FAILURE", "CANCELED") for r in runs):
            return
        time.sleep(2)
    raise AssertionError(f"runs of backfill {backfill_id} did not finish")


def materializations(server: Webserver, path: list[str], partitions: list[str]) -> list[dict]:
    query = """query($key: AssetKeyInput!, $partitions: [String!]) { assetOrError(assetKey: $key) {
        ... on Asset { assetMaterializations(partitions: $partitions) { partition runId } } } }"""
    return server.graphql(query, {"key": {"path": path}, "partitions": partitions})["assetOrError"]["assetMaterializations"]


def row_count(server: Webserver, path: list[str], partition: str) -> int:
    query = """query($key: AssetKeyInput!, $partitions: [String!]) { assetOrError(assetKey: $key) {
        ... on Asset { assetMaterializations(partitions: $partitions, limit: 1) {
          metadataEntries { label ... on IntMetadataEntry { intValue } } } } } }"""
    (latest,) = server.graphql(query, {"key": {"path": path}, "partitions": [partition]})["assetOrError"]["assetMaterializations"]
    return {e["label"]: e.get("intValue") for e in latest["metadataEntries"]}["dagster/row_count"]


def check_executions(server: Webserver, path: list[str], check: str, partition: str) -> list[dict]:
    query = """query($key: AssetKeyInput!, $check: String!, $partition: String) {
        assetCheckExecutions(assetKey: $key, checkName: $check, partition: $partition, limit: 5) {
          runId status partition evaluation { success severity description
            metadataEntries { label ... on JsonMetadataEntry { jsonString } } } } }"""
    return server.graphql(query, {"key": {"path": path}, "check": check, "partition": partition})["assetCheckExecutions"]


# ---- the browser path ----------------------------------------------------------------------------


def all_runs(server: Webserver) -> list[dict]:
    query = "{ runsOrError(limit: 200) { ... on Runs { results { runId status tags { key value } } } } }"
    return server.graphql(query)["runsOrError"]["results"]


def wait_for_run(server: Webserver, run_id: str) -> dict:
    deadline = time.monotonic() + RUN_TIMEOUT
    while time.monotonic() < deadline:
        (run,) = [r for r in all_runs(server) if r["runId"] == run_id]
        if run["status"] in ("SUCCESS", "FAILURE", "CANCELED"):
            return run
        time.sleep(2)
    raise AssertionError(f"run {run_id} did not finish within {RUN_TIMEOUT} s")


def launch_everything_from_the_ui(browser, server: Webserver, partitions: str) -> list[dict]:
    """Global lineage -> Materialize all -> pick partitions -> Launch. Returns the finished runs.

    One partition launches a run; several launch a backfill (single-run policy: one run for the range).
    """
    before_backfills = {b["id"] for b in backfills(server)}
    before_runs = {r["runId"] for r in all_runs(server)}
    page = open_page(browser, f"{server.url}/asset-groups")
    page.get_by_role("button", name="Materialize all").first.click()
    dialog = page.locator("[role=dialog]").last
    dialog.get_by_text("Partition selection").wait_for(timeout=30_000)
    # Months since 2024 are older than the dialog's default 90-day window.
    dialog.get_by_text("Show all partitions").click(timeout=30_000)
    box = dialog.get_by_placeholder(re.compile(r"^ex: "))
    box.fill(partitions)
    box.press("Enter")
    dialog.get_by_role("button", name=re.compile(r"^Launch (backfill|1 run)$")).click()
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        new_backfills = [b for b in backfills(server) if b["id"] not in before_backfills]
        if new_backfills:
            page.context.close()
            wait_for_backfill(server, new_backfills[0]["id"])
            return runs_of(server, new_backfills[0]["id"])
        new_runs = [r for r in all_runs(server) if r["runId"] not in before_runs]
        if new_runs:
            page.context.close()
            return [wait_for_run(server, r["runId"]) for r in new_runs]
        time.sleep(1)
    raise AssertionError("nothing was launched after clicking Launch")


def test_one_selection_materializes_the_whole_graph_for_a_month(platform: Webserver, browser) -> None:
    runs = launch_everything_from_the_ui(browser, platform, "2024-01-01")
    assert [r["status"] for r in runs] == ["SUCCESS"]
    for path in materializable_keys(platform):
        assert materializations(platform, path, ["2024-01-01"]) or materializations(platform, path, []), path
    # The user sees it: the Silver receipts page shows its January materialization with its row count.
    page = open_page(browser, f"{platform.url}/assets/silver/fact_receipts?view=partitions")
    page.get_by_text("2024-01-01").first.wait_for(timeout=30_000)
    page.goto(f"{platform.url}/assets/silver/fact_receipts")
    page.get_by_text("Row count").first.wait_for(timeout=30_000)
    rows = row_count(platform, ["silver", "fact_receipts"], "2024-01-01")
    assert rows > 0
    page.get_by_text(f"{rows:,}").first.wait_for(timeout=30_000)


def test_a_gold_kpi_shows_its_rows_and_a_chart_of_its_month(platform: Webserver, browser) -> None:
    # Builds on the January run above. The chart is the table's own figures: its bars, one row per day in the
    # metadata panel, add up to the month's Σ total_sales_cents in the Delta table, as its caption's total says.
    sales = pl.read_delta(str(platform.data_dir / "lake" / "gold" / "sales_minute_store"))
    month = sales.filter(pl.col("month_start") == dt.date(2024, 1, 1))
    total = month["total_sales_cents"].sum()
    page = open_page(browser, f"{platform.url}/assets/gold/sales_minute_store")
    page.get_by_text("kpi/total_sales_usd").first.wait_for(timeout=30_000)
    chart = page.get_by_role("row").filter(has_text=re.compile(r"^chart(?!_)")).first
    chart.get_by_role("columnheader", name="total_sales_usd").wait_for(timeout=30_000)
    assert chart.locator("tbody tr").count() == month["ts"].dt.date().n_unique()
    bars = [float(text) for text in chart.locator("tbody tr td:nth-child(2)").all_inner_texts()]
    assert sum(bars) == pytest.approx(total / 100)
    caption = page.get_by_role("row").filter(has_text=re.compile(r"^chart_caption"))
    caption.get_by_text(f"total ${total / 100:,.2f}").wait_for(timeout=30_000)
    # The preview of Gold rows is on the same page.
    page.get_by_role("row").filter(has_text=re.compile(r"^preview")).get_by_text("store_id").first.wait_for(
        timeout=30_000
    )


def test_a_three_month_backfill_runs_each_asset_once_for_the_range(platform: Webserver, browser) -> None:
    months = ["2024-02-01", "2024-03-01", "2024-04-01"]
    runs = launch_everything_from_the_ui(browser, platform, "[2024-02-01...2024-04-01]")
    assert runs and {r["status"] for r in runs} == {"SUCCESS"}
    for path in (["bronze", "fact_receipts"], ["silver", "fact_receipts"], ["landing", "fact_receipts"]):
        produced = materializations(platform, path, months)
        assert sorted(m["partition"] for m in produced) == months, path
        assert len({m["runId"] for m in produced}) == 1, f"{path} took more than one run for the range"
    # The run that wrote Bronze receipts covered exactly the range. (The backfill has several runs: Dagster groups
    # assets by partition mapping, and a run whose assets read a neighbouring month is tagged with a wider range.)
    (bronze_run,) = {m["runId"] for m in materializations(platform, ["bronze", "fact_receipts"], months)}
    tags = next(r["tags"] for r in runs if r["runId"] == bronze_run)
    assert {"key": "dagster/asset_partition_range_start", "value": "2024-02-01"} in tags
    assert {"key": "dagster/asset_partition_range_end", "value": "2024-04-01"} in tags
    for month in months:
        (latest, *_) = check_executions(platform, ["bronze", "fact_receipts"], "schema_parity", month)
        assert (latest["status"], latest["partition"]) == ("SUCCEEDED", month)
    # Per-partition check results are on the asset's checks tab.
    page = open_page(browser, f"{platform.url}/assets/bronze/fact_receipts?view=checks")
    page.get_by_text("schema_parity").first.wait_for(timeout=30_000)
    page.get_by_text("schema_parity").first.click()
    page.get_by_text("2024-04-01").first.wait_for(timeout=30_000)


def test_a_broken_file_fails_the_check_visibly_and_stops_downstream(platform: Webserver, browser) -> None:
    # A producer starts sending a column the contract does not have.
    from retail_assets.lib.landing import LandingZone

    landing = LandingZone(root_uri=str(platform.data_dir / "landing"))
    march = dt.date(2024, 3, 1)
    drifted = sample_rows("fact_store_ops", 3, month=march)
    land_table(landing, "fact_store_ops", drifted.with_columns(shift_manager=drifted["trace_id"]), march, "pos-export.parquet")
    silver_before = materializations(platform, ["silver", "fact_store_ops"], ["2024-03-01"])

    (run,) = launch_everything_from_the_ui(browser, platform, "2024-03-01")
    assert run["status"] == "FAILURE"  # the blocking check failed the Bronze step
    (failed, *_) = check_executions(platform, ["bronze", "fact_store_ops"], "schema_parity", "2024-03-01")
    assert (failed["status"], failed["evaluation"]["success"]) == ("FAILED", False)
    extra = {e["label"]: e.get("jsonString") for e in failed["evaluation"]["metadataEntries"]}["extra_columns"]
    assert "shift_manager" in extra
    # Silver for that month did not run: its latest materialization is still the earlier one.
    assert materializations(platform, ["silver", "fact_store_ops"], ["2024-03-01"]) == silver_before
    # Other tables of the month were not held back.
    assert {m["runId"] for m in materializations(platform, ["silver", "fact_receipts"], ["2024-03-01"])} - {
        m["runId"] for m in silver_before
    }

    page = open_page(browser, f"{platform.url}/assets/bronze/fact_store_ops?view=checks")
    page.get_by_text("schema_parity").first.click()
    page.get_by_text("Failed").first.wait_for(timeout=30_000)
    page.get_by_text("extra_columns").first.wait_for(timeout=30_000)
    page.get_by_text("shift_manager").first.wait_for(timeout=30_000)


def test_the_same_flows_through_graphql(platform: Webserver) -> None:
    mutation = """mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
        __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message } } }"""
    keys = [{"path": path} for path in materializable_keys(platform)]
    months = ["2024-05-01", "2024-06-01"]
    launched = platform.graphql(mutation, {"params": {"partitionNames": months, "assetSelection": keys}})
    backfill_id = launched["launchPartitionBackfill"]["backfillId"]
    assert wait_for_backfill(platform, backfill_id) in ("COMPLETED", "COMPLETED_SUCCESS")
    produced = materializations(platform, ["silver", "fact_receipt_lines"], months)
    assert sorted(m["partition"] for m in produced) == months and len({m["runId"] for m in produced}) == 1
    for month in months:
        assert check_executions(platform, ["silver", "fact_receipt_lines"], "schema_parity", month)[0]["status"] == "SUCCEEDED"
    # The failed check of the previous test is just as visible through the API.
    (failed, *_) = check_executions(platform, ["bronze", "fact_store_ops"], "schema_parity", "2024-03-01")
    assert failed["status"] == "FAILED" and "extra columns ['shift_manager']" in failed["evaluation"]["description"]
