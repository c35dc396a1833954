"""The realism scorecard: every metric of the realism contract (issue 13), computed from landed months.

The generator is only useful if the KPIs it feeds look like a real chain's, so each metric here is
a published retail figure (``BENCHMARKS``: band and source, the one place the CLI and
``docs/realism.md`` read) measured on the generator's own output. Every metric is a pure function
of polars LazyFrames of the landed tables (:class:`Landed`), so the same arithmetic runs on a
hand-made frame in a test and on tens of millions of landed lines: scans are lazy and select only
the columns a metric needs.

Definitions (shared with the calibration work, ``docs/realism.md`` has the full table):
an in-store sale is a ``fact_receipts`` row of type SALE; an in-store line is a receipt line with a
positive quantity (return lines are negative); money is integer cents and shown in dollars; a
basket is a receipt's total (incl. tax); a store-day is a store's local calendar day
(``dim_stores.time_zone``); online orders count unless CANCELLED.
"""

from __future__ import annotations

import datetime as dt
import io
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Literal

import polars as pl

from retail_assets.lib import alerts as alert_rules
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.gold.kpis.alerts import ALERT_RULES, ALERTS
from retail_assets.lib.kpi_twins import shipment_dwell
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.months import add_months, days_in_month
from retail_assets.lib.rendered import rewrite
from retail_assets.lib.specs import PARTITION_COLUMN, REGISTRY, polars_schema

Unit = Literal[
    "usd", "share", "ratio", "count", "receipts", "hour", "weekday", "date", "minutes", "turns", "visits", "rules"
]
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
# Product names of pack variants (the generator's "2-Pack", "3-Pack" and "Bulk" sizes).
PACK_NAME = r"-Pack\b|\bBulk\b"
# Departments where multi-packs do not exist in real stores (nobody buys a "Laptop 3-Pack").
NO_PACK_DEPARTMENTS: tuple[str, ...] = ("Electronics",)
GROCERY = "Grocery"
ENTRANCE_ZONES = ("ENTRANCE_MAIN", "ENTRANCE_SIDE")
# Where the generator records demand a stockout turned away; 0 lost units when the column is absent.
LOST_SALES = ("fact_stockouts", "lost_sales_units")
FAST_MOVER_SHARE = 0.2
NEW_CUSTOMER_MONTHS = (9, 10, 11, 12)


class RealismError(ValueError):
    """The landed data cannot be scored (nothing landed, a file the scorecard cannot read); the message says what to do."""


# ---- bands and sources -------------------------------------------------------------------------


@dataclass(frozen=True)
class Band:
    """Where a metric must fall: [low, high] (either side may be open), or one of ``allowed``."""

    low: float | None = None
    high: float | None = None
    allowed: frozenset[str] | None = None
    high_inclusive: bool = True
    # How the band reads when its values depend on the data (e.g. the year's Thanksgiving).
    text: str | None = None

    def contains(self, value: float | str) -> bool:
        if self.allowed is not None:
            return str(value) in self.allowed
        number = float(value)
        if self.low is not None and number < self.low:
            return False
        if self.high is not None and (number > self.high or (not self.high_inclusive and number >= self.high)):
            return False
        return True

    def describe(self, unit: Unit) -> str:
        if self.text:
            return self.text
        if self.allowed is not None:
            return " or ".join(sorted(self.allowed))
        low, high = (format_value(v, unit) if v is not None else None for v in (self.low, self.high))
        if low is not None and high is not None:
            return low if self.low == self.high else f"{low} - {high}"
        if low is not None:
            return f">= {low}"
        return f"{'<=' if self.high_inclusive else '<'} {high}"


@dataclass(frozen=True)
class Benchmark:
    """A published figure the generator is held to: the metric's band, unit and source."""

    id: str
    label: str
    unit: Unit
    band: Band
    source: str
    owner: str


