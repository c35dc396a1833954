"""Charts and previews of the main Gold KPIs: what the UI shows must be the table's own figures, as Dagster tables."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.checks import frame_table
from retail_assets.lib.gold.builders import CHARTS
from retail_assets.lib.gold.charts import caption, chart_metadata
from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.gold.specs import GOLD
from retail_assets_tests.gold.conftest import GoldRun
from retail_assets_tests.gold.silver_rows import JAN


def _rows(table: dg.TableMetadataValue) -> list[dict]:
    return [dict(record.data) for record in table.records]


def _columns(table: dg.TableMetadataValue) -> list[tuple[str, str]]:
    return [(column.name, column.type) for column in table.schema.columns]


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
    metadata = chart_metadata("sales_minute_store", rows)
    chart = metadata["chart"]
    assert isinstance(chart, dg.TableMetadataValue)
    assert _columns(chart) == [("day", "date"), ("total_sales_usd", "float")]
    assert _rows(chart) == [
        {"day": "2024-01-01", "total_sales_usd": 150.5},
        {"day": "2024-01-02", "total_sales_usd": -25.0},
        {"day": "2024-01-03", "total_sales_usd": 400.0},
    ]
    assert isinstance(metadata["chart_caption"], dg.TextMetadataValue)
    assert metadata["chart_caption"].value == (
        "Store sales per day, all stores ($): total $525.50 · highest 2024-01-03 $400.00 · lowest 2024-01-02 -$25.00"
    )
    assert metadata["kpi/total_sales_usd"].value == 525.5
    assert metadata["kpi/receipts"].value == 7


def test_series_are_columns_side_by_side_and_missing_days_are_zero() -> None:
    rows = pl.DataFrame(
        {
            "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 1), dt.date(2024, 1, 2)],
            "channel": ["ONLINE", "STORE", "STORE"],
            "net_sales_cents": [500, 2_000, 1_000],
            "orders": [1, 2, 1],
            "returns": [0, 0, 1],
        }
    )
    metadata = chart_metadata("daily_sales_by_channel", rows)
    assert _columns(metadata["chart"]) == [("day", "date"), ("ONLINE", "float"), ("STORE", "float")]
    assert _rows(metadata["chart"]) == [
        {"day": "2024-01-01", "ONLINE": 5.0, "STORE": 20.0},
        {"day": "2024-01-02", "ONLINE": 0.0, "STORE": 10.0},
    ]
    assert metadata["chart_caption"].value == (
        "Net sales per day by channel ($): "
        "ONLINE: total $5.00 · highest 2024-01-01 $5.00 · lowest 2024-01-02 $0.00; "
        "STORE: total $30.00 · highest 2024-01-01 $20.00 · lowest 2024-01-02 $10.00"
    )
    assert (metadata["kpi/net_sales_usd"].value, metadata["kpi/orders"].value) == (35.0, 4)


def test_top_stores_keep_the_fifteen_largest_in_order() -> None:
    rows = pl.DataFrame(
        {
            "day": [dt.date(2024, 1, d % 28 + 1) for d in range(40)],
            "store_id": [f"S{d % 20:02d}" for d in range(40)],
            "net_sales_cents": [100 * (d % 20) for d in range(40)],
            "visitors": [1] * 40,
        }
    )
    chart = chart_metadata("store_performance_daily", rows)["chart"]
    assert _columns(chart) == [("store_id", "string"), ("net_sales_usd", "float")]
    assert [row["store_id"] for row in _rows(chart)] == [f"S{i:02d}" for i in range(19, 4, -1)]
    assert [row["net_sales_usd"] for row in _rows(chart)] == [2.0 * i for i in range(19, 4, -1)]


def test_an_empty_month_says_so_and_other_tables_get_no_chart() -> None:
    empty = _minutes([])
    metadata = chart_metadata("sales_minute_store", empty)
    assert metadata["chart_caption"].value.endswith(": no rows this month")
    assert _rows(metadata["chart"]) == [] and _columns(metadata["chart"]) == [("day", "date"), ("total_sales_usd", "float")]
    assert chart_metadata("top_products_15m", empty) == {}
    assert set(CHARTS) <= set(GOLD)


def test_a_preview_is_a_typed_table_of_the_first_rows() -> None:
    frame = pl.DataFrame(
        {
            "store_id": ["S1", None, "S3"],
            "day": [dt.date(2024, 1, 1), dt.date(2024, 1, 2), None],
            "ts": [_at(1), _at(2), _at(3)],
            "receipts": [1, 2, 3],
            "share": [0.5, float("nan"), 1.0],
            "returned": [True, False, None],
            "note": ["x" * 300, "a|b", ""],
        }
    )
    preview = frame_table(frame, limit=2)
    assert _columns(preview) == [
        ("store_id", "string"),
        ("day", "date"),
        ("ts", "timestamp"),
        ("receipts", "int"),
        ("share", "float"),
        ("returned", "bool"),
        ("note", "string"),
    ]
    assert _rows(preview) == [
        {
            "store_id": "S1",
            "day": "2024-01-01",
            "ts": "2024-01-01T10:00:00+00:00",
            "receipts": 1,
            "share": 0.5,
            "returned": True,
            "note": "x" * 200,
        },
        {
            "store_id": None,
            "day": "2024-01-02",
            "ts": "2024-01-02T10:00:00+00:00",
            "receipts": 2,
            "share": "nan",  # not JSON: as text, so the UI can parse the row
            "returned": False,
            "note": "a|b",
        },
    ]
    assert len(frame_table(frame).records) == 3
    assert frame_table(frame.clear()).records == [] and _columns(frame_table(frame.clear())) == _columns(preview)


def test_materialized_months_carry_the_chart_and_preview_of_their_own_rows(gold_run: GoldRun) -> None:
    events = {
        (e.asset_key.to_user_string(), e.partition): e.materialization.metadata
        for e in gold_run.result.get_asset_materialization_events()
    }
    for table in CHARTS:
        metadata = events[(f"gold/{table}", "2024-01-01")]
        rows = gold_run.lake.read(gold_path(table), [JAN])
        bars = CHARTS[table].bars(rows)
        assert isinstance(metadata["chart"], dg.TableMetadataValue), table
        assert metadata["chart"] == frame_table(bars, limit=None), table
        assert 0 < len(metadata["chart"].records) <= 31, table
        assert metadata["chart_caption"].value == caption(CHARTS[table], bars), table
        for name, value in CHARTS[table].headline(rows).items():
            assert metadata[f"kpi/{name}"].value == pytest.approx(value), (table, name)
    sales = gold_run.lake.read(gold_path("sales_minute_store"), [JAN])
    sales_metadata = events[("gold/sales_minute_store", "2024-01-01")]
    assert sales_metadata["kpi/total_sales_usd"].value == pytest.approx(sales["total_sales_cents"].sum() / 100)
    chart_total = sum(row["total_sales_usd"] for row in _rows(sales_metadata["chart"]))
    assert chart_total == pytest.approx(sales["total_sales_cents"].sum() / 100)
    assert f"total ${sales['total_sales_cents'].sum() / 100:,.2f}" in sales_metadata["chart_caption"].value
    assert "chart" not in events[("gold/top_products_15m", "2024-01-01")]
    for (key, partition), metadata in events.items():
        if key.startswith("gold/") and partition == "2024-01-01":
            preview = metadata["preview"]
            assert isinstance(preview, dg.TableMetadataValue), key
            assert len(preview.records) == min(5, metadata["dagster/row_count"].value), key
            assert "month_start" not in {name for name, _ in _columns(preview)}, key
