"""The event → fact mapping: every event type of the registry onto the rows of its fact (reference spec §9.3).

Each event type's mapping lives in its own module (``lib/specs/events/<event_type>.py``, built from the blocks of
``mapping.py``); this module collects them into ``ROW_MAPPINGS``, ``UPDATE_EVENTS`` and ``MAPPING_NOTES`` and
applies one (``map_events``).

``online_order_picked`` and ``online_order_shipped`` do not create rows: they update the lines of
their order (``lifecycle.py``).

Where an event does not carry a fact column, the choice is in the event module's ``NOTES`` (shown in the asset's
description through ``MAPPING_NOTES``) and tested.
"""

from __future__ import annotations

from dataclasses import replace

import polars as pl

from retail_assets.lib.silver.mapping import Mapped, Mapping, MappingContext
from retail_assets.lib.silver.rules import BATCH_ID, EVENT_TRACE_ID, ORIGIN, SOURCE_FILE, not_carried
from retail_assets.lib.specs import REGISTRY, SpecError
from retail_assets.lib.specs.events import MODULES, mappings_of, updates_of
from retail_assets.lib.specs.events import spec as event_spec

# (fact, event type) → mapping, in registry order. online_order_picked/shipped are in lifecycle.py (they update lines).
ROW_MAPPINGS: dict[tuple[str, str], Mapping] = {
    (fact, event_spec(module).event_type): mapping
    for module in MODULES
    for fact, mapping in mappings_of(module).items()
}
# fact → the event types that update its rows.
UPDATE_EVENTS: dict[str, tuple[str, ...]] = {}
for _module in MODULES:
    for _fact in updates_of(_module):
        UPDATE_EVENTS[_fact] = (*UPDATE_EVENTS.get(_fact, ()), event_spec(_module).event_type)


def map_events(table: str, event_type: str, events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    """Rows of ``table`` from one Bronze event table, in the fact's column order, plus the mapping's checks."""
    mapped = ROW_MAPPINGS[(table, event_type)](events, ctx)
    spec = REGISTRY.table(table)
    hidden = [c for c in mapped.frame.collect_schema().names() if c.startswith(("__raw_", not_carried("")))]
    frame = mapped.frame.select(*spec.column_names, ORIGIN, SOURCE_FILE, BATCH_ID, EVENT_TRACE_ID, *hidden)
    # A mapping's checks judge only the rows it mapped (batch rows and other events share the frame later).
    own = pl.col(ORIGIN) == event_type
    checks = tuple(replace(c, name=f"{event_type}: {c.name}", condition=own & c.condition) for c in mapped.checks)
    return Mapped(frame, checks)


# Facts no event maps to, and why; shown in their Silver asset's description instead of an event's note.
BATCH_ONLY: dict[str, str] = {
    "fact_truck_inventory": "Batch only: no event maps to truck loads/unloads.",
    "fact_promo_lines": "Batch only: promotion_applied carries no line numbers, so it cannot give promo lines.",
    "fact_marketing_attribution": "Batch only: attribution is computed by the producer, not streamed.",
}


def _mapping_notes() -> dict[str, str]:
    notes = {}
    for fact in REGISTRY.facts:
        texts = [m.NOTES[fact.name] for m in MODULES if fact.name in m.NOTES]
        if bool(texts) == (fact.name in BATCH_ONLY):
            raise SpecError(
                f"fact {fact.name!r}: needs a note from the event modules that map to it, or a BATCH_ONLY entry "
                "when no event does (not both)"
            )
        notes[fact.name] = " ".join(dict.fromkeys(texts)) if texts else BATCH_ONLY[fact.name]
    return notes


# Decisions where an event does not carry a fact column, per fact; shown in each Silver asset's description.
MAPPING_NOTES: dict[str, str] = _mapping_notes()
