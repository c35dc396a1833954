"""Report pages for the reference's perspectives: Operations, Merchandising, Logistics, Marketing, Supply Chain.

Each page is a list of :class:`Section` over one Gold table: headline figures (SQL aggregates over the
chosen UTC days) and a chart. The filters are a UTC date range (inclusive) and a store and/or a region
(``dim_stores`` → ``dim_geographies.region``); a section whose table has a store (``store_id``, or the
``site`` of a store for truck dwell) follows the store filter, the others are chain-wide and say so.
Snapshot sections (``*_latest`` views) show the latest month and ignore the dates. The filters can be
given in the address (``?start=2024-01-01&end=2024-01-31&store=3&region=West``), so a view can be shared.
"""

from __future__ import annotations

import datetime as dt
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from dash import Dash, Input, Output, State, dcc, html

from retail_assets.dashboard import charts
from retail_assets.dashboard import formatting as fmt
from retail_assets.dashboard.reader import Reader, ServingUnavailable, reading, utc

DEFAULT_DAYS = 7


@dataclass(frozen=True)
class Metric:
    key: str
    label: str
    sql: str  # an aggregate over the section's rows
    kind: str = "count"  # count, money (cents), percent (a ratio), hours, minutes


@dataclass(frozen=True)
class Chart:
    label: str  # SQL of the category (or day) axis
    value: str  # SQL aggregate
    axis: str
    kind: str = "bar"  # bar (top categories, largest first) or line (by day)
    join: str = ""
    limit: int = 10
    cents: bool = False  # values are cents: drawn in dollars


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    table: str
    metrics: tuple[Metric, ...]
    chart: Chart | None = None
    store: str | None = "store_id"  # SQL of the row's store id; None: the table is chain-wide
    day: str | None = "day"  # None: a snapshot (latest month)
    where: str = ""  # an extra condition on the rows


@dataclass(frozen=True)
class Page:
    path: str
    label: str
    sections: tuple[Section, ...]


def ratio(numerator: str, denominator: str) -> str:
    return f"sum({numerator})::DOUBLE / nullif(sum({denominator}), 0)"


STORE_OF_SITE = "TRY_CAST(replace(site, 'STORE_', '') AS BIGINT)"
STORE_LABEL = "(SELECT store_number FROM dim_stores AS ds WHERE ds.store_id = t.store_id)"

