"""Which transform computes each Gold table, which identities reconcile it and which chart shows it.

All three are found in the table's own module (``lib/gold/kpis/<table>.py``: ``<table>``, ``reconcile_<table>``,
``CHART``), like its spec (``lib/gold/specs.py`` ``GOLD_TABLES``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.gold.charts import ChartSpec
from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.gold.kpis import MODULES, build, reconcile, spec
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import SpecError


@dataclass(frozen=True)
class Builder:
    build: Callable[[GoldInputs], pl.LazyFrame]
    reconcile: Callable[[GoldInputs, pl.LazyFrame], list[Balance]]


BUILDERS: dict[str, Builder] = {spec(m).name: Builder(build(m), reconcile(m)) for m in MODULES}

# The main KPI tables' charts and headline figures (lib/gold/charts.py turns them into table metadata).
CHARTS: dict[str, ChartSpec] = {spec(m).name: m.CHART for m in MODULES if getattr(m, "CHART", None) is not None}

for _name, _chart in CHARTS.items():
    if _chart.table != _name:
        raise SpecError(f"Gold KPI module {_name}: its CHART is for table {_chart.table!r}")
