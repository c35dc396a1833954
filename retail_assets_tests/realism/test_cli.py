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