BENCHMARKS: tuple[Benchmark, ...] = (
    # Volume, baskets, catalogue
    Benchmark(
        "receipts_per_store_day",
        "In-store sales per open store-day",
        "receipts",
        Band(1_000, 2_600),
        "FMI: 12,700 transactions/week = 1,814/day per supermarket (2022); hypermarket to express mix",
        "T",
    ),
    Benchmark(
        "weekly_sales_per_store",
        "Weekly sales per store (in-store + online subtotal)",
        "usd",
        Band(300_000, 900_000),
        "foodindustry.com: $638,756 average weekly sales per supermarket",
        "T+B",
    ),
    Benchmark(
        "mean_basket",
        "Mean in-store basket (total)",
        "usd",
        Band(25, 65),
        "FMI $30 (2017 till); Nielsen supermarket $42.52; FMI 2023 ~$60/trip (survey)",
        "B",
    ),
    Benchmark("median_basket", "Median in-store basket", "usd", Band(12, 40), "till data: well under $40", "B"),
    Benchmark(
        "share_over_200",
        "In-store receipts over $200",
        "share",
        Band(high=0.05),
        "Progressive Grocer: most trips $50-150 even in recall surveys",
        "B",
    ),
    Benchmark(
        "share_over_1000",
        "In-store receipts over $1,000",
        "share",
        Band(high=0.0005),
        "effectively never in grocery",
        "B",
    ),
    Benchmark(
        "items_per_basket",
        "Units per in-store receipt",
        "ratio",
        Band(6, 14),
        "FMI $30 / ~12 items; Catalina 13 items per shopper per week",
        "B",
    ),
    Benchmark(
        "small_basket_share",
        "In-store receipts with <= 6 units",
        "share",
        Band(0.45, 0.75),
        "dunnhumby via The Grocer: over 60 % of large-format baskets have <= 6 items",
        "B",
    ),
    Benchmark(
        "median_unit_price",
        "Median unit price of in-store lines",
        "usd",
        Band(2, 5),
        "~$2.5-4 per item (FMI ticket / items)",
        "B",
    ),
    Benchmark(
        "mean_unit_price", "Unit-weighted mean unit price", "usd", Band(2.5, 7), "same; allows general merchandise", "B"
    ),
    Benchmark(
        "multipack_line_share",
        "In-store lines of pack variants (-Pack, Bulk)",
        "share",
        Band(high=0.15),
        "catalogue realism (judgment)",
        "B",
    ),
    Benchmark(
        "multipack_nopack_lines",
        f"Pack-variant lines in {', '.join(NO_PACK_DEPARTMENTS)}",
        "count",
        Band(0, 0),
        "packs do not exist there (judgment)",
        "B",
    ),
    Benchmark(
        "grocery_value_share",
        "Grocery share of in-store subtotal",
        "share",
        Band(0.45, 0.65),
        "supermarketnews: grocery ~55 % of Walmart US sales",
        "B",
    ),
    # Promotions, payments, returns
    Benchmark(
        "promo_unit_share",
        "Units on discounted lines",
        "share",
        Band(0.25, 0.45),
        "Nielsen: 31.4 % of units on promotion; 42.8 % of supermarket purchases (2009)",
        "B",
    ),
    Benchmark(
        "promo_depth",
        "Discount / gross on promoted lines",
        "share",
        Band(0.10, 0.35),
        "typical TPR depth (judgment)",
        "B",
    ),
    Benchmark(
        "tender_credit",
        "Credit card share of approved in-store payments",
        "share",
        Band(0.25, 0.40),
        "Fed Diary of Consumer Payment Choice 2024: 32 %; FMI grocery 30 %",
        "B",
    ),
    Benchmark(
        "tender_debit",
        "Debit card share of approved in-store payments",
        "share",
        Band(0.28, 0.48),
        "Fed Diary 2024: 30 %; FMI grocery 46 %",
        "B",
    ),
    Benchmark(
        "tender_cash",
        "Cash share of approved in-store payments",
        "share",
        Band(0.10, 0.22),
        "Fed Diary 2024: 16 %; FMI grocery 15 %",
        "B",
    ),
    Benchmark(
        "cash_basket_ratio",
        "Mean cash sale / mean non-cash sale",
        "ratio",
        Band(0.25, 0.8),
        "Atlanta Fed 2018 Diary: cash $21 vs $206 non-cash; less extreme at grocery",
        "B",
    ),
    Benchmark(
        "return_value_share",
        "Returned value / in-store sales value",
        "share",
        Band(0.01, 0.06),
        "food returns 1-2 %; NRF 16.9 % all retail; blended at ~45 % non-food",
        "B",
    ),
    Benchmark(
        "return_nonfood_share",
        "Non-Grocery share of returned value",
        "share",
        Band(low=0.60),
        "food is rarely returned",
        "B",
    ),
    # Time and calendar
    Benchmark(
        "weekday_peak_hour",
        "Busiest local hour, Mon-Fri",
        "hour",
        Band(11, 17),
        "USDA ERS/ATUS: 11-13h, 15-16h; rush ~17h",
        "T",
    ),
    Benchmark(
        "weekend_peak_hour",
        "Busiest local hour, Sat-Sun",
        "hour",
        Band(10, 14),
        "Drive Research: Saturday 10-14 busiest",
        "T",
    ),
    Benchmark(
        "weekend_weekday_ratio",
        "Receipts per weekend day / per weekday",
        "ratio",
        Band(1.10, 1.35),
        "USDA ERS: 16 % vs 13 % daily participation, ~1.23",
        "T",
    ),
    Benchmark(
        "lightest_weekday",
        "Weekday with fewest receipts per day",
        "weekday",
        Band(allowed=frozenset({"Mon", "Tue", "Wed"})),
        "Drive Research: Tuesday lightest",
        "T",
    ),
    Benchmark(
        "season_nov",
        "November daily sales / January's",
        "ratio",
        Band(0.98, 1.25),
        "Census MRTS seasonal factors, ~55 % grocery blend",
        "T",
    ),
    Benchmark(
        "season_dec",
        "December daily sales / January's",
        "ratio",
        Band(1.10, 1.45),
        "Census MRTS: grocery Dec 1.039, general merchandise 1.407 (Jan 0.866); blend ~1.3",
        "T",
    ),
    Benchmark("season_aug", "August daily sales / January's", "ratio", Band(0.92, 1.15), "Census MRTS: August ~flat", "T"),
    Benchmark(
        "busiest_day",
        "Day with most in-store receipts",
        "date",
        Band(text="day before Thanksgiving, Dec 23 or Dec 24"),
        "Placer.ai: the day before Thanksgiving, then Dec 23 and 24",
        "T",
    ),
    Benchmark(
        "pre_thanksgiving_lift",
        "Day before Thanksgiving / 4 previous Wednesdays",
        "ratio",
        Band(1.4, 2.0),
        "Placer.ai: +74.5 %",
        "T",
    ),
    Benchmark(
        "thanksgiving_day_ratio",
        "Thanksgiving Day / 4 previous Thursdays",
        "ratio",
        Band(high=1.0, high_inclusive=False),
        "many stores close early",
        "T",
    ),
    # Traffic, conversion, customers
    Benchmark(
        "conversion_rate",
        "Mean in-store sales / entrance visitors per store-day",
        "share",
        Band(0.25, 0.60),
        "V-Count 20-40 %; grocery 25-35 % good (eaglesight.digital); entrances count companions",
        "T",
    ),
    Benchmark(
        "conversion_rate_valid_share",
        "Store-days with conversion in (0, 1]",
        "share",
        Band(1, 1),
        "a conversion is a rate",
        "T",
    ),
    Benchmark(
        "gold_conversion_rate",
        "Gold store_performance_daily rows with conversion_rate in (0, 1]",
        "share",
        Band(1, 1),
        "a KPI must be a rate",
        "T",
    ),
    Benchmark(
        "visits_per_customer_month",
        "Identified in-store sales per active customer per month",
        "visits",
        Band(3, 9),
        "FMI 2023: 2.6 trips/week; FMI 2011: over 3/4 at the primary store",
        "T",
    ),
    Benchmark(
        "new_customer_share",
        "Customers with their first purchase in the month, Sep-Dec mean",
        "share",
        Band(0.02, 0.12),
        "acquisition replaces churn (upside.com: 14-31 % monthly churn)",
        "T",
    ),
    Benchmark(
        "retention_jan_dec",
        "January's active customers also active in December",
        "share",
        Band(0.35, 0.75),
        ">50 % of loyalty members churn within 12 months",
        "T",
    ),
    # Online
    Benchmark(
        "online_value_share",
        "Online share of subtotal (not cancelled)",
        "share",
        Band(0.08, 0.18),
        "eMarketer ~13 % of US grocery 2024; unisight 12.5 %",
        "C",
    ),
    Benchmark(
        "online_aov",
        "Mean online order total (not cancelled)",
        "usd",
        Band(70, 150),
        "foodondemandnews: delivery/pickup AOV ~$105",
        "C",
    ),
    Benchmark("online_vs_store_basket", "Online AOV / in-store mean basket", "ratio", Band(low=1.8), "$105 vs ~$30-60", "C"),
    Benchmark(
        "pickup_share",
        "Online orders picked up in store (BOPIS)",
        "share",
        Band(0.35, 0.55),
        "digitalcommerce360 / Brick Meets Click 2024: pickup 42-47 % of e-grocery",
        "C",
    ),
    Benchmark(
        "ship_from_dc_share",
        "Online orders shipped from a DC",
        "share",
        Band(0.10, 0.25),
        "ship-to-home 16-19 % of e-grocery",
        "C",
    ),
    Benchmark(
        "cancelled_item_count",
        "Cancelled orders whose item_count != their lines' units",
        "count",
        Band(0, 0),
        "consistency",
        "C",
    ),
    # Inventory and logistics
    Benchmark(
        "oos_rate",
        "Store-product-days with a stockout / of active products",
        "share",
        Band(0.02, 0.12),
        "Gruen & Corsten / GMA: 8.3 % average out-of-stock",
        "S",
    ),
    Benchmark(
        "lost_sales_share",
        "Lost-sale units / (sold + lost units)",
        "share",
        Band(0.01, 0.06),
        "Gruen & Corsten: ~4 % of sales lost",
        "S",
    ),
    Benchmark(
        "fast_mover_oos_share",
        "Store stockouts on the store's top-20 % products by units",
        "share",
        Band(low=0.25),
        "out-of-stocks concentrate on promoted, fast-moving items (Gruen & Corsten)",
        "S",
    ),
    Benchmark(
        "urgent_reorder_share",
        "URGENT reorder lines / all",
        "share",
        Band(0.002, 0.08),
        "urgency is an exception (judgment)",
        "S",
    ),
    Benchmark(
        "inventory_turns",
        "Store units sold per year / average on-hand",
        "turns",
        Band(8, 30),
        "CSIMarket via Investopedia: grocery 16.5-18.6; general merchandise lower",
        "S",
    ),
    Benchmark(
        "truck_dwell_median",
        "Median truck dwell, arrival to departure",
        "minutes",
        Band(45, 150),
        "Trimble: ~2 h free time; industry dwell 2-2.5 h",
        "S",
    ),
    Benchmark("truck_dwell_p90", "90th percentile truck dwell", "minutes", Band(high=240), "same", "S"),
    # Marketing
    Benchmark(
        "cpm",
        "Marketing cost per 1,000 impressions",
        "usd",
        Band(2, 40),
        "ad-calc.com: display $2.80 ... search $38.40; email $15-50 (omnisend)",
        "C",
    ),
    Benchmark(
        "conversion_per_impression",
        "Attributed purchases / impressions",
        "share",
        Band(0.00001, 0.005),
        "ad-calc.com: display CTR ~0.46 % x 0.89 % conversion; identified journeys credited",
        "C",
    ),
    Benchmark("roas", "Attributed revenue / marketing cost", "ratio", Band(0.5, 15), "follows from CPM x funnel x AOV", "C"),
    # Alerts
    Benchmark(
        "alerts_per_store_day",
        "Business alerts per store-day (all 6 rules)",
        "ratio",
        Band(high=5),
        "a store manager can act on 5 a day",
        "A",
    ),
    Benchmark(
        "every_rule_fires",
        "Alert rules with at least one alert",
        "rules",
        Band(len(alert_rules.ALERTS), len(alert_rules.ALERTS)),
        "a rule that never fires is untested",
        "A",
    ),
)
BENCHMARK_BY_ID: dict[str, Benchmark] = {b.id: b for b in BENCHMARKS}

