"""Charts of the main Gold KPIs: what the UI shows must be the table's own figures."""

from __future__ import annotations

import base64
import datetime as dt
import re
import xml.etree.ElementTree as ET

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.gold.builders import CHARTS
from retail_assets.lib.gold.charts import caption, chart_markdown, chart_metadata, series_of, svg_bar_chart
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.gold.specs import GOLD
from retail_assets_tests.gold.conftest import GoldRun
from retail_assets_tests.gold.silver_rows import JAN

SVG = "{http://www.w3.org/2000/svg}"


def _svg_of(markdown: str) -> ET.Element:
    found = re.search(r"!\[[^\]]*\]\(data:image/svg\+xml;base64,([A-Za-z0-9+/=]+)\)", markdown)
    assert found, markdown[:200]
    return ET.fromstring(base64.b64decode(found.group(1)))


def _bars(svg: ET.Element) -> list[tuple[str, float]]:
    """(tooltip, height) of every bar, in drawing order."""
    return [
        (rect.find(f"{SVG}title").text, float(rect.get("height")))
        for rect in svg.iter(f"{SVG}rect")
        if rect.get("class") == "bar"
    ]


def _minutes(rows: list[tuple[str, dt.datetime, int, int]]) -> pl.DataFrame:
    return pl.DataFrame(
        rows,
        schema={
            "store_id": pl.String,
            "ts": pl.Datetime("us", "UTC"),
            "total_sales_cents": pl.Int64,
            "receipts": pl.Int64,
        },
        orient="row",
    )


def _at(day: int, hour: int = 10) -> dt.datetime:
    return dt.datetime(2024, 1, day, hour, tzinfo=dt.UTC)


def test_daily_store_sales_sum_the_minutes_of_each_day() -> None:
    rows = _minutes(
        [
            ("S1", _at(1, 9), 10_000, 2),
            ("S2", _at(1, 17), 5_050, 1),
            ("S1", _at(2), -2_500, 1),  # a day of returns only: a bar below zero
            ("S1", _at(3), 40_000, 3),
        ]
    )
    markdown = chart_markdown(CHARTS["sales_minute_store"], rows)
    bars = _bars(_svg_of(markdown))
    assert [tip for tip, _ in bars] == ["2024-01-01: $150.50", "2024-01-02: -$25.00", "2024-01-03: $400.00"]
    heights = [h for _, h in bars]
    # Bars are proportional to the values (within the SVG's 0.1 px rounding).
    assert heights[2] / heights[0] == pytest.approx(400 / 150.5, rel=0.01)
    assert heights[1] / heights[0] == pytest.approx(25 / 150.5, rel=0.02)
    assert "total $525.50 · highest 2024-01-03 $400.00 · lowest 2024-01-02 -$25.00" in markdown
    metadata = chart_metadata("sales_minute_store", rows)
    assert metadata["kpi/total_sales_usd"] == 525.5
    assert metadata["kpi/receipts"] == 7


def test_series_are_grouped_bars_with_a_legend_and_missing_days_are_zero() -> None:
    bars = pl.DataFrame(
        {
            "label": ["2024-01-01", "2024-01-01", "2024-01-02"],
            "series": ["ONLINE", "STORE", "STORE"],
            "value": [5.0, 20.0, 10.0],
        }
    )
    series = series_of(bars)
    assert series.values == {"ONLINE": (5.0, 0.0), "STORE": (20.0, 10.0)}
    svg = ET.fromstring(svg_bar_chart(series, "Net sales <by> channel", "$"))
    assert [tip for tip, _ in _bars(svg)] == [
        "2024-01-01 ONLINE: $5.00",
        "2024-01-01 STORE: $20.00",
        "2024-01-02 ONLINE: $0.00",
        "2024-01-02 STORE: $10.00",
    ]
    texts = [t.text for t in svg.iter(f"{SVG}text")]
    assert "Net sales <by> channel" in texts  # escaped in the SVG, parsed back intact
    assert {"ONLINE", "STORE"} <= set(texts)
    assert caption(series, "$").splitlines()[0].startswith("**ONLINE**: total $5.00")


def test_top_stores_keep_the_fifteen_largest_in_order() -> None:
    rows = pl.DataFrame(
        {
            "day": [dt.date(2024, 1, d % 28 + 1) for d in range(40)],
            "store_id": [f"S{d % 20:02d}" for d in range(40)],
            "net_sales_cents": [100 * (d % 20) for d in range(40)],
            "visitors": [1] * 40,
        }
    )
    bars = _bars(_svg_of(chart_markdown(CHARTS["store_performance_daily"], rows)))
    assert [tip.split(":")[0] for tip, _ in bars] == [f"S{i:02d}" for i in range(19, 4, -1)]


def test_an_empty_month_says_so_and_other_tables_get_no_chart() -> None:
    empty = _minutes([])
    assert chart_markdown(CHARTS["sales_minute_store"], empty).endswith("_no rows this month_")
    assert chart_metadata("top_products_15m", empty) == {}
    assert set(CHARTS) <= set(GOLD)


def test_materialized_months_carry_the_chart_of_their_own_rows(gold_run: GoldRun) -> None:
    events = {
        (e.asset_key.to_user_string(), e.partition): e.materialization.metadata
        for e in gold_run.result.get_asset_materialization_events()
    }
    for table in CHARTS:
        metadata = events[(f"gold/{table}", "2024-01-01")]
        rows = gold_run.lake.read(gold_path(table), [JAN])
        assert isinstance(metadata["chart"], dg.MarkdownMetadataValue), table
        assert metadata["chart"].value == chart_markdown(CHARTS[table], rows), table
        for name, value in CHARTS[table].headline(rows).items():
            assert metadata[f"kpi/{name}"].value == pytest.approx(value), (table, name)
    sales = gold_run.lake.read(gold_path("sales_minute_store"), [JAN])
    assert events[("gold/sales_minute_store", "2024-01-01")]["kpi/total_sales_usd"].value == pytest.approx(
        sales["total_sales_cents"].sum() / 100
    )
    assert "chart" not in events[("gold/top_products_15m", "2024-01-01")]
