"""Every table asset links, in the UI, to the lines that declare it (``lib/code_refs.py``): its spec in the registry
and, for Gold and its serving copy, the functions building and reconciling it — not the factory line that every
asset of a layer shares."""

from __future__ import annotations

import linecache
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.lib.code_refs import CODE_REFERENCES
from retail_assets.lib.gold.specs import GOLD
from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.specs.registry import EDGE_REGISTRY

PACKAGE = Path(__file__).resolve().parents[2] / "retail_assets"
# One table of all the others: the union of every quarantine table, whose columns the registry declares once.
UNION = dg.AssetKey(["serving", "quarantine"])


@pytest.fixture(scope="module")
def definitions() -> dg.Definitions:
    from retail_assets.definitions import defs

    return defs()


def _references(spec: dg.AssetSpec) -> list[tuple[str, str, str]]:
    """(label, file relative to the package, the referenced line) of an asset."""
    value = spec.metadata[CODE_REFERENCES]
    return [
        (r.label, str(Path(r.file_path).relative_to(PACKAGE)), linecache.getline(r.file_path, r.line_number).strip())
        for r in value.code_references
    ]


def test_every_table_asset_links_to_its_own_declaration(definitions: dg.Definitions) -> None:
    specs = {spec.key: spec for spec in definitions.resolve_all_asset_specs()}
    assert {key for key, spec in specs.items() if CODE_REFERENCES not in spec.metadata} == set()
    assert _references(specs[UNION]) == [
        ("columns of every quarantine table", "lib/specs/registry.py", "QUARANTINE_COLUMNS: tuple[ColumnSpec, ...] = (")
    ]
    factory_lines = set()
    for key, spec in specs.items():
        if key == UNION:
            continue
        references = _references(spec)
        assert references, key
        factory_lines.add(references[0][1:])
    # One declaration per declared table or event type, shared only by the assets holding it (landing, bronze,
    # silver, serving), never one line for many tables. The edge domain (docs/edge.md): its dimensions and event
    # types, its Silver and Gold tables, its generator and its served dimensions.
    edge = len(EDGE_REGISTRY.tables) + len(EDGE_REGISTRY.events) + 9
    assert len(factory_lines) == len(REGISTRY.tables) + len(REGISTRY.events) + len(GOLD) + edge


def test_a_fact_an_event_and_a_gold_kpi_point_at_their_spec_and_functions(definitions: dg.Definitions) -> None:
    specs = {spec.key: spec for spec in definitions.resolve_all_asset_specs()}
    silver = _references(specs[dg.AssetKey(["silver", "fact_online_order_lines"])])
    assert silver == [("spec of fact_online_order_lines", "lib/specs/facts.py", "FACT_ONLINE_ORDER_LINES = TableSpec(")]
    event = _references(specs[dg.AssetKey(["bronze", "receipt_created"])])
    assert event == [("spec of event receipt_created", "lib/specs/events/receipt_created.py", "RECEIPT_CREATED = EventSpec(")]
    # Declared through a helper call: still the line that names it.
    opened = _references(specs[dg.AssetKey(["landing", "store_opened"])])
    assert opened[0][2].startswith("STORE_OPENED = ")
    assert opened[0][1] == "lib/specs/events/store_opened.py"
    gold = _references(specs[dg.AssetKey(["gold", "stockout_duration_daily"])])
    assert [(label, file) for label, file, _ in gold] == [
        ("spec of gold/stockout_duration_daily", "lib/gold/kpis/stockout_duration_daily.py"),
        ("build of gold/stockout_duration_daily", "lib/gold/kpis/stockout_duration_daily.py"),
        ("reconciliation of gold/stockout_duration_daily", "lib/gold/kpis/stockout_duration_daily.py"),
    ]
    assert gold[0][2] == "STOCKOUT_DURATION_DAILY = GoldTable("
    assert gold[1][2].startswith("def stockout_duration_daily(")
    assert gold[2][2].startswith("def reconcile_stockout_duration_daily(")
    # A builder shared by two tables through functools.partial: its function, once per table.
    assert _references(specs[dg.AssetKey(["gold", "inventory_position_current"])])[1][2].startswith("def positions(")
    assert _references(specs[dg.AssetKey(["serving", "stockout_duration_daily"])]) == gold
    assert len(GOLD) == sum(1 for key in specs if key.path[0] == "gold")
