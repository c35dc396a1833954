"""KPI formulas shared by the Eventhouse (KQL) hot path and the Gold layer: the "twins".

A :class:`Kpi` states how one aggregate is computed: from which source (an event table or KQL
function in Eventhouse; the matching Silver fact in the lakehouse), grouped by which keys and time
bin, with which measures. The KQL renderer (``retail_assets/lib/kql``) turns it into the text of a
materialized view or queryset; Gold computes it with :meth:`Kpi.polars`. A materialized view or
queryset and its Gold twin therefore compute the same figures by the same formula, and
``retail_assets_tests/kql`` checks both: the committed KQL uses exactly these aggregations, and
the KQL run on DuckDB (``duckdb-kql``) gives the numbers :meth:`Kpi.polars` gives.

Conventions:
- Column names are the Gold/Silver names (``event_ts``, ``total_cents``). ``Source.columns`` says
  how KQL derives each one from its source: :class:`Field` (a column, maybe renamed) or
  :class:`Cents` (payload dollars to integer cents).
- Dollars become cents as ``floor(dollars × 100 + 0.5)`` — half up, which every engine computes
  identically for the non-negative amounts events carry — preferring the event's own ``*_cents``
  field when it has one. Silver converts stream dollars with the same function (``lib/money.py``).
- Time bins start at multiples of their width since the Unix epoch, in UTC (KQL ``bin``, polars
  ``dt.truncate``); a daily bin is UTC midnight, held as a timestamp.
- A ratio is in whole units rounded down: ``floor(numerator / denominator)`` in float64.
- Counts and sums are int64; averages float64.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

import polars as pl
from pydantic import BaseModel, ConfigDict, model_validator
from pydantic import Field as PydanticField

from retail_assets.lib.money import dollars_to_cents, kql_dollars_to_cents
from retail_assets.lib.specs.registry import REGISTRY, event_columns, silver_columns


class TwinError(ValueError):
    """A KPI definition is inconsistent (unknown column, duplicate output, ...)."""


def kql_timespan(span: dt.timedelta) -> str:
    """A KQL timespan literal: ``1d``, ``15m``, ``90s``."""
    seconds = int(span.total_seconds())
    if seconds <= 0 or span != dt.timedelta(seconds=seconds):
        raise TwinError(f"time spans must be a positive whole number of seconds, got {span}")
    for unit, size in (("d", 86_400), ("h", 3_600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def polars_duration(span: dt.timedelta) -> str:
    """The same span as a polars duration string (``1d``, ``15m``, ``90s``)."""
    return kql_timespan(span)


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Field(_Frozen):
    """A source column used as is; ``kql_column`` names it in KQL when that name differs."""

    kind: Literal["field"] = "field"
    name: str
    kql_column: str | None = None

    @property
    def kql_name(self) -> str:
        return self.kql_column or self.name

    def kql(self) -> str:
        return self.kql_name

    def polars(self) -> pl.Expr:
        return pl.col(self.kql_name).alias(self.name)


class Cents(_Frozen):
    """Integer cents from payload dollars, preferring the payload's own cents field when it has one."""

    kind: Literal["cents"] = "cents"
    name: str
    dollars: str
    cents: str | None = None

    def kql(self) -> str:
        converted = kql_dollars_to_cents(self.dollars)
        return f"coalesce({self.cents}, {converted})" if self.cents else converted

    def polars(self) -> pl.Expr:
        converted = dollars_to_cents(pl.col(self.dollars))
        return (pl.coalesce(pl.col(self.cents), converted) if self.cents else converted).alias(self.name)


SourceColumn = Annotated[Field | Cents, PydanticField(discriminator="kind")]