PAGE_LIST: tuple[Page, ...] = (
    Page(
        "/operations",
        "Operations",
        (
            Section(
                "stores",
                "Store performance",
                "store_performance_daily",
                (
                    Metric("net-sales", "Net sales", "sum(net_sales_cents)", "money"),
                    Metric("receipts", "Sales receipts", "sum(sales_receipts)"),
                    Metric("returns", "Return receipts", "sum(return_receipts)"),
                    Metric("basket", "Average basket", "sum(sales_cents) // nullif(sum(sales_receipts), 0)", "money"),
                    Metric("visitors", "Visitors", "sum(visitors)"),
                    Metric("conversion", "Conversion", ratio("sales_receipts", "visitors"), "percent"),
                ),
                Chart("strftime(day, '%Y-%m-%d')", "sum(net_sales_cents)", "$ net sales", kind="line", cents=True),
            ),
            Section(
                "by-store",
                "Net sales by store",
                "store_performance_daily",
                (Metric("stockouts", "Stockouts detected", "sum(stockouts)"),),
                Chart(STORE_LABEL, "sum(net_sales_cents)", "$ net sales", cents=True),
            ),
            Section(
                "channels",
                "Daily sales by channel",
                "daily_sales_by_channel",
                (
                    Metric("orders", "Orders", "sum(orders)"),
                    Metric("net-sales", "Net sales", "sum(net_sales_cents)", "money"),
                    Metric("return-rate", "Return rate", ratio("returns", "orders"), "percent"),
                ),
                Chart("channel", "sum(net_sales_cents)", "$ net sales", cents=True),
                store=None,
            ),
        ),
    ),
    Page(
        "/merchandising",
        "Merchandising",
        (
            Section(
                "products",
                "Top products by revenue",
                "top_products_15m",
                (Metric("revenue", "Revenue", "sum(revenue_cents)", "money"), Metric("units", "Units", "sum(units)")),
                Chart(
                    "p.product_name",
                    "sum(revenue_cents)",
                    "$ revenue",
                    join="JOIN dim_products AS p USING (product_id)",
                    cents=True,
                ),
                store=None,
                day="ts",
            ),
            Section(
                "returns",
                "Product returns",
                "product_returns_daily",
                (
                    Metric("units-sold", "Units sold", "sum(units_sold)"),
                    Metric("units-returned", "Units returned", "sum(units_returned)"),
                    Metric("return-rate", "Return rate", ratio("units_returned", "units_sold"), "percent"),
                ),
                Chart(
                    "p.product_name",
                    "sum(units_returned)",
                    "units returned",
                    join="JOIN dim_products AS p USING (product_id)",
                ),
                store=None,
            ),
            Section(
                "promotions",
                "Promotions",
                "promotion_effectiveness_daily",
                (
                    Metric("redemptions", "Redemptions", "sum(redemptions)"),
                    Metric("discount", "Discount given", "sum(discount_cents)", "money"),
                ),
                Chart("promo_code", "sum(discount_cents)", "$ discount", cents=True),
                store=None,
            ),
            Section(
                "inventory",
                "Inventory positions (latest month)",
                "inventory_position_current_latest",
                (
                    Metric("on-hand", "Units on hand", "sum(on_hand)"),
                    Metric("empty", "Products at zero", "count(*) FILTER (WHERE on_hand = 0)"),
                ),
                Chart(STORE_LABEL, "count(*) FILTER (WHERE on_hand = 0)", "products at zero"),
                day=None,
            ),
        ),
    ),
    Page(
        "/logistics",
        "Logistics",
        (
            Section(
                "trucks",
                "Truck dwell",
                "truck_dwell_daily",
                (
                    Metric("shipments", "Shipments", "sum(shipments)"),
                    Metric(
                        "dwell",
                        "Average dwell",
                        "sum(avg_dwell_minutes * shipments) / nullif(sum(shipments), 0)",
                        "minutes",
                    ),
                ),
                Chart("site", "sum(avg_dwell_minutes * shipments) / nullif(sum(shipments), 0)", "minutes"),
                store=STORE_OF_SITE,
            ),
            Section(
                "fulfilment",
                "Online fulfilment",
                "fulfillment_daily",
                (
                    Metric("orders", "Orders", "sum(orders)"),
                    Metric("lines", "Order lines", "sum(lines)"),
                    Metric(
                        "deliver",
                        "Hours to deliver",
                        "sum(avg_hours_to_deliver * lines) / "
                        "nullif(sum(lines) FILTER (WHERE avg_hours_to_deliver IS NOT NULL), 0)",
                        "hours",
                    ),
                ),
                Chart("fulfillment_status", "sum(lines)", "order lines"),
                store=None,
            ),
            Section(
                "stockouts",
                "Stockouts and lost sales time",
                "stockout_duration_daily",
                (
                    Metric("stockouts", "Stockouts", "sum(stockouts)"),
                    Metric("open", "Still open", "sum(open_stockouts)"),
                    Metric("hours", "Out-of-stock hours", "sum(out_of_stock_hours)", "hours"),
                ),
                Chart(STORE_LABEL, "sum(stockouts)", "stockouts"),
                where="store_id IS NOT NULL",
            ),
        ),
    ),
    Page(
        "/marketing",
        "Marketing",
        (
            Section(
                "campaigns",
                "Campaign performance",
                "campaign_performance_daily",
                (
                    Metric("spend", "Spend", "sum(spend_cents)", "money"),
                    Metric("impressions", "Impressions", "sum(impressions)"),
                    Metric("conversions", "Conversions", "sum(conversions)"),
                    Metric("revenue", "Attributed revenue", "sum(attributed_revenue_cents)", "money"),
                    Metric("roas", "ROAS", ratio("attributed_revenue_cents", "spend_cents"), "ratio"),
                ),
                Chart("campaign_id", "sum(spend_cents)", "$ spend", cents=True),
                store=None,
            ),
            Section(
                "cost",
                "Marketing cost per day",
                "marketing_cost_daily",
                (Metric("cost", "Cost", "sum(cost_cents)", "money"),),
                Chart("strftime(day, '%Y-%m-%d')", "sum(cost_cents)", "$ cost", kind="line", cents=True),
                store=None,
            ),
            Section(
                "clv",
                "Customer lifetime value (latest month)",
                "customer_lifetime_value_latest",
                (
                    Metric("customers", "Customers", "count(*)"),
                    Metric("ltv", "Average lifetime value", "avg(lifetime_value_cents)", "money"),
                ),
                Chart("customer_id::VARCHAR", "sum(lifetime_value_cents)", "$ lifetime value", cents=True),
                store=None,
                day=None,
            ),
        ),
    ),
    Page(
        "/supply-chain",
        "Supply Chain",
        (
            Section(
                "reorders",
                "Reorders",
                "reorders_daily",
                (
                    Metric("reorders", "Reorders", "sum(reorder_count)"),
                    Metric("units", "Units ordered", "sum(total_units_ordered)"),
                ),
                Chart("priority", "sum(reorder_count)", "reorders"),
            ),
            Section(
                "cycle",
                "Reorder cycle",
                "reorder_cycle_daily",
                (
                    Metric("received", "Received", "sum(received)"),
                    Metric("open", "Open", "sum(open_reorders)"),
                    Metric(
                        "hours",
                        "Hours to receive",
                        "sum(avg_hours_to_receive * received) / nullif(sum(received), 0)",
                        "hours",
                    ),
                ),
                Chart(STORE_LABEL, "sum(open_reorders)", "open reorders"),
            ),
            Section(
                "dc-inventory",
                "Distribution-centre inventory (latest month)",
                "dc_inventory_position_current_latest",
                (
                    Metric("on-hand", "Units on hand", "sum(on_hand)"),
                    Metric("empty", "Products at zero", "count(*) FILTER (WHERE on_hand = 0)"),
                ),
                Chart("dc_id::VARCHAR", "sum(on_hand)", "units on hand"),
                store=None,
                day=None,
            ),
        ),
    ),
)

