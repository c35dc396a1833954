"""The figures behind a chart of the main Gold KPIs, shown with each month's materialization in the Dagster UI.

A retail analyst would rather look at a month of daily sales than dig for it in the table, so the main KPI
tables carry, per partition, as Dagster's own metadata types (nothing drawn here):

- ``chart``: the bars as a table (``MetadataValue.table``): a label column (the day, the store, the tender)
  and one column per series, values in the chart's unit; at most a month of days or the top 15;
- ``chart_caption``: the same bars in words, the total, the highest and the lowest bar
  (``MetadataValue.text``, shown inline in the metadata panel);
- ``kpi/<name>``: the month's headline figures as plain numbers, which the UI plots across partitions
  (asset page → Plots), so month-over-month is one click away.

Why no picture: the UI renders tables and plots numeric metadata over partitions natively; charts for business
users belong in the dashboard; a plotting library would add tens of MB of dependencies to draw one bar chart per
month that the table and the Plots tab already show (docs/gold.md "What the UI shows for a Gold month").

Each chart is declared as ``CHART`` in its table's module (``lib/gold/kpis/<table>.py``) with the helpers
below (``by_day``, ``top``, ``dollars``, ``sums``); ``lib/gold/builders.py`` ``CHARTS`` collects them.

The figures are computed from the rows just written — the same rows the reconciliation check balances
against Silver — so a chart cannot disagree with the table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg
import polars as pl

from retail_assets.lib.checks import frame_table


@dataclass(frozen=True)
class ChartSpec:
    """One chart of a Gold table: how to aggregate its rows into bars, and its headline figures."""

    table: str
    title: str  # heads the caption
    unit: str  # "$" for money (values in dollars), "" for counts
    bars: Callable[[pl.DataFrame], pl.DataFrame]  # -> a label column, then one value column per series
    headline: Callable[[pl.DataFrame], dict[str, float]]


def dollars(column: str) -> pl.Expr:
    """The sum of a cents column in dollars, named ``<name>_usd`` (``net_sales_cents`` -> ``net_sales_usd``)."""
    return (pl.col(column).sum().cast(pl.Float64) / 100.0).alias(column.removesuffix("_cents") + "_usd")


def by_day(day: pl.Expr, value: pl.Expr, series: pl.Expr | None = None) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """One bar per day (column ``day``): ``value`` aggregated per day, or one column per ``series`` value (a day
    without a series' rows is 0), series in the order they first appear."""

    def bars(rows: pl.DataFrame) -> pl.DataFrame:
        keyed = rows.with_columns(day=day.cast(pl.Date))
        if series is None:
            return keyed.group_by("day").agg(value).sort("day")
        totals = keyed.with_columns(series=series.cast(pl.String)).group_by("day", "series").agg(value=value)
        wide = totals.sort("day", "series").pivot(on="series", index="day", values="value")
        return wide.with_columns(pl.exclude("day").fill_null(0.0))

    return bars


def top(label: str, value: pl.Expr, n: int = 15) -> Callable[[pl.DataFrame], pl.DataFrame]:
    """The ``n`` largest ``label``s by ``value`` over the month, largest first (ties by label)."""

    def bars(rows: pl.DataFrame) -> pl.DataFrame:
        totals = rows.group_by(pl.col(label).cast(pl.String)).agg(value)
        name = totals.columns[1]
        return totals.sort([name, label], descending=[True, False]).head(n)

    return bars


def sums(**columns: tuple[str, float]) -> Callable[[pl.DataFrame], dict[str, float]]:
    """Headline figures: name -> (column, divisor); cents columns are divided by 100."""

    def headline(rows: pl.DataFrame) -> dict[str, float]:
        return {name: float(rows[column].sum() or 0) / divisor for name, (column, divisor) in columns.items()}

    return headline


def format_value(value: float, unit: str) -> str:
    """``$1,234,567.00`` / ``-$12.50`` for money (exact to the cent), ``1,234`` for counts."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if unit == "$":
        return f"{sign}${magnitude:,.2f}"
    return f"{sign}{magnitude:,.0f}" if float(magnitude).is_integer() else f"{sign}{magnitude:,.2f}"


def caption(spec: ChartSpec, bars: pl.DataFrame) -> str:
    """The bars in words: total, highest and lowest bar (per series when there are several; first bar on ties)."""
    if bars.is_empty():
        return f"{spec.title}: no rows this month"
    labels = [str(label) for label in bars.to_series(0)]
    parts = []
    for column in bars.columns[1:]:
        values = [float(v or 0.0) for v in bars[column]]
        best = max(range(len(values)), key=lambda i: (values[i], -i))
        worst = min(range(len(values)), key=lambda i: (values[i], i))
        prefix = f"{column}: " if bars.width > 2 else ""
        parts.append(
            f"{prefix}total {format_value(sum(values), spec.unit)} · highest {labels[best]} "
            f"{format_value(values[best], spec.unit)} · lowest {labels[worst]} {format_value(values[worst], spec.unit)}"
        )
    return f"{spec.title}: " + "; ".join(parts)


def chart_metadata(table: str, rows: pl.DataFrame) -> dict[str, dg.MetadataValue]:
    """``chart`` (table), ``chart_caption`` (text) and ``kpi/<name>`` figures for a main KPI table; nothing for
    the others."""
    # The charts are declared in the KPI modules, which import this module's helpers: look them up at call time.
    from retail_assets.lib.gold.builders import CHARTS

    spec = CHARTS.get(table)
    if spec is None:
        return {}
    bars = spec.bars(rows)
    figures = {f"kpi/{name}": dg.MetadataValue.float(round(value, 2)) for name, value in spec.headline(rows).items()}
    return {
        "chart": frame_table(bars, limit=None),
        "chart_caption": dg.MetadataValue.text(caption(spec, bars)),
        **figures,
    }