class Source(_Frozen):
    """Where a KPI reads from: a KQL table or function call, and its Gold-side counterpart.

    ``fact`` is the Silver fact Gold reads, whose columns are the source columns' names; when the
    Gold side is derived from facts first (``fact`` None), ``gold`` says how.
    """

    kql: str
    fact: str | None
    gold: str
    columns: tuple[SourceColumn, ...]

    @model_validator(mode="after")
    def _check(self) -> Source:
        if self.kql in REGISTRY.events_by_type:
            event = {c.name for c in event_columns(REGISTRY.event(self.kql))}
            read = [c.kql_name if isinstance(c, Field) else c.dollars for c in self.columns]
            read += [c.cents for c in self.columns if isinstance(c, Cents) and c.cents]
            missing = sorted(set(read) - event)
            if missing:
                raise TwinError(f"source {self.kql!r}: event table has no columns {missing}")
        if self.fact is not None:
            fact = {c.name for c in silver_columns(self.fact)}
            missing = sorted({c.name for c in self.columns} - fact)
            if missing:
                raise TwinError(f"source {self.kql!r}: Silver {self.fact} has no columns {missing}")
        return self

    def column(self, name: str) -> SourceColumn:
        for c in self.columns:
            if c.name == name:
                return c
        raise TwinError(f"source {self.kql!r} has no column {name!r}")

    def to_gold_columns(self, frame: pl.LazyFrame) -> pl.LazyFrame:
        """A frame shaped like the KQL source (event columns) mapped to the Gold-side names."""
        return frame.select([c.polars() for c in self.columns])


class Agg(StrEnum):
    COUNT = "count"
    SUM = "sum"
    AVG = "avg"
    COUNT_DISTINCT = "count_distinct"


class Measure(_Frozen):
    """One aggregate: output name, aggregation, source column (none for a row count)."""

    name: str
    agg: Agg
    column: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Measure:
        if (self.agg is Agg.COUNT) != (self.column is None):
            raise TwinError(f"measure {self.name!r}: count takes no column, every other aggregation takes one")
        return self

    def kql(self) -> str:
        return f"{self.name} = {self.agg.value}({self.column or ''})"

    def polars(self) -> pl.Expr:
        if self.agg is Agg.COUNT:
            expr = pl.len().cast(pl.Int64)
        elif self.agg is Agg.SUM:
            expr = pl.col(self.column).sum().cast(pl.Int64)
        elif self.agg is Agg.AVG:
            expr = pl.col(self.column).cast(pl.Float64).mean()
        else:
            expr = pl.col(self.column).drop_nulls().n_unique().cast(pl.Int64)
        return expr.alias(self.name)


class Ratio(_Frozen):
    """floor(numerator / denominator) of two measures, as int64."""

    name: str
    numerator: str
    denominator: str

    def kql(self) -> str:
        return f"{self.name} = tolong(floor(todouble({self.numerator}) / {self.denominator}, 1))"

    def polars(self) -> pl.Expr:
        return (pl.col(self.numerator).cast(pl.Float64) / pl.col(self.denominator)).floor().cast(pl.Int64).alias(self.name)


class Equals(_Frozen):
    """A row filter: a source column equals a string value."""

    column: str
    value: str

    def kql(self) -> str:
        return f"{self.column} == '{self.value}'"

    def polars(self) -> pl.Expr:
        return pl.col(self.column) == self.value


class TimeBin(_Frozen):
    """Epoch-aligned UTC time bin of a source time column."""

    name: str
    column: str
    width: dt.timedelta

    def kql(self, source: Source) -> str:
        return f"{self.name} = bin({source.column(self.column).kql()}, {kql_timespan(self.width)})"

    def polars(self) -> pl.Expr:
        return pl.col(self.column).dt.truncate(polars_duration(self.width)).alias(self.name)