PAGES: list[tuple[str, str]] = [(p.path, p.label) for p in PAGE_LIST]
BY_PATH = {p.path: p for p in PAGE_LIST}


@dataclass(frozen=True)
class Filters:
    start: dt.date  # first UTC day, inclusive
    end: dt.date  # last UTC day, inclusive
    store: int | None = None
    region: str | None = None

    @property
    def scoped(self) -> bool:
        return self.store is not None or self.region is not None


def _show(value: Any, kind: str) -> str:
    if kind == "money":
        return fmt.money(value)
    if kind == "percent":
        return fmt.percent(value)
    if kind == "hours":
        return fmt.decimal(value, " h")
    if kind == "minutes":
        return fmt.decimal(value, " min")
    if kind == "ratio":
        return fmt.decimal(value, "x") if value is None else f"{value:,.2f}x"
    return fmt.count(value)


def section_query(section: Section, filters: Filters, select: str, tail: str = "") -> tuple[str, list[Any]]:
    """SQL and parameters selecting ``select`` over the section's rows within the filters."""
    conditions, values = [], []
    if section.day is not None:
        first = dt.datetime.combine(filters.start, dt.time(), dt.UTC)
        after = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time(), dt.UTC)
        conditions.append(f"t.{section.day} >= ? AND t.{section.day} < ?")
        values += [first, after]
    if section.store is not None and filters.scoped:
        store = section.store if section.store.startswith("TRY_CAST") else f"t.{section.store}"
        conditions.append(
            f"{store} IN (SELECT s.store_id FROM dim_stores AS s JOIN dim_geographies AS g USING (geography_id) "
            "WHERE (?::BIGINT IS NULL OR s.store_id = ?) AND (?::VARCHAR IS NULL OR g.region = ?))"
        )
        values += [filters.store, filters.store, filters.region, filters.region]
    if section.where:
        conditions.append(f"t.{section.where}")
    join = section.chart.join if section.chart and select.startswith("chart:") else ""
    select = select.removeprefix("chart:")
    where = f"WHERE {' AND '.join(conditions)}" if conditions else ""
    return f"SELECT {select} FROM {section.table} AS t {join} {where} {tail}", values