BEGIN = "<!-- realism-bands:begin (rendered from lib/realism.py by `python -m retail_assets.lib.realism`) -->"
END = "<!-- realism-bands:end -->"


def render_bands() -> str:
    """The bands table of ``docs/realism.md``, from :data:`BENCHMARKS` (a test keeps the two equal)."""
    lines = [BEGIN, "", "| Metric | What | Band | Source | Owner |", "|---|---|---|---|---|"]
    lines += [f"| `{b.id}` | {b.label} | {b.band.describe(b.unit)} | {b.source} | {b.owner} |" for b in BENCHMARKS]
    return "\n".join([*lines, "", END])


@dataclass(frozen=True)
class Metric:
    """One scorecard row: the generated value against its benchmark. ``value`` None means not measured (see ``note``)."""

    id: str
    label: str
    value: float | str | None
    band: Band
    unit: Unit
    source: str
    note: str = ""
    # Not measured on purpose (the months do not cover it, no Gold): not a failure.
    skipped: bool = False

    @property
    def in_band(self) -> bool | None:
        """True/False for a measured metric; None when skipped. A metric that could not be measured is out."""
        if self.skipped:
            return None
        return self.value is not None and self.band.contains(self.value)

    @property
    def shown_value(self) -> str:
        return "-" if self.value is None else format_value(self.value, self.unit)


def metric(id: str, value: float | str | None, note: str = "", *, band: Band | None = None) -> Metric:
    """The row of benchmark ``id`` with a generated value (None when there was nothing to measure)."""
    b = BENCHMARK_BY_ID[id]
    if isinstance(value, float) and math.isnan(value):
        value = None
    return Metric(
        b.id, b.label, value, band or b.band, b.unit, b.source, note or ("no rows to measure" if value is None else "")
    )


def skipped(id: str, reason: str) -> Metric:
    return replace(metric(id, None, reason), skipped=True)


def format_value(value: float | str, unit: Unit) -> str:
    if isinstance(value, str):
        return value
    if unit == "usd":
        return f"${value:,.0f}" if abs(value) >= 1_000 else f"${value:,.2f}"
    if unit == "share":
        return f"{value * 100:.3g} %" if 0 < abs(value) < 0.001 else f"{value * 100:.1f} %"
    if unit in ("count", "rules", "hour"):
        return f"{value:,.0f}" + (":00" if unit == "hour" else "")
    if unit == "receipts":
        return f"{value:,.0f}"
    return f"{value:,.2f}"


def _ratio(numerator: float | None, denominator: float | None) -> float | None:
    if numerator is None or not denominator:
        return None
    return float(numerator) / float(denominator)


# ---- the landed months ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Landed:
    """The landed months as lazy frames: facts (spec columns + ``month_start``, all months), and the dimensions used.

    ``stores`` (store_id, time_zone) and ``products`` (product_id, product_name, department) are the
    latest landed snapshots.
    """

    months: tuple[dt.date, ...]
    facts: Mapping[str, pl.LazyFrame]
    stores: pl.DataFrame
    products: pl.DataFrame

    def fact(self, table: str) -> pl.LazyFrame:
        return self.facts[table]

    @property
    def first_day(self) -> dt.date:
        return self.months[0]

    @property
    def last_day(self) -> dt.date:
        return add_months(self.months[-1], 1) - dt.timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1


def empty_fact(table: str) -> pl.LazyFrame:
    schema = polars_schema(REGISTRY.table(table).columns)
    return pl.LazyFrame(schema={**schema, PARTITION_COLUMN: pl.Date})


def _scan_file(landing: LandingZone, path: str) -> pl.LazyFrame:
    if not path.endswith(".parquet"):
        raise RealismError(f"landing file {path}: the scorecard reads Parquet only; convert it or land it as .parquet")
    if landing.is_local:
        return pl.scan_parquet(landing._local_path(path))
    return pl.read_parquet(io.BytesIO(landing.read_bytes(path))).lazy()