class Kpi(_Frozen):
    """One aggregate computed identically in Eventhouse and in Gold."""

    name: str
    description: str
    # The Gold table that holds this KPI; None for KQL-only aggregates (no twin).
    gold_table: str | None
    source: Source
    keys: tuple[str, ...]
    time_bin: TimeBin
    measures: tuple[Measure, ...]
    ratios: tuple[Ratio, ...] = ()
    filters: tuple[Equals, ...] = ()
    # The KQL materialized view that keeps this KPI up to date, when there is one.
    materialized_view: str | None = None

    @model_validator(mode="after")
    def _check(self) -> Kpi:
        names = self.output_columns
        if len(set(names)) != len(names):
            raise TwinError(f"kpi {self.name!r}: output columns {names} are not unique")
        read = [*self.keys, self.time_bin.column, *(m.column for m in self.measures if m.column),
                *(f.column for f in self.filters)]
        for column in read:
            self.source.column(column)
        measures = {m.name for m in self.measures}
        for ratio in self.ratios:
            if not {ratio.numerator, ratio.denominator} <= measures:
                raise TwinError(f"kpi {self.name!r}: ratio {ratio.name!r} must divide two of its measures")
        return self

    @property
    def output_columns(self) -> tuple[str, ...]:
        """Columns of the KPI table, in order: keys, time bin, measures, ratios."""
        return (*self.keys, self.time_bin.name, *(m.name for m in self.measures), *(r.name for r in self.ratios))

    @property
    def aggregate_columns(self) -> tuple[str, ...]:
        """Columns a materialized view can hold: everything but the ratios (a view ends with summarize)."""
        return (*self.keys, self.time_bin.name, *(m.name for m in self.measures))

    def kql_mapped_columns(self) -> tuple[SourceColumn, ...]:
        """Source columns KQL must compute with ``extend`` before aggregating (renamed or converted)."""
        used = {*self.keys, *(m.column for m in self.measures if m.column), *(f.column for f in self.filters)}
        return tuple(c for c in self.source.columns if c.name in used and c.kql() != c.name)

    def kql_aggregation(self, prefilter: str | None = None) -> list[str]:
        """The KQL pipeline computing the KPI's aggregate columns, one operator per line."""
        lines = [self.source.kql]
        if prefilter:
            lines.append(f"| where {prefilter}")
        mapped = self.kql_mapped_columns()
        if mapped:
            lines.append("| extend " + ", ".join(f"{c.name} = {c.kql()}" for c in mapped))
        conditions = [f"isnotempty({k})" for k in self.keys] + [f.kql() for f in self.filters]
        lines.append("| where " + " and ".join(conditions))
        by = ", ".join([*self.keys, self.time_bin.kql(self.source)])
        lines.append("| summarize " + ", ".join(m.kql() for m in self.measures) + f" by {by}")
        return lines

    def kql_time_column(self) -> str:
        """The source's time column as KQL names it."""
        return self.source.column(self.time_bin.column).kql()

    def polars(self, source: pl.LazyFrame) -> pl.LazyFrame:
        """The KPI from a frame with the Gold-side source columns (e.g. a Silver fact scan)."""
        schema = source.collect_schema()
        keep = [f.polars() for f in self.filters]
        for key in self.keys:
            present = pl.col(key).is_not_null()
            keep.append(present & (pl.col(key) != "") if schema[key] == pl.String else present)
        aggregated = (
            source.filter(*keep)
            .group_by(*self.keys, self.time_bin.polars())
            .agg(*(m.polars() for m in self.measures))
        )
        return aggregated.with_columns(*(r.polars() for r in self.ratios)).select(self.output_columns)


class Window(_Frozen):
    """The bins a queryset shows: the last ``bins`` bins, with or without the one still filling."""

    bins: int = PydanticField(gt=0)
    include_current: bool = True

    def kql(self, column: str, width: dt.timedelta) -> str:
        current = f"bin(now(), {kql_timespan(width)})"
        back = self.bins - 1 if self.include_current else self.bins
        start = f"{current} - {kql_timespan(width * back)}" if back else current
        condition = f"{column} >= {start}"
        return condition if self.include_current else f"{condition} and {column} < {current}"

    def polars(self, column: str, width: dt.timedelta, now: dt.datetime) -> pl.Expr:
        current = pl.lit(now).dt.truncate(polars_duration(width))
        back = self.bins - 1 if self.include_current else self.bins
        condition = pl.col(column) >= current - pl.duration(seconds=int(width.total_seconds()) * back)
        return condition if self.include_current else condition & (pl.col(column) < current)


class Top(_Frozen):
    """Keep the ``n`` rows with the highest ``by``."""

    n: int = PydanticField(gt=0)
    by: str


