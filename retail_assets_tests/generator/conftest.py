"""Generated data shared by the generator tests: three consecutive tiny months, simulated once."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl
import pytest

from retail_assets.lib.generator.config import GeneratorConfig, load_config
from retail_assets.lib.generator.facts import month_facts
from retail_assets.lib.generator.output import dimension_frames

MONTHS = (dt.date(2023, 12, 1), dt.date(2024, 1, 1), dt.date(2024, 2, 1))


@dataclass
class Generated:
    config: GeneratorConfig
    facts: dict[dt.date, dict[str, pl.DataFrame]]
    dims: dict[dt.date, dict[str, pl.DataFrame]]

    def fact(self, table: str, months=MONTHS) -> pl.DataFrame:
        return pl.concat([self.facts[m][table] for m in months])

    def dim(self, table: str, month: dt.date = MONTHS[1]) -> pl.DataFrame:
        return self.dims[month][table]


@pytest.fixture(scope="session")
def tiny_config() -> GeneratorConfig:
    return load_config("tiny", environ={})


@pytest.fixture(scope="session")
def generated(tiny_config: GeneratorConfig) -> Generated:
    """December 2023 to February 2024 at the tiny profile, each month generated on its own."""
    return Generated(
        tiny_config,
        {m: month_facts(tiny_config, m) for m in MONTHS},
        {m: dict(dimension_frames(tiny_config, m)) for m in MONTHS},
    )
