"""``02-ingestion-mappings.kql``: one JSON ingestion mapping per event table (reference spec §12.2).

Envelope fields are read from ``$.<field>``, payload fields from ``$.payload.<field>`` (the JSON
field of the spec, so ``payload_source`` reads ``$.payload.source``). Every table's mapping has the
same name, so one Eventstream/ingestion setting serves all 18 tables.
"""

from __future__ import annotations

import json

from retail_assets.lib.kql import text
from retail_assets.lib.specs import EventSpec
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.registry import REGISTRY

FILE = "02-ingestion-mappings.kql"
MAPPING_NAME = "EventMapping"


def paths(event: EventSpec) -> list[tuple[str, str]]:
    """(column, JSON path) of an event table's mapping."""
    return [(c.name, f"$.{c.field}") for c in ENVELOPE] + [(c.name, f"$.payload.{c.field}") for c in event.payload]


def _mapping(event: EventSpec) -> list[str]:
    entries = [json.dumps({"column": column, "Properties": {"Path": path}}) for column, path in paths(event)]
    body = [f"    {e}," for e in entries[:-1]] + [f"    {entries[-1]}"]
    return [
        f".create-or-alter table {event.table_name} ingestion json mapping {text.string(MAPPING_NAME)}",
        "```",
        "[",
        *body,
        "]",
        "```",
    ]


def render() -> str:
    events = REGISTRY.events
    renamed = sorted({f"payload.{c.field} lands in column {c.name}" for e in events for c in e.payload if c.json_field})
    return text.script(
        f"{FILE}: JSON ingestion mappings '{MAPPING_NAME}' for the {len(events)} event tables.",
        [
            "Envelope fields come from $.<field>, payload fields from $.payload.<field>.",
            *(f"Renamed: {r}." for r in renamed),
            "Run after 01-tables.kql. Idempotent.",
        ],
        (_mapping(e) for e in events),
    )
