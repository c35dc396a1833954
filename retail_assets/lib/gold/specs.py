"""Every Gold table: the registry of the specs declared in the KPI modules (``lib/gold/kpis/<table>.py``).

The 21 KPI tables the reference names (spec §11), the four star-schema marts of seed 002 (daily
sales by channel, customer lifetime value, product returns, payments and refunds), the alerts
table and the KPIs defined here. Each spec is declared once, as ``TABLE`` in its own module, with its
build, reconciliation and (when it has one) chart and Eventhouse twin; ``GOLD_TABLES`` is found from
those modules (``lib/gold/kpis/__init__.py`` ``MODULES``, in module-name order), so there is no list to
keep in step. All days are UTC calendar days (``day`` is UTC midnight, as in the Eventhouse twins); all
money is integer cents.

``GOLD`` is validated when this module is imported (names, twins), so a broken declaration fails the
code location with a message naming the table and column.
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.kpis import MODULES, spec
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.kpi_twins import KPIS, SHIPMENT_DWELL_COLUMNS, shipment_dwell
from retail_assets.lib.specs import SpecError, empty_frame, silver_columns

GOLD_TABLES: tuple[GoldTable, ...] = tuple(spec(module) for module in MODULES)

GOLD: dict[str, GoldTable] = {t.name: t for t in GOLD_TABLES}


def gold_table(name: str) -> GoldTable:
    try:
        return GOLD[name]
    except KeyError:
        raise KeyError(f"unknown Gold table {name!r}; known: {sorted(GOLD)}") from None


def _twin_source_schema(table: GoldTable) -> pl.LazyFrame:
    kpi = KPIS[table.twin]
    if kpi.source.fact is not None:
        return empty_frame(silver_columns(kpi.source.fact)).lazy()
    keys = {"truck_id": pl.Int64, "dc_id": pl.Int64, "store_id": pl.Int64, "shipment_id": pl.String}
    utc = pl.Datetime("us", "UTC")
    frame = shipment_dwell(
        pl.LazyFrame(schema={**keys, "arrival_time": utc}), pl.LazyFrame(schema={**keys, "departure_time": utc})
    )
    assert tuple(frame.collect_schema()) == SHIPMENT_DWELL_COLUMNS
    return frame


def _validate() -> None:
    if len(GOLD) != len(GOLD_TABLES):
        raise SpecError("two Gold tables share a name")
    for table in GOLD_TABLES:
        if table.twin is None:
            continue
        kpi = KPIS.get(table.twin)
        if kpi is None or kpi.gold_table != table.name:
            raise SpecError(f"Gold table {table.name!r}: twin {table.twin!r} is not a KPI whose gold_table it is")
        produced = kpi.polars(_twin_source_schema(table)).collect_schema()
        declared = {c.name: c.polars_dtype for c in gold_columns(table)}
        for name, dtype in produced.items():
            if declared.get(name) != dtype:
                raise SpecError(
                    f"Gold table {table.name!r}: twin column {name!r} is {dtype} in Kpi.polars but "
                    f"{declared.get(name, 'not declared')} in the spec"
                )
        if tuple(produced)[: len(kpi.keys) + 1] != table.key:
            raise SpecError(f"Gold table {table.name!r}: its key must be the twin's keys and time bin")


_validate()