@dataclass
class SectionView:
    section: Section
    figures: list[tuple[str, str, str]] = field(default_factory=list)  # (element id, label, text)
    chart: charts.Figure | None = None
    missing: bool = False


def read_section(reader: Reader, section: Section, filters: Filters) -> SectionView:
    view = SectionView(section)
    if not reader.has(section.table):
        view.missing = True
        return view
    sql, values = section_query(section, filters, ", ".join(m.sql for m in section.metrics))
    row = reader.frame(sql, values).row(0)
    view.figures = [
        (f"report-{section.key}-{m.key}", m.label, _show(value, m.kind)) for m, value in zip(section.metrics, row)
    ]
    chart = section.chart
    if chart is not None:
        order = (
            "ORDER BY label" if chart.kind == "line" else f"ORDER BY value DESC NULLS LAST, label LIMIT {chart.limit}"
        )
        sql, values = section_query(
            section, filters, f"chart:{chart.label} AS label, {chart.value} AS value", f"GROUP BY 1 {order}"
        )
        rows = reader.frame(sql, values)
        if rows.height:
            labels = [str(v) for v in rows["label"].to_list()]
            numbers = [
                None if v is None else (v / 100 if chart.cents else round(v, 2)) for v in rows["value"].to_list()
            ]
            draw = charts.line if chart.kind == "line" else charts.bar
            view.chart = draw(labels, numbers, chart.axis, height=280)
    return view


# ---- filters, layout and callbacks ---------------------------------------------------------------


def _parse_day(text: str | None) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text) if text else None
    except ValueError:
        return None


def default_filters(reader: Reader, query: str) -> tuple[Filters, dt.date | None, dt.date | None]:
    """Filters from the address's query, defaulting to the last DEFAULT_DAYS days of data; and the data's days."""
    asked = urllib.parse.parse_qs(query.lstrip("?"))
    first_day = last_day = None
    if reader.has("store_performance_daily"):
        row = reader.frame("SELECT min(day) AS first, max(day) AS last FROM store_performance_daily").row(0)
        first_day, last_day = (utc(v).date() if v else None for v in row)
    end = _parse_day(asked.get("end", [None])[0]) or last_day or dt.date.today()
    start = _parse_day(asked.get("start", [None])[0]) or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    store = asked.get("store", [None])[0]
    region = asked.get("region", [None])[0]
    filters = Filters(start, end, int(store) if store and store.isdigit() else None, region or None)
    return filters, first_day, last_day


