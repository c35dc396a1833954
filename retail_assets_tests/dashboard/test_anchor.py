"""Where the real-time windows end: at the latest minute the file holds, called live or historical by its age."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import pytest

from retail_assets.dashboard.reader import ServingUnavailable, reading
from retail_assets.dashboard.realtime import find_anchor

NOW = dt.datetime(2026, 3, 2, 12, 0, 30, tzinfo=dt.UTC)


def serving_file(path: Path, minutes: dict[str, list[dt.datetime]]) -> Path:
    with duckdb.connect(str(path)) as con:
        con.execute("SET TimeZone = 'UTC'")
        for table, stamps in minutes.items():
            con.execute(f"CREATE TABLE {table} (store_id BIGINT, ts TIMESTAMPTZ)")
            con.executemany(f"INSERT INTO {table} VALUES (1, ?)", [[s] for s in stamps])
    return path


def test_a_streamed_minute_makes_the_page_live_and_windows_end_after_it(tmp_path: Path) -> None:
    latest = NOW.replace(second=0) - dt.timedelta(minutes=2)
    database = serving_file(
        tmp_path / "retail.duckdb",
        {
            "sales_minute_store": [latest - dt.timedelta(minutes=30), latest],
            "zone_dwell_minute": [latest - dt.timedelta(hours=1)],
        },
    )
    with reading(database) as reader:
        anchor = find_anchor(reader, now=NOW)
    assert anchor.end == latest + dt.timedelta(minutes=1)
    assert not anchor.historical
    assert anchor.banner().startswith("Live")
    assert anchor.day == dt.datetime(2026, 3, 2, tzinfo=dt.UTC)


def test_an_old_lake_is_called_historical_and_anchored_at_its_latest_minute_of_any_minute_table(tmp_path: Path) -> None:
    database = serving_file(
        tmp_path / "retail.duckdb",
        {
            "sales_minute_store": [dt.datetime(2024, 1, 31, 23, 50, tzinfo=dt.UTC)],
            "ble_presence_minute": [dt.datetime(2024, 1, 31, 23, 59, tzinfo=dt.UTC)],
        },
    )
    with reading(database) as reader:
        anchor = find_anchor(reader, now=NOW)
    assert anchor.end == dt.datetime(2024, 2, 1, tzinfo=dt.UTC)
    assert anchor.historical
    assert anchor.day == dt.datetime(2024, 1, 31, tzinfo=dt.UTC)  # the day of the last minute, not the end's
    assert anchor.banner() == (
        "Historical lake: the latest event is at 2024-01-31 23:59 UTC, so every window ends there "
        "(2024-02-01 00:00 UTC), not now."
    )


def test_no_minute_table_means_no_anchor_and_a_missing_file_says_what_to_do(tmp_path: Path) -> None:
    database = serving_file(tmp_path / "retail.duckdb", {})
    with reading(database) as reader:
        assert find_anchor(reader, now=NOW) is None
    with pytest.raises(ServingUnavailable, match="retail-assets run --month"):
        with reading(tmp_path / "absent.duckdb"):
            pass
