"""``retail-assets quarantine``: the rows Bronze and Silver rejected, read from the lake.

    retail-assets quarantine                                  # rows per layer, table, month and reason
    retail-assets quarantine --table fact_receipts --month 2024-01 --rows 20   # the rows themselves

No Dagster run and no instance: it reads ``quarantine/<layer>/<table>`` of the configured lake
(``lib/quarantine_tables.py``), so it works while runs are going on and on a lake never run.
"""

from __future__ import annotations

import argparse
import datetime as dt

from retail_assets.commands.run import month_argument


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("quarantine", help="List the rows Bronze and Silver quarantined, from the lake.")
    parser.add_argument("--table", help="Only this table: fact_receipts (any layer) or bronze/fact_receipts.")
    parser.add_argument("--month", type=month_argument, help="Only this month, YYYY-MM.")
    parser.add_argument("--rows", type=int, metavar="N", help="Show up to N rows (reason, file, row/line, value) instead of counts.")
    parser.set_defaults(handler=list_quarantine)


def list_quarantine(args: argparse.Namespace) -> int:
    from retail_assets.defs.resources import build_resources
    from retail_assets.lib.quarantine_tables import ROOT, scan_quarantine, summarize_quarantine
    from retail_assets.lib.settings import Settings

    lake = build_resources(Settings.from_env())["lake"].process_config_and_initialize()
    rows = scan_quarantine(lake, [args.month] if args.month else None, table=args.table)
    scope = " ".join(
        part for part in (f"table {args.table}" if args.table else "", f"month {args.month:%Y-%m}" if args.month else "") if part
    )
    where = f"{lake.uri(ROOT)}" + (f" ({scope})" if scope else "")
    summary = summarize_quarantine(rows)
    total = int(summary["rows"].sum())
    if not total:
        print(f"no quarantined rows under {where}")
        return 0
    if args.rows is not None:
        shown = rows.sort("layer", "quarantine_table", "month_start", "source_file", "row_number").head(max(args.rows, 0))
        for row in shown.collect().iter_rows(named=True):
            print(_describe(row))
        print(f"{min(max(args.rows, 0), total):,} of {total:,} quarantined rows under {where}")
        return 0
    print(f"{'layer':<7} {'table':<30} {'month':<7} {'reason_code':<26} {'rows':>9}")
    for layer, table, month, reason_code, count in summary.iter_rows():
        print(f"{layer:<7} {table:<30} {month:%Y-%m} {reason_code:<26} {count:>9,}")
    tables = summary.select("layer", "quarantine_table").n_unique()
    print(f"{total:,} quarantined rows in {tables} table{'s' if tables > 1 else ''} under {where}; --rows N shows them")
    return 0


def _describe(row: dict) -> str:
    """One rejected row: where it was, which value, and the reason on the next line."""
    place = row["source_file"] or "(no file)"
    if row["row_number"] is not None:
        unit = "line" if place.endswith(".jsonl") else "row"
        place += f" {unit} {row['row_number']}"
    value = f" {row['column_name']}={row['value']!r}" if row["column_name"] else ""
    month: dt.date = row["month_start"]
    return f"{row['layer']}/{row['quarantine_table']} {month:%Y-%m} {row['reason_code']}: {place}{value}\n    {row['reason']}"
