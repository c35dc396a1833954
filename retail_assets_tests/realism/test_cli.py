"""``retail-assets realism`` exit codes on a hand-made landing folder (retail_assets_tests/realism/handmade.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_assets.cli import main
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.realism.handmade import in_band_month, land


@pytest.fixture
def budget(monkeypatch: pytest.MonkeyPatch) -> None:
    """A $10 campaign budget: the hand-made month spends $12 on one day, so the campaign rule fires at a CPM in band."""
    monkeypatch.setenv("RETAIL_ALERT_CAMPAIGN_DAILY_BUDGET_CENTS", "1000")


def score(tmp_path: Path, capsys, *args: str) -> tuple[int, str, str]:
    code = main(["realism", "--landing", str(tmp_path / "landing"), *args])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_a_month_in_every_band_exits_0(tmp_path: Path, capsys, budget):
    land(LandingZone(root_uri=str(tmp_path / "landing")), in_band_month())
    code, out, _ = score(tmp_path, capsys, "--month", "2024-01")
    assert code == 0, out
    assert " 0 out" in out and "urgent_reorder_share" in out


def test_one_metric_out_of_band_exits_1_naming_it(tmp_path: Path, capsys, budget):
    land(LandingZone(root_uri=str(tmp_path / "landing")), in_band_month(urgent_reorders=50))
    code, out, _ = score(tmp_path, capsys)  # every landed month
    assert code == 1
    assert "1 out (urgent_reorder_share)" in out
    assert [line.split()[0] for line in out.splitlines() if "  NO  " in line] == ["urgent_reorder_share"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--month", "2024-03", "--to", "2024-01"), "is before --month"),
        (("--profile", "demo"), "--profile chooses what --generate generates"),
        ((), "nothing landed"),
    ],
)
def test_bad_arguments_exit_2(tmp_path: Path, capsys, args, message):
    code, _, err = score(tmp_path, capsys, *args)
    assert code == 2 and message in err


def test_a_month_that_is_not_one_exits_2(tmp_path: Path, capsys):
    with pytest.raises(SystemExit) as raised:
        score(tmp_path, capsys, "--month", "2024-13")
    assert raised.value.code == 2 and "not a month" in capsys.readouterr().err


def test_months_without_receipts_exit_2_naming_what_to_do(tmp_path: Path, capsys, budget):
    land(LandingZone(root_uri=str(tmp_path / "landing")), in_band_month())
    code, _, err = score(tmp_path, capsys, "--month", "2024-02")
    assert code == 2 and "no fact_receipts landed for 2024-02..2024-02" in err and "--generate" in err


def test_generate_lands_the_months_then_scores_them(tmp_path: Path, capsys):
    code, out, _ = score(tmp_path, capsys, "--generate", "--profile", "tiny", "--month", "2024-01")
    assert "generated profile tiny" in out and "realism of 2024-01 landed under" in out
    assert code == 1  # tiny is a unit-test profile, not held to the bands
    assert (tmp_path / "landing" / "batch" / "fact_receipts" / "2024-01" / "generated.parquet").exists()


def test_gold_conversion_is_read_from_the_configured_lake(
    tmp_path: Path, capsys, budget, monkeypatch: pytest.MonkeyPatch
):
    import datetime as dt

    import polars as pl

    monkeypatch.setenv("RETAIL_DATA_DIR", str(tmp_path / "data"))
    land(LandingZone(root_uri=str(tmp_path / "data" / "landing")), in_band_month())
    assert main(["realism", "--month", "2024-01"]) == 0
    assert "no Gold: gold/store_performance_daily is not in the lake" in capsys.readouterr().out
    gold = pl.DataFrame({"store_id": [1, 1], "conversion_rate": [0.4, 1.3], "month_start": [dt.date(2024, 1, 1)] * 2})
    gold.write_delta(str(tmp_path / "data" / "lake" / "gold" / "store_performance_daily"))
    assert main(["realism", "--month", "2024-01"]) == 1
    out = capsys.readouterr().out
    assert "1 out (gold_conversion_rate)" in out and "1 of 2 rows outside (0, 1]" in out