class QuerysetView(_Frozen):
    """A queryset that shows rows of a KPI: a window of its bins, optionally the top rows."""

    name: str
    description: str
    kpi: Kpi
    window: Window
    top: Top | None = None
    order_by: tuple[tuple[str, Literal["asc", "desc"]], ...] = ()

    def kql(self) -> list[str]:
        """The queryset's query, one operator per line.

        With a materialized view the rows are read from it; otherwise the aggregation runs on the
        source, restricted to whole bins of the window before aggregating.
        """
        kpi = self.kpi
        width = kpi.time_bin.width
        if kpi.materialized_view:
            lines = [kpi.materialized_view, f"| where {self.window.kql(kpi.time_bin.name, width)}"]
        else:
            lines = kpi.kql_aggregation(prefilter=self.window.kql(kpi.kql_time_column(), width))
        if kpi.ratios:
            lines.append("| extend " + ", ".join(r.kql() for r in kpi.ratios))
        if self.top:
            lines.append(f"| top {self.top.n} by {self.top.by} desc")
        elif self.order_by:
            lines.append("| order by " + ", ".join(f"{c} {d}" for c, d in self.order_by))
        return lines

    def polars(self, kpi_rows: pl.LazyFrame, now: dt.datetime) -> pl.LazyFrame:
        """The queryset's rows from the full KPI table (what Gold holds), at time ``now``."""
        kpi = self.kpi
        rows = kpi_rows.filter(self.window.polars(kpi.time_bin.name, kpi.time_bin.width, now))
        if self.top:
            rows = rows.sort(self.top.by, descending=True).head(self.top.n)
        return rows


MINUTE = dt.timedelta(minutes=1)
QUARTER_HOUR = dt.timedelta(minutes=15)
DAY = dt.timedelta(days=1)

# Every event's ``ingest_timestamp`` is its business time; Silver stores it as the fact's event_ts.
_EVENT_TS = Field(name="event_ts", kql_column="ingest_timestamp")

SALES_MINUTE_STORE = Kpi(
    name="sales_minute_store",
    description="Store sales per minute: receipts, their total and the average basket (reference gold.sales_minute_store).",
    gold_table="sales_minute_store",
    source=Source(
        kql="receipt_created",
        fact="fact_receipts",
    gold="silver/fact_receipts",
        columns=(_EVENT_TS, Field(name="store_id"), Cents(name="total_cents", dollars="total", cents="total_cents")),
    ),
    keys=("store_id",),
    time_bin=TimeBin(name="ts", column="event_ts", width=MINUTE),
    measures=(
        Measure(name="total_sales_cents", agg=Agg.SUM, column="total_cents"),
        Measure(name="receipts", agg=Agg.COUNT),
    ),
    ratios=(Ratio(name="avg_basket_cents", numerator="total_sales_cents", denominator="receipts"),),
    materialized_view="mv_store_sales_minute",
)

_RECEIPT_LINES = Source(
    kql="receipt_line_added",
    fact="fact_receipt_lines",
    gold="silver/fact_receipt_lines",
    columns=(
        _EVENT_TS,
        Field(name="product_id"),
        Field(name="quantity"),
        Cents(name="ext_price_cents", dollars="extended_price"),
    ),
)
_PRODUCT_SALES = (
    Measure(name="revenue_cents", agg=Agg.SUM, column="ext_price_cents"),
    Measure(name="units", agg=Agg.SUM, column="quantity"),
)

TOP_PRODUCTS_15M = Kpi(
    name="top_products_15m",
    description="Revenue and units per product and 15-minute window (reference gold.top_products_15m).",
    gold_table="top_products_15m",
    source=_RECEIPT_LINES,
    keys=("product_id",),
    time_bin=TimeBin(name="ts", column="event_ts", width=QUARTER_HOUR),
    measures=_PRODUCT_SALES,
    materialized_view="mv_top_products_15m",
)

SALES_PRODUCT_MINUTE = Kpi(
    name="sales_product_minute",
    description="Revenue and units per product and minute (Eventhouse only; Gold keeps 15-minute windows).",
    gold_table=None,
    source=_RECEIPT_LINES,
    keys=("product_id",),
    time_bin=TimeBin(name="ts", column="event_ts", width=MINUTE),
    measures=_PRODUCT_SALES,
    materialized_view="mv_sales_product_minute",
)

