"""The landing zone as source assets: what Bronze reads, shown upstream of it in the graph.

These are external assets (Dagster does not produce them): files arrive from the event stream
or a retailer's own exports. They make the lineage visible and give the UI a place to see what
feeds each Bronze table. When the generator is on (``RETAIL_GENERATOR``, ``defs/generator.py``),
the batch tables it produces are its assets instead, so they are left out here.
"""

from __future__ import annotations

import dagster as dg

from retail_assets.lib.code_refs import code_references, event_spec, table_spec
from retail_assets.lib.generator import GENERATED_TABLES
from retail_assets.lib.partitions import MONTHLY
from retail_assets.lib.settings import Settings
from retail_assets.lib.specs import REGISTRY

GROUP = "landing"


def landing_key(name: str) -> dg.AssetKey:
    return dg.AssetKey([GROUP, name])


def landing_specs(exclude: frozenset[str] = frozenset()) -> list[dg.AssetSpec]:
    """External specs for every table and event type not in ``exclude`` (those produced by an asset)."""
    specs = []
    for table in REGISTRY.tables.values():
        if table.name in exclude:
            continue
        where = f"batch/{table.name}/<YYYY-MM>/" + ("" if table.partitioned else " (one full snapshot per month)")
        specs.append(
            dg.AssetSpec(
                landing_key(table.name),
                group_name=GROUP,
                description=f"{table.description} Landed as Parquet or CSV under {where}.",
                partitions_def=MONTHLY if table.partitioned else None,
                kinds={"parquet", "csv"},
                metadata=code_references(table_spec(table.name)),
            )
        )
    for event in REGISTRY.events:
        if event.event_type in exclude:
            continue
        specs.append(
            dg.AssetSpec(
                landing_key(event.event_type),
                group_name=GROUP,
                description=(
                    f"{event.description} Landed as JSON lines under events/{event.event_type}/<YYYY-MM-DD>/<batch>.jsonl, "
                    "one reference-style envelope per line."
                ),
                partitions_def=MONTHLY,
                kinds={"json"},
                metadata=code_references(event_spec(event.event_type)),
            )
        )
    return specs


@dg.definitions
def defs() -> dg.Definitions:
    generated = GENERATED_TABLES if Settings.from_env().generator_enabled else frozenset()
    return dg.Definitions(assets=landing_specs(exclude=generated))
