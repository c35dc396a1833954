"""Quarantine is visible where users look: the ``retail-assets run`` summary and ``retail-assets quarantine``
(issue 12, part 6). The quarantine tables are written by the real Bronze assets (``retail_assets_tests/quarantined.py``).
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg
import pytest

from retail_assets import cli
from retail_assets.commands.run import summarize
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.quarantine_tables import scan_quarantine
from retail_assets_tests.factories import land_table, sample_rows
from retail_assets_tests.quarantined import EXPECTED, JAN, bronze_assets, materialize_rejects, quarantined


@pytest.fixture
def rejects(resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    return materialize_rejects(resources, instance)


@pytest.fixture
def configured(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's lake is the fixtures' lake (RETAIL_DATA_DIR/lake); DAGSTER_HOME must stay untouched."""
    for name in [n for n in os.environ if n.startswith(("RETAIL_", "AZURE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RETAIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    return tmp_path


def test_the_run_summary_lists_tables_that_quarantined_or_dropped_rows(rejects: dg.ExecuteInProcessResult) -> None:
    lines = summarize(rejects.all_events)
    rejected = [line for line in lines if line.startswith("rejected")]
    assert rejected == [
        "rejected   bronze/fact_store_ops: 2 quarantined, 0 duplicates dropped",
        "rejected   bronze/receipt_created: 3 quarantined, 1 duplicates dropped",
    ]  # bronze/fact_promotions rejected nothing: not listed
    assert any("retail-assets quarantine" in line for line in lines)


def test_a_run_that_rejected_nothing_has_no_rejected_lines(resources: dict, instance: dg.DagsterInstance) -> None:
    land_table(resources["landing"], "fact_promotions", sample_rows("fact_promotions", 3, JAN), JAN)
    result = dg.materialize(
        bronze_assets(), resources=resources, instance=instance, partition_key="2024-01-01",
        selection=[dg.AssetKey(["bronze", "fact_promotions"])],
    )
    assert not [line for line in summarize(result.all_events) if "rejected" in line or "quarantine" in line]


def test_quarantine_lists_counts_per_layer_table_month_and_reason(
    rejects, configured: Path, lake: LakeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    assert quarantined(scan_quarantine(lake).collect()) == EXPECTED
    assert cli.main(["quarantine"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["layer", "table", "month", "reason_code", "rows"]
    assert [line.split() for line in out[1:-1]] == [
        ["bronze", "fact_store_ops", "2024-01", "type_error", "1"],
        ["bronze", "fact_store_ops", "2024-02", "type_error", "1"],
        ["bronze", "receipt_created", "2024-01", "conflicting_duplicate", "1"],
        ["bronze", "receipt_created", "2024-01", "malformed_json", "1"],
        ["bronze", "receipt_created", "2024-01", "unsupported_schema_version", "1"],
    ]
    assert out[-1].startswith(f"5 quarantined rows in 2 tables under {lake.uri('quarantine')}")
    # It read the lake only: no Dagster instance was opened or created.
    assert not any((configured / "home").iterdir())


def test_quarantine_rows_show_reason_file_row_or_line_and_value(
    rejects, configured: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["quarantine", "--table", "fact_store_ops", "--month", "2024-02", "--rows", "5"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out == [
        "bronze/fact_store_ops 2024-02 type_error: batch/fact_store_ops/2024-02/stores.csv row 2 store_id='four'",
        "    table fact_store_ops, file batch/fact_store_ops/2024-02/stores.csv, row 2: column store_id: "
        "cannot read four as int64",
        f"1 of 1 quarantined rows under {configured / 'lake' / 'quarantine'} (table fact_store_ops month 2024-02)",
    ]
    assert cli.main(["quarantine", "--table", "bronze/receipt_created", "--rows", "2"]) == 0
    out = capsys.readouterr().out.splitlines()
    # Events land under the day of their ingest_timestamp (the broken line, undated, under 2024-01-01).
    assert out[0] == "bronze/receipt_created 2024-01 malformed_json: events/receipt_created/2024-01-01/b0.jsonl line 3"
    assert out[2] == (
        "bronze/receipt_created 2024-01 conflicting_duplicate: events/receipt_created/2024-01-02/b0.jsonl line 2 "
        "trace_id='receipt_created-202401-1'"
    )
    assert out[-1].startswith("2 of 3 quarantined rows")


def test_quarantine_on_an_empty_lake(configured: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["quarantine"]) == 0
    assert capsys.readouterr().out == f"no quarantined rows under {configured / 'lake' / 'quarantine'}\n"
    assert cli.main(["quarantine", "--month", "2024-01", "--rows", "3"]) == 0
    assert capsys.readouterr().out.startswith("no quarantined rows under ")