def _scan_table(landing: LandingZone, table: str, months: Sequence[dt.date]) -> pl.LazyFrame | None:
    """The table's files of ``months``, with ``month_start`` = the folder's month (the partition Bronze files them
    under; rows filed under the wrong month, which Bronze would quarantine, are not looked for)."""
    parts = []
    for month in months:
        for file in landing.batch_files(table, month):
            parts.append(_scan_file(landing, file.path.path).with_columns(pl.lit(month).alias(PARTITION_COLUMN)))
    return pl.concat(parts, how="diagonal_relaxed") if parts else None


def _latest_dimension(
    landing: LandingZone, table: str, months: Sequence[dt.date], columns: Sequence[str]
) -> pl.DataFrame:
    snapshots = {m: files for m, files in landing.dimension_snapshots(table).items() if m <= months[-1]}
    if not snapshots:
        raise RealismError(
            f"no {table} snapshot landed up to {months[-1]:%Y-%m} under {landing.root_uri}: generate the months "
            f"(retail-assets generate, or realism --generate) or land batch/{table}/<YYYY-MM>/"
        )
    files = snapshots[max(snapshots)]
    return pl.concat([_scan_file(landing, f.path.path).select(columns) for f in files]).unique().collect()


def scan_landing(landing: LandingZone, months: Sequence[dt.date]) -> Landed:
    """Every fact table of ``months`` and the latest store and product snapshots, lazily."""
    months = tuple(sorted({m.replace(day=1) for m in months}))
    facts: dict[str, pl.LazyFrame] = {}
    for spec in REGISTRY.facts:
        scanned = _scan_table(landing, spec.name, months)
        facts[spec.name] = scanned if scanned is not None else empty_fact(spec.name)
    if not any(landing.batch_files("fact_receipts", m) for m in months):
        span = f"{months[0]:%Y-%m}..{months[-1]:%Y-%m}"
        raise RealismError(
            f"no fact_receipts landed for {span} under {landing.root_uri}: generate them first "
            f"(retail-assets realism --generate, or retail-assets generate --month {months[0]:%Y-%m} --to {months[-1]:%Y-%m})"
        )
    stores = _latest_dimension(landing, "dim_stores", months, ("store_id", "time_zone"))
    products = _latest_dimension(landing, "dim_products", months, ("product_id", "product_name", "department"))
    return Landed(months, facts, stores, products)


# ---- shared frames -------------------------------------------------------------------------------


def sales(landed: Landed) -> pl.LazyFrame:
    """In-store sales: SALE receipts."""
    return landed.fact("fact_receipts").filter(pl.col("receipt_type") == "SALE")


def orders(landed: Landed) -> pl.LazyFrame:
    """Online orders that were not cancelled."""
    return landed.fact("fact_online_order_headers").filter(pl.col("order_status") != "CANCELLED")


def with_local_time(frame: pl.LazyFrame, stores: pl.DataFrame, column: str = "event_ts") -> pl.LazyFrame:
    """``frame`` with ``local_ts`` (naive local time of its store); rows of stores missing from dim_stores are left out,
    as Silver quarantines them."""
    parts = [
        frame.filter(pl.col("store_id").is_in(group["store_id"].to_list())).with_columns(
            pl.col(column).dt.convert_time_zone(zone).dt.replace_time_zone(None).alias("local_ts")
        )
        for (zone,), group in stores.group_by("time_zone")
    ]
    return (
        pl.concat(parts) if parts else frame.with_columns(pl.col(column).dt.replace_time_zone(None).alias("local_ts"))
    )


def store_hours(landed: Landed) -> pl.DataFrame:
    """In-store sales per store, local date and local hour: receipts and sales value (total cents).

    Small (stores x days x 24) and the input of every store-day and calendar metric.
    """
    local = with_local_time(sales(landed).select("store_id", "event_ts", "total_cents"), landed.stores)
    return (
        local.with_columns(
            pl.col("local_ts").dt.date().alias("local_date"), pl.col("local_ts").dt.hour().alias("local_hour")
        )
        .filter(pl.col("local_date").is_between(landed.first_day, landed.last_day))
        .group_by("store_id", "local_date", "local_hour")
        .agg(pl.len().alias("receipts"), pl.col("total_cents").sum().alias("sales_cents"))
        .collect()
    )


def network_days(hours: pl.DataFrame, first: dt.date, last: dt.date) -> pl.DataFrame:
    """Receipts and sales value per calendar day of [first, last], network-wide (0 on a day without sales)."""
    calendar = pl.DataFrame({"local_date": pl.date_range(first, last, "1d", eager=True)})
    daily = hours.group_by("local_date").agg(pl.col("receipts").sum(), pl.col("sales_cents").sum())
    return (
        calendar.join(daily, on="local_date", how="left")
        .with_columns(pl.col("receipts").fill_null(0), pl.col("sales_cents").fill_null(0))
        .with_columns(pl.col("local_date").dt.weekday().alias("weekday"))
        .sort("local_date")
    )


def thanksgiving(year: int) -> dt.date:
    """The fourth Thursday of November."""
    first = dt.date(year, 11, 1)
    return first + dt.timedelta(days=(3 - first.weekday()) % 7 + 21)


# ---- metrics -------------------------------------------------------------------------------------


def basket_metrics(receipts: pl.LazyFrame) -> list[Metric]:
    """Baskets of in-store sales (``receipts`` already SALE only): value and units."""
    row = (
        receipts.select(
            (pl.col("total_cents").mean() / 100).alias("mean"),
            (pl.col("total_cents").median() / 100).alias("median"),
            (pl.col("total_cents") > 20_000).mean().alias("over_200"),
            (pl.col("total_cents") > 100_000).mean().alias("over_1000"),
            pl.col("item_count").mean().alias("items"),
            (pl.col("item_count") <= 6).mean().alias("small"),
        )
        .collect()
        .row(0, named=True)
    )
    return [
        metric("mean_basket", row["mean"]),
        metric("median_basket", row["median"]),
        metric("share_over_200", row["over_200"]),
        metric("share_over_1000", row["over_1000"]),
        metric("items_per_basket", row["items"]),
        metric("small_basket_share", row["small"]),
    ]


