"""Silver rows for Gold tests: valid defaults (``retail_assets_tests.silver.landed.row``) plus what a test states."""

from __future__ import annotations

import datetime as dt
from typing import Any

import polars as pl

from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.partitions import month_start
from retail_assets.lib.specs import REGISTRY, polars_schema, silver_columns
from retail_assets_tests.silver.landed import row

UTC = dt.UTC
JAN = dt.date(2024, 1, 1)
FEB = dt.date(2024, 2, 1)
MAR = dt.date(2024, 3, 1)


def at(month: int, day: int, hour: int = 12, minute: int = 0, second: int = 0) -> dt.datetime:
    return dt.datetime(2024, month, day, hour, minute, second, tzinfo=UTC)


def silver(table: str, rows: list[dict[str, Any]]) -> pl.DataFrame:
    """A Silver fact (spec columns + month_start) holding ``rows``, each a default row with the given overrides."""
    full = [row(table, **r) for r in rows]
    frame = pl.DataFrame(full, schema=polars_schema(REGISTRY.table(table).columns), orient="row")
    return frame.with_columns(month_start("event_ts").alias("month_start")).select(
        [c.name for c in silver_columns(table)]
    )


def empty(table: str) -> pl.DataFrame:
    return pl.DataFrame(schema=polars_schema(silver_columns(table)))


def inputs(
    month: dt.date,
    *,
    previous: pl.DataFrame | None = None,
    thresholds: AlertThresholds | None = None,
    **facts: list[dict[str, Any]] | pl.DataFrame,
) -> GoldInputs:
    """Gold inputs for ``month``; every fact not given is empty."""
    frames = {}
    for spec in REGISTRY.facts:
        given = facts.pop(spec.name, None)
        if given is None:
            frames[spec.name] = empty(spec.name).lazy()
        else:
            frames[spec.name] = (given if isinstance(given, pl.DataFrame) else silver(spec.name, given)).lazy()
    assert not facts, f"unknown facts {sorted(facts)}"
    return GoldInputs(month=month, facts=frames, previous=previous, thresholds=thresholds or AlertThresholds())
