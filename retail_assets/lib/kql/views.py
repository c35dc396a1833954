"""``04-materialized-views.kql``: the five materialized views (reference spec §12.4).

Each view is rendered from its KPI in ``kpi_twins`` (a view is one ``summarize``). The reference
filtered every view to ``ingest_timestamp > ago(7d)``; a view's query cannot depend on the clock,
so the 7-day horizon is a retention policy on the view instead.
"""

from __future__ import annotations

from retail_assets.lib.kpi_twins import KPIS, Kpi
from retail_assets.lib.kql import text

FILE = "04-materialized-views.kql"
FOLDER = "kpi"
RETENTION_DAYS = 7


def views() -> list[Kpi]:
    """KPIs kept up to date by a materialized view, in rendering order."""
    return [k for k in KPIS.values() if k.materialized_view]


def _doc(kpi: Kpi) -> str:
    doc = kpi.description
    if kpi.ratios:
        doc += f" The view holds the sums; {', '.join(r.name for r in kpi.ratios)} is computed when read."
    return doc + (f" Gold twin: gold/{kpi.gold_table}." if kpi.gold_table else " No Gold twin.")


def _create(kpi: Kpi) -> list[str]:
    props = f"with (folder = {text.string(FOLDER)}, docString = {text.string(_doc(kpi))})"
    return [
        f"// {kpi.materialized_view}: {_doc(kpi)}",
        f".create-or-alter materialized-view {props} {kpi.materialized_view} on table {kpi.source.kql} {{",
        *text.indent(kpi.kql_aggregation()),
        "}",
    ]


def _retention(kpi: Kpi) -> list[str]:
    return [f".alter-merge materialized-view {kpi.materialized_view} policy retention softdelete = {RETENTION_DAYS}d"]


def render() -> str:
    commands: list[list[str]] = []
    for kpi in views():
        commands += [_create(kpi), _retention(kpi)]
    return text.script(
        f"{FILE}: {len(views())} materialized views, rendered from retail_assets/lib/kpi_twins.py.",
        [
            "Money in integer cents (payload dollars converted half up), bins in UTC.",
            f"Views keep {RETENTION_DAYS} days. Run after 01-tables.kql. Re-running alters a view in place; changing its",
            "group-by or aggregations needs .drop materialized-view first (Eventhouse does not alter those).",
        ],
        commands,
    )