def line_metrics(lines: pl.LazyFrame, products: pl.DataFrame) -> list[Metric]:
    """Prices, packs, department mix, promotions and returned departments, from receipt lines.

    ``lines`` holds in-store lines (quantity > 0) and return lines (quantity < 0).
    """
    catalogue = products.lazy().select(
        "product_id",
        pl.col("product_name").str.contains(PACK_NAME).alias("pack"),
        pl.col("department"),
    )
    joined = lines.select("product_id", "quantity", "unit_price_cents", "discount_cents", "ext_price_cents").join(
        catalogue, on="product_id", how="left"
    )
    sold = pl.col("quantity") > 0
    promoted = sold & (pl.col("discount_cents") > 0)
    returned = pl.col("quantity") < 0
    gross = pl.col("unit_price_cents") * pl.col("quantity")
    row = (
        joined.select(
            (pl.col("unit_price_cents").filter(sold).median() / 100).alias("median_price"),
            (gross.filter(sold).sum() / pl.col("quantity").filter(sold).sum() / 100).alias("mean_price"),
            pl.col("pack").filter(sold).mean().alias("pack_share"),
            (sold & pl.col("pack") & pl.col("department").is_in(NO_PACK_DEPARTMENTS)).sum().alias("nopack"),
            (
                pl.col("ext_price_cents").filter(sold & (pl.col("department") == GROCERY)).sum()
                / pl.col("ext_price_cents").filter(sold).sum()
            ).alias("grocery"),
            (pl.col("quantity").filter(promoted).sum() / pl.col("quantity").filter(sold).sum()).alias("promo_units"),
            (pl.col("discount_cents").filter(promoted).sum() / gross.filter(promoted).sum()).alias("promo_depth"),
            (
                pl.col("ext_price_cents").filter(returned & (pl.col("department") != GROCERY)).abs().sum()
                / pl.col("ext_price_cents").filter(returned).abs().sum()
            ).alias("nonfood_returns"),
            sold.sum().alias("sold_lines"),
        )
        .collect()
        .row(0, named=True)
    )
    measured = row["sold_lines"] > 0
    return [
        metric("median_unit_price", row["median_price"]),
        metric("mean_unit_price", row["mean_price"]),
        metric("multipack_line_share", row["pack_share"]),
        metric("multipack_nopack_lines", row["nopack"] if measured else None),
        metric("grocery_value_share", row["grocery"]),
        metric("promo_unit_share", row["promo_units"]),
        metric(
            "promo_depth", row["promo_depth"], "no discounted lines" if row["promo_depth"] is None and measured else ""
        ),
        metric(
            "return_nonfood_share", row["nonfood_returns"], "no return lines" if row["nonfood_returns"] is None else ""
        ),
    ]


def tender_metrics(payments: pl.LazyFrame, receipts: pl.LazyFrame) -> list[Metric]:
    """Tender mix by count of approved in-store payments, and cash basket size vs the rest (``receipts``: SALE only)."""
    approved = payments.filter(pl.col("receipt_id").is_not_null() & (pl.col("status") == "APPROVED"))
    mix = (
        approved.select(
            *(
                (pl.col("payment_method") == method).mean().alias(method)
                for method in ("CREDIT_CARD", "DEBIT_CARD", "CASH")
            )
        )
        .collect()
        .row(0, named=True)
    )
    cash = pl.col("payment_method") == "CASH"
    means = (
        receipts.select(
            pl.col("total_cents").filter(cash).mean().alias("cash"),
            pl.col("total_cents").filter(~cash).mean().alias("other"),
        )
        .collect()
        .row(0, named=True)
    )
    return [
        metric("tender_credit", mix["CREDIT_CARD"]),
        metric("tender_debit", mix["DEBIT_CARD"]),
        metric("tender_cash", mix["CASH"]),
        metric("cash_basket_ratio", _ratio(means["cash"], means["other"])),
    ]


def return_value_share(receipts: pl.LazyFrame) -> Metric:
    """Returned value (RETURN receipts' absolute total) over in-store sales value (SALE totals)."""
    row = (
        receipts.select(
            pl.col("total_cents").filter(pl.col("receipt_type") == "RETURN").abs().sum().alias("returned"),
            pl.col("total_cents").filter(pl.col("receipt_type") == "SALE").sum().alias("sold"),
        )
        .collect()
        .row(0, named=True)
    )
    return metric("return_value_share", _ratio(row["returned"], row["sold"]))


def receipts_per_store_day(hours: pl.DataFrame) -> Metric:
    """In-store sales over open store-days (a store's local days with at least one sale)."""
    days = hours.filter(pl.col("receipts") > 0).select("store_id", "local_date").n_unique()
    return metric("receipts_per_store_day", _ratio(hours["receipts"].sum(), days))


def weekly_sales_per_store(receipts: pl.LazyFrame, online: pl.LazyFrame, stores: int, days: int) -> Metric:
    """(In-store SALE subtotal + online subtotal of orders fulfilled by a store or a DC) / stores / weeks."""
    in_store = receipts.select(pl.col("subtotal_cents").sum()).collect().item() or 0
    online_value = (
        online.filter(pl.col("node_type").is_in(("STORE", "DC")))
        .select(pl.col("subtotal_cents").sum())
        .collect()
        .item()
        or 0
    )
    weeks = days / 7
    return metric("weekly_sales_per_store", _ratio((in_store + online_value) / 100, stores * weeks))


def _peak_hour(hours: pl.DataFrame, weekdays: Iterable[int]) -> float | None:
    by_hour = (
        hours.filter(pl.col("local_date").dt.weekday().is_in(list(weekdays)))
        .group_by("local_hour")
        .agg(pl.col("receipts").sum())
        .sort(["receipts", "local_hour"], descending=[True, False])
    )
    return float(by_hour["local_hour"][0]) if by_hour.height else None


def calendar_metrics(hours: pl.DataFrame, first: dt.date, last: dt.date) -> list[Metric]:
    """Hour of day, weekday pattern, seasonality and holiday days, from :func:`store_hours`."""
    days = network_days(hours, first, last)
    weekend = pl.col("weekday") >= 6
    ratio = days.select(pl.col("receipts").filter(weekend).mean() / pl.col("receipts").filter(~weekend).mean()).item()
    per_weekday = days.group_by("weekday").agg(pl.col("receipts").mean()).sort(["receipts", "weekday"])
    found = [
        metric("weekday_peak_hour", _peak_hour(hours, range(1, 6))),
        metric("weekend_peak_hour", _peak_hour(hours, (6, 7))),
        metric("weekend_weekday_ratio", ratio),
        metric(
            "lightest_weekday",
            WEEKDAYS[per_weekday["weekday"][0] - 1] if days.height >= 7 else None,
            "" if days.height >= 7 else "needs a whole week",
        ),
    ]
    found += season_metrics(days)
    found += holiday_metrics(days)
    return found


def season_metrics(days: pl.DataFrame) -> list[Metric]:
    """Mean daily in-store sales value of November, December and August over January's (calendar days, all stores)."""
    monthly = days.group_by(
        pl.col("local_date").dt.year().alias("year"), pl.col("local_date").dt.month().alias("month")
    ).agg(pl.col("sales_cents").mean().alias("daily"))
    daily = {(y, m): v for y, m, v in monthly.iter_rows()}
    years = sorted({y for y, m in daily if m == 1})
    found = []
    for id, month, name in (
        ("season_nov", 11, "November"),
        ("season_dec", 12, "December"),
        ("season_aug", 8, "August"),
    ):
        year = next((y for y in years if (y, month) in daily), None)
        if year is None:
            found.append(skipped(id, f"needs January and {name} of one year"))
        else:
            found.append(metric(id, _ratio(daily[(year, month)], daily[(year, 1)]), f"{year}"))
    return found


