"""The streaming event types: one module per type, found here without a list to keep in step.

Each module ``lib/specs/events/<event_type>.py`` holds everything of one event type, across the layers:

- ``<EVENT_TYPE> = EventSpec(event_type="<event_type>", ...)``: its spec (payload columns, facts, retention),
  named after the type in upper case (``RECEIPT_CREATED`` in ``receipt_created.py``);
- ``POSITION``: its place in the registry's event order (the reference's, §9.1). The order is visible: KQL tables
  and mappings under ``kql/`` and the producer's order among events of the same instant follow it;
- ``MAPPINGS = {fact: function}``: its Silver mapping onto each fact it feeds row by row
  (:data:`~retail_assets.lib.silver.mapping.Mapping`, built from ``lib/silver/mapping.py``), and/or
  ``UPDATES = (fact, ...)``: the facts whose rows it updates instead (``lib/silver/lifecycle.py``). Together they
  name exactly the spec's ``facts``;
- ``NOTES = {fact: text}``: what the mapping decides where the event does not carry a fact column, rendered into
  the Silver asset's description (the notes of one fact are joined in registry order, an identical note once);
- ``ENVELOPES = (Envelope(...), ...)``: the inverse mapping, fact rows → events, for the producer
  (:class:`~retail_assets.lib.streaming.inverse.Envelope`).

``MODULES`` lists them by ``POSITION``; ``EVENTS`` (their specs, read by ``lib/specs/registry.py``),
``lib/silver/stream.py`` ``ROW_MAPPINGS``, ``UPDATE_EVENTS`` and ``MAPPING_NOTES``, and
``lib/streaming/envelopes.py`` ``ENVELOPES`` are collected from them. Adding an event type is adding a module
here (and the type to its fact's ``source_events``); a module that misses a name, or whose names disagree, fails
the import with a message naming it. Modules whose name starts with ``_`` are helpers shared by a pair of event
types (``_store_operation.py``, ``_order_step.py``, ``_truck_move.py``), not event types.

Import rule (the registry imports this package, and almost everything imports the registry): an event module
imports only ``retail_assets.lib.specs`` modules and modules that import nothing of ``retail_assets.lib.specs``
at module level — ``lib/specs/envelope.py`` (envelope and payload column helpers), ``lib/silver/mapping.py`` and
``lib/silver/rules.py`` (Silver mapping helpers and row checks), ``lib/streaming/inverse.py`` (``Envelope`` and
its helpers). Those may import the registry inside a function only. The package lives under ``lib/specs`` so
that importing any event module first runs ``lib/specs/__init__.py``, which builds the registry in one order.
Consumers that need the registry too (``stream.py``, ``envelopes.py``) import this package, never the other way.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

from retail_assets.lib.specs.model import EventSpec, SpecError
from retail_assets.lib.streaming.inverse import Envelope


def _check(module: ModuleType, name: str) -> None:
    owner = f"event module {module.__name__}"
    event = getattr(module, name.upper(), None)
    if not isinstance(event, EventSpec) or event.event_type != name:
        raise SpecError(f'{owner}: declares no {name.upper()} = EventSpec(event_type="{name}", ...)')
    if not isinstance(getattr(module, "POSITION", None), int):
        raise SpecError(f"{owner}: declares no POSITION (its place in the registry's event order)")
    mappings, updates = mappings_of(module), updates_of(module)
    if not all(callable(fn) for fn in mappings.values()):
        raise SpecError(f"{owner}: MAPPINGS must map each fact to a mapping function")
    if set(mappings) & set(updates) or set(mappings) | set(updates) != set(event.facts):
        raise SpecError(
            f"{owner}: MAPPINGS {sorted(mappings)} and UPDATES {sorted(updates)} must name each of the spec's "
            f"facts {sorted(event.facts)} once"
        )
    notes = getattr(module, "NOTES", None)
    if not isinstance(notes, dict) or set(notes) != set(event.facts):
        raise SpecError(f"{owner}: NOTES must hold one note per fact of the spec {sorted(event.facts)}")
    envelopes = getattr(module, "ENVELOPES", None)
    if not isinstance(envelopes, tuple) or not all(
        isinstance(e, Envelope) and e.event_type == name for e in envelopes
    ):
        raise SpecError(f'{owner}: ENVELOPES must be a tuple of Envelope("{name}", ...)')


def _discover() -> tuple[ModuleType, ...]:
    modules = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        _check(module, info.name)
        modules.append(module)
    modules.sort(key=lambda m: m.POSITION)
    positions = [m.POSITION for m in modules]
    clashes = sorted({m.__name__ for m in modules if positions.count(m.POSITION) > 1})
    if clashes:
        raise SpecError(f"event modules share a POSITION: {clashes}")
    return tuple(modules)


def spec(module: ModuleType) -> EventSpec:
    """The event type an event module declares."""
    return getattr(module, module.__name__.rsplit(".", 1)[1].upper())


def mappings_of(module: ModuleType) -> dict[str, Callable]:
    """fact → Silver mapping of an event module (none for an event that only updates rows)."""
    return getattr(module, "MAPPINGS", {})


def updates_of(module: ModuleType) -> tuple[str, ...]:
    """The facts whose rows an event module's events update rather than create."""
    return getattr(module, "UPDATES", ())


MODULES: tuple[ModuleType, ...] = _discover()
EVENTS: tuple[EventSpec, ...] = tuple(spec(m) for m in MODULES)
