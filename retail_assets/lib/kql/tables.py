"""``01-tables.kql``: the 18 event tables with their retention and caching policies (reference spec §12.1).

Each table is the envelope plus the flattened payload of its event spec, typed with
``DType.kql``. All tables are created by one ``.create-merge tables`` command; what each column
means is documented in the rendered README from the same specs.
"""

from __future__ import annotations

import json
from itertools import groupby

from retail_assets.lib.kql import text
from retail_assets.lib.specs import EventSpec
from retail_assets.lib.specs.registry import REGISTRY, event_columns

FILE = "01-tables.kql"
FOLDER = "events"
# Hot cache of every event table (reference spec §12.1: cluster caching hot = 7 d).
HOT_CACHE_DAYS = 7


def schema(event: EventSpec) -> list[tuple[str, str]]:
    """(column, KQL type) of an event table, in order: envelope then payload."""
    return [(c.name, c.dtype.kql) for c in event_columns(event)]


def _table(event: EventSpec) -> list[str]:
    columns = [f"{name}: {kql_type}" for name, kql_type in schema(event)]
    return [f"    {event.table_name} (", *(f"        {c}," for c in columns[:-1]), f"        {columns[-1]}", "    )"]


def _create(events: list[EventSpec]) -> list[str]:
    lines = [f"// {e.table_name}: {e.description}" for e in events]
    lines.append(".create-merge tables")
    for i, event in enumerate(events):
        table = _table(event)
        if i < len(events) - 1:
            table[-1] += ","
        lines += table
    lines.append(f"with (folder = {text.string(FOLDER)})")
    return lines


def _retention(days: int, events: list[EventSpec]) -> list[str]:
    policy = json.dumps({"SoftDeletePeriod": f"{days}.00:00:00", "Recoverability": "Enabled"})
    names = ", ".join(e.table_name for e in events)
    return [f"// Retention {days} days.", f".alter tables ({names}) policy retention '{policy}'"]


def render() -> str:
    events = list(REGISTRY.events)
    commands: list[list[str]] = [_create(events)]
    by_days = sorted(events, key=lambda e: -e.retention_days)
    for days, group in groupby(by_days, key=lambda e: e.retention_days):
        commands.append(_retention(days, list(group)))
    all_tables = ", ".join(e.table_name for e in events)
    commands.append(
        [f"// Hot cache {HOT_CACHE_DAYS} days.", f".alter tables ({all_tables}) policy caching hot = {HOT_CACHE_DAYS}d"]
    )
    return text.script(
        f"{FILE}: the {len(events)} event tables (envelope + payload columns), their retention and caching.",
        [
            "Idempotent: .create-merge adds missing columns and never drops one.",
            "Soft-delete retention per event class (EventSpec.retention_days), hot cache for every table.",
            "Column meanings: README.md.",
        ],
        commands,
    )
