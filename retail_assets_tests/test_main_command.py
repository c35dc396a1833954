"""The README's main command: generate a month and materialize the whole lakehouse for it."""

from __future__ import annotations


def test_retail_assets_run_materializes_every_layer_of_a_month(main_command_month) -> None:
    result, root = main_command_month.result, main_command_month.root
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = result.stdout
    assert "retail_lakehouse 2024-01: success" in summary
    rows = {line.split()[0]: int(line.split()[3].replace(",", "")) for line in summary.splitlines() if " assets " in line}
    assert rows["landing"] > 0 and rows["bronze"] == rows["landing"] and rows["silver"] == rows["bronze"]
    assert ", 0 failed," in summary
    assert (root / "data" / "lake" / "silver" / "fact_receipts" / "_delta_log").is_dir()
    # The run is recorded in DAGSTER_HOME, so the UI shows it afterwards.
    assert list((root / "home").rglob("*.db"))