TENDER_MIX_15M = Kpi(
    name="tender_mix_15m",
    description=(
        "Approved payment amounts per payment method and 15-minute window (Eventhouse only; Gold's "
        "tender_mix_daily counts receipts per day instead)."
    ),
    gold_table=None,
    source=Source(
        kql="payment_processed",
        fact="fact_payments",
    gold="silver/fact_payments",
        columns=(
            _EVENT_TS,
            Field(name="payment_method"),
            Field(name="status"),
            Cents(name="amount_cents", dollars="amount", cents="amount_cents"),
        ),
    ),
    keys=("payment_method",),
    time_bin=TimeBin(name="ts", column="event_ts", width=QUARTER_HOUR),
    measures=(
        Measure(name="amount_cents", agg=Agg.SUM, column="amount_cents"),
        Measure(name="payments", agg=Agg.COUNT),
    ),
    filters=(Equals(column="status", value="APPROVED"),),
    materialized_view="mv_tender_mix_15m",
)

ZONE_DWELL_MINUTE = Kpi(
    name="zone_dwell_minute",
    description="People counted and their average dwell per store zone and minute (reference gold.zone_dwell_minute).",
    gold_table="zone_dwell_minute",
    source=Source(
        kql="customer_entered",
        fact="fact_foot_traffic",
    gold="silver/fact_foot_traffic",
        columns=(
            _EVENT_TS,
            Field(name="store_id"),
            Field(name="zone"),
            Field(name="dwell_seconds", kql_column="dwell_time"),
            Field(name="customer_count"),
        ),
    ),
    keys=("store_id", "zone"),
    time_bin=TimeBin(name="ts", column="event_ts", width=MINUTE),
    measures=(
        Measure(name="avg_dwell_seconds", agg=Agg.AVG, column="dwell_seconds"),
        Measure(name="customers", agg=Agg.SUM, column="customer_count"),
    ),
    materialized_view="mv_zone_dwell_minute",
)

MARKETING_COST_DAILY = Kpi(
    name="marketing_cost_daily",
    description="Ad impressions and their cost per campaign and UTC day (reference gold.marketing_cost_daily).",
    gold_table="marketing_cost_daily",
    source=Source(
        kql="ad_impression",
        fact="fact_marketing",
    gold="silver/fact_marketing",
        columns=(_EVENT_TS, Field(name="campaign_id"), Cents(name="cost_cents", dollars="cost")),
    ),
    keys=("campaign_id",),
    time_bin=TimeBin(name="day", column="event_ts", width=DAY),
    measures=(
        Measure(name="impressions", agg=Agg.COUNT),
        Measure(name="cost_cents", agg=Agg.SUM, column="cost_cents"),
    ),
)

# One row per shipment (truck_id, dc_id, store_id, shipment_id): first arrival, last departure.
# KQL: fn_truck_sla(). Gold: the same from silver/fact_truck_moves (see shipment_dwell).
SHIPMENT_DWELL_COLUMNS = ("truck_id", "dc_id", "store_id", "shipment_id", "site", "arrival_time",
                          "departure_time", "dwell_minutes")

TRUCK_DWELL_DAILY = Kpi(
    name="truck_dwell_daily",
    description=(
        "Average dwell from first arrival to last departure, per site (STORE_<id> or DC_<id>) and UTC day of "
        "arrival, each shipment counted once (reference gold.truck_dwell_daily, which counted every status row)."
    ),
    gold_table="truck_dwell_daily",
    source=Source(
        kql="fn_truck_sla()",
        fact=None,
        gold="shipment_dwell(arrivals, departures) over silver/fact_truck_moves",
        columns=(Field(name="site"), Field(name="arrival_time"), Field(name="truck_id"), Field(name="dwell_minutes")),
    ),
    keys=("site",),
    time_bin=TimeBin(name="day", column="arrival_time", width=DAY),
    measures=(
        Measure(name="avg_dwell_minutes", agg=Agg.AVG, column="dwell_minutes"),
        Measure(name="trucks", agg=Agg.COUNT_DISTINCT, column="truck_id"),
        Measure(name="shipments", agg=Agg.COUNT),
    ),
)

