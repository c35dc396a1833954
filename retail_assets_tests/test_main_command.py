"""The README's main command: generate a month and materialize the whole lakehouse for it."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_retail_assets_run_materializes_every_layer_of_a_month(tmp_path: Path) -> None:
    env = {**os.environ, "RETAIL_DATA_DIR": str(tmp_path / "data"), "RETAIL_PROFILE": "tiny", "DAGSTER_HOME": str(tmp_path / "home")}
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    result = subprocess.run(
        [sys.executable, "-m", "retail_assets.cli", "run", "--month", "2024-01"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    summary = result.stdout
    assert "retail_lakehouse 2024-01: success" in summary
    rows = {line.split()[0]: int(line.split()[3].replace(",", "")) for line in summary.splitlines() if " assets " in line}
    assert rows["landing"] > 0 and rows["bronze"] == rows["landing"] and rows["silver"] == rows["bronze"]
    assert ", 0 failed," in summary
    assert (tmp_path / "data" / "lake" / "silver" / "fact_receipts" / "_delta_log").is_dir()
    # The run is recorded in DAGSTER_HOME, so the UI shows it afterwards.
    assert list((tmp_path / "home").rglob("*.db"))
