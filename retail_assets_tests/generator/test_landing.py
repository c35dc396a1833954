"""Landing files: layout, exact spec schema, byte-identical re-runs, month independence, and the CLI."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import polars as pl

from retail_assets.cli import main
from retail_assets.lib.generator import DIMENSION_TABLES, FACT_TABLES
from retail_assets.lib.generator.output import landing_path, write_dimensions, write_month
from retail_assets.lib.generator.world import world_for
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.specs import REGISTRY, polars_schema


def _digests(root: Path) -> dict[str, str]:
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*.parquet"))}


def test_files_have_exactly_the_spec_columns(tmp_path, tiny_config):
    landing = LandingZone(root_uri=str(tmp_path))
    month = dt.date(2024, 1, 1)
    write_dimensions(tiny_config, [month], landing)
    report = write_month(tiny_config, month, landing)
    for table in (*DIMENSION_TABLES, *FACT_TABLES):
        path = tmp_path / landing_path(table, month)
        assert path.is_file(), table
        frame = pl.read_parquet(path)
        assert frame.schema == polars_schema(REGISTRY.table(table).columns), table
        if table in FACT_TABLES:
            assert frame.height == report.rows[table]
            column = REGISTRY.table(table).time_column
            assert (frame[column].dt.truncate("1mo").dt.date() == month).all(), f"{table}: rows outside the month"


def test_same_seed_profile_and_month_give_identical_bytes_and_months_are_independent(tmp_path, tiny_config):
    first, second, alone = (LandingZone(root_uri=str(tmp_path / name)) for name in ("a", "b", "c"))
    for month in (dt.date(2024, 1, 1), dt.date(2024, 2, 1)):
        write_month(tiny_config, month, first)
    world_for.cache_clear()  # a fresh world, as in another process
    for month in (dt.date(2024, 2, 1), dt.date(2024, 1, 1)):
        write_month(tiny_config, month, second)
    world_for.cache_clear()
    write_month(tiny_config, dt.date(2024, 2, 1), alone)
    a, b, c = (_digests(tmp_path / name) for name in ("a", "b", "c"))
    assert len(a) == 2 * len(FACT_TABLES) and a == b
    february = {k: v for k, v in a.items() if "/2024-02/" in k}
    assert february == c
    other_seed = LandingZone(root_uri=str(tmp_path / "d"))
    write_month(tiny_config.model_copy(update={"seed": 7}), dt.date(2024, 2, 1), other_seed)
    assert _digests(tmp_path / "d") != c


def test_cli_generates_a_range_with_a_progress_bar(tmp_path, capsys):
    assert (
        main(["generate", "--profile", "tiny", "--month", "2024-01", "--to", "2024-02", "--landing", str(tmp_path), "--workers", "1"]) == 0
    )
    out = capsys.readouterr()
    assert "2024-02" in out.out and "fact rows" in out.out
    assert "[" in out.err and "2024-02" in out.err
    for month in ("2024-01", "2024-02"):
        assert (tmp_path / f"batch/fact_receipts/{month}/generated.parquet").is_file()
        assert (tmp_path / f"batch/dim_customers/{month}/generated.parquet").is_file()
    assert main(["generate", "--profile", "nope", "--month", "2024-01", "--landing", str(tmp_path)]) == 2
    assert "unknown generator profile 'nope'" in capsys.readouterr().err


def test_streaming_producers_get_facts_for_any_window(tiny_config, generated):
    from retail_assets.lib.generator.facts import facts_between

    start = dt.datetime(2024, 1, 31, 22, tzinfo=dt.UTC)  # spans the month boundary
    window = facts_between(tiny_config, start, start + dt.timedelta(hours=4), ("fact_receipts", "fact_ble_pings"))
    for table, frame in window.items():
        expected = generated.fact(table).filter(pl.col("event_ts").is_between(start, start + dt.timedelta(hours=4), closed="left"))
        assert expected["event_ts"].dt.month().n_unique() == 2, f"{table}: the window should hold rows of both months"
        assert frame.sort("event_ts", "trace_id" if table == "fact_ble_pings" else "receipt_id").equals(
            expected.sort("event_ts", "trace_id" if table == "fact_ble_pings" else "receipt_id")
        )