def holiday_metrics(days: pl.DataFrame) -> list[Metric]:
    """Busiest day of the year and the Thanksgiving week, network-wide receipts per local day."""
    receipts = dict(days.select("local_date", "receipts").iter_rows())
    years = sorted({d.year for d in receipts if d.month == 11} & {d.year for d in receipts if d.month == 12})
    if not years:
        why = "needs November and December of one year"
        return [skipped(i, why) for i in ("busiest_day", "pre_thanksgiving_lift", "thanksgiving_day_ratio")]
    year = years[0]
    thursday = thanksgiving(year)
    wednesday = thursday - dt.timedelta(days=1)
    expected = {wednesday, dt.date(year, 12, 23), dt.date(year, 12, 24)}
    band = replace(BENCHMARK_BY_ID["busiest_day"].band, allowed=frozenset(f"{d:%Y-%m-%d %a}" for d in expected))
    of_year = days.filter(pl.col("local_date").dt.year() == year).sort(
        ["receipts", "local_date"], descending=[True, False]
    )
    busiest = of_year["local_date"][0]

    def versus_previous_weeks(day: dt.date) -> float | None:
        before = [day - dt.timedelta(weeks=k) for k in range(1, 5)]
        if any(d not in receipts for d in before):
            return None
        return _ratio(receipts.get(day), sum(receipts[d] for d in before) / 4)

    return [
        metric("busiest_day", f"{busiest:%Y-%m-%d %a}", band=band),
        metric("pre_thanksgiving_lift", versus_previous_weeks(wednesday), f"{wednesday:%Y-%m-%d}"),
        metric("thanksgiving_day_ratio", versus_previous_weeks(thursday), f"{thursday:%Y-%m-%d}"),
    ]


def conversion_metrics(
    hours: pl.DataFrame, foot_traffic: pl.LazyFrame, stores: pl.DataFrame, first: dt.date, last: dt.date
) -> list[Metric]:
    """In-store sales / entrance visitors per store-day: the mean, and the share of store-days where it is a rate in (0, 1].

    Store-days are those with sales or entrance counts; one without visitors has no rate (counted as invalid).
    """
    entrances = with_local_time(
        foot_traffic.filter(pl.col("zone").is_in(ENTRANCE_ZONES)).select("store_id", "event_ts", "customer_count"),
        stores,
    )
    visitors = (
        entrances.with_columns(pl.col("local_ts").dt.date().alias("local_date"))
        .filter(pl.col("local_date").is_between(first, last))
        .group_by("store_id", "local_date")
        .agg(pl.col("customer_count").sum().alias("visitors"))
        .collect()
    )
    sold = hours.group_by("store_id", "local_date").agg(pl.col("receipts").sum())
    days = (
        sold.join(visitors, on=["store_id", "local_date"], how="full", coalesce=True)
        .with_columns(pl.col("receipts").fill_null(0), pl.col("visitors").fill_null(0))
        .filter((pl.col("receipts") > 0) | (pl.col("visitors") > 0))
        .with_columns(pl.when(pl.col("visitors") > 0).then(pl.col("receipts") / pl.col("visitors")).alias("conversion"))
    )
    if not days.height:
        return [metric("conversion_rate", None), metric("conversion_rate_valid_share", None)]
    valid = (pl.col("conversion") > 0) & (pl.col("conversion") <= 1)
    row = days.select(pl.col("conversion").mean().alias("mean"), valid.fill_null(False).mean().alias("valid")).row(
        0, named=True
    )
    invalid = days.height - round(row["valid"] * days.height)
    return [
        metric("conversion_rate", row["mean"], "" if row["mean"] is not None else "no entrance counts"),
        metric(
            "conversion_rate_valid_share",
            row["valid"],
            f"{invalid:,} of {days.height:,} store-days outside (0, 1]" if invalid else "",
        ),
    ]


NO_GOLD = "no Gold: gold/store_performance_daily is not in the lake for these months"


def gold_conversion(store_performance: pl.LazyFrame | None, no_gold: str = NO_GOLD) -> Metric:
    """Share of gold/store_performance_daily rows whose conversion_rate is in (0, 1] (NULL counts as outside)."""
    if store_performance is None:
        return skipped("gold_conversion_rate", no_gold)
    row = (
        store_performance.select(
            pl.len().alias("rows"),
            pl.col("conversion_rate").is_between(0, 1, closed="right").fill_null(False).sum().alias("valid"),
        )
        .collect()
        .row(0, named=True)
    )
    if not row["rows"]:
        return skipped("gold_conversion_rate", "no Gold: gold/store_performance_daily has no rows for these months")
    return metric(
        "gold_conversion_rate",
        row["valid"] / row["rows"],
        f"{row['rows'] - row['valid']:,} of {row['rows']:,} rows outside (0, 1]",
    )


def purchases(receipts: pl.LazyFrame, online: pl.LazyFrame) -> pl.LazyFrame:
    """(customer_id, month_start) of every identified purchase: in-store sales with a customer, online orders not cancelled."""
    return pl.concat(
        [
            receipts.filter(pl.col("customer_id").is_not_null()).select("customer_id", PARTITION_COLUMN),
            online.select("customer_id", PARTITION_COLUMN),
        ]
    )


def customer_metrics(receipts: pl.LazyFrame, online: pl.LazyFrame) -> list[Metric]:
    """Visits per customer and month, acquisition (Sep-Dec) and January-to-December retention.

    Visits count identified in-store sales; acquisition and retention count any purchase (in store or online), since
    the first landed month.
    """
    visits = (
        receipts.filter(pl.col("customer_id").is_not_null())
        .group_by(PARTITION_COLUMN)
        .agg((pl.len() / pl.col("customer_id").n_unique()).alias("visits"))
        .select(pl.col("visits").mean())
        .collect()
        .item()
    )
    active = purchases(receipts, online).unique().collect()
    first = active.group_by("customer_id").agg(pl.col(PARTITION_COLUMN).min().alias("first_month"))
    by_month = (
        active.join(first, on="customer_id")
        .group_by(PARTITION_COLUMN)
        .agg(pl.len().alias("active"), (pl.col("first_month") == pl.col(PARTITION_COLUMN)).sum().alias("new"))
        .filter(pl.col(PARTITION_COLUMN).dt.month().is_in(NEW_CUSTOMER_MONTHS))
        .filter(pl.col(PARTITION_COLUMN) > active[PARTITION_COLUMN].min())
    )
    found = [metric("visits_per_customer_month", visits)]
    if by_month.height:
        share = by_month.select((pl.col("new") / pl.col("active")).mean()).item()
        found.append(metric("new_customer_share", share, f"{by_month.height} month(s)"))
    else:
        found.append(skipped("new_customer_share", "needs a month of Sep-Dec after the first landed month"))
    months = set(active[PARTITION_COLUMN].unique().to_list())
    year = next((m.year for m in sorted(months) if m.month == 1 and dt.date(m.year, 12, 1) in months), None)
    if year is None:
        found.append(skipped("retention_jan_dec", "needs January and December of one year"))
    else:
        january = set(active.filter(pl.col(PARTITION_COLUMN) == dt.date(year, 1, 1))["customer_id"].to_list())
        december = set(active.filter(pl.col(PARTITION_COLUMN) == dt.date(year, 12, 1))["customer_id"].to_list())
        found.append(metric("retention_jan_dec", _ratio(len(january & december), len(january)), f"{year}"))
    return found


