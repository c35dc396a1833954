"""gold/alerts: its spec, build and reconciliation, and the six business alert rules it is made of.

The alerts are computed over a month of Silver by the rules of ``kql/rules`` and ``lib/alerts.py``.

Each function returns one row per alert occurrence in the columns of ``gold/alerts``. The same
functions feed the WARN asset checks on the Gold tables (metadata names the entities) and the
``gold/alerts`` table, and their thresholds are those of :class:`AlertThresholds`, which also
renders the KQL rules. An alert id is ``<alert_type>:<natural key>`` (the receipt, the stockout's
trace id, the shipment, campaign and day, store zone and window), so recomputing a month gives the
same ids and the delivery sensor can tell new alerts from delivered ones.

Where the KQL rules look at the last few minutes of events, Gold applies the same condition to every
row of the month; the truck rule's "still at the dock" uses the latest truck movement in the data
(this month and the next) instead of ``now()``.
"""

from __future__ import annotations

from collections.abc import Callable

import polars as pl

from retail_assets.lib import alerts as rules
from retail_assets.lib.gold.columns import date_key_column, inputs, site_dc, site_store
from retail_assets.lib.gold.frames import GoldInputs, count_rows, in_month, with_calendar
from retail_assets.lib.gold.model import GoldTable, gold_columns
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.gold.shipments import SHIPMENT_KEYS, arrivals, departures, shipments_arrived
from retail_assets.lib.kpi_twins import MARKETING_COST_DAILY
from retail_assets.lib.specs import DType as D
from retail_assets.lib.specs import polars_schema
from retail_assets.lib.specs.columns import col

ALERTS = GoldTable(
    name="alerts",
    origin="reference rules (§12.7) and deployment guide alerts",
    description=(
        "One row per business-alert occurrence (stockout, high-value receipt, truck dwell over SLA, campaign over "
        "budget, URGENT reorder, overcrowded zone) with a deterministic id, so re-running a month changes nothing and "
        "the delivery sensor never sends one twice. Thresholds come from lib/alerts.py (RETAIL_ALERT_*), like the KQL "
        "rules."
    ),
    grain="alert occurrence",
    refresh="month",
    formula=(
        "Per alert type, the rule of kql/rules applied to the month's Silver rows instead of the last minutes, the "
        "store's normal read from the month instead of the last baseline_days: stockout = the first fact_stockouts "
        "row of a UTC day per store and product, for the store's fast movers (units sold this month at or above the "
        "store's 1 - stockout_fast_mover_share quantile of units per product); high_value_receipt = receipts with "
        "total_cents above both high_value_receipt_cents and the store's high_value_receipt_quantile of SALE totals; "
        "truck_dwell_over_sla = shipments (shipment_dwell, first arrival to last departure) arriving in the month with "
        "dwell > truck_dwell_sla_minutes (DEPARTED_LATE), and shipments still without a departure more than the SLA "
        "after arriving, within truck_open_horizon_hours of the latest truck move seen (STILL_AT_DOCK); "
        "campaign_over_budget = marketing_cost_daily rows with cost_cents > the campaign's daily budget; "
        "urgent_reorder = reorders with priority URGENT; overcrowded_zone = hourly fact_foot_traffic readings above "
        "zone_crowding_factor x the zone's median reading for that UTC hour and above zone_min_customers. "
        "action = lib/alerts.ACTIONS of the type."
    ),
    reconciliation="urgent_reorder alerts = Silver URGENT reorders, per month.",
    columns=(
        col("alert_id", D.STRING, "Deterministic id: <alert_type>:<natural key of what raised it>."),
        col("alert_type", D.STRING, "Which alert."),
        col("occurred_at", D.TIMESTAMP, "Time of what raised it (detection, receipt, arrival, day, window start)."),
        site_store("Store concerned, when any (dim_stores.store_id)."),
        site_dc("Distribution centre concerned, when any (dim_distribution_centers.dc_id)."),
        col(
            "product_id",
            D.INT64,
            "Product concerned, when any (dim_products.product_id).",
            nullable=True,
            references="dim_products",
        ),
        col(
            "truck_id",
            D.INT64,
            "Truck concerned, when any (dim_trucks.truck_id).",
            nullable=True,
            references="dim_trucks",
        ),
        col("shipment_id", D.STRING, "Shipment concerned, when any.", nullable=True),
        col("campaign_id", D.STRING, "Campaign concerned, when any.", nullable=True),
        col("zone", D.STRING, "Store zone concerned, when any.", nullable=True),
        col("receipt_id", D.STRING, "Receipt concerned, when any.", nullable=True),
        col("observed_value", D.FLOAT64, "The measured value that crossed the threshold."),
        col(
            "threshold_value",
            D.FLOAT64,
            "The threshold it crossed (0 for stockouts; the reorder point for URGENT reorders).",
        ),
        col("unit", D.STRING, "Unit of observed/threshold_value: cents, minutes, people, seconds or units."),
        col("message", D.STRING, "One-line human description naming the entities."),
        col("action", D.STRING, "What the store manager (or DC, marketing) should do about it."),
        date_key_column(),
    ),
    key=("alert_id",),
    time_column="occurred_at",
    inputs=inputs(
        "fact_stockouts",
        "fact_receipts",
        "fact_receipt_lines",
        ("fact_truck_moves", 0, 1),
        "fact_marketing",
        "fact_reorders",
        "fact_foot_traffic",
    ),
)

