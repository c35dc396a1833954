"""What a backfill left behind, as row hashes: every Delta table under the lake and every table of the DuckDB file.

Order-independent: a table is the sorted list of its rows' hashes, so two runs that wrote the same rows in another
order (another worker, another file layout) compare equal, and any changed, missing or doubled row does not.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import polars as pl

# Bronze stamps each row with the wall-clock time of its write: it differs between any two runs, two in-process runs
# included. Every other column must be identical.
VOLATILE = {"_ingested_at"}


def _hashes(frame: pl.DataFrame) -> list[int]:
    kept = frame.select(sorted(c for c in frame.columns if c not in VOLATILE))
    return sorted(kept.hash_rows(seed=0).to_list())


def delta_tables(data: Path) -> list[str]:
    lake = data / "lake"
    return sorted(str(log.parent.relative_to(lake)) for log in lake.rglob("_delta_log"))


def table_hashes(data: Path) -> dict[str, list[int]]:
    """``layer/table`` (Delta) and ``duckdb/table`` (serving file) -> sorted row hashes."""
    tables = {name: _hashes(pl.read_delta(str(data / "lake" / name))) for name in delta_tables(data)}
    served = data / "retail.duckdb"
    if served.exists():
        with duckdb.connect(str(served), read_only=True) as con:
            names = [row[0] for row in con.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
            for name in names:
                tables[f"duckdb/{name}"] = _hashes(con.sql(f'SELECT * FROM "{name}"').pl())
    return tables


def differences(expected: dict[str, list[int]], actual: dict[str, list[int]]) -> list[str]:
    """One line per table that is missing, extra or holds other rows."""
    lines = [f"{name}: missing" for name in sorted(expected.keys() - actual.keys())]
    lines += [f"{name}: not in the reference run" for name in sorted(actual.keys() - expected.keys())]
    for name in sorted(expected.keys() & actual.keys()):
        if expected[name] != actual[name]:
            lines.append(f"{name}: {len(expected[name])} rows expected, {len(actual[name])} found, "
                         f"{len(set(expected[name]) ^ set(actual[name]))} distinct rows differ")
    return lines
