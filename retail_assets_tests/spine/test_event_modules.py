"""One module per event type (``lib/specs/events/``): discovery, its checks, the order, and the import rule."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from retail_assets.lib.silver import stream
from retail_assets.lib.specs import REGISTRY, SpecError
from retail_assets.lib.specs.events import MODULES, _check, receipt_created, spec
from retail_assets.lib.streaming.envelopes import ENVELOPES

PACKAGE = Path(stream.__file__).resolve().parents[2]
# Imported by the event modules while the registry is being built: nothing of retail_assets.lib.specs at module level.
REGISTRY_FREE = ("silver/mapping.py", "silver/rules.py", "streaming/inverse.py")


def test_every_event_type_is_one_module_named_after_it_and_every_list_follows_their_positions() -> None:
    # The order is visible (kql/ files, the producer's order among events of one instant): the kql tests compare
    # the rendered files with the committed ones, so a module's POSITION cannot change silently.
    order = [m.__name__.rsplit(".", 1)[1] for m in MODULES]
    assert [spec(m).event_type for m in MODULES] == order
    assert [m.POSITION for m in MODULES] == list(range(1, len(MODULES) + 1))
    assert [e.event_type for e in REGISTRY.events] == order
    assert list(dict.fromkeys(e.event_type for e in ENVELOPES)) == order
    assert list(dict.fromkeys(event for _, event in stream.ROW_MAPPINGS)) == [
        e for e in order if e not in stream.UPDATE_EVENTS["fact_online_order_lines"]
    ]


def test_the_collected_tables_come_from_the_modules() -> None:
    assert stream.ROW_MAPPINGS[("fact_receipts", "receipt_created")] is receipt_created.to_fact_receipts
    assert stream.UPDATE_EVENTS == {"fact_online_order_lines": ("online_order_picked", "online_order_shipped")}
    # A pair's shared note is rendered once; two events' own notes are joined in registry order.
    assert stream.MAPPING_NOTES["fact_store_ops"].count("store_opened/store_closed") == 1
    assert stream.MAPPING_NOTES["fact_truck_moves"].index("truck_arrived") < stream.MAPPING_NOTES[
        "fact_truck_moves"
    ].index("truck_departed")
    assert set(stream.MAPPING_NOTES) == set(REGISTRY.tables) - {t.name for t in REGISTRY.dimensions}


def _module(**names: object) -> ModuleType:
    """receipt_created's module with some of its names replaced."""
    module = ModuleType(receipt_created.__name__)
    declared = ("RECEIPT_CREATED", "POSITION", "MAPPINGS", "NOTES", "ENVELOPES")
    vars(module).update({name: getattr(receipt_created, name) for name in declared}, **names)
    return module


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"RECEIPT_CREATED": None}, 'declares no RECEIPT_CREATED = EventSpec(event_type="receipt_created"'),
        ({"POSITION": "1"}, "declares no POSITION"),
        ({"MAPPINGS": {}}, "must name each of the spec's facts"),
        ({"UPDATES": ("fact_receipts",)}, "must name each of the spec's facts"),
        ({"NOTES": {}}, "NOTES must hold one note per fact"),
        ({"ENVELOPES": list(receipt_created.ENVELOPES)}, 'ENVELOPES must be a tuple of Envelope("receipt_created"'),
        ({"ENVELOPES": ENVELOPES[1:2]}, 'ENVELOPES must be a tuple of Envelope("receipt_created"'),
    ],
)
def test_a_module_missing_or_contradicting_a_name_fails_naming_it(change: dict, message: str) -> None:
    _check(_module(), "receipt_created")  # the real names pass
    with pytest.raises(SpecError, match="event module retail_assets.lib.specs.events.receipt_created: ") as error:
        _check(_module(**change), "receipt_created")
    assert message in str(error.value)


def test_a_fact_without_an_event_note_needs_a_batch_only_reason(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stream, "BATCH_ONLY", {})
    with pytest.raises(SpecError, match="fact 'fact_truck_inventory': needs a note"):
        stream._mapping_notes()
    monkeypatch.setattr(stream, "BATCH_ONLY", {**stream.BATCH_ONLY, "fact_receipts": "Batch only: no."})
    with pytest.raises(SpecError, match="fact 'fact_receipts'"):
        stream._mapping_notes()


@pytest.mark.parametrize("path", REGISTRY_FREE)
def test_the_helpers_of_the_event_modules_import_nothing_of_the_specs_at_module_level(path: str) -> None:
    tree = ast.parse((PACKAGE / "lib" / path).read_text())
    imported = [
        node.module if isinstance(node, ast.ImportFrom) else alias.name
        for node in tree.body
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in node.names
    ]
    assert not [name for name in imported if name and name.startswith("retail_assets.lib.specs")]


@pytest.mark.parametrize("entry", ["retail_assets.lib.silver.mapping", "retail_assets.lib.specs.events.store_closed"])
def test_importing_a_helper_or_an_event_module_first_builds_the_registry(entry: str) -> None:
    # A fresh interpreter: within this one the registry is already built, whatever the order.
    code = f"import {entry}\nfrom retail_assets.lib.specs import REGISTRY\nassert len(REGISTRY.events) == {len(MODULES)}"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
