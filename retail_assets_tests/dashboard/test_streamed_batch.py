"""A streamed batch shows on the open real-time page within 30 s, without a reload.

The batch reaches the serving file the way the stream worker's does: new minutes are appended to the Gold
table ``sales_minute_store`` in the lake, then ``refresh_streamed_minutes`` replaces exactly that window in
the DuckDB file (one short writer session), while the dashboard keeps reading it.
"""

from __future__ import annotations

import datetime as dt
import time

import polars as pl
import pytest

from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.serving import MinuteWindow, refresh_streamed_minutes
from retail_assets_tests.dashboard.conftest import new_page, shown_number, start_dashboard
from retail_assets.devtools.processes import stop_process_group

pytestmark = [pytest.mark.ui, pytest.mark.slow]

MONTH = dt.date(2024, 1, 1)


def streamed_minutes(store_id: int, first: dt.datetime, minutes: int, cents: int) -> pl.DataFrame:
    stamps = [first + dt.timedelta(minutes=i) for i in range(minutes)]
    return pl.DataFrame(
        {
            "store_id": [store_id] * minutes,
            "ts": stamps,
            "total_sales_cents": [cents] * minutes,
            "receipts": [2] * minutes,
            "avg_basket_cents": [cents // 2] * minutes,
            "date_key": [int(s.strftime("%Y%m%d")) for s in stamps],
            "month_start": [MONTH] * minutes,
        },
        schema={
            "store_id": pl.Int64,
            "ts": pl.Datetime("us", "UTC"),
            "total_sales_cents": pl.Int64,
            "receipts": pl.Int64,
            "avg_basket_cents": pl.Int64,
            "date_key": pl.Int32,
            "month_start": pl.Date,
        },
    )


def test_a_streamed_batch_appears_on_the_real_time_page_within_30_s(tiny_lake, browser, tmp_path) -> None:
    process, dashboard = start_dashboard(tiny_lake, tmp_path / "dashboard.log", "--refresh-seconds", "10")
    try:
        page = new_page(browser, dashboard.url + "/")
        page.locator("#tile-sales-receipts").wait_for(timeout=30_000)
        before = shown_number(page.locator("#tile-sales-receipts").inner_text())
        ((latest,),) = tiny_lake.query("SELECT max(ts) FROM sales_minute_store")
        first = latest.astimezone(dt.UTC) + dt.timedelta(minutes=2)
        minutes = min(5, int((dt.datetime(2024, 2, 1, tzinfo=dt.UTC) - first).total_seconds() // 60))
        assert minutes > 0, "the tiny month's last minute leaves no room for a streamed batch in January"
        ((store_id,),) = tiny_lake.query("SELECT min(store_id) FROM dim_stores")

        lake = LakeStore(root_uri=str(tiny_lake.data_dir / "lake"))
        lake.append(gold_path("sales_minute_store"), streamed_minutes(store_id, first, minutes, 123_456))
        end = first + dt.timedelta(minutes=minutes)
        report = refresh_streamed_minutes(
            lake, tiny_lake.duckdb_path, [MinuteWindow("sales_minute_store", MONTH, (first, end))]
        )
        assert [r.rows for r in report.refreshed] == [minutes]
        published = time.monotonic()

        # The page moves its windows to the new latest minute by itself and shows the batch's receipts.
        expected_anchor = f"{end:%Y-%m-%d %H:%M} UTC"
        page.wait_for_function(
            "anchor => document.querySelector('#realtime-banner')?.innerText.includes(anchor)",
            arg=expected_anchor,
            timeout=30_000,
        )
        assert time.monotonic() - published <= 30
        hour = end - dt.timedelta(hours=1)
        ((receipts, cents),) = tiny_lake.query(
            "SELECT sum(receipts), sum(total_sales_cents) FROM sales_minute_store WHERE ts >= ? AND ts < ?", [hour, end]
        )
        assert shown_number(page.locator("#tile-sales-receipts").inner_text()) == receipts != before
        assert shown_number(page.locator("#tile-sales-sales-per-minute").inner_text()) == pytest.approx(
            cents / 60 / 100, abs=0.005
        )
        assert (
            page.locator("#tile-sales-asof").inner_text() == f"as of {end - dt.timedelta(minutes=1):%Y-%m-%d %H:%M} UTC"
        )
        assert not page.errors, page.errors
    finally:
        stop_process_group(process, timeout=10)