def online_metrics(headers: pl.LazyFrame, lines: pl.LazyFrame, receipts: pl.LazyFrame) -> list[Metric]:
    """Online share of value, order value, fulfilment mix and cancelled headers' consistency.

    ``headers`` are all online orders (cancelled ones too), ``receipts`` the in-store sales.
    """
    live = pl.col("order_status") != "CANCELLED"
    row = (
        headers.select(
            pl.col("subtotal_cents").filter(live).sum().alias("subtotal"),
            (pl.col("total_cents").filter(live).mean() / 100).alias("aov"),
            (pl.col("fulfillment_mode").filter(live) == "BOPIS").mean().alias("pickup"),
            (pl.col("fulfillment_mode").filter(live) == "SHIP_FROM_DC").mean().alias("ship_from_dc"),
        )
        .collect()
        .row(0, named=True)
    )
    store = (
        receipts.select(
            pl.col("subtotal_cents").sum().alias("subtotal"), (pl.col("total_cents").mean() / 100).alias("basket")
        )
        .collect()
        .row(0, named=True)
    )
    cancelled = headers.filter(~live).select("order_id", "item_count")
    units = lines.group_by("order_id").agg(pl.col("quantity").sum().alias("units"))
    mismatched = (
        cancelled.join(units, on="order_id", how="left")
        .filter(pl.col("item_count") != pl.col("units").fill_null(0))
        .select(pl.len())
        .collect()
        .item()
    )
    return [
        metric("online_value_share", _ratio(row["subtotal"], (row["subtotal"] or 0) + (store["subtotal"] or 0))),
        metric("online_aov", row["aov"]),
        metric("online_vs_store_basket", _ratio(row["aov"], store["basket"])),
        metric("pickup_share", row["pickup"]),
        metric("ship_from_dc_share", row["ship_from_dc"]),
        metric("cancelled_item_count", float(mismatched)),
    ]


def inventory_metrics(
    store_txn: pl.LazyFrame, stockouts: pl.LazyFrame, reorders: pl.LazyFrame, first: dt.date, last: dt.date
) -> list[Metric]:
    """Out-of-stocks, lost sales, fast movers, reorder urgency and turns, from store movements (UTC days).

    Units sold are SALE and ONLINE_PICK movements (both leave the shelf for a customer). A product is active at a store
    in a month when it sold there that month.
    """
    sold_txn = store_txn.filter(pl.col("txn_type").is_in(("SALE", "ONLINE_PICK"))).select(
        "store_id", "product_id", PARTITION_COLUMN, (-pl.col("quantity")).cast(pl.Int64).alias("units")
    )
    by_month = sold_txn.group_by("store_id", "product_id", PARTITION_COLUMN).agg(pl.col("units").sum()).collect()
    active_days = (
        by_month.select(pl.col(PARTITION_COLUMN).map_elements(days_in_month, return_dtype=pl.Int64).sum()).item() or 0
    )
    store_outs = stockouts.filter(pl.col("store_id").is_not_null())
    out_days = (
        store_outs.select("store_id", "product_id", PARTITION_COLUMN, pl.col("event_ts").dt.date().alias("day"))
        .unique()
        .join(
            by_month.lazy().select("store_id", "product_id", PARTITION_COLUMN),
            on=["store_id", "product_id", PARTITION_COLUMN],
        )
        .select(pl.len())
        .collect()
        .item()
    )
    sold_units = int(by_month["units"].sum())
    lost_column = LOST_SALES[1]
    has_lost = lost_column in stockouts.collect_schema()
    lost = int(store_outs.select(pl.col(lost_column).sum()).collect().item() or 0) if has_lost else 0
    per_product = (
        by_month.group_by("store_id", "product_id")
        .agg(pl.col("units").sum())
        .sort(["store_id", "units", "product_id"], descending=[False, True, False])
    )
    fast = per_product.filter(
        pl.int_range(pl.len()).over("store_id") < (pl.len().over("store_id") * FAST_MOVER_SHARE).ceil()
    ).select("store_id", "product_id")
    outs = store_outs.select("store_id", "product_id").collect()
    on_fast = outs.join(fast, on=["store_id", "product_id"]).height
    urgent = reorders.select((pl.col("priority") == alert_rules.URGENT_PRIORITY).mean()).collect().item()
    lost_note = "" if has_lost else f"no {'.'.join(LOST_SALES)} in the landed data: no sale is ever lost"
    return [
        metric("oos_rate", _ratio(out_days, active_days)),
        metric("lost_sales_share", _ratio(lost, sold_units + lost), lost_note),
        metric("fast_mover_oos_share", _ratio(on_fast, outs.height), "" if outs.height else "no store stockouts"),
        metric("urgent_reorder_share", urgent),
        inventory_turns(store_txn, sold_units, first, last),
    ]


def inventory_turns(store_txn: pl.LazyFrame, sold_units: int, first: dt.date, last: dt.date) -> Metric:
    """Units sold per year / average on-hand units, all stores.

    On-hand is each store-product's end-of-day balance (the last movement's ``balance`` that day), held until its
    next movement; before its first movement it is the opening balance (first balance - its quantity). Store-products
    that never move in the period are not counted.
    """
    days = (last - first).days + 1
    moves = store_txn.filter(pl.col("balance").is_not_null()).select(
        "store_id", "product_id", "event_ts", "quantity", "balance", pl.col("event_ts").dt.date().alias("day")
    )
    end_of_day = (
        moves.group_by("store_id", "product_id", "day")
        .agg(
            pl.col("balance").sort_by("event_ts").last().alias("balance"),
            (pl.col("balance") - pl.col("quantity")).sort_by("event_ts").first().alias("opening"),
        )
        .sort("store_id", "product_id", "day")
        .with_columns(
            pl.col("day")
            .shift(-1)
            .over("store_id", "product_id")
            .fill_null(last + dt.timedelta(days=1))
            .alias("until"),
            (pl.col("day") == pl.col("day").min().over("store_id", "product_id")).alias("is_first"),
        )
        .select(
            (
                pl.col("balance") * (pl.col("until") - pl.col("day")).dt.total_days()
                + pl.when(pl.col("is_first"))
                .then(pl.col("opening") * (pl.col("day") - pl.lit(first)).dt.total_days())
                .otherwise(0)
            ).sum()
        )
        .collect()
        .item()
    )
    average_on_hand = (end_of_day or 0) / days
    return metric("inventory_turns", _ratio(sold_units * 365 / days, average_on_hand))