ALERT_SCHEMA = polars_schema(gold_columns(ALERTS))
ENTITY_COLUMNS = ("store_id", "dc_id", "product_id", "truck_id", "shipment_id", "campaign_id", "zone", "receipt_id")
_OUTPUT = [c for c in ALERT_SCHEMA if c not in ("date_key", "month_start")]


def _text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def dollars(cents: pl.Expr) -> pl.Expr:
    """Cents as a dollar string with two decimals ($1,234.50 → "1234.50"), exact for any integer."""
    whole = (cents.abs() // 100).cast(pl.String)
    part = (cents.abs() % 100).cast(pl.String).str.zfill(2)
    sign = pl.when(cents < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str([sign, whole, pl.lit("."), part])


def _alerts(
    frame: pl.LazyFrame,
    alert_type: str,
    *,
    key: pl.Expr,
    occurred_at: pl.Expr,
    observed: pl.Expr,
    threshold: pl.Expr,
    unit: str | pl.Expr,
    message: pl.Expr,
    **entities: pl.Expr,
) -> pl.LazyFrame:
    values = {
        "alert_id": pl.concat_str([pl.lit(f"{alert_type}:"), _text(key)]),
        "alert_type": pl.lit(alert_type),
        "occurred_at": occurred_at,
        **{c: entities.get(c, pl.lit(None)) for c in ENTITY_COLUMNS},
        "observed_value": observed.cast(pl.Float64),
        "threshold_value": threshold.cast(pl.Float64),
        "unit": pl.lit(unit) if isinstance(unit, str) else unit,
        "message": message,
        "action": pl.lit(rules.ACTIONS[alert_type]),
    }
    return frame.select(**{name: expr.cast(ALERT_SCHEMA[name]) for name, expr in values.items()}).select(_OUTPUT)


def fast_movers(inp: GoldInputs) -> pl.LazyFrame:
    """(store_id, product_id) of each store's fast movers this month: units sold at or above the store's
    (1 - stockout_fast_mover_share) quantile of units per product sold (the KQL rule's percentile)."""
    sales = inp.this_month("fact_receipts").filter(pl.col("receipt_type") == "SALE").select("receipt_id", "store_id")
    units = (
        inp.this_month("fact_receipt_lines")
        .join(sales, on="receipt_id")
        .group_by("store_id", "product_id")
        .agg(pl.col("quantity").sum().alias("units"))
    )
    q = 1 - inp.thresholds.stockout_fast_mover_share
    return units.filter(pl.col("units") >= pl.col("units").quantile(q, "lower").over("store_id")).select(
        "store_id", "product_id"
    )


def stockout_alerts(inp: GoldInputs) -> pl.LazyFrame:
    """A store's fast mover ran out: once per empty shelf. A stockout within stockout_repeat_hours of the
    store-product's previous one (this month) is the same shelf, detected again the next morning."""
    repeat = pl.duration(hours=inp.thresholds.stockout_repeat_hours)
    first = (
        inp.this_month("fact_stockouts")
        .filter(pl.col("store_id").is_not_null())
        .join(fast_movers(inp), on=["store_id", "product_id"], how="semi")
        .sort("store_id", "product_id", "event_ts", "trace_id")
        .with_columns(pl.col("event_ts").shift(1).over("store_id", "product_id").alias("__previous"))
        .filter(pl.col("__previous").is_null() | (pl.col("event_ts") - pl.col("__previous") > repeat))
        .sort("event_ts", "trace_id")
    )
    return _alerts(
        first,
        rules.STOCKOUT,
        key=pl.col("trace_id"),
        occurred_at=pl.col("event_ts"),
        observed=pl.col("last_known_quantity"),
        threshold=pl.lit(0),
        unit="units",
        message=pl.format(
            "fast mover product {} ran out at store {} (last movement took {} units)",
            "product_id",
            "store_id",
            "last_known_quantity",
        ),
        store_id=pl.col("store_id"),
        product_id=pl.col("product_id"),
    )


def high_value_receipt_alerts(inp: GoldInputs) -> pl.LazyFrame:
    """Receipts above both the floor and the store's high_value_receipt_quantile of SALE totals this month."""
    config = inp.thresholds
    receipts = inp.this_month("fact_receipts")
    limits = (
        receipts.filter(pl.col("receipt_type") == "SALE")
        .group_by("store_id")
        .agg(pl.col("total_cents").quantile(config.high_value_receipt_quantile, "lower").alias("__tail"))
        .with_columns(pl.max_horizontal("__tail", pl.lit(config.high_value_receipt_cents)).cast(pl.Int64).alias("__limit"))
    )
    high = receipts.join(limits, on="store_id").filter(pl.col("total_cents") > pl.col("__limit"))
    return _alerts(
        high,
        rules.HIGH_VALUE_RECEIPT,
        key=pl.col("receipt_id"),
        occurred_at=pl.col("event_ts"),
        observed=pl.col("total_cents"),
        threshold=pl.col("__limit"),
        unit="cents",
        message=pl.format(
            "receipt {} at store {}: total ${} is above ${}, the store's top {} of receipts",
            "receipt_id",
            "store_id",
            dollars(pl.col("total_cents")),
            dollars(pl.col("__limit")),
            pl.lit(f"{(1 - config.high_value_receipt_quantile) * 100:g} %"),
        ),
        store_id=pl.col("store_id"),
        receipt_id=pl.col("receipt_id"),
    )


def truck_dwell_alerts(inp: GoldInputs) -> pl.LazyFrame:
    sla = inp.thresholds.truck_dwell_sla_minutes
    late = (
        shipments_arrived(inp)
        .filter(pl.col("dwell_minutes") > sla)
        .with_columns(pl.lit("departed after").alias("__how"))
    )
    horizon = inp.fact("fact_truck_moves").select(pl.col("event_ts").max().alias("__horizon"))
    open_horizon = pl.duration(hours=inp.thresholds.truck_open_horizon_hours)
    still = (
        arrivals(inp)
        .group_by(SHIPMENT_KEYS)
        .agg(pl.col("arrival_time").min())
        .filter(in_month("arrival_time", inp.month))
        .join(departures(inp).select(SHIPMENT_KEYS).unique(), on=SHIPMENT_KEYS, how="anti", nulls_equal=True)
        .join(horizon, how="cross")
        .with_columns(
            ((pl.col("__horizon") - pl.col("arrival_time")).dt.total_microseconds() / 60_000_000).alias(
                "dwell_minutes"
            ),
            pl.when(pl.col("store_id").is_not_null())
            .then(pl.format("STORE_{}", "store_id"))
            .otherwise(pl.format("DC_{}", "dc_id"))
            .alias("site"),
            pl.lit("still at the dock after").alias("__how"),
        )
        .filter((pl.col("dwell_minutes") > sla) & (pl.col("arrival_time") > pl.col("__horizon") - open_horizon))
    )
    columns = [*SHIPMENT_KEYS, "site", "arrival_time", "dwell_minutes", "__how"]
    stays = pl.concat([late.select(columns), still.select(columns)])
    return _alerts(
        stays,
        rules.TRUCK_DWELL_OVER_SLA,
        key=pl.col("shipment_id"),
        occurred_at=pl.col("arrival_time"),
        observed=pl.col("dwell_minutes"),
        threshold=pl.lit(sla),
        unit="minutes",
        message=pl.format(
            "truck {} at {} (shipment {}) {} {} min; SLA {} min",
            "truck_id",
            "site",
            "shipment_id",
            "__how",
            pl.col("dwell_minutes").round(0).cast(pl.Int64),
            pl.lit(sla),
        ),
        store_id=pl.col("store_id"),
        dc_id=pl.col("dc_id"),
        truck_id=pl.col("truck_id"),
        shipment_id=pl.col("shipment_id"),
    )


def campaign_over_budget_alerts(inp: GoldInputs) -> pl.LazyFrame:
    config = inp.thresholds
    budgets = pl.LazyFrame(
        {
            "campaign_id": list(config.campaign_daily_budgets_cents),
            "__budget": list(config.campaign_daily_budgets_cents.values()),
        },
        schema={"campaign_id": pl.String, "__budget": pl.Int64},
    )
    spend = (
        MARKETING_COST_DAILY.polars(inp.this_month("fact_marketing"))
        .join(budgets, on="campaign_id", how="left")
        .with_columns(pl.col("__budget").fill_null(config.campaign_daily_budget_cents))
        .filter(pl.col("cost_cents") > pl.col("__budget"))
    )
    return _alerts(
        spend,
        rules.CAMPAIGN_OVER_BUDGET,
        key=pl.concat_str([pl.col("campaign_id"), pl.lit(":"), pl.col("day").dt.strftime("%Y-%m-%d")]),
        occurred_at=pl.col("day"),
        observed=pl.col("cost_cents"),
        threshold=pl.col("__budget"),
        unit="cents",
        message=pl.format(
            "campaign {} spent ${} on {} ({} impressions), over its daily budget of ${}",
            "campaign_id",
            dollars(pl.col("cost_cents")),
            pl.col("day").dt.strftime("%Y-%m-%d"),
            "impressions",
            dollars(pl.col("__budget")),
        ),
        campaign_id=pl.col("campaign_id"),
    )


def urgent_reorder_alerts(inp: GoldInputs) -> pl.LazyFrame:
    urgent = inp.this_month("fact_reorders").filter(pl.col("priority") == rules.URGENT_PRIORITY)
    return _alerts(
        urgent,
        rules.URGENT_REORDER,
        key=pl.col("trace_id"),
        occurred_at=pl.col("event_ts"),
        observed=pl.col("current_quantity"),
        threshold=pl.col("reorder_point"),
        unit="units",
        message=pl.format(
            "URGENT reorder of product {} at store {} from DC {}: {} on hand, reorder point {}, {} units requested",
            "product_id",
            "store_id",
            "dc_id",
            "current_quantity",
            "reorder_point",
            "reorder_quantity",
        ),
        store_id=pl.col("store_id"),
        dc_id=pl.col("dc_id"),
        product_id=pl.col("product_id"),
    )


def overcrowded_zone_alerts(inp: GoldInputs) -> pl.LazyFrame:
    """Hourly zone readings far above the zone's normal (median) reading for that UTC hour this month.

    Each fact_foot_traffic row is already an hour's count, so a reading is compared on its own (summing
    readings inside a short window would add hours together)."""
    config = inp.thresholds
    readings = inp.this_month("fact_foot_traffic").with_columns(pl.col("event_ts").dt.hour().alias("__hour"))
    normal = readings.group_by("store_id", "zone", "__hour").agg(
        pl.col("customer_count").cast(pl.Float64).quantile(0.5, "lower").alias("__normal")
    )
    crowded = readings.join(normal, on=["store_id", "zone", "__hour"]).filter(
        (pl.col("customer_count") > config.zone_crowding_factor * pl.col("__normal"))
        & (pl.col("customer_count") > config.zone_min_customers)
    )
    return _alerts(
        crowded,
        rules.OVERCROWDED_ZONE,
        key=pl.concat_str(
            [_text(pl.col("store_id")), pl.lit(":"), pl.col("zone"), pl.lit(":"), pl.col("event_ts").dt.strftime("%Y-%m-%dT%H:%MZ")]
        ),
        occurred_at=pl.col("event_ts"),
        observed=pl.col("customer_count"),
        threshold=config.zone_crowding_factor * pl.col("__normal"),
        unit="people",
        message=pl.format(
            "store {} zone {}: {} people in the hour from {}, {}x its normal {} for that hour",
            "store_id",
            "zone",
            "customer_count",
            pl.col("event_ts").dt.strftime("%Y-%m-%d %H:%M UTC"),
            (pl.col("customer_count") / pl.col("__normal")).round(1),
            pl.col("__normal").cast(pl.Int64),
        ),
        store_id=pl.col("store_id"),
        zone=pl.col("zone"),
    )


ALERT_RULES: dict[str, Callable[[GoldInputs], pl.LazyFrame]] = {
    rules.STOCKOUT: stockout_alerts,
    rules.HIGH_VALUE_RECEIPT: high_value_receipt_alerts,
    rules.TRUCK_DWELL_OVER_SLA: truck_dwell_alerts,
    rules.CAMPAIGN_OVER_BUDGET: campaign_over_budget_alerts,
    rules.URGENT_REORDER: urgent_reorder_alerts,
    rules.OVERCROWDED_ZONE: overcrowded_zone_alerts,
}

# The Gold table whose asset carries each alert's WARN check (it reads the same Silver facts).
ALERT_HOSTS: dict[str, str] = {
    rules.STOCKOUT: "stockouts_daily",
    rules.HIGH_VALUE_RECEIPT: "sales_minute_store",
    rules.TRUCK_DWELL_OVER_SLA: "truck_dwell_daily",
    rules.CAMPAIGN_OVER_BUDGET: "marketing_cost_daily",
    rules.URGENT_REORDER: "reorders_daily",
    rules.OVERCROWDED_ZONE: "zone_dwell_minute",
}


def alerts(inp: GoldInputs) -> pl.LazyFrame:
    """Every alert of the month, in the columns of ``gold/alerts``."""
    every = pl.concat([rule(inp) for rule in ALERT_RULES.values()])
    return with_calendar(every, "occurred_at", inp.month)


def reconcile_alerts(inp: GoldInputs, gold: pl.LazyFrame) -> list[Balance]:
    def alerts_of(alert_type: str) -> int:
        return count_rows(gold.filter(pl.col("alert_type") == alert_type))

    return [
        Balance(
            rules.URGENT_REORDER,
            alerts_of(rules.URGENT_REORDER),
            count_rows(inp.this_month("fact_reorders").filter(pl.col("priority") == rules.URGENT_PRIORITY)),
        ),
    ]


def entities(alerts: pl.DataFrame, limit: int = 50) -> dict[str, list]:
    """The distinct entities the alerts name, per entity column (at most ``limit`` each)."""
    named = {}
    for column in ENTITY_COLUMNS:
        values = alerts.get_column(column).drop_nulls().unique().sort()
        if values.len():
            named[column] = values.head(limit).to_list()
    return named
