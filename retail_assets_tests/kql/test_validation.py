"""Every committed .kql file passes Microsoft's Kusto parser; the check demonstrably catches errors."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from retail_assets.lib.kpi_twins import KPIS
from retail_assets.lib.kql import functions
from retail_assets.lib.specs.registry import REGISTRY
from retail_assets_tests.kql import kusto
from retail_assets_tests.kql.conftest import MUTATIONS, Mutation, errors
from retail_assets_tests.kql.kusto import KustoParserUnavailable


def test_validator_ran_microsofts_parser(validation: dict) -> None:
    assert validation["parser"] == {"package": "@kusto/language-service-next", "version": "12.4.1"}


def test_every_committed_kql_file_is_valid(committed: dict[str, str], validation: dict) -> None:
    checked = {name for name in validation["files"] if "/" not in name or name.split("/")[0] in ("querysets", "rules")}
    assert checked == {path for path in committed if path.endswith(".kql")}
    problems = {
        name: [f"{d['line']}:{d['column']} {d['code']} {d['message']}" for d in errors(validation, name)]
        for name in checked
    }
    assert {name: found for name, found in problems.items() if found} == {}


def test_every_object_was_checked(validation: dict) -> None:
    """Commands parsed, queries and the bodies of functions and views analyzed, none skipped."""
    counts = validation["counts"]
    query_mutations = sum(1 for m in MUTATIONS if m.source.startswith(("querysets/", "rules/")))
    # Querysets, rules, rules rendered with custom thresholds, query mutations.
    assert counts["queries"] == 11 + 6 + 6 + query_mutations
    assert counts["functions"] == 2 and counts["views"] == 5
    # 01: tables, 3 retention classes, caching; 02: 18 mappings; 03: 2 functions; 04: 5 views + 5 retentions.
    retention_classes = len({e.retention_days for e in REGISTRY.events})
    committed_commands = (1 + retention_classes + 1) + len(REGISTRY.events) + 2 + 2 * 5
    assert counts["commands"] == committed_commands + len(MUTATIONS) - query_mutations
    assert set(validation["functions"]) == {functions.TRUCK_SLA, functions.MARKETING_ATTRIBUTION}
    by_view = {k.materialized_view: k for k in KPIS.values() if k.materialized_view}
    assert set(validation["views"]) == set(by_view)
    for name, view in validation["views"].items():
        assert view["source"] == by_view[name].source.kql
        assert [c for c, _ in view["columns"]] == list(by_view[name].aggregate_columns)


def test_scripts_run_as_one_request(validation: dict) -> None:
    for name in ("01-tables.kql", "02-ingestion-mappings.kql", "03-functions.kql", "04-materialized-views.kql"):
        kinds = [b["kind"] for b in validation["files"][name]["blocks"]]
        assert kinds[0] == "Script" and set(kinds[1:]) == {"Command"}, name


@pytest.mark.parametrize("mutation", MUTATIONS, ids=lambda m: m.name)
def test_validator_catches(mutation: Mutation, committed: dict[str, str], validation: dict) -> None:
    """A wrong column, table, function or syntax in a query, command, view or function body fails."""
    found = errors(validation, f"mutation/{mutation.name}")
    assert found, f"{mutation.name}: no error reported"
    line = mutation.line(committed)
    assert any(d["code"] in mutation.codes and d["line"] == line for d in found), (
        f"{mutation.name}: expected {mutation.codes} on line {line}, got "
        + "; ".join(f"{d['line']}:{d['column']} {d['code']} {d['message']}" for d in found)
    )


def test_rules_with_custom_thresholds_are_valid(custom_rules: dict[str, str], validation: dict) -> None:
    for path in custom_rules:
        assert errors(validation, f"custom/{path}") == [], path


def test_missing_node_fails_with_a_clear_message(monkeypatch) -> None:
    monkeypatch.setattr(kusto.shutil, "which", lambda _: None)
    with pytest.raises(KustoParserUnavailable, match="node is not on PATH"):
        kusto.validate([])


def test_missing_parser_package_fails_with_a_clear_message(tmp_path: Path) -> None:
    """Where node_modules has no @kusto/language-service-next, the validator says to run npm ci."""
    isolated = tmp_path / "validate_kql.js"
    shutil.copy(kusto.VALIDATOR, isolated)
    with pytest.raises(KustoParserUnavailable, match=r"@kusto/language-service-next is not installed \(run `npm ci`"):
        kusto.validate([], validator=isolated)
