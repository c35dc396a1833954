"""The Gold KPIs: one module per Gold table, found here without a list to keep in step.

Each module ``lib/gold/kpis/<table>.py`` holds everything of one Gold table:

- ``<TABLE> = GoldTable(name="<table>", ...)``: its spec (:class:`~retail_assets.lib.gold.model.GoldTable`), named
  after the table in upper case (``STOCKOUT_DURATION_DAILY`` in ``stockout_duration_daily.py``);
- ``<table>(inp: GoldInputs) -> pl.LazyFrame``: the transform computing a month;
- ``reconcile_<table>(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]``: the identities it must satisfy
  with Silver;
- optionally ``CHART``: a :class:`~retail_assets.lib.gold.charts.ChartSpec` (chart and ``kpi/…`` figures in the UI);
- when the table has an Eventhouse twin, the ``Kpi`` of ``lib/kpi_twins.py`` it computes, imported as ``TWIN``
  (and named by the spec's ``twin``). The twin stays declared in ``lib/kpi_twins.py``: the KQL renderer, the
  querysets and KQL-only KPIs sharing its source read it there, and ``lib/kpi_twins.py`` collecting it from
  here would import this package, whose modules import ``lib/kpi_twins.py``.

``MODULES`` lists them by module name, so the registry (``lib/gold/specs.py`` ``GOLD_TABLES``,
``lib/gold/builders.py`` ``BUILDERS`` and ``CHARTS``) is in a deterministic order. Adding a KPI is adding a module
here; a module without its spec, transform or reconciliation under those names fails the import with a message
naming it. Helpers shared by several KPIs live beside the package (``lib/gold/frames.py``,
``columns.py``, ``positions.py``, ``shipments.py``), not in it: every module of this package is a KPI.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from types import ModuleType

import polars as pl

from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.gold.model import GoldTable
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.specs import SpecError


def _discover() -> tuple[ModuleType, ...]:
    modules = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{__name__}.{info.name}")
        owner = f"Gold KPI module {module.__name__}"
        table = getattr(module, info.name.upper(), None)
        if not isinstance(table, GoldTable) or table.name != info.name:
            raise SpecError(f'{owner}: declares no {info.name.upper()} = GoldTable(name="{info.name}", ...)')
        for function in (info.name, f"reconcile_{info.name}"):
            if not callable(getattr(module, function, None)):
                raise SpecError(f"{owner}: defines no {function}() function")
        twin = getattr(module, "TWIN", None)
        if (twin.name if twin is not None else None) != table.twin:
            raise SpecError(f"{owner}: the spec's twin is {table.twin!r} but TWIN is {twin.name if twin else None!r}")
        modules.append(module)
    return tuple(modules)


MODULES: tuple[ModuleType, ...] = _discover()


def spec(module: ModuleType) -> GoldTable:
    """The Gold table a KPI module declares."""
    return getattr(module, module.__name__.rsplit(".", 1)[1].upper())


def build(module: ModuleType) -> Callable[[GoldInputs], pl.LazyFrame]:
    """The transform of a KPI module."""
    return getattr(module, spec(module).name)


def reconcile(module: ModuleType) -> Callable[[GoldInputs, pl.LazyFrame], list[Balance]]:
    """The reconciliation of a KPI module."""
    return getattr(module, f"reconcile_{spec(module).name}")
