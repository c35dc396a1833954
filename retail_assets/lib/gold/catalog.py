"""The Gold table catalog of ``docs/gold.md``, rendered from the specs (``lib/gold/kpis/<table>.py``) so the two
cannot drift.

    uv run python -m retail_assets.lib.gold.catalog docs/gold.md   # rewrite the catalog section in place

The test suite checks that the committed section equals what the specs render.
"""

from __future__ import annotations

import sys

from retail_assets.lib.gold.kpis.alerts import ALERT_HOSTS
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.rendered import rewrite

BEGIN = "<!-- gold-catalog:begin (rendered from lib/gold/kpis/ by `python -m retail_assets.lib.gold.catalog`) -->"
END = "<!-- gold-catalog:end -->"


def _months(first: int, last: int) -> str:
    if (first, last) == (0, 0):
        return "the month"
    return {(0, 1): "the month and the next", (-1, 0): "the previous month and the month"}[(first, last)]


def _text(text: str) -> str:
    """Spec text for markdown: angle brackets would read as HTML tags."""
    return text.replace("<", "&lt;").replace(">", "&gt;")


def _cell(text: str) -> str:
    return _text(text).replace("|", "\\|")


def _table(table: GoldTable) -> list[str]:
    reads = "; ".join(f"silver/{i.table} ({_months(i.first, i.last)})" for i in table.inputs)
    if table.kind == "snapshot":
        reads += f"; gold/{table.name} of the previous month"
    alerts = [a for a, host in ALERT_HOSTS.items() if host == table.name]
    lines = [
        f"### `{table.name}`",
        "",
        _text(table.description),
        "",
        f"- **Grain**: {_text(table.grain)}. **Key**: {', '.join(table.key)}. **Origin**: {table.origin}.",
        f"- **Reads**: {reads}.",
        f"- **Formula**: {_text(table.formula)}",
        f"- **Reconciliation** (check `reconciles_with_silver`): {_text(table.reconciliation)}",
    ]
    if table.twin:
        lines.append(f"- **Eventhouse twin**: KPI `{table.twin}` of `lib/kpi_twins.py`.")
    if alerts:
        lines.append(f"- **Alert checks** (WARN): {', '.join(f'`alert_{a}`' for a in alerts)}.")
    lines += ["", "| Column | Type | Meaning |", "|---|---|---|"]
    for c in gold_columns(table):
        kind = c.dtype.value + ("" if not c.nullable else ", nullable") + (f" → {c.references}" if c.references else "")
        lines.append(f"| `{c.name}` | {kind} | {_cell(c.description)} |")
    return [*lines, ""]


def render() -> str:
    lines = [BEGIN, "", "| Table | Grain | Origin |", "|---|---|---|"]
    lines += [f"| [`{t.name}`](#{t.name}) | {_cell(t.grain)} | {_cell(t.origin)} |" for t in GOLD_TABLES]
    lines.append("")
    for table in GOLD_TABLES:
        lines += _table(table)
    return "\n".join([*lines, END])


def main(argv: list[str]) -> int:
    return rewrite(argv[0] if argv else "docs/gold.md", BEGIN, END, render)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
