"""The Dash app: navigation, the pages' layouts and the callbacks that read the serving file.

Each callback opens the serving file through :func:`reading` (one short read-only session), builds its
components and closes the file before returning, so nothing holds the file between requests. The
real-time page re-reads itself on a ``dcc.Interval`` (no page reload); the report pages re-read when a
filter changes. Element ids are stable (``tile-<tile>-<figure>``, ``report-<figure>``): the browser
tests and users' bookmarks rely on them.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from dash import Dash, Input, Output, State, dcc, html

from retail_assets.dashboard import DEFAULT_REFRESH_SECONDS, MAX_REFRESH_SECONDS
from retail_assets.dashboard.charts import Figure
from retail_assets.dashboard.realtime import TileView, find_anchor, read_tiles
from retail_assets.dashboard.reader import ServingUnavailable, reading


STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f4f5f7; color: #1f2933; }
nav { background: #1f2933; padding: 8px 16px; display: flex; gap: 16px; align-items: center; }
nav a { color: #e4e7eb; text-decoration: none; font-size: 14px; }
nav a:hover { text-decoration: underline; }
nav .brand { color: white; font-weight: 600; margin-right: 16px; }
main { padding: 12px 16px; }
.banner { background: #fff8e1; border: 1px solid #f0c36d; padding: 6px 10px; margin-bottom: 8px; font-size: 14px; }
.updated { color: #616e7c; font-size: 12px; margin-bottom: 8px; }
.error { background: #fde8e8; border: 1px solid #e66; padding: 8px 12px; }
.tiles { display: grid; grid-template-columns: repeat(auto-fill, minmax(360px, 1fr)); gap: 10px; }
.tile { background: white; border-radius: 6px; padding: 8px 12px; box-shadow: 0 1px 2px rgba(0,0,0,.1); }
.tile h3 { margin: 0 0 2px 0; font-size: 16px; }
.window, .asof { color: #616e7c; font-size: 12px; }
.figures { display: flex; gap: 18px; margin: 6px 0; flex-wrap: wrap; }
.figure span { display: block; color: #616e7c; font-size: 12px; }
.figure strong { font-size: 20px; }
.note { color: #616e7c; font-size: 13px; }
.filters { display: flex; gap: 12px; align-items: end; flex-wrap: wrap; margin-bottom: 10px; }
.filters label { font-size: 12px; color: #616e7c; display: block; }
.scope { color: #616e7c; font-size: 12px; }
table.rows { border-collapse: collapse; font-size: 13px; background: white; }
table.rows th, table.rows td { border-bottom: 1px solid #e4e7eb; padding: 3px 8px; text-align: left; }
table.rows td.num { text-align: right; }
"""


def navigation(pages: list[tuple[str, str]]) -> html.Nav:
    return html.Nav(
        [html.Span("Retail dashboard", className="brand")] + [dcc.Link(label, href=path) for path, label in pages]
    )


def error_box(exc: Exception) -> html.Div:
    return html.Div(str(exc), className="error", id="serving-error")


def chart(component_id: str, figure: Figure) -> dcc.Graph:
    return dcc.Graph(id=component_id, figure=figure, config={"displayModeBar": False, "staticPlot": False})


# ---- real-time page ------------------------------------------------------------------------------


def realtime_layout(database: Path, refresh_seconds: int) -> html.Div:
    """The page with its tiles already read (one round trip less than waiting for the first refresh)."""
    tiles, banner, updated = render_realtime(database, refresh_seconds)
    return html.Div(
        [
            html.H2("Real-time"),
            html.Div(banner, id="realtime-banner", className="banner"),
            html.Div(updated, id="realtime-updated", className="updated"),
            html.Div(tiles, id="realtime-tiles", className="tiles"),
            dcc.Interval(id="realtime-refresh", interval=refresh_seconds * 1000, n_intervals=0),
        ]
    )


def tile_component(view: TileView) -> html.Div:
    children: list = [
        html.H3(view.title),
        html.Div(view.window, className="window", id=f"tile-{view.key}-window"),
        html.Div(f"as of {view.as_of}", className="asof", id=f"tile-{view.key}-asof"),
        html.Div(
            [
                html.Div([html.Span(f.label), html.Strong(f.text, id=f"tile-{view.key}-{f.key}")], className="figure")
                for f in view.figures
            ],
            className="figures",
        ),
    ]
    if view.chart is not None:
        children.append(chart(f"tile-{view.key}-chart", view.chart))
    if view.note:
        children.append(html.P(view.note, className="note", id=f"tile-{view.key}-note"))
    return html.Div(children, className="tile", id=f"tile-{view.key}")


def render_realtime(database: Path, refresh_seconds: int) -> tuple[list, str, str]:
    updated = f"Read at {dt.datetime.now(dt.UTC):%H:%M:%S} UTC; refreshes every {refresh_seconds} s."
    try:
        with reading(database) as reader:
            anchor = find_anchor(reader)
            if anchor is None:
                return [html.P("No minute-grain Gold table holds rows yet.", className="note")], "", updated
            views = read_tiles(reader, anchor)
    except ServingUnavailable as exc:
        return [error_box(exc)], "", updated
    return [tile_component(v) for v in views], anchor.banner(), updated


# ---- the app -------------------------------------------------------------------------------------


def create_app(database: str | Path, *, refresh_seconds: int = DEFAULT_REFRESH_SECONDS) -> Dash:
    """The dashboard over the serving file ``database`` (read, never written)."""
    if not 1 <= refresh_seconds <= MAX_REFRESH_SECONDS:
        raise ValueError(f"refresh_seconds must be between 1 and {MAX_REFRESH_SECONDS}, not {refresh_seconds}")
    from retail_assets.dashboard import health, reports

    database = Path(database)
    pages: list[tuple[str, str]] = [("/", "Real-time"), *reports.PAGES, *health.PAGES]
    app = Dash(__name__, title="Retail dashboard", suppress_callback_exceptions=True, update_title=None)
    app.index_string = app.index_string.replace("{%css%}", "{%css%}<style>" + STYLE + "</style>")
    app.layout = html.Div([dcc.Location(id="url"), navigation(pages), html.Main(id="page")])

    @app.callback(Output("page", "children"), Input("url", "pathname"), State("url", "search"))
    def route(pathname: str | None, search: str | None):
        path = (pathname or "/").rstrip("/") or "/"
        if path == "/":
            return realtime_layout(database, refresh_seconds)
        for module in (reports, health):
            layout = module.layout(path, search or "", database)
            if layout is not None:
                return layout
        return html.Div([html.H2("Not found"), html.P(f"No page {path}.")])

    @app.callback(
        Output("realtime-tiles", "children"),
        Output("realtime-banner", "children"),
        Output("realtime-updated", "children"),
        Input("realtime-refresh", "n_intervals"),
        prevent_initial_call=True,
    )
    def refresh_realtime(_: int):
        return render_realtime(database, refresh_seconds)

    reports.register_callbacks(app, database)
    health.register_callbacks(app, database)
    return app
