"""The alerts page (latest business alerts, by type and store) and the data-health page (what the file holds).

Alerts come from the Gold table ``alerts`` (one row per occurrence, ``lib/gold/kpis/alerts.py``). Data
health lists every Gold table of the registry: its latest month in the file, the rows of that month and
its latest time (freshness), and the rows Bronze and Silver quarantined, per quarantine table; then the
asset checks whose latest evaluation failed, read from the Dagster instance (``DAGSTER_HOME``) after the
page is shown (opening the instance takes seconds; the file's figures do not wait for it).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

from dash import Dash, Input, Output, dcc, html

from retail_assets.dashboard import charts
from retail_assets.dashboard import formatting as fmt
from retail_assets.dashboard.reader import Reader, ServingUnavailable, reading, utc

PAGES: list[tuple[str, str]] = [("/alerts", "Alerts"), ("/health", "Data health")]
LATEST_ALERTS = 50
CHECK_EVALUATIONS = 20_000  # the latest check evaluations read from the instance (about 360 per month built)


def _error(exc: Exception) -> html.Div:
    return html.Div(str(exc), className="error", id="serving-error")


def rows_table(element_id: str, header: list[str], rows: list[list], numeric: set[int] = frozenset()) -> html.Table:
    return html.Table(
        [html.Thead(html.Tr([html.Th(h) for h in header]))]
        + [
            html.Tbody(
                [
                    html.Tr([html.Td(v, className="num" if i in numeric else None) for i, v in enumerate(row)])
                    for row in rows
                ]
            )
        ],
        className="rows",
        id=element_id,
    )


# ---- alerts --------------------------------------------------------------------------------------


def alerts_layout(database: Path) -> html.Div:
    try:
        with reading(database) as reader:
            if not reader.has("alerts"):
                return html.Div([html.H2("Alerts"), html.P("Not published yet: alerts.", className="note")])
            types = reader.frame("SELECT DISTINCT alert_type FROM alerts ORDER BY 1")["alert_type"].to_list()
            stores = reader.frame("SELECT store_id, store_number FROM dim_stores ORDER BY store_number").rows()
    except ServingUnavailable as exc:
        return html.Div([html.H2("Alerts"), _error(exc)])
    controls = html.Div(
        [
            html.Div(
                [
                    html.Label("Alert type"),
                    dcc.Dropdown(
                        id="alerts-type",
                        options=[{"label": t, "value": t} for t in types],
                        placeholder="All types",
                        style={"width": "240px"},
                    ),
                ]
            ),
            html.Div(
                [
                    html.Label("Store"),
                    dcc.Dropdown(
                        id="alerts-store",
                        options=[{"label": n, "value": i} for i, n in stores],
                        placeholder="All stores",
                        style={"width": "200px"},
                    ),
                ]
            ),
        ],
        className="filters",
    )
    return html.Div([html.H2("Alerts"), controls, html.Div(render_alerts(database, None, None), id="alerts-content")])


def render_alerts(database: Path, alert_type: str | None, store: int | None) -> list:
    where = "WHERE (?::VARCHAR IS NULL OR alert_type = ?) AND (?::BIGINT IS NULL OR store_id = ?)"
    values = [alert_type, alert_type, store, store]
    try:
        with reading(database) as reader:
            total = reader.value(f"SELECT count(*) FROM alerts {where}", values)
            per_type = reader.frame(
                f"SELECT alert_type, count(*) AS alerts FROM alerts {where} GROUP BY 1 ORDER BY 2 DESC, 1", values
            )
            latest = reader.frame(
                "SELECT a.occurred_at, a.alert_type, s.store_number, a.message, a.action FROM alerts AS a "
                f"LEFT JOIN dim_stores AS s USING (store_id) {where.replace('alert_type', 'a.alert_type')} "
                f"ORDER BY a.occurred_at DESC, a.alert_id LIMIT {LATEST_ALERTS}",
                values,
            )
    except ServingUnavailable as exc:
        return [_error(exc)]
    children: list = [
        html.Div(
            [html.Div([html.Span("Alerts"), html.Strong(fmt.count(total), id="alerts-count")], className="figure")],
            className="figures",
        )
    ]
    if per_type.height:
        figure = charts.bar(per_type["alert_type"].to_list(), per_type["alerts"].to_list(), "alerts", height=220)
        children.append(dcc.Graph(id="alerts-chart", figure=figure, config={"displayModeBar": False}))
    rows = [
        [fmt.minute(utc(at)), kind, store_number or "-", message, action]
        for at, kind, store_number, message, action in latest.iter_rows()
    ]
    children.append(html.H3(f"Latest {min(LATEST_ALERTS, total)} of {fmt.count(total)}"))
    children.append(rows_table("alerts-table", ["When", "Type", "Store", "What", "Action"], rows))
    return children


# ---- data health ---------------------------------------------------------------------------------


def gold_health(reader: Reader, now: dt.datetime) -> list[list]:
    from retail_assets.lib.gold.specs import GOLD_TABLES

    rows = []
    for table in sorted(GOLD_TABLES, key=lambda t: t.name):
        if not reader.has(table.name):
            rows.append([table.name, "not published", "-", "-", "-"])
            continue
        latest_month, month_rows = reader.frame(
            f"SELECT max(month_start) AS m, count(*) FILTER (WHERE month_start = (SELECT max(month_start) "
            f"FROM {table.name})) AS n FROM {table.name}"
        ).row(0)
        latest_time = (
            utc(reader.value(f"SELECT max({table.time_column}) FROM {table.name}")) if table.time_column else None
        )
        age = "-" if latest_time is None else _age(now - latest_time)
        rows.append(
            [
                table.name,
                fmt.day(latest_month) if latest_month else "empty",
                fmt.count(month_rows),
                fmt.minute(latest_time),
                age,
            ]
        )
    return rows


def _age(delta: dt.timedelta) -> str:
    hours = delta.total_seconds() / 3600
    return f"{hours:,.1f} h" if hours < 48 else f"{hours / 24:,.0f} days"


def quarantine_health(reader: Reader) -> list[list]:
    if not reader.has("quarantine"):
        return []
    return [
        [f"{layer}/{table}", fmt.day(month), fmt.count(rows), reason]
        for layer, table, month, rows, reason in reader.frame(
            "SELECT layer, quarantine_table, max(month_start), count(*), mode(reason) FROM quarantine "
            "GROUP BY 1, 2 ORDER BY 4 DESC, 1, 2"
        ).iter_rows()
    ]


def health_layout(database: Path) -> html.Div:
    now = dt.datetime.now(dt.UTC)
    try:
        with reading(database) as reader:
            gold = gold_health(reader, now)
            quarantined = quarantine_health(reader)
    except ServingUnavailable as exc:
        return html.Div([html.H2("Data health"), _error(exc)])
    quarantine_part = (
        rows_table(
            "health-quarantine", ["Quarantine table", "Latest month", "Rows", "Most common reason"], quarantined, {2}
        )
        if quarantined
        else html.P("No row quarantined in any served month.", className="note", id="health-quarantine-none")
    )
    return html.Div(
        [
            html.H2("Data health"),
            html.P(f"Read at {fmt.minute(now)}. Ages are from now.", className="updated"),
            html.H3("Gold tables in the serving file"),
            rows_table("health-gold", ["Table", "Latest month", "Rows that month", "Latest time", "Age"], gold, {2}),
            html.H3("Quarantined rows"),
            quarantine_part,
            html.H3("Failed checks (latest evaluation of each check and month)"),
            html.Div(html.P("Reading the Dagster instance…", className="note"), id="health-checks"),
        ]
    )


@dataclass(frozen=True)
class FailedCheck:
    asset: str
    check: str
    partition: str | None
    severity: str  # ERROR (blocking or not) or WARN (business alerts are WARN by design)
    at: dt.datetime


def failed_checks(home: Path) -> list[FailedCheck]:
    """Checks whose latest evaluation (per asset, check and partition) failed, from the instance at ``home``."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(home)) as instance:
        records = instance.get_event_records(
            dg.EventRecordsFilter(event_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION),
            limit=CHECK_EVALUATIONS,
            ascending=False,
        )
    latest: dict[tuple[str, str, str | None], FailedCheck | None] = {}
    for record in records:
        evaluation = record.event_log_entry.dagster_event.event_specific_data
        key = (evaluation.asset_key.to_user_string(), evaluation.check_name, evaluation.partition)
        if key in latest:
            continue  # newest first: an older evaluation of the same check and month is superseded
        latest[key] = (
            None
            if evaluation.passed
            else FailedCheck(
                *key, evaluation.severity.value, dt.datetime.fromtimestamp(record.event_log_entry.timestamp, dt.UTC)
            )
        )
    failed = [f for f in latest.values() if f is not None]
    return sorted(failed, key=lambda f: (f.severity != "ERROR", f.asset, f.check, f.partition or ""))


