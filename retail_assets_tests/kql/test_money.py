"""Silver (polars) and the KQL hot path turn event dollars into the same cents, float noise included."""

from __future__ import annotations

import duckdb_kql
import polars as pl
import pytest

from retail_assets.lib.money import dollars_to_cents, kql_dollars_to_cents

# Values whose binary form makes a naive floor(x * 100 + 0.5) or round() land on the wrong cent.
CASES = [(1.005, 101), (0.285, 29), (2.675, 268), (19.99, 1999), (0.0, 0), (1234.565, 123457), (0.1 + 0.2, 30)]


@pytest.mark.parametrize(("dollars", "cents"), CASES)
def test_polars_and_kql_convert_dollars_to_the_same_cents(dollars: float, cents: int) -> None:
    assert pl.DataFrame({"x": [dollars]}).select(dollars_to_cents(pl.col("x"))).item() == cents
    con = duckdb_kql.connect()
    con.execute(f"CREATE TABLE t AS SELECT {dollars!r}::DOUBLE AS x")
    kql = duckdb_kql.kql(con, f"t | project c = {kql_dollars_to_cents('x')}").fetchall()
    assert kql == [(cents,)]
