"""Small charts for the main Gold KPIs, shown in the Dagster UI with each month's materialization.

A retail analyst would rather look at a month of daily sales than read 31 numbers, so the main KPI
tables carry, per partition:

- ``chart``: a markdown image (an SVG bar chart as a ``data:`` URI — the way Dagster's own tutorial
  attaches plots; no plotting library, no file to host) with a one-line caption giving the total,
  the best and the worst bar in figures, so the chart never has to be read off pixels;
- ``kpi/<name>``: the month's headline figures as plain numbers, which the UI plots across partitions
  (asset page → Plots), so month-over-month is one click away.

Each chart is declared as ``CHART`` in its table's module (``lib/gold/kpis/<table>.py``) with the helpers
below (``by_day``, ``top``, ``dollars``, ``sums``); ``lib/gold/builders.py`` ``CHARTS`` collects them.

The chart is computed from the rows just written — the same rows the reconciliation check balances
against Silver — so a chart cannot disagree with the table.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

import polars as pl

# Colour-blind-safe palette (Okabe–Ito), one colour per series.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 28, 36


@dataclass(frozen=True)
class Series:
    """Bars to draw: one value per label and series (missing values are 0)."""

    labels: tuple[str, ...]
    values: dict[str, tuple[float, ...]]  # series name -> one value per label


@dataclass(frozen=True)
class ChartSpec:
    """One chart of a Gold table: how to aggregate its rows into bars, and its headline figures."""

    table: str
    title: str
    unit: str  # "$" for money (values in dollars), "" for counts
    bars: Callable[[pl.DataFrame], pl.DataFrame]  # -> columns label (str), series (str), value (float)
    headline: Callable[[pl.DataFrame], dict[str, float]]


def dollars(column: str) -> pl.Expr:
    return pl.col(column).sum().cast(pl.Float64) / 100.0


def by_day(day: pl.Expr, value: pl.Expr, series: pl.Expr | None = None) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def bars(rows: pl.DataFrame) -> pl.DataFrame:
        keyed = rows.with_columns(
            label=day.cast(pl.Date).cast(pl.String), series=pl.lit("") if series is None else series.cast(pl.String)
        )
        return keyed.group_by("label", "series").agg(value=value).sort("label", "series")

    return bars


def top(label: str, value: pl.Expr, n: int = 15) -> Callable[[pl.DataFrame], pl.DataFrame]:
    def bars(rows: pl.DataFrame) -> pl.DataFrame:
        totals = rows.group_by(pl.col(label).cast(pl.String).alias("label")).agg(value=value)
        return totals.sort(["value", "label"], descending=[True, False]).head(n).with_columns(series=pl.lit(""))

    return bars


def sums(**columns: tuple[str, float]) -> Callable[[pl.DataFrame], dict[str, float]]:
    """Headline figures: name -> (column, divisor); cents columns are divided by 100."""

    def headline(rows: pl.DataFrame) -> dict[str, float]:
        return {name: float(rows[column].sum() or 0) / divisor for name, (column, divisor) in columns.items()}

    return headline


def series_of(bars: pl.DataFrame) -> Series:
    """Pivot ``label, series, value`` rows into bars, keeping label and series order as given."""
    labels = tuple(dict.fromkeys(bars["label"].to_list()))
    names = tuple(dict.fromkeys(bars["series"].to_list()))
    at = {label: i for i, label in enumerate(labels)}
    values = {name: [0.0] * len(labels) for name in names}
    for label, name, value in bars.select("label", "series", "value").iter_rows():
        values[name][at[label]] = float(value or 0.0)
    return Series(labels=labels, values={name: tuple(v) for name, v in values.items()})


def _nice_step(span: float, ticks: int = 4) -> float:
    raw = span / ticks if span > 0 else 1.0
    magnitude = 10 ** math.floor(math.log10(raw))
    return next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)


def format_value(value: float, unit: str) -> str:
    """``$1,234,567.00`` / ``-$12.50`` for money (exact to the cent), ``1,234`` for counts."""
    sign = "-" if value < 0 else ""
    magnitude = abs(value)
    if unit == "$":
        return f"{sign}${magnitude:,.2f}"
    return f"{sign}{magnitude:,.0f}" if float(magnitude).is_integer() else f"{sign}{magnitude:,.2f}"


def _axis_label(value: float, unit: str) -> str:
    magnitude = abs(value)
    for threshold, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "k")):
        if magnitude >= threshold:
            text = f"{magnitude / threshold:g}{suffix}"
            break
    else:
        text = f"{magnitude:g}"
    return ("-" if value < 0 else "") + (unit if unit == "$" else "") + text


def svg_bar_chart(series: Series, title: str, unit: str) -> str:
    """A grouped bar chart as standalone SVG text (no scripts, no external references)."""
    everything = [v for values in series.values.values() for v in values]
    low, high = min([0.0, *everything]), max([0.0, *everything])
    step = _nice_step(high - low)
    low, high = math.floor(low / step) * step, math.ceil(high / step) * step
    if high == low:
        high = low + step
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def y(value: float) -> float:
        return TOP + plot_h * (high - value) / (high - low)

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" font-family="sans-serif" font-size="11">',
        f'<rect width="{WIDTH}" height="{HEIGHT}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="16" font-size="13" font-weight="bold">{escape(title)}</text>',
    ]
    tick = low
    while tick <= high + step / 2:
        parts.append(
            f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y(tick):.1f}" y2="{y(tick):.1f}" stroke="#e5e5e5"/>'
            f'<text x="{LEFT - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" fill="#555">'
            f"{escape(_axis_label(tick, unit))}</text>"
        )
        tick += step
    names = list(series.values)
    slot = plot_w / max(len(series.labels), 1)
    bar_w = max(slot * 0.8 / max(len(names), 1), 1.0)
    zero = y(0.0)
    for i, label in enumerate(series.labels):
        x0 = LEFT + i * slot + slot * 0.1
        for j, name in enumerate(names):
            value = series.values[name][i]
            top, bottom = sorted((y(value), zero))
            tip = f"{label}{' ' + name if name else ''}: {format_value(value, unit)}"
            parts.append(
                f'<rect class="bar" x="{x0 + j * bar_w:.1f}" y="{top:.1f}" width="{bar_w:.1f}" '
                f'height="{max(bottom - top, 0.0):.1f}" fill="{PALETTE[j % len(PALETTE)]}">'
                f"<title>{escape(tip)}</title></rect>"
            )
    # Label every bar when they fit, else about eight evenly spaced labels (e.g. every 4th day).
    every = max(1, math.ceil(len(series.labels) / 8)) if slot < 60 else 1
    for i, label in enumerate(series.labels):
        if i % every == 0:
            text = label[5:] if len(label) == 10 and label[4] == "-" else label  # 2024-01-05 -> 01-05
            parts.append(
                f'<text x="{LEFT + (i + 0.5) * slot:.1f}" y="{HEIGHT - BOTTOM + 14}" text-anchor="middle" '
                f'fill="#555">{escape(text[:14])}</text>'
            )
    parts.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#333"/>')
    if any(names):
        for j, name in enumerate(names):
            x = LEFT + j * 110
            parts.append(
                f'<rect x="{x}" y="{HEIGHT - 14}" width="10" height="10" fill="{PALETTE[j % len(PALETTE)]}"/>'
                f'<text x="{x + 14}" y="{HEIGHT - 5}">{escape(name)}</text>'
            )
    parts.append("</svg>")
    return "".join(parts)


def caption(series: Series, unit: str) -> str:
    """The chart in words: total, best and worst bar (per series when there are several)."""
    lines = []
    for name, values in series.values.items():
        if not values:
            continue
        best = max(range(len(values)), key=lambda i: (values[i], -i))
        worst = min(range(len(values)), key=lambda i: (values[i], i))
        prefix = f"**{name}**: " if name else ""
        lines.append(
            f"{prefix}total {format_value(sum(values), unit)} · highest {series.labels[best]} "
            f"{format_value(values[best], unit)} · lowest {series.labels[worst]} {format_value(values[worst], unit)}"
        )
    return "  \n".join(lines)


def chart_markdown(spec: ChartSpec, rows: pl.DataFrame) -> str:
    """Markdown for the ``chart`` metadata entry: the SVG as an image, then its caption."""
    bars = spec.bars(rows)
    if bars.is_empty():
        return f"**{spec.title}**: _no rows this month_"
    series = series_of(bars)
    svg = svg_bar_chart(series, spec.title, spec.unit)
    encoded = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f"![{spec.title}](data:image/svg+xml;base64,{encoded})\n\n{caption(series, spec.unit)}"


def chart_metadata(table: str, rows: pl.DataFrame) -> dict[str, object]:
    """``chart`` (markdown) and ``kpi/<name>`` figures for a main KPI table; nothing for the others.

    Values are plain Python objects; the Dagster layer wraps the markdown in ``MetadataValue.md``.
    """
    # The charts are declared in the KPI modules, which import this module's helpers: look them up at call time.
    from retail_assets.lib.gold.builders import CHARTS

    spec = CHARTS.get(table)
    if spec is None:
        return {}
    figures = {f"kpi/{name}": round(value, 2) for name, value in spec.headline(rows).items()}
    return {"chart": chart_markdown(spec, rows), **figures}
