"""The report pages, the alerts page and the data-health page in Chromium, checked against SQL over the same file.

Expected figures come from queries written here over the serving DuckDB file the dashboard reads; the
filters are set as a user does (the address, the store dropdown) and must change the numbers to exactly
those of the filtered rows.
"""

from __future__ import annotations

import datetime as dt

import pytest

from retail_assets_tests.dashboard.conftest import Lake, new_page, screenshot, shown_number

pytestmark = [pytest.mark.ui, pytest.mark.slow]

REPORTS = ("operations", "merchandising", "logistics", "marketing", "supply-chain")
# The element's text is shown again (dcc.Loading hides it while a callback runs) and is not what it was.
CHANGED = "before => { const t = document.querySelector('#ID')?.innerText; return t && t !== before; }"


def number(page, element_id: str) -> float:
    return shown_number(page.locator(f"#{element_id}").inner_text())


def open_report(browser, url: str):
    page = new_page(browser, url)
    page.locator("#report-content .tile").first.wait_for(timeout=30_000)
    page.locator("#report-content .js-plotly-plot").first.wait_for(timeout=30_000)
    return page


def store_performance(lake: Lake, first: dt.date, last: dt.date, store_ids: list[int] | None) -> dict[str, float]:
    stores = "" if store_ids is None else f"AND store_id IN ({', '.join(str(s) for s in store_ids)})"
    net, receipts, visitors = lake.query(
        "SELECT sum(net_sales_cents), sum(sales_receipts), sum(visitors) FROM store_performance_daily "
        f"WHERE day::DATE BETWEEN ? AND ? {stores}",
        [first, last],
    )[0]
    return {"net-sales": net / 100, "receipts": receipts, "visitors": visitors}


def shown_store_performance(page) -> dict[str, float]:
    return {key: number(page, f"report-stores-{key}") for key in ("net-sales", "receipts", "visitors")}


def test_every_report_page_renders_without_errors(dashboard, browser) -> None:
    page = new_page(browser, dashboard.url + "/")
    for report in REPORTS:  # each a full load of its address, in one browser (scripts cached, as a user's)
        page.goto(f"{dashboard.url}/{report}")
        page.locator("#report-content .js-plotly-plot").first.wait_for(timeout=30_000)
        assert page.locator("#serving-error").count() == 0, report
        assert page.locator("#report-content .tile").count() >= 3, report
        assert not page.errors, (report, page.errors)
        if report == "operations":
            screenshot(page, report)
    page.context.close()


def test_date_store_and_region_filters_change_the_numbers_to_those_of_the_filtered_rows(
    dashboard, tiny_lake, browser
) -> None:
    first, last = dt.date(2024, 1, 8), dt.date(2024, 1, 14)
    base = f"{dashboard.url}/operations?start={first}&end={last}"
    page = open_report(browser, base)
    chain = store_performance(tiny_lake, first, last, None)
    assert shown_store_performance(page) == pytest.approx(chain)
    channels = number(page, "report-channels-net-sales")
    assert "chain-wide" in page.locator("#report-channels-scope").inner_text()

    # One store, chosen in the dropdown as a user does.
    (store_id, store_number), *_ = tiny_lake.query(
        "SELECT store_id, store_number FROM dim_stores ORDER BY store_number DESC"
    )
    page.locator("#report-store").click()
    page.get_by_role("option", name=store_number).click()
    page.wait_for_function(
        CHANGED.replace("ID", "report-stores-net-sales"),
        arg=page.locator("#report-stores-net-sales").inner_text(),
        timeout=30_000,
    )
    one_store = store_performance(tiny_lake, first, last, [store_id])
    assert one_store["net-sales"] < chain["net-sales"]
    assert shown_store_performance(page) == pytest.approx(one_store)
    assert number(page, "report-channels-net-sales") == channels  # chain-wide sections do not follow the filter
    page.context.close()

    # A region, from the address: the stores of that region only.
    region, region_stores = tiny_lake.query(
        "SELECT g.region, list(s.store_id ORDER BY s.store_id) FROM dim_stores AS s "
        "JOIN dim_geographies AS g USING (geography_id) GROUP BY 1 ORDER BY 1 LIMIT 1"
    )[0]
    page = open_report(browser, f"{base}&region={region}")
    assert shown_store_performance(page) == pytest.approx(store_performance(tiny_lake, first, last, region_stores))
    page.context.close()

    # A shorter date range: the numbers of those days only.
    page = open_report(browser, f"{dashboard.url}/operations?start={last}&end={last}")
    day = store_performance(tiny_lake, last, last, None)
    assert day["receipts"] < chain["receipts"]
    assert shown_store_performance(page) == pytest.approx(day)
    assert not page.errors, page.errors
    page.context.close()


