"""docs/gold.md stays true: its table catalog is what the specs render, and its example SQL runs on the DuckDB file."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import pytest

from retail_assets.lib.gold.catalog import BEGIN, END, render
from retail_assets_tests.gold.conftest import GoldRun

DOC = Path(__file__).resolve().parents[2] / "docs" / "gold.md"


def _queries() -> dict[str, str]:
    """The ```sql blocks of docs/gold.md, by the title on their first line (``-- <title>``)."""
    blocks = re.findall(r"```sql\n-- (.+?)\n(.*?)```", DOC.read_text(), re.DOTALL)
    return {title: sql for title, sql in blocks}


def test_the_catalog_is_rendered_from_the_specs() -> None:
    text = DOC.read_text()
    committed = text[text.index(BEGIN) : text.index(END) + len(END)]
    assert committed == render(), "re-render it: uv run python -m retail_assets.lib.gold.catalog docs/gold.md"


@pytest.fixture(scope="module")
def served(gold_run: GoldRun):
    with duckdb.connect(str(gold_run.duckdb_path), read_only=True) as con:
        yield con


def _run(con: duckdb.DuckDBPyConnection, title: str) -> list[dict]:
    cursor = con.execute(_queries()[title])
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def test_the_docs_have_the_seed_002_queries() -> None:
    assert set(_queries()) >= {"sales by channel", "customer lifetime value", "product returns", "low stock"}


def test_the_readme_shows_the_tested_queries_verbatim() -> None:
    readme = dict(re.findall(r"```sql\n-- (.+?)\n(.*?)```", (DOC.parents[1] / "README.md").read_text(), re.DOTALL))
    assert set(readme) == {"sales by channel", "customer lifetime value", "product returns"}
    for title, sql in readme.items():
        assert sql == _queries()[title], f"README.md's '{title}' differs from docs/gold.md (the tested one)"


def test_sales_by_channel(served) -> None:
    rows = _run(served, "sales by channel")
    assert [(r["date"], r["channel"]) for r in rows] == [
        (dt.date(2024, 2, 4), "STORE"),
        (dt.date(2024, 2, 3), "STORE"),
        (dt.date(2024, 1, 12), "STORE"),
        (dt.date(2024, 1, 10), "ONLINE"),
        (dt.date(2024, 1, 10), "STORE"),
    ]
    store = rows[-1]
    assert (store["orders"], float(store["net_sales"]), store["returns"], float(store["return_rate_pct"])) == (
        3,
        17.36,
        1,
        33.33,
    )
    assert (rows[0]["day_name"], float(rows[0]["net_sales"])) == ("Sunday", -9.8)


def test_customer_lifetime_value(served) -> None:
    rows = _run(served, "customer lifetime value")
    assert [(r["customer_id"], float(r["lifetime_value"])) for r in rows] == [(3, 1500.0), (1, 21.6), (2, 20.0)]
    ada = rows[1]
    assert (ada["customer"], float(ada["refunds"]), ada["orders"], float(ada["avg_order_value"])) == (
        "Ada Lovelace",
        9.8,
        2,
        15.7,
    )


def test_product_returns(served) -> None:
    rows = _run(served, "product returns")
    assert [(r["product_id"], r["units_sold"], r["units_returned"], float(r["return_rate_pct"])) for r in rows] == [
        (1, 3, 3, 100.0),
        (2, 3, 1, 33.33),
        (3, 1, 0, 0.0),
    ]
    assert rows[2]["product_name"] == "TV" and float(rows[2]["sales"]) == 1400.0


def test_low_stock(served) -> None:
    rows = _run(served, "low stock")
    # Store 2 sold a TV on 12 January leaving 3 and raised a stockout alert; the other positions hold 22 and 49.
    assert [(r["store_number"], r["product_name"], r["on_hand"], r["stockout_alerts"]) for r in rows] == [
        ("S000002", "TV", 3, 1),
    ]