def layout(path: str, search: str, database: Path) -> html.Div | None:
    page = BY_PATH.get(path)
    if page is None:
        return None
    try:
        with reading(database) as reader:
            filters, first_day, last_day = default_filters(reader, search)
            stores = (
                reader.frame("SELECT store_id, store_number FROM dim_stores ORDER BY store_number")
                if reader.has("dim_stores")
                else None
            )
            regions = (
                reader.frame(
                    "SELECT DISTINCT g.region FROM dim_stores AS s JOIN dim_geographies AS g USING (geography_id) "
                    "ORDER BY 1"
                )
                if reader.has("dim_stores", "dim_geographies")
                else None
            )
            views = [read_section(reader, s, filters) for s in page.sections]
    except ServingUnavailable as exc:
        return html.Div([html.H2(page.label), html.Div(str(exc), className="error", id="serving-error")])
    store_options = [] if stores is None else [{"label": n, "value": i} for i, n in stores.iter_rows()]
    region_options = [] if regions is None else [{"label": r, "value": r} for (r,) in regions.iter_rows()]
    controls = html.Div(
        [
            html.Div(
                [
                    html.Label("UTC days", htmlFor="report-dates"),
                    dcc.DatePickerRange(
                        id="report-dates",
                        start_date=filters.start,
                        end_date=filters.end,
                        min_date_allowed=first_day,
                        max_date_allowed=last_day,
                        display_format="YYYY-MM-DD",
                    ),
                ]
            ),
            html.Div(
                [
                    html.Label("Store"),
                    dcc.Dropdown(
                        id="report-store",
                        options=store_options,
                        value=filters.store,
                        placeholder="All stores",
                        style={"width": "200px"},
                    ),
                ]
            ),
            html.Div(
                [
                    html.Label("Region"),
                    dcc.Dropdown(
                        id="report-region",
                        options=region_options,
                        value=filters.region,
                        placeholder="All regions",
                        style={"width": "200px"},
                    ),
                ]
            ),
        ],
        className="filters",
    )
    return html.Div(
        [
            html.H2(page.label),
            controls,
            dcc.Store(id="report-page", data=page.path),
            dcc.Loading(html.Div(content(views, filters), id="report-content"), delay_show=300),
        ]
    )


def section_component(view: SectionView, filters: Filters) -> html.Div:
    section = view.section
    scope = []
    if section.day is None:
        scope.append("latest month's snapshot, dates ignored")
    if section.store is None:
        scope.append("chain-wide: the store and region filters do not apply")
    elif filters.scoped:
        scope.append("filtered by store/region")
    children: list = [
        html.H3(section.title),
        html.Div("; ".join(scope), className="scope", id=f"report-{section.key}-scope"),
    ]
    if view.missing:
        children.append(html.P(f"Not published yet: {section.table}.", className="note"))
        return html.Div(children, className="tile", id=f"report-{section.key}")
    children.append(
        html.Div(
            [
                html.Div([html.Span(label), html.Strong(text, id=element)], className="figure")
                for element, label, text in view.figures
            ],
            className="figures",
        )
    )
    if view.chart is not None:
        children.append(
            dcc.Graph(id=f"report-{section.key}-chart", figure=view.chart, config={"displayModeBar": False})
        )
    else:
        children.append(html.P("No rows for these filters.", className="note", id=f"report-{section.key}-note"))
    return html.Div(children, className="tile", id=f"report-{section.key}")


def render(database: Path, path: str, filters: Filters) -> list:
    page = BY_PATH[path]
    try:
        with reading(database) as reader:
            views = [read_section(reader, s, filters) for s in page.sections]
    except ServingUnavailable as exc:
        return [html.Div(str(exc), className="error", id="serving-error")]
    return content(views, filters)


def content(views: list[SectionView], filters: Filters) -> list:
    summary = f"UTC days {filters.start:%Y-%m-%d} to {filters.end:%Y-%m-%d}"
    return [
        html.P(summary, className="updated", id="report-summary"),
        html.Div([section_component(v, filters) for v in views], className="tiles"),
    ]


def register_callbacks(app: Dash, database: Path) -> None:
    @app.callback(
        Output("report-content", "children"),
        Input("report-dates", "start_date"),
        Input("report-dates", "end_date"),
        Input("report-store", "value"),
        Input("report-region", "value"),
        State("report-page", "data"),
        prevent_initial_call=True,  # the layout holds the first render
    )
    def update(start: str | None, end: str | None, store: int | None, region: str | None, path: str):
        first, last = _parse_day(start), _parse_day(end)
        if first is None or last is None:
            return [html.P("Choose the first and last day.", className="note")]
        return render(database, path, Filters(first, last, store, region))