def test_alerts_page_filters_by_type(dashboard, tiny_lake, browser) -> None:
    page = new_page(browser, f"{dashboard.url}/alerts")
    page.locator("#alerts-count").wait_for(timeout=30_000)
    ((total,),) = tiny_lake.query("SELECT count(*) FROM alerts")
    assert number(page, "alerts-count") == total > 0
    assert page.locator("#alerts-table tbody tr").count() == min(total, 50)
    screenshot(page, "alerts")
    (kind, of_kind), *_ = tiny_lake.query("SELECT alert_type, count(*) FROM alerts GROUP BY 1 ORDER BY 2, 1")
    page.locator("#alerts-type").click()
    page.get_by_role("option", name=kind).click()
    page.wait_for_function(CHANGED.replace("ID", "alerts-count"), arg=str(total), timeout=30_000)
    assert number(page, "alerts-count") == of_kind
    shown_types = page.locator("#alerts-table tbody tr td:nth-child(2)").all_inner_texts()
    assert shown_types == [kind] * of_kind
    assert not page.errors, page.errors


def test_data_health_shows_each_gold_tables_latest_month_and_quarantine(dashboard, tiny_lake, browser) -> None:
    page = new_page(browser, f"{dashboard.url}/health")
    page.locator("#health-gold").wait_for(timeout=30_000)
    shown = {
        cells[0]: cells
        for cells in (row.locator("td").all_inner_texts() for row in page.locator("#health-gold tbody tr").all())
    }
    for table in ("sales_minute_store", "store_performance_daily", "alerts", "inventory_position_current"):
        month, rows = tiny_lake.query(
            f"SELECT max(month_start), count(*) FILTER (WHERE month_start = (SELECT max(month_start) FROM {table})) "
            f"FROM {table}"
        )[0]
        assert shown[table][1:3] == [f"{month:%Y-%m-%d}", f"{rows:,}"], table
    ((quarantined,),) = tiny_lake.query("SELECT count(*) FROM quarantine")
    if quarantined:
        assert (
            sum(int(r.replace(",", "")) for r in page.locator("#health-quarantine td:nth-child(3)").all_inner_texts())
            == quarantined
        )
    else:
        assert page.locator("#health-quarantine-none").count() == 1
    # Failed checks: the latest evaluation of each check and month, read here from the run's Dagster instance.
    page.locator("#health-failed").wait_for(timeout=60_000)
    assert sorted(
        tuple(row.locator("td").all_inner_texts()[:4]) for row in page.locator("#health-failed tbody tr").all()
    ) == sorted(failed_checks_in(tiny_lake))
    assert not page.errors, page.errors
    screenshot(page, "health")


def failed_checks_in(lake: Lake) -> list[tuple[str, str, str, str]]:
    import dagster as dg

    with dg.DagsterInstance.from_config(lake.env["DAGSTER_HOME"]) as instance:
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION), ascending=True
        )
    outcome = {}
    for record in records:  # oldest first: the last one written per check and month wins
        check = record.event_log_entry.dagster_event.event_specific_data
        outcome[(check.asset_key.to_user_string(), check.check_name, check.partition or "-")] = (
            check.passed,
            check.severity.value,
        )
    return [(*key, severity) for key, (passed, severity) in outcome.items() if not passed]