def truck_dwell_metrics(moves: pl.LazyFrame) -> list[Metric]:
    """Minutes from a shipment's first ARRIVED to its last COMPLETED (the Gold/KQL shipment dwell)."""
    keys = ["truck_id", "dc_id", "store_id", "shipment_id"]
    arrivals = moves.filter(pl.col("status") == "ARRIVED").select(*keys, pl.col("event_ts").alias("arrival_time"))
    departures = moves.filter(pl.col("status") == "COMPLETED").select(*keys, pl.col("event_ts").alias("departure_time"))
    row = (
        shipment_dwell(arrivals, departures)
        .select(
            pl.col("dwell_minutes").median().alias("median"),
            pl.col("dwell_minutes").quantile(0.9, interpolation="linear").alias("p90"),
        )
        .collect()
        .row(0, named=True)
    )
    return [metric("truck_dwell_median", row["median"]), metric("truck_dwell_p90", row["p90"])]


def marketing_metrics(impressions: pl.LazyFrame, attribution: pl.LazyFrame) -> list[Metric]:
    """Cost per mille, purchases attributed per impression and return on ad spend."""
    spend = (
        impressions.select(pl.len().alias("impressions"), pl.col("cost_cents").sum().alias("cost"))
        .collect()
        .row(0, named=True)
    )
    credited = (
        attribution.select(pl.len().alias("purchases"), pl.col("attributed_revenue_cents").sum().alias("revenue"))
        .collect()
        .row(0, named=True)
    )
    return [
        metric("cpm", _ratio((spend["cost"] or 0) / 100 * 1000, spend["impressions"])),
        metric("conversion_per_impression", _ratio(credited["purchases"], spend["impressions"])),
        metric("roas", _ratio(credited["revenue"], spend["cost"])),
    ]


def alert_counts(
    facts: Mapping[str, pl.LazyFrame], months: Sequence[dt.date], thresholds: AlertThresholds
) -> dict[str, int]:
    """Alerts per rule over ``months``, by the Gold functions, on the Silver-shaped facts (all months, ``month_start``).

    Each month reads the months of its inputs the Gold alerts table reads (``ALERTS.inputs``), as Gold does.
    """
    counts = dict.fromkeys(ALERT_RULES, 0)
    for month in months:
        inputs = {}
        for source in ALERTS.inputs:
            window = [add_months(month, k) for k in range(source.first, source.last + 1)]
            inputs[source.table] = facts[source.table].filter(pl.col(PARTITION_COLUMN).is_in(window))
        gold = GoldInputs(month=month, facts=inputs, thresholds=thresholds)
        for rule, build in ALERT_RULES.items():
            counts[rule] += build(gold).select(pl.len()).collect().item()
    return counts


def alert_metrics(counts: Mapping[str, int], store_days: int, months: int = 12) -> list[Metric]:
    """All alerts per store-day, and how many of the rules fired at least once (over a year: the rare rules,
    a campaign over budget or a crowded zone, fire a few times a year, so a shorter range cannot judge it)."""
    silent = [rule for rule, n in counts.items() if not n]
    per_rule = ", ".join(f"{rule} {n / store_days:.2f}" for rule, n in counts.items()) if store_days else ""
    fires = (
        metric("every_rule_fires", float(len(counts) - len(silent)), f"never: {', '.join(silent)}" if silent else "")
        if months >= 12
        else skipped("every_rule_fires", f"needs a year of months, not {months}")
    )
    return [metric("alerts_per_store_day", _ratio(sum(counts.values()), store_days), per_rule), fires]


# ---- the scorecard -------------------------------------------------------------------------------


@dataclass
class Scorecard:
    """Every metric, in the order of :data:`BENCHMARKS`."""

    metrics: list[Metric] = field(default_factory=list)

    @property
    def out_of_band(self) -> list[Metric]:
        return [m for m in self.metrics if m.in_band is False]

    def get(self, id: str) -> Metric:
        return next(m for m in self.metrics if m.id == id)


def scorecard(
    landed: Landed,
    *,
    thresholds: AlertThresholds | None = None,
    store_performance: pl.LazyFrame | None = None,
    no_gold: str = NO_GOLD,
) -> Scorecard:
    """Every metric of :data:`BENCHMARKS` over the landed months; ``store_performance`` is Gold's table for those
    months when the lake has it (else ``no_gold`` says why)."""
    receipts = sales(landed)
    hours = store_hours(landed)
    stores = landed.stores.height
    found: list[Metric] = [receipts_per_store_day(hours)]
    found.append(weekly_sales_per_store(receipts, orders(landed), stores, landed.days))
    found += basket_metrics(receipts)
    found += line_metrics(landed.fact("fact_receipt_lines"), landed.products)
    found += tender_metrics(landed.fact("fact_payments"), receipts)
    found.append(return_value_share(landed.fact("fact_receipts")))
    found += calendar_metrics(hours, landed.first_day, landed.last_day)
    found += conversion_metrics(
        hours, landed.fact("fact_foot_traffic"), landed.stores, landed.first_day, landed.last_day
    )
    found.append(gold_conversion(store_performance, no_gold))
    found += customer_metrics(receipts, orders(landed))
    found += online_metrics(landed.fact("fact_online_order_headers"), landed.fact("fact_online_order_lines"), receipts)
    found += inventory_metrics(
        landed.fact("fact_store_inventory_txn"),
        landed.fact("fact_stockouts"),
        landed.fact("fact_reorders"),
        landed.first_day,
        landed.last_day,
    )
    found += truck_dwell_metrics(landed.fact("fact_truck_moves"))
    found += marketing_metrics(landed.fact("fact_marketing"), landed.fact("fact_marketing_attribution"))
    counts = alert_counts(landed.facts, landed.months, thresholds or AlertThresholds())
    found += alert_metrics(counts, stores * landed.days, len(landed.months))
    order = {b.id: i for i, b in enumerate(BENCHMARKS)}
    return Scorecard(sorted(found, key=lambda m: order[m.id]))


if __name__ == "__main__":
    import sys

    raise SystemExit(rewrite(sys.argv[1] if len(sys.argv) > 1 else "docs/realism.md", BEGIN, END, render_bands))