KPIS: dict[str, Kpi] = {
    k.name: k
    for k in (
        SALES_MINUTE_STORE,
        TOP_PRODUCTS_15M,
        SALES_PRODUCT_MINUTE,
        TENDER_MIX_15M,
        ZONE_DWELL_MINUTE,
        MARKETING_COST_DAILY,
        TRUCK_DWELL_DAILY,
    )
}

# Querysets that show rows of a KPI (the other querysets are written out in lib/kql/querysets.py).
QUERYSET_VIEWS: dict[str, QuerysetView] = {
    q.name: q
    for q in (
        QuerysetView(
            name="q_receipts_minute_by_store",
            description="Sales, receipts and average basket per store and minute, last 60 minutes.",
            kpi=SALES_MINUTE_STORE,
            window=Window(bins=60),
            order_by=(("ts", "desc"), ("store_id", "asc")),
        ),
        QuerysetView(
            name="q_top_products_by_sales",
            description="Top 25 products by revenue in the last complete 15-minute window, with units.",
            kpi=TOP_PRODUCTS_15M,
            window=Window(bins=1, include_current=False),
            top=Top(n=25, by="revenue_cents"),
        ),
        QuerysetView(
            name="q_zone_dwell_heatmap",
            description="People counted and average dwell per store zone and minute, last 30 minutes (a heatmap).",
            kpi=ZONE_DWELL_MINUTE,
            window=Window(bins=30),
            order_by=(("store_id", "asc"), ("zone", "asc"), ("ts", "asc")),
        ),
        QuerysetView(
            name="q_marketing_cost_24h",
            description="Impressions and cost per campaign for today and yesterday (UTC days), costliest first.",
            kpi=MARKETING_COST_DAILY,
            window=Window(bins=2),
            order_by=(("day", "desc"), ("cost_cents", "desc")),
        ),
        QuerysetView(
            name="q_truck_dwell_by_site",
            description=(
                "Average dwell minutes, trucks and shipments per site for today and yesterday (UTC days of "
                "arrival), from fn_truck_sla()."
            ),
            kpi=TRUCK_DWELL_DAILY,
            window=Window(bins=2),
            order_by=(("day", "desc"), ("avg_dwell_minutes", "desc")),
        ),
        QuerysetView(
            name="q_tender_mix",
            description="Approved payment amounts and counts per payment method in the last complete 15-minute window.",
            kpi=TENDER_MIX_15M,
            window=Window(bins=1, include_current=False),
            order_by=(("amount_cents", "desc"),),
        ),
    )
}


def twins() -> dict[str, Kpi]:
    """Every KQL object (materialized view or queryset) that has a Gold twin, with its KPI."""
    objects = {k.materialized_view: k for k in KPIS.values() if k.gold_table and k.materialized_view}
    objects.update({q.name: q.kpi for q in QUERYSET_VIEWS.values() if q.kpi.gold_table})
    return objects


def shipment_dwell(arrivals: pl.LazyFrame, departures: pl.LazyFrame) -> pl.LazyFrame:
    """One row per shipment with its dwell: the polars twin of KQL ``fn_truck_sla()``.

    ``arrivals`` has truck_id, dc_id, store_id, shipment_id, arrival_time; ``departures`` the same
    keys and departure_time (Gold: the ARRIVED and COMPLETED rows of fact_truck_moves). The first
    arrival and last departure of a shipment count; shipments without both, or whose departure is
    not after the arrival, are left out.
    """
    keys = ["truck_id", "dc_id", "store_id", "shipment_id"]
    first = arrivals.group_by(keys).agg(pl.col("arrival_time").min())
    last = departures.group_by(keys).agg(pl.col("departure_time").max())
    dwell_minutes = (pl.col("departure_time") - pl.col("arrival_time")).dt.total_microseconds() / 60_000_000
    site = (
        pl.when(pl.col("store_id").is_not_null())
        .then(pl.lit("STORE_") + pl.col("store_id").cast(pl.String))
        .otherwise(pl.lit("DC_") + pl.col("dc_id").cast(pl.String))
    )
    return (
        first.join(last, on=keys, how="inner", nulls_equal=True)
        .filter(pl.col("departure_time") > pl.col("arrival_time"))
        .with_columns(site=site, dwell_minutes=dwell_minutes)
        .select(SHIPMENT_DWELL_COLUMNS)
    )
