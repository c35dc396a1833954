"""The real-time page: the reference dashboard's ten tiles (reference spec §12.6), read from the serving file.

Every window ends at the **anchor**: the end of the latest minute any minute-grain Gold table holds
(``sales_minute_store``, ``ble_presence_minute``, ``zone_dwell_minute``). While events stream that is
about now; on a historical lake it is the lake's latest event, so the tiles show the last hour of the
data rather than an empty present (the page says which). The four minute-grain tables give exact
windows (1 h, 30 min, the latest 15-minute bucket); the other tiles come from daily Gold tables, so
their "24 h" or "15 min" window is the UTC day of the anchor, and the tile says so. Each tile shows
"as of": the latest time its own table holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field


from retail_assets.dashboard import charts
from retail_assets.dashboard import formatting as fmt
from retail_assets.dashboard.reader import Reader, utc

MINUTE_TABLES = ("sales_minute_store", "ble_presence_minute", "zone_dwell_minute")
HISTORICAL_AFTER = dt.timedelta(minutes=10)  # a latest event older than this: the lake is not being streamed


@dataclass(frozen=True)
class Figure:
    """A headline number of a tile: its label, the text shown and the element id the page gives it."""

    key: str
    label: str
    text: str


@dataclass
class TileView:
    key: str
    title: str
    window: str  # what the window is, in words, with its bounds
    as_of: str
    figures: list[Figure] = field(default_factory=list)
    chart: charts.Figure | None = None
    note: str = ""  # shown when there is nothing to chart


@dataclass(frozen=True)
class Anchor:
    end: dt.datetime  # exclusive end of every window: the end of the latest minute with data
    now: dt.datetime

    @property
    def day(self) -> dt.datetime:
        last = self.end - dt.timedelta(microseconds=1)
        return dt.datetime(last.year, last.month, last.day, tzinfo=dt.UTC)

    @property
    def historical(self) -> bool:
        return self.now - self.end > HISTORICAL_AFTER

    def since(self, minutes: int) -> dt.datetime:
        return self.end - dt.timedelta(minutes=minutes)

    def banner(self) -> str:
        latest = fmt.minute(self.end - dt.timedelta(minutes=1))
        if self.historical:
            return (
                f"Historical lake: the latest event is at {latest}, so every window ends there "
                f"({fmt.minute(self.end)}), not now."
            )
        return f"Live: windows end at the latest streamed minute, {latest}."


def find_anchor(reader: Reader, now: dt.datetime | None = None) -> Anchor | None:
    present = [t for t in MINUTE_TABLES if reader.has(t)]
    if not present:
        return None
    union = " UNION ALL ".join(f"SELECT max(ts) AS ts FROM {t}" for t in present)
    latest = reader.value(f"SELECT max(ts) FROM ({union})")
    if latest is None:
        return None
    return Anchor(end=utc(latest) + dt.timedelta(minutes=1), now=now or dt.datetime.now(dt.UTC))


def _as_of(reader: Reader, table: str, column: str, daily: bool = False) -> str:
    latest = reader.value(f"SELECT max({column}) FROM {table}")
    if latest is None:
        return "no rows yet"
    return f"{fmt.day(utc(latest))} (daily)" if daily else fmt.minute(utc(latest))


def _minutes_window(anchor: Anchor, minutes: int) -> str:
    return f"last {minutes} min: {fmt.minute(anchor.since(minutes))} to {fmt.minute(anchor.end)}"


def _day_window(anchor: Anchor, asked: str) -> str:
    return f"{asked} → UTC day {fmt.day(anchor.day)} (this table is daily)"


# ---- the ten tiles ---------------------------------------------------------------------------------


def sales_per_minute(reader: Reader, anchor: Anchor) -> TileView:
    """Sales per minute by store over the last hour, the ten stores that sold most (mv_store_sales_minute)."""
    view = TileView(
        "sales", "Sales per minute by store", _minutes_window(anchor, 60), _as_of(reader, "sales_minute_store", "ts")
    )
    top = reader.frame(
        "SELECT s.store_number AS store, sum(m.total_sales_cents) AS sales_cents, sum(m.receipts) AS receipts "
        "FROM sales_minute_store AS m JOIN dim_stores AS s USING (store_id) WHERE m.ts >= ? AND m.ts < ? "
        "GROUP BY ALL ORDER BY sales_cents DESC, store LIMIT 10",
        [anchor.since(60), anchor.end],
    )
    total = reader.frame(
        "SELECT coalesce(sum(total_sales_cents), 0) AS cents, coalesce(sum(receipts), 0) AS receipts "
        "FROM sales_minute_store WHERE ts >= ? AND ts < ?",
        [anchor.since(60), anchor.end],
    ).row(0, named=True)
    view.figures = [
        Figure("sales-per-minute", "Sales per minute (all stores)", fmt.money(total["cents"] / 60)),
        Figure("receipts", "Receipts in the hour", fmt.count(total["receipts"])),
    ]
    if top.height:
        per_minute = [round(c / 60 / 100, 2) for c in top["sales_cents"].to_list()]
        view.chart = charts.bar(top["store"].to_list(), per_minute, "$ per minute")
    else:
        view.note = "No receipts in the window."
    return view


def online_orders(reader: Reader, anchor: Anchor) -> TileView:
    """Online orders, average order value and total (reference: 15 min; here the anchor's day)."""
    view = TileView(
        "online",
        "Online orders",
        _day_window(anchor, "15 min"),
        _as_of(reader, "online_sales_daily", "day", daily=True),
    )
    row = reader.frame(
        "SELECT coalesce(sum(orders), 0) AS orders, coalesce(sum(total_cents), 0) AS total_cents "
        "FROM online_sales_daily WHERE day = ?",
        [anchor.day],
    ).row(0, named=True)
    aov = row["total_cents"] // row["orders"] if row["orders"] else 0
    view.figures = [
        Figure("orders", "Orders", fmt.count(row["orders"])),
        Figure("aov", "Average order value", fmt.money(aov)),
        Figure("total", "Total", fmt.money(row["total_cents"])),
    ]
    view.note = "Orders not cancelled; AOV = total / orders."
    return view


def fulfilment_pipeline(reader: Reader, anchor: Anchor) -> TileView:
    """Online order lines of the day by current fulfilment status (fulfillment_daily)."""
    view = TileView(
        "fulfilment",
        "Fulfilment pipeline",
        _day_window(anchor, "24 h"),
        _as_of(reader, "fulfillment_daily", "day", daily=True),
    )
    by_status = reader.frame(
        "SELECT fulfillment_status AS status, sum(lines) AS lines, sum(orders) AS orders FROM fulfillment_daily "
        "WHERE day = ? GROUP BY ALL ORDER BY lines DESC, status",
        [anchor.day],
    )
    view.figures = [
        Figure("lines", "Order lines placed", fmt.count(by_status["lines"].sum() if by_status.height else 0))
    ]
    if by_status.height:
        view.chart = charts.bar(by_status["status"].to_list(), by_status["lines"].to_list(), "order lines")
    else:
        view.note = "No online orders placed that day."
    return view


def ble_presence(reader: Reader, anchor: Anchor) -> TileView:
    """BLE devices seen per store over 30 minutes, the ten busiest stores (ble_presence_minute)."""
    view = TileView("ble", "BLE presence", _minutes_window(anchor, 30), _as_of(reader, "ble_presence_minute", "ts"))
    top = reader.frame(
        "SELECT s.store_number AS store, max(b.devices) AS peak_devices, sum(b.pings) AS pings "
        "FROM ble_presence_minute AS b JOIN dim_stores AS s USING (store_id) WHERE b.ts >= ? AND b.ts < ? "
        "GROUP BY ALL ORDER BY peak_devices DESC, pings DESC, store LIMIT 10",
        [anchor.since(30), anchor.end],
    )
    pings = reader.value(
        "SELECT coalesce(sum(pings), 0) FROM ble_presence_minute WHERE ts >= ? AND ts < ?",
        [anchor.since(30), anchor.end],
    )
    view.figures = [Figure("pings", "Pings (all stores)", fmt.count(pings))]
    if top.height:
        view.chart = charts.bar(top["store"].to_list(), top["peak_devices"].to_list(), "devices (peak per minute)")
    else:
        view.note = "No BLE pings in the window."
    return view


def marketing_cost(reader: Reader, anchor: Anchor) -> TileView:
    """Ad cost per campaign, the ten costliest (marketing_cost_daily, the anchor's day)."""
    view = TileView(
        "marketing",
        "Marketing cost",
        _day_window(anchor, "24 h"),
        _as_of(reader, "marketing_cost_daily", "day", daily=True),
    )
    top = reader.frame(
        "SELECT campaign_id, sum(cost_cents) AS cost_cents, sum(impressions) AS impressions FROM marketing_cost_daily "
        "WHERE day = ? GROUP BY ALL ORDER BY cost_cents DESC, campaign_id LIMIT 10",
        [anchor.day],
    )
    total = reader.value("SELECT coalesce(sum(cost_cents), 0) FROM marketing_cost_daily WHERE day = ?", [anchor.day])
    view.figures = [Figure("cost", "Cost (all campaigns)", fmt.money(total))]
    if top.height:
        view.chart = charts.bar(top["campaign_id"].to_list(), [c / 100 for c in top["cost_cents"].to_list()], "$ cost")
    else:
        view.note = "No impressions that day."
    return view


def tender_mix(reader: Reader, anchor: Anchor) -> TileView:
    """Store receipts per tender (tender_mix_daily, the anchor's day)."""
    view = TileView(
        "tender", "Tender mix", _day_window(anchor, "15 min"), _as_of(reader, "tender_mix_daily", "day", daily=True)
    )
    mix = reader.frame(
        "SELECT payment_method, sum(transactions) AS transactions, sum(total_cents) AS total_cents "
        "FROM tender_mix_daily WHERE day = ? GROUP BY ALL ORDER BY transactions DESC, payment_method",
        [anchor.day],
    )
    view.figures = [Figure("transactions", "Transactions", fmt.count(mix["transactions"].sum() if mix.height else 0))]
    if mix.height:
        view.chart = charts.pie(mix["payment_method"].to_list(), mix["transactions"].to_list())
    else:
        view.note = "No store receipts that day."
    return view


def top_products(reader: Reader, anchor: Anchor) -> TileView:
    """The ten products with the most revenue in the latest 15-minute window (top_products_15m)."""
    start = utc(reader.value("SELECT max(ts) FROM top_products_15m WHERE ts < ?", [anchor.end]))
    window = "latest 15-minute window: none"
    if start is not None:
        window = f"latest 15-minute window: {fmt.minute(start)} to {fmt.minute(start + dt.timedelta(minutes=15))}"
    view = TileView("products", "Top products", window, _as_of(reader, "top_products_15m", "ts"))
    top = reader.frame(
        "SELECT p.product_name AS product, sum(t.revenue_cents) AS revenue_cents, sum(t.units) AS units "
        "FROM top_products_15m AS t JOIN dim_products AS p USING (product_id) WHERE t.ts = ? "
        "GROUP BY ALL ORDER BY revenue_cents DESC, product LIMIT 10",
        [start],
    )
    revenue = reader.value("SELECT coalesce(sum(revenue_cents), 0) FROM top_products_15m WHERE ts = ?", [start])
    view.figures = [Figure("revenue", "Revenue (all products)", fmt.money(revenue))]
    if top.height:
        view.chart = charts.bar(
            top["product"].to_list(), [c / 100 for c in top["revenue_cents"].to_list()], "$ revenue"
        )
    else:
        view.note = "No lines sold in the window."
    return view


def open_stockouts(reader: Reader, anchor: Anchor) -> TileView:
    """Stockouts detected that day and still open, per store, the ten worst (stockout_duration_daily)."""
    view = TileView(
        "stockouts",
        "Open stockouts",
        _day_window(anchor, "24 h"),
        _as_of(reader, "stockout_duration_daily", "day", daily=True),
    )
    per_store = reader.frame(
        "SELECT s.store_number AS store, sum(o.open_stockouts) AS open_stockouts, sum(o.stockouts) AS stockouts "
        "FROM stockout_duration_daily AS o JOIN dim_stores AS s USING (store_id) WHERE o.day = ? "
        "GROUP BY ALL HAVING sum(o.open_stockouts) > 0 ORDER BY open_stockouts DESC, store LIMIT 10",
        [anchor.day],
    )
    totals = reader.frame(
        "SELECT coalesce(sum(open_stockouts), 0) AS open, coalesce(sum(stockouts), 0) AS detected "
        "FROM stockout_duration_daily WHERE day = ? AND store_id IS NOT NULL",
        [anchor.day],
    ).row(0, named=True)
    view.figures = [
        Figure("open", "Open at stores", fmt.count(totals["open"])),
        Figure("detected", "Detected at stores", fmt.count(totals["detected"])),
    ]
    if per_store.height:
        view.chart = charts.bar(per_store["store"].to_list(), per_store["open_stockouts"].to_list(), "open stockouts")
    else:
        view.note = "No open stockout at any store from that day."
    return view


def zone_dwell(reader: Reader, anchor: Anchor) -> TileView:
    """People counted per store and zone over 30 minutes, as a heatmap of the ten busiest stores."""
    view = TileView(
        "zones", "Zone dwell heatmap", _minutes_window(anchor, 30), _as_of(reader, "zone_dwell_minute", "ts")
    )
    cells = reader.frame(
        "WITH w AS (SELECT store_id, zone, sum(customers) AS customers FROM zone_dwell_minute "
        "WHERE ts >= ? AND ts < ? GROUP BY ALL), "
        "top AS (SELECT store_id FROM w GROUP BY store_id ORDER BY sum(customers) DESC, store_id LIMIT 10) "
        "SELECT s.store_number AS store, w.zone, w.customers FROM w JOIN top USING (store_id) "
        "JOIN dim_stores AS s USING (store_id) ORDER BY store, zone",
        [anchor.since(30), anchor.end],
    )
    total = reader.value(
        "SELECT coalesce(sum(customers), 0) FROM zone_dwell_minute WHERE ts >= ? AND ts < ?",
        [anchor.since(30), anchor.end],
    )
    view.figures = [Figure("customers", "People counted (all stores)", fmt.count(total))]
    if cells.height:
        grid = cells.pivot(on="zone", index="store", values="customers", sort_columns=True).sort("store")
        zones = [c for c in grid.columns if c != "store"]
        z = [[row[zone] for zone in zones] for row in grid.iter_rows(named=True)]
        view.chart = charts.heatmap(zones, grid["store"].to_list(), z, "people")
    else:
        view.note = "No foot-traffic readings in the window."
    return view


def truck_dwell(reader: Reader, anchor: Anchor) -> TileView:
    """Average truck dwell per site for shipments arriving that day (truck_dwell_daily)."""
    view = TileView(
        "trucks",
        "Truck dwell by site",
        _day_window(anchor, "24 h"),
        _as_of(reader, "truck_dwell_daily", "day", daily=True),
    )
    sites = reader.frame(
        "SELECT site, avg_dwell_minutes, shipments FROM truck_dwell_daily WHERE day = ? "
        "ORDER BY avg_dwell_minutes DESC, site LIMIT 10",
        [anchor.day],
    )
    shipments = reader.value("SELECT coalesce(sum(shipments), 0) FROM truck_dwell_daily WHERE day = ?", [anchor.day])
    view.figures = [Figure("shipments", "Shipments arrived", fmt.count(shipments))]
    if sites.height:
        view.chart = charts.bar(
            sites["site"].to_list(), [round(m, 1) for m in sites["avg_dwell_minutes"].to_list()], "minutes"
        )
    else:
        view.note = "No truck arrived that day."
    return view


TILES: tuple[tuple[str, tuple[str, ...], Callable[[Reader, Anchor], TileView]], ...] = (
    ("sales", ("sales_minute_store", "dim_stores"), sales_per_minute),
    ("online", ("online_sales_daily",), online_orders),
    ("fulfilment", ("fulfillment_daily",), fulfilment_pipeline),
    ("ble", ("ble_presence_minute", "dim_stores"), ble_presence),
    ("marketing", ("marketing_cost_daily",), marketing_cost),
    ("tender", ("tender_mix_daily",), tender_mix),
    ("products", ("top_products_15m", "dim_products"), top_products),
    ("stockouts", ("stockout_duration_daily", "dim_stores"), open_stockouts),
    ("zones", ("zone_dwell_minute", "dim_stores"), zone_dwell),
    ("trucks", ("truck_dwell_daily",), truck_dwell),
)


def read_tiles(reader: Reader, anchor: Anchor) -> list[TileView]:
    """The ten tiles; a tile whose tables are not published yet says so instead of failing the page."""
    views = []
    for key, tables, build in TILES:
        missing = [t for t in tables if not reader.has(t)]
        if missing:
            title = (build.__doc__ or key).split(",")[0]
            views.append(TileView(key, title, "", "no rows yet", note=f"Not published yet: {', '.join(missing)}."))
        else:
            views.append(build(reader, anchor))
    return views
