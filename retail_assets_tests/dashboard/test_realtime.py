"""The real-time page in Chromium: the ten tiles render, and every number they show equals SQL over the same file.

The expected figures are computed here, by queries written for the test over the serving DuckDB file the
dashboard reads (nothing is imported from ``retail_assets.dashboard``). The lake is a tiny January 2024,
historical, so every window must end at its latest event.
"""

from __future__ import annotations

import datetime as dt
import time

import duckdb

import pytest

from retail_assets.devtools.processes import stop_process_group
from retail_assets_tests.dashboard.conftest import Lake, chart_data, new_page, screenshot, shown_number, start_dashboard

pytestmark = [pytest.mark.ui, pytest.mark.slow]

REFRESH_SECONDS = 5


@pytest.fixture(scope="module")
def dashboard(tiny_lake, tmp_path_factory):
    process, server = start_dashboard(
        tiny_lake, tmp_path_factory.mktemp("dashboard") / "dashboard.log", "--refresh-seconds", str(REFRESH_SECONDS)
    )
    try:
        yield server
    finally:
        stop_process_group(process, timeout=10)


TILES = ("sales", "online", "fulfilment", "ble", "marketing", "tender", "products", "stockouts", "zones", "trucks")


def anchor_of(lake: Lake) -> dt.datetime:
    """End of the latest minute any minute-grain table holds."""
    (latest,) = lake.query(
        "SELECT greatest((SELECT max(ts) FROM sales_minute_store), (SELECT max(ts) FROM ble_presence_minute), "
        "(SELECT max(ts) FROM zone_dwell_minute))"
    )[0]
    return latest.astimezone(dt.UTC) + dt.timedelta(minutes=1)


def day_of(anchor: dt.datetime) -> dt.datetime:
    return (anchor - dt.timedelta(microseconds=1)).replace(hour=0, minute=0, second=0, microsecond=0)


def text(page, element_id: str) -> str:
    return page.locator(f"#{element_id}").inner_text()


def number(page, element_id: str) -> float:
    return shown_number(text(page, element_id))


def bars(page, tile: str) -> tuple[list, list]:
    (trace,) = chart_data(page, f"tile-{tile}-chart")
    return trace["y"], trace["x"]


