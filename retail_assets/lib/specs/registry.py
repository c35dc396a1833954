"""The registry of every table and event, and the columns the platform adds per layer.

``REGISTRY`` is validated when this module is imported: foreign keys must point at a dimension's
primary key of the same type, events must map to declared facts, names must be unique. A broken
spec therefore fails the Dagster code location at load time with a message naming the table
and column.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

import polars as pl

from retail_assets.lib.specs.edge import EDGE_DIMENSIONS, EDGE_EVENTS
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.dimensions import DIMENSIONS
from retail_assets.lib.specs.envelope import ENVELOPE
from retail_assets.lib.specs.events import EVENTS
from retail_assets.lib.specs.facts import FACTS
from retail_assets.lib.specs.model import PARTITION_COLUMN, ColumnSpec, DType, EventSpec, SpecError, TableSpec

# Added to every monthly-partitioned table (facts, events) in every layer.
MONTH_START = col(PARTITION_COLUMN, DType.DATE, "First day of the UTC month of the row's time column; the partition.")
# Bronze dimensions keep every landed snapshot; this says which one a row belongs to.
SNAPSHOT_MONTH = col("snapshot_month", DType.DATE, "Month of the landed dimension snapshot (batch/<dim>/<YYYY-MM>/).")
# Lineage added to every Bronze row.
INGESTION_COLUMNS: tuple[ColumnSpec, ...] = (
    col("_source_file", DType.STRING, "Landing-zone path of the file the row came from, relative to the landing root."),
    col("_batch_id", DType.STRING, "Landing batch: the file name without its extension."),
    col("_ingested_at", DType.TIMESTAMP, "When the run that wrote the row started (UTC)."),
)
# Silver SCD Type 2 validity of dimension versions.
SCD2_COLUMNS: tuple[ColumnSpec, ...] = (
    col("valid_from", DType.TIMESTAMP, "Start of this version's validity (inclusive)."),
    col("valid_to", DType.TIMESTAMP, "End of validity (exclusive); NULL for the current version.", nullable=True),
    col("is_current", DType.BOOL, "True for the version valid now."),
)
# Rows rejected by any layer, one quarantine table per table and layer.
QUARANTINE_COLUMNS: tuple[ColumnSpec, ...] = (
    col("table_name", DType.STRING, "Table the row was meant for."),
    col(PARTITION_COLUMN, DType.DATE, "Partition (or dimension snapshot month) being loaded."),
    col("source_file", DType.STRING, "Landing file or upstream table the row came from.", nullable=True),
    col("batch_id", DType.STRING, "Landing batch.", nullable=True),
    col(
        "trace_id",
        DType.STRING,
        "trace_id of the rejected event (or of the event behind a rejected row), when it could be read.",
        nullable=True,
    ),
    col("row_number", DType.INT64, "1-based row or line number in the source file.", nullable=True),
    col("column_name", DType.STRING, "First column at fault, when one is.", nullable=True),
    col("value", DType.STRING, "The offending value as text.", nullable=True),
    col("reason_code", DType.STRING, "Machine-readable reason (type_error, null_required, malformed_json, ...)."),
    col("reason", DType.STRING, "Human-readable reason naming every problem of the row."),
    col("record", DType.STRING, "The whole source row or line, as text, so nothing is lost.", nullable=True),
    col("quarantined_at", DType.TIMESTAMP, "When the row was rejected."),
)


@dataclass(frozen=True)
class Registry:
    dimensions: tuple[TableSpec, ...]
    facts: tuple[TableSpec, ...]
    events: tuple[EventSpec, ...]

    @cached_property
    def tables(self) -> dict[str, TableSpec]:
        return {t.name: t for t in (*self.dimensions, *self.facts)}

    @cached_property
    def events_by_type(self) -> dict[str, EventSpec]:
        return {e.event_type: e for e in self.events}

    def table(self, name: str) -> TableSpec:
        try:
            return self.tables[name]
        except KeyError:
            raise KeyError(f"unknown table {name!r}; known tables: {sorted(self.tables)}") from None

    def event(self, event_type: str) -> EventSpec:
        try:
            return self.events_by_type[event_type]
        except KeyError:
            raise KeyError(f"unknown event type {event_type!r}; known: {sorted(self.events_by_type)}") from None

    def validate(self) -> Registry:
        names = [t.name for t in (*self.dimensions, *self.facts)] + [e.event_type for e in self.events]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise SpecError(f"names used by more than one table or event: {duplicates}")
        for table in self.tables.values():
            for c in table.columns:
                if c.references is None:
                    continue
                target = self.tables.get(c.references)
                where = f"table {table.name!r}: column {c.name!r}"
                if target is None or target.kind != "dimension":
                    raise SpecError(f"{where} references {c.references!r}, which is not a dimension")
                if len(target.primary_key) != 1:
                    raise SpecError(f"{where} references {target.name!r}, whose key is not a single column")
                key = target.column(target.primary_key[0])
                if key.dtype is not c.dtype:
                    raise SpecError(f"{where} is {c.dtype} but {target.name}.{key.name} is {key.dtype}")
            for event_type in table.source_events:
                event = self.events_by_type.get(event_type)
                if event is None or table.name not in event.facts:
                    raise SpecError(f"table {table.name!r}: source event {event_type!r} does not map to it")
        envelope = {c.name for c in ENVELOPE}
        for event in self.events:
            for fact in event.facts:
                if fact not in self.tables or self.tables[fact].kind != "fact":
                    raise SpecError(f"event {event.event_type!r} maps to {fact!r}, which is not a fact")
                if event.event_type not in self.tables[fact].source_events:
                    raise SpecError(f"event {event.event_type!r} maps to {fact!r}, which does not list it")
            clash = envelope & {c.name for c in event.payload}
            if clash:
                raise SpecError(f"event {event.event_type!r}: payload columns {sorted(clash)} clash with the envelope")
        return self


REGISTRY = Registry(dimensions=DIMENSIONS, facts=FACTS, events=EVENTS).validate()
# The store edge domain (seed 003, docs/edge.md): its own registry, so that retail's assets, KQL and counts read
# ``REGISTRY`` alone; the landing zone and Bronze resolve names across both (``find_event``, ``find_table``).
EDGE_REGISTRY = Registry(dimensions=EDGE_DIMENSIONS, facts=(), events=EDGE_EVENTS).validate()
DOMAINS: dict[str, Registry] = {"retail": REGISTRY, "edge": EDGE_REGISTRY}


def _check_domains() -> None:
    owners: dict[str, str] = {}
    for domain, registry in DOMAINS.items():
        for name in (*registry.tables, *registry.events_by_type):
            if name in owners:
                raise SpecError(
                    f"{name!r} is a table or event type of both the {owners[name]} and the {domain} domain; names are "
                    "unique across domains because landing paths and Bronze resolve them by name"
                )
            owners[name] = domain


_check_domains()


def find_event(event_type: str) -> EventSpec:
    """The event type of any domain."""
    for registry in DOMAINS.values():
        if event_type in registry.events_by_type:
            return registry.events_by_type[event_type]
    known = sorted(t for r in DOMAINS.values() for t in r.events_by_type)
    raise KeyError(f"unknown event type {event_type!r}; known: {known}")


def find_table(name: str) -> TableSpec:
    """The dimension or fact of any domain."""
    for registry in DOMAINS.values():
        if name in registry.tables:
            return registry.tables[name]
    known = sorted(t for r in DOMAINS.values() for t in r.tables)
    raise KeyError(f"unknown table {name!r}; known tables: {known}")


def is_event_type(name: str) -> bool:
    return any(name in r.events_by_type for r in DOMAINS.values())


def is_table(name: str) -> bool:
    return any(name in r.tables for r in DOMAINS.values())


def event_columns(event: EventSpec) -> tuple[ColumnSpec, ...]:
    """Envelope + flattened payload: the columns of an event table (as in Eventhouse)."""
    return (*ENVELOPE, *event.payload)


def bronze_columns(name: str) -> tuple[ColumnSpec, ...]:
    """Columns of ``bronze/<name>`` for a table or event type."""
    if is_event_type(name):
        return (*event_columns(find_event(name)), MONTH_START, *INGESTION_COLUMNS)
    table = find_table(name)
    if table.kind == "dimension":
        return (*table.columns, SNAPSHOT_MONTH, *INGESTION_COLUMNS)
    return (*table.columns, MONTH_START, *INGESTION_COLUMNS)


def silver_columns(name: str) -> tuple[ColumnSpec, ...]:
    """Columns of ``silver/<name>``: the spec, plus the partition or SCD2 validity."""
    table = REGISTRY.table(name)
    if table.kind == "fact":
        return (*table.columns, MONTH_START)
    if table.history == "scd2":
        return (*table.columns, *SCD2_COLUMNS)
    return table.columns


def polars_schema(columns: Iterable[ColumnSpec]) -> pl.Schema:
    return pl.Schema({c.name: c.polars_dtype for c in columns})


def empty_frame(columns: Iterable[ColumnSpec]) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(columns))
