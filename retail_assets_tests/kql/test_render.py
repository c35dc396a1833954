"""kql/ is what the specs render, and what they render follows the specs (issue points 1 and 2)."""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path

import pytest

from retail_assets.cli import main
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.kql import drift, mappings, render, tables, views
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.registry import REGISTRY, event_columns
from retail_assets_tests.kql.conftest import KQL_DIR


def test_committed_kql_is_what_the_specs_render() -> None:
    found = drift(KQL_DIR, render(AlertThresholds()))
    assert not found, f"kql/ is out of date; run `uv run retail-assets kql render`:\n{found.describe()}"


def test_render_is_deterministic() -> None:
    assert render() == render()


def test_cli_check_passes_on_the_repository(capsys: pytest.CaptureFixture[str], monkeypatch) -> None:
    for var in [v for v in os.environ if v.startswith("RETAIL_ALERT_")]:
        monkeypatch.delenv(var)
    assert main(["kql", "render", "--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_cli_check_fails_on_drift_and_render_repairs_it(tmp_path: Path, capsys) -> None:
    out = tmp_path / "kql"
    shutil.copytree(KQL_DIR, out)
    (out / "querysets" / "q_tender_mix.kql").write_text("edited by hand\n")
    (out / "rules" / "rule_stockout.kql").unlink()
    (out / "querysets" / "q_old.kql").write_text("stale\n")
    assert main(["kql", "render", "--check", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "querysets/q_tender_mix.kql" in err and "rules/rule_stockout.kql" in err and "querysets/q_old.kql" in err
    assert main(["kql", "render", "--out", str(out)]) == 0
    assert (out / "querysets" / "q_old.kql").exists(), "files that are not rendered are left to the user"
    (out / "querysets" / "q_old.kql").unlink()
    assert main(["kql", "render", "--check", "--out", str(out)]) == 0


def test_cli_renders_thresholds_from_the_environment(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS", "25000")
    monkeypatch.setenv("RETAIL_ALERT_CAMPAIGN_DAILY_BUDGETS_CENTS", '{"CAMP1": 2500}')
    assert main(["kql", "render", "--out", str(tmp_path)]) == 0
    rule = (tmp_path / "rules" / "rule_high_value_receipt.kql").read_text()
    assert "let floor_cents = 25000;" in rule
    budget = (tmp_path / "rules" / "rule_campaign_over_budget.kql").read_text()
    assert '"CAMP1", 2500' in budget
    assert "| `RETAIL_ALERT_HIGH_VALUE_RECEIPT_CENTS` | 25000 |" in (tmp_path / "README.md").read_text()


def test_cli_rejects_a_bad_threshold(monkeypatch, tmp_path: Path, capsys) -> None:
    monkeypatch.setenv("RETAIL_ALERT_TRUCK_DWELL_SLA_MINUTES", "ninety")
    assert main(["kql", "render", "--out", str(tmp_path)]) == 2
    assert "RETAIL_ALERT_TRUCK_DWELL_SLA_MINUTES" in capsys.readouterr().err


def _create_merge_tables(text: str) -> dict[str, list[tuple[str, str]]]:
    """Table -> [(column, type)] from the `.create-merge tables` command of 01-tables.kql."""
    command = text[text.index(".create-merge tables"):text.index("with (folder")]
    found = {}
    for name, body in re.findall(r"(\w+) \(\n(.*?)\n    \)", command, flags=re.S):
        found[name] = [tuple(part.strip().rstrip(",").split(": ")) for part in body.splitlines()]
    return found


def test_tables_are_envelope_plus_payload_with_kql_types(committed: dict[str, str]) -> None:
    created = _create_merge_tables(committed[tables.FILE])
    assert len(created) == 18
    for event in REGISTRY.events:
        assert created[event.table_name] == [(c.name, c.dtype.kql) for c in event_columns(event)], event.event_type
    receipt = dict(created["receipt_created"])
    assert receipt["campaign_id"] == "string" and receipt["total_cents"] == "long" and receipt["total"] == "real"
    assert dict(created["inventory_updated"])["payload_source"] == "string"
    assert dict(created["promotion_applied"])["product_ids"] == "dynamic"
    assert dict(created["payment_processed"])["processing_time_ms"] == "int"


def test_retention_and_caching_follow_the_event_classes(committed: dict[str, str]) -> None:
    text = committed[tables.FILE]
    retention = {}
    for names, days in re.findall(r"\.alter tables \(([^)]*)\) policy retention '\{\"SoftDeletePeriod\": \"(\d+)\.", text):
        for name in names.split(", "):
            retention[name] = int(days)
    assert retention == {e.table_name: e.retention_days for e in REGISTRY.events}
    assert retention["receipt_created"] == 30 and retention["ble_ping_detected"] == 7
    assert retention["inventory_updated"] == 14 and retention["online_order_shipped"] == 30
    cached = re.search(r"\.alter tables \(([^)]*)\) policy caching hot = 7d", text).group(1).split(", ")
    assert sorted(cached) == sorted(e.table_name for e in REGISTRY.events)


def test_every_table_has_a_json_mapping_of_every_column(committed: dict[str, str]) -> None:
    text = committed[mappings.FILE]
    found = dict(re.findall(r'\.create-or-alter table (\w+) ingestion json mapping "EventMapping"\n```\n(.*?)\n```', text,
                            flags=re.S))
    assert set(found) == {e.table_name for e in REGISTRY.events}
    envelope = {c.name for c in ENVELOPE}
    for event in REGISTRY.events:
        entries = [(e["column"], e["Properties"]["Path"]) for e in json.loads(found[event.table_name])]
        assert [c for c, _ in entries] == [c.name for c in event_columns(event)], event.event_type
        fields = {c.name: c.field for c in event.payload}
        for column, path in entries:
            assert path == (f"$.{column}" if column in envelope else f"$.payload.{fields[column]}")
    receipt = dict((e["column"], e["Properties"]["Path"]) for e in json.loads(found["receipt_created"]))
    assert receipt["campaign_id"] == "$.payload.campaign_id", "the reference's mapping omitted campaign_id"
    inventory = dict((e["column"], e["Properties"]["Path"]) for e in json.loads(found["inventory_updated"]))
    assert inventory["payload_source"] == "$.payload.source" and inventory["source"] == "$.source"


def test_five_materialized_views_with_retention_and_no_clock(committed: dict[str, str]) -> None:
    text = committed[views.FILE]
    created = re.findall(r"\.create-or-alter materialized-view with \(.*?\) (\w+) on table (\w+) \{", text)
    assert [name for name, _ in created] == [
        "mv_store_sales_minute", "mv_top_products_15m", "mv_sales_product_minute", "mv_tender_mix_15m",
        "mv_zone_dwell_minute",
    ]
    for name, _ in created:
        assert f".alter-merge materialized-view {name} policy retention softdelete = 7d" in text
    assert "ago(" not in text and "now(" not in text


def test_querysets_and_rules(committed: dict[str, str]) -> None:
    assert len([p for p in committed if p.startswith("querysets/")]) == 11
    assert len([p for p in committed if p.startswith("rules/")]) == 6
    truck = committed["querysets/q_truck_dwell_by_site.kql"]
    assert "fn_truck_sla()" in truck and "mv_truck_sla" not in truck
    funnel = committed["querysets/q_campaign_conversion_funnel.kql"]
    assert "fn_marketing_attribution()" in funnel and "trace_id" not in funnel
    assert not [p for p, t in committed.items() if p.endswith(".kql") and "mv_truck_sla" in t]