def expected_tiles(lake: Lake, anchor: dt.datetime) -> dict[str, dict]:
    hour, half_hour, day = anchor - dt.timedelta(hours=1), anchor - dt.timedelta(minutes=30), day_of(anchor)
    sales = lake.query(
        "SELECT st.store_number, sum(total_sales_cents) FROM sales_minute_store JOIN dim_stores AS st USING (store_id) "
        "WHERE ts >= ? AND ts < ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        [hour, anchor],
    )
    sales_all = lake.query(
        "SELECT coalesce(sum(total_sales_cents), 0), coalesce(sum(receipts), 0) FROM sales_minute_store "
        "WHERE ts >= ? AND ts < ?",
        [hour, anchor],
    )[0]
    online = lake.query(
        "SELECT coalesce(sum(orders), 0), coalesce(sum(total_cents), 0) FROM online_sales_daily WHERE day = ?", [day]
    )[0]
    fulfilment = lake.query(
        "SELECT fulfillment_status, sum(lines) FROM fulfillment_daily WHERE day = ? GROUP BY 1 ORDER BY 2 DESC, 1",
        [day],
    )
    ble = lake.query(
        "SELECT st.store_number, max(devices), sum(pings) FROM ble_presence_minute "
        "JOIN dim_stores AS st USING (store_id) "
        "WHERE ts >= ? AND ts < ? GROUP BY 1 ORDER BY 2 DESC, 3 DESC, 1 LIMIT 10",
        [half_hour, anchor],
    )
    pings = lake.query(
        "SELECT coalesce(sum(pings), 0) FROM ble_presence_minute WHERE ts >= ? AND ts < ?", [half_hour, anchor]
    )
    marketing = lake.query(
        "SELECT campaign_id, sum(cost_cents) FROM marketing_cost_daily WHERE day = ? "
        "GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        [day],
    )
    cost = lake.query("SELECT coalesce(sum(cost_cents), 0) FROM marketing_cost_daily WHERE day = ?", [day])
    tender = lake.query(
        "SELECT payment_method, sum(transactions) FROM tender_mix_daily WHERE day = ? GROUP BY 1 ORDER BY 2 DESC, 1",
        [day],
    )
    (bucket,) = lake.query("SELECT max(ts) FROM top_products_15m WHERE ts < ?", [anchor])[0]
    products = lake.query(
        "SELECT p.product_name, sum(revenue_cents) FROM top_products_15m JOIN dim_products AS p USING (product_id) "
        "WHERE ts = ? GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT 10",
        [bucket],
    )
    revenue = lake.query("SELECT coalesce(sum(revenue_cents), 0) FROM top_products_15m WHERE ts = ?", [bucket])
    stockouts = lake.query(
        "SELECT st.store_number, sum(open_stockouts) FROM stockout_duration_daily "
        "JOIN dim_stores AS st USING (store_id) "
        "WHERE day = ? GROUP BY 1 HAVING sum(open_stockouts) > 0 ORDER BY 2 DESC, 1 LIMIT 10",
        [day],
    )
    stockouts_all = lake.query(
        "SELECT coalesce(sum(open_stockouts), 0), coalesce(sum(stockouts), 0) FROM stockout_duration_daily "
        "WHERE day = ? AND store_id IS NOT NULL",
        [day],
    )[0]
    zones = lake.query(
        "SELECT coalesce(sum(customers), 0) FROM zone_dwell_minute WHERE ts >= ? AND ts < ?", [half_hour, anchor]
    )
    trucks = lake.query(
        "SELECT site, avg_dwell_minutes FROM truck_dwell_daily WHERE day = ? ORDER BY 2 DESC, 1 LIMIT 10", [day]
    )
    shipments = lake.query("SELECT coalesce(sum(shipments), 0) FROM truck_dwell_daily WHERE day = ?", [day])
    return {
        "sales": {
            "figures": {"sales-per-minute": sales_all[0] / 60 / 100, "receipts": sales_all[1]},
            "bars": ([s for s, _ in sales], [round(c / 60 / 100, 2) for _, c in sales]),
        },
        "online": {
            "figures": {
                "orders": online[0],
                "total": online[1] / 100,
                "aov": (online[1] // online[0] if online[0] else 0) / 100,
            }
        },
        "fulfilment": {
            "figures": {"lines": sum(n for _, n in fulfilment)},
            "bars": ([s for s, _ in fulfilment], [n for _, n in fulfilment]),
        },
        "ble": {"figures": {"pings": pings[0][0]}, "bars": ([s for s, *_ in ble], [d for _, d, _ in ble])},
        "marketing": {
            "figures": {"cost": cost[0][0] / 100},
            "bars": ([c for c, _ in marketing], [v / 100 for _, v in marketing]),
        },
        "tender": {
            "figures": {"transactions": sum(n for _, n in tender)},
            "pie": ([t for t, _ in tender], [n for _, n in tender]),
        },
        "products": {
            "figures": {"revenue": revenue[0][0] / 100},
            "bars": ([p for p, _ in products], [r / 100 for _, r in products]),
        },
        "stockouts": {
            "figures": {"open": stockouts_all[0], "detected": stockouts_all[1]},
            "bars": ([s for s, _ in stockouts], [n for _, n in stockouts]),
        },
        "zones": {"figures": {"customers": zones[0][0]}},
        "trucks": {
            "figures": {"shipments": shipments[0][0]},
            "bars": ([s for s, _ in trucks], [round(m, 1) for _, m in trucks]),
        },
    }


def test_every_tile_renders_and_each_number_equals_sql_over_the_same_file(dashboard, tiny_lake, browser) -> None:
    page = new_page(browser, dashboard.url + "/")
    for tile in TILES:
        page.locator(f"#tile-{tile}").wait_for(timeout=30_000)
    assert page.locator("#serving-error").count() == 0
    anchor = anchor_of(tiny_lake)
    banner = text(page, "realtime-banner")
    assert banner.startswith("Historical lake") and f"{anchor:%Y-%m-%d %H:%M} UTC" in banner, banner
    # Every tile says how fresh its own table is.
    as_of = {
        "sales": ("sales_minute_store", "ts", "%Y-%m-%d %H:%M UTC"),
        "online": ("online_sales_daily", "day", "%Y-%m-%d (daily)"),
        "products": ("top_products_15m", "ts", "%Y-%m-%d %H:%M UTC"),
        "trucks": ("truck_dwell_daily", "day", "%Y-%m-%d (daily)"),
        "zones": ("zone_dwell_minute", "ts", "%Y-%m-%d %H:%M UTC"),
    }
    for tile in TILES:
        assert text(page, f"tile-{tile}-asof").startswith("as of 20"), tile
    for tile, (table, column, form) in as_of.items():
        (latest,) = tiny_lake.query(f"SELECT max({column}) FROM {table}")[0]
        assert text(page, f"tile-{tile}-asof") == f"as of {latest.astimezone(dt.UTC).strftime(form)}", tile

    expected = expected_tiles(tiny_lake, anchor)
    for tile, want in expected.items():
        for figure, value in want["figures"].items():
            assert number(page, f"tile-{tile}-{figure}") == pytest.approx(value, abs=0.005), (tile, figure)
        if "bars" in want:
            labels, values = want["bars"]
            if labels:
                assert bars(page, tile) == (labels, pytest.approx(values, abs=0.005)), tile
            else:
                assert page.locator(f"#tile-{tile}-chart").count() == 0 and page.locator(f"#tile-{tile}-note").count()
        if "pie" in want:
            (trace,) = chart_data(page, f"tile-{tile}-chart")
            assert (trace["labels"], trace["values"]) == want["pie"], tile
    # The tiny month is not empty where it matters: the comparisons above are not all 0 == 0.
    assert expected["sales"]["figures"]["receipts"] > 0 and expected["online"]["figures"]["orders"] > 0
    assert expected["tender"]["pie"][0] and expected["products"]["bars"][0] and expected["marketing"]["bars"][0]
    assert not page.errors, page.errors
    screenshot(page, "realtime")


def test_the_page_refreshes_itself_without_a_reload_and_never_holds_the_file(dashboard, tiny_lake, browser) -> None:
    page = new_page(browser, dashboard.url + "/")
    page.locator("#tile-sales").wait_for(timeout=30_000)
    first = text(page, "realtime-updated")
    page.evaluate("window.__same_document = true")
    page.wait_for_function(
        "first => document.querySelector('#realtime-updated').innerText !== first", arg=first, timeout=30_000
    )
    assert page.evaluate("window.__same_document === true")  # updated in place: no navigation happened
    assert f"refreshes every {REFRESH_SECONDS} s" in text(page, "realtime-updated")
    # Between its short reads the dashboard holds nothing: a writer gets the file while the page stays open.
    opened = 0
    for _ in range(10):
        try:
            duckdb.connect(str(tiny_lake.duckdb_path)).close()  # read-write: fails while any process has it open
            opened += 1
        except duckdb.IOException:
            pass
        time.sleep(0.3)
    assert opened >= 5, f"only {opened} of 10 read-write opens got the file while the dashboard was running"
