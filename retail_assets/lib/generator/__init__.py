"""Synthetic retail data: the reference system's dimensions and facts, deterministic and month by month.

Entry points: ``config.load_config`` (profiles), ``simulate.simulate`` (one month in memory, for
the batch writer and the streaming producer), ``facts.month_facts`` / ``facts.facts_between``
(spec-shaped frames), ``output.write_months`` / ``output.write_dimensions`` (landing files).
"""

from retail_assets.lib.specs import REGISTRY

DIMENSION_TABLES: tuple[str, ...] = tuple(t.name for t in REGISTRY.dimensions)
FACT_TABLES: tuple[str, ...] = tuple(t.name for t in REGISTRY.facts)
# Every batch table the generator lands; the landing assets of these are the generator's.
GENERATED_TABLES: frozenset[str] = frozenset(DIMENSION_TABLES + FACT_TABLES)
