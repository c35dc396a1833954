"""Plotly figures of the dashboard, declared as plain figure dicts (plotly.js draws them in the browser).

Dicts rather than ``plotly.graph_objects``: building a validated ``go.Figure`` costs 20-40 ms, which the
real-time page would pay ten times per refresh; the browser receives the same JSON either way. Values are
lists, not arrays (plotly would send arrays base64-encoded, and the page's data should read as numbers).
"""

from __future__ import annotations

from typing import Any

Figure = dict[str, Any]
GRID = "#e4e7eb"


def _layout(height: int, **axes: Any) -> dict[str, Any]:
    return {
        "height": height,
        "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
        "paper_bgcolor": "white",
        "plot_bgcolor": "white",
        "font": {"size": 11},
        **axes,
    }


def _axis(title: str = "", **extra: Any) -> dict[str, Any]:
    return {"title": {"text": title}, "gridcolor": GRID, "automargin": True, **extra}


def bar(labels: list[str], values: list[float | None], axis: str, *, height: int = 260) -> Figure:
    """Horizontal bars, the first label on top (the lists come sorted, largest first)."""
    return {
        "data": [{"type": "bar", "orientation": "h", "y": labels, "x": values}],
        "layout": _layout(height, xaxis=_axis(axis), yaxis=_axis(autorange="reversed", type="category")),
    }


def line(labels: list[str], values: list[float | None], axis: str, *, height: int = 280) -> Figure:
    return {
        "data": [{"type": "scatter", "mode": "lines+markers", "x": labels, "y": values}],
        "layout": _layout(height, xaxis=_axis(), yaxis=_axis(axis)),
    }


def pie(labels: list[str], values: list[float], *, height: int = 260) -> Figure:
    return {
        "data": [{"type": "pie", "labels": labels, "values": values, "sort": False, "hole": 0.4}],
        "layout": _layout(height),
    }


def heatmap(x: list[str], y: list[str], z: list[list[float | None]], scale: str, *, height: int = 260) -> Figure:
    return {
        "data": [
            {"type": "heatmap", "x": x, "y": y, "z": z, "colorscale": "YlOrRd", "colorbar": {"title": {"text": scale}}}
        ],
        "layout": _layout(height, xaxis=_axis(), yaxis=_axis(type="category")),
    }
