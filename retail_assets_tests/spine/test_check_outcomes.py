"""Check outcomes evaluate what they name: each can fail."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.checks import key_outcome, quarantine_outcome


def test_a_grain_check_fails_on_duplicated_or_null_keys() -> None:
    rows = pl.DataFrame({"day": [1, 1, 2, 3], "store_id": [10, 10, None, 7], "dc_id": [None, None, 5, None]})
    strict = key_outcome(rows, ["day", "store_id"], subject="gold/x 2024-01")
    assert not strict.passed and strict.metadata["duplicate_keys"] == 2 and strict.metadata["null_keys"] == 1
    assert "2 duplicated" in strict.description
    store_or_dc = key_outcome(rows.slice(1), ["day", "store_id", "dc_id"], subject="gold/x 2024-01", nulls_allowed=True)
    assert store_or_dc.passed and store_or_dc.metadata["rows"] == 3


def test_nothing_quarantined_warns_with_counts_by_reason() -> None:
    rejected = pl.DataFrame({"reason_code": ["bad_value", "fk_miss", "bad_value"]})
    outcome = quarantine_outcome(rejected, subject="silver/fact_receipts 2024-01", table_path="/lake/quarantine/x")
    assert not outcome.passed and outcome.severity.value == "WARN"
    assert outcome.metadata["by_reason"] == {"bad_value": 2, "fk_miss": 1}
    assert "3 rows quarantined (bad_value 2, fk_miss 1)" in outcome.description
    assert quarantine_outcome(rejected.clear(), subject="x").passed
