"""Fact frames for a month or any time window, without writing files (for the streaming producer).

The simulation works a month at a time (inventory state is re-derived at month boundaries), so a
window is served by simulating the months it overlaps and keeping the rows whose time column
falls inside it. The last month simulated is cached per process (a reference-profile month holds
~3 GB of frames), so consecutive windows of one month cost one simulation.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import polars as pl

from retail_assets.lib.generator import FACT_TABLES
from retail_assets.lib.generator.config import GeneratorConfig
from retail_assets.lib.generator.simulate import simulate
from retail_assets.lib.generator.tables import month_tables
from retail_assets.lib.months import month_range
from retail_assets.lib.specs import REGISTRY


def month_facts(config: GeneratorConfig, month: dt.date, tables: tuple[str, ...] = FACT_TABLES) -> dict[str, pl.DataFrame]:
    """Every fact of the calendar month (UTC) containing ``month``, shaped like the specs."""
    return dict(month_tables(simulate(config, month.replace(day=1)), tables))


@lru_cache(maxsize=1)
def _cached_month(config: GeneratorConfig, month: dt.date) -> dict[str, pl.DataFrame]:
    return month_facts(config, month)


def facts_between(
    config: GeneratorConfig, start: dt.datetime, end: dt.datetime, tables: tuple[str, ...] = FACT_TABLES
) -> dict[str, pl.DataFrame]:
    """Facts whose time column is in [start, end) (UTC; naive datetimes are read as UTC), e.g. one hour."""
    start, end = (t if t.tzinfo else t.replace(tzinfo=dt.UTC) for t in (start, end))
    if end <= start:
        raise ValueError(f"empty window: end {end.isoformat()} is not after start {start.isoformat()}")
    months = month_range(start.astimezone(dt.UTC).date(), (end.astimezone(dt.UTC) - dt.timedelta(microseconds=1)).date())
    out: dict[str, list[pl.DataFrame]] = {t: [] for t in tables}
    for month in months:
        frames = _cached_month(config, month)
        for table in tables:
            column = REGISTRY.table(table).time_column
            frame = frames[table]
            out[table].append(frame.filter((pl.col(column) >= start) & (pl.col(column) < end)))
    return {t: pl.concat(parts) for t, parts in out.items()}
