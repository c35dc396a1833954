"""Fixtures of the KQL tests: the committed ``kql/`` files and ONE run of Microsoft's parser over them.

The parser run also checks negative samples (mutations of the committed files, which must fail)
and the rules rendered with non-default thresholds, so everything is validated by a single node
process per test session.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import pytest

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.kql import render
from retail_assets_tests.kql.kusto import PROJECT_ROOT, KustoParserUnavailable, validate

KQL_DIR = PROJECT_ROOT / "kql"

# Thresholds unlike the defaults, to check that rules rendered with them are valid KQL too.
CUSTOM_THRESHOLDS = AlertThresholds(
    lookback_minutes=15,
    high_value_receipt_cents=30_000,
    high_value_receipt_quantile=0.5,
    stockout_fast_mover_share=0.5,
    truck_dwell_sla_minutes=45,
    campaign_daily_budget_cents=123_400,
    campaign_daily_budgets_cents={"CAMP202401010001": 50_000, "CAMP'QUOTE": 75_000},
    zone_crowding_factor=4.0,
    zone_min_customers=5,
)


@dataclass(frozen=True)
class Mutation:
    """A committed file (or one block of it) with one text replaced; the parser must flag that line."""

    name: str
    source: str
    old: str
    new: str
    codes: tuple[str, ...]
    # Only the blank-line separated block of the file that contains ``old`` (keeps the run short).
    block_only: bool = False

    def text(self, committed: dict[str, str]) -> str:
        text = committed[self.source]
        assert text.count(self.old) == 1, f"{self.source} must contain {self.old!r} exactly once"
        if self.block_only:
            text = next(block for block in text.split("\n\n") if self.old in block) + "\n"
        return text.replace(self.old, self.new)

    def line(self, committed: dict[str, str]) -> int:
        """The line of the first character the mutation changed."""
        text = self.text(committed)
        changed_at = text.index(self.new) + len(os.path.commonprefix([self.old, self.new]))
        return text[:changed_at].count("\n") + 1


MUTATIONS = (
    Mutation("query_unknown_column", "querysets/q_top_products_by_sales.kql", "by revenue_cents desc",
             "by revenue_centz desc", ("KS142",)),
    Mutation("query_unknown_table", "rules/rule_stockout.kql", "\nstockout_detected\n", "\nstockout_detectd\n",
             ("KS204",)),
    Mutation("query_unknown_function", "querysets/q_truck_dwell_by_site.kql", "\nfn_truck_sla()\n", "\nfn_truck_slaa()\n",
             ("KS211",)),
    Mutation("query_syntax_error", "querysets/q_ble_presence_30m.kql", "| summarize devices", "| summarise devices",
             ("KS176",)),
    Mutation("command_syntax_error", "01-tables.kql", "// Retention 14 days.\n.alter tables (",
             "// Retention 14 days.\n.alter tables ((", ("KS005", "KS006", "KS007"), block_only=True),
    Mutation("command_unknown_table", "02-ingestion-mappings.kql", ".create-or-alter table receipt_created ",
             ".create-or-alter table receipt_creatd ", ("KQLNAME",), block_only=True),
    Mutation("view_unknown_column", "04-materialized-views.kql", "total_sales_cents = sum(total_cents)",
             "total_sales_cents = sum(total_centz)", ("KS142",), block_only=True),
    Mutation("function_unknown_column", "03-functions.kql", "arrival_time = min(arrival_time)",
             "arrival_time = min(arrival_tme)", ("KS142",), block_only=True),
)


@pytest.fixture(scope="session")
def committed() -> dict[str, str]:
    """Every committed file of ``kql/``, by path relative to it."""
    return {
        p.relative_to(KQL_DIR).as_posix(): p.read_text(encoding="utf-8")
        for p in sorted(KQL_DIR.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def custom_rules() -> dict[str, str]:
    return {path: text for path, text in render(CUSTOM_THRESHOLDS).items() if path.startswith("rules/")}


@pytest.fixture(scope="session")
def validation(committed: dict[str, str], custom_rules: dict[str, str]) -> dict:
    """The parser's findings on the committed .kql files, the mutations and the custom-threshold rules."""
    files = [{"name": path, "text": text} for path, text in committed.items() if path.endswith(".kql")]
    files += [{"name": f"mutation/{m.name}", "text": m.text(committed), "declare": False} for m in MUTATIONS]
    files += [{"name": f"custom/{path}", "text": text, "declare": False} for path, text in custom_rules.items()]
    try:
        return validate(files)
    except KustoParserUnavailable as exc:
        pytest.fail(f"Microsoft's KQL parser could not run: {exc}", pytrace=False)


def errors(result: dict, name: str) -> list[dict]:
    return [d for d in result["files"][name]["diagnostics"] if d["severity"] == "Error"]