def render_checks() -> list:
    from retail_assets.lib.instance import dagster_home

    home = dagster_home()
    if home is None:
        return [html.P("No DAGSTER_HOME: runs and their checks are not recorded anywhere.", className="note")]
    try:
        failed = failed_checks(home)
    except Exception as exc:  # noqa: BLE001 - the page shows why rather than failing
        return [html.Div(f"The Dagster instance at {home} could not be read: {exc}", className="error")]
    errors = sum(f.severity == "ERROR" for f in failed)
    figures = html.Div(
        [
            html.Div(
                [html.Span("Failed ERROR checks"), html.Strong(fmt.count(errors), id="health-failed-errors")],
                className="figure",
            ),
            html.Div(
                [
                    html.Span("Failed WARN checks (alerts)"),
                    html.Strong(fmt.count(len(failed) - errors), id="health-failed-warns"),
                ],
                className="figure",
            ),
        ],
        className="figures",
    )
    rows = [[f.asset, f.check, f.partition or "-", f.severity, fmt.minute(f.at)] for f in failed]
    return [figures, rows_table("health-failed", ["Asset", "Check", "Month", "Severity", "Evaluated"], rows)]


def layout(path: str, search: str, database: Path) -> html.Div | None:
    if path == "/alerts":
        return alerts_layout(database)
    if path == "/health":
        return health_layout(database)
    return None


def register_callbacks(app: Dash, database: Path) -> None:
    @app.callback(Output("health-checks", "children"), Input("health-checks", "id"))
    def show_failed_checks(_: str):
        return render_checks()

    @app.callback(
        Output("alerts-content", "children"),
        Input("alerts-type", "value"),
        Input("alerts-store", "value"),
        prevent_initial_call=True,  # the layout holds the first render
    )
    def update_alerts(alert_type: str | None, store: int | None):
        return render_alerts(database, alert_type, store)
