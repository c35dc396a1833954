"""``querysets/*.kql``: the 11 dashboard querysets (reference spec §12.5), one query per file.

Querysets that show rows of a KPI are rendered from ``kpi_twins.QUERYSET_VIEWS``; a twin's rows
are exactly rows of its Gold table. The others are written out here. Fixed against the
reference: q_truck_dwell_by_site reads fn_truck_sla() (the reference read a view that never
existed), q_campaign_conversion_funnel uses fn_marketing_attribution() instead of a trace-id join
that never matched, and q_stockouts_open_by_store leaves out stockouts already restocked.
"""

from __future__ import annotations

from dataclasses import dataclass

from retail_assets.lib.kpi_twins import QUERYSET_VIEWS, Cents, QuerysetView
from retail_assets.lib.money import kql_dollars_to_cents
from retail_assets.lib.kql import text
from retail_assets.lib.kql.functions import MARKETING_ATTRIBUTION

FOLDER = "querysets"


@dataclass(frozen=True)
class Queryset:
    name: str
    description: str
    lines: tuple[str, ...]
    # Gold table with the same rows, when the queryset shows a KPI that has a Gold twin.
    gold_table: str | None = None

    @property
    def path(self) -> str:
        return f"{FOLDER}/{self.name}.kql"

    def render(self) -> str:
        notes = [self.description]
        if self.gold_table:
            notes.append(
                f"Gold twin: gold/{self.gold_table} (same rows; formula in retail_assets/lib/kpi_twins.py)."
            )
        return text.query(f"{self.name}.kql", notes, self.lines)


def _from_view(view: QuerysetView) -> Queryset:
    return Queryset(view.name, view.description, tuple(view.kql()), view.kpi.gold_table)


def _cents(name: str, dollars: str) -> str:
    return f"{name} = {Cents(name=name, dollars=dollars, cents=name).kql()}"


ONLINE_ORDERS_15M = Queryset(
    name="q_online_orders_15m",
    description="Online orders of the last 15 minutes: count, subtotal, tax, total and average order value.",
    lines=(
        "online_order_created",
        "| where ingest_timestamp > ago(15m)",
        "| extend " + ",\n    ".join(_cents(f"{m}_cents", m) for m in ("subtotal", "tax", "total")),
        "| summarize orders = count(), subtotal_cents = sum(subtotal_cents), tax_cents = sum(tax_cents),",
        "    total_cents = sum(total_cents)",
        "| extend avg_order_value_cents = iff(orders > 0, tolong(floor(todouble(total_cents) / orders, 1)), long(0))",
    ),
)

_STAGES = (("1_CREATED", "online_order_created"), ("2_PICKED", "online_order_picked"),
           ("3_SHIPPED", "online_order_shipped"))

FULFILLMENT_PIPELINE_24H = Queryset(
    name="q_fulfillment_pipeline_24h",
    description="Online order events of the last 24 hours per fulfilment stage and mode: events and distinct orders.",
    lines=(
        "let since = ago(24h);",
        "union",
        *(
            f"    ({table} | where ingest_timestamp > since"
            f" | project stage = '{stage}', order_id, fulfillment_mode){',' if i < len(_STAGES) - 1 else ''}"
            for i, (stage, table) in enumerate(_STAGES)
        ),
        "| summarize events = count(), orders = count_distinct(order_id) by stage, fulfillment_mode",
        "| order by stage asc, fulfillment_mode asc",
    ),
)

BLE_PRESENCE_30M = Queryset(
    name="q_ble_presence_30m",
    description="Distinct shopper devices seen by store beacons in the last 30 minutes, per store.",
    lines=(
        "ble_ping_detected",
        "| where ingest_timestamp > ago(30m)",
        "| summarize devices = count_distinct(customer_ble_id), pings = count() by store_id",
        "| order by devices desc",
    ),
)

STOCKOUTS_OPEN_BY_STORE = Queryset(
    name="q_stockouts_open_by_store",
    description=(
        "Store stockouts of the last 24 hours not yet restocked: the latest detection per store and product, "
        "unless a positive stock movement followed it."
    ),
    lines=(
        "let since = ago(24h);",
        "let restocks = inventory_updated",
        "    | where ingest_timestamp > since and isnotnull(store_id) and quantity_delta > 0",
        "    | summarize last_restock = max(ingest_timestamp) by store_id, product_id;",
        "stockout_detected",
        "| where ingest_timestamp > since and isnotnull(store_id)",
        "| summarize arg_max(detection_time, last_known_quantity, trace_id) by store_id, product_id",
        "| lookup kind=leftouter restocks on store_id, product_id",
        "| where isnull(last_restock) or last_restock < detection_time",
        "| project store_id, product_id, detection_time, last_known_quantity, trace_id",
        "| order by detection_time desc",
    ),
)

CAMPAIGN_CONVERSION_FUNNEL = Queryset(
    name="q_campaign_conversion_funnel",
    description=(
        f"Per campaign over the last 7 days: impressions and spend, purchases attributed by "
        f"{MARKETING_ATTRIBUTION}() and their revenue, conversion rate and return on ad spend."
    ),
    lines=(
        "let lookback = 7d;",
        "let spend = ad_impression",
        "    | where ingest_timestamp > ago(lookback)",
        f"    | summarize impressions = count(), spend_cents = sum({kql_dollars_to_cents('cost')}) by campaign_id;",
        f"let conversions = {MARKETING_ATTRIBUTION}()",
        "    | where purchase_time > ago(lookback)",
        "    | summarize conversions = count(), attributed_revenue_cents = sum(revenue_cents) by campaign_id;",
        "spend",
        "| lookup kind=leftouter conversions on campaign_id",
        "| extend conversions = coalesce(conversions, 0), attributed_revenue_cents = coalesce(attributed_revenue_cents, 0)",
        "| extend conversion_rate = iff(impressions > 0, todouble(conversions) / impressions, 0.0),",
        "    roas = iff(spend_cents > 0, todouble(attributed_revenue_cents) / spend_cents, 0.0)",
        "| order by attributed_revenue_cents desc",
    ),
)


def querysets() -> list[Queryset]:
    """All 11 querysets, by name."""
    written = [ONLINE_ORDERS_15M, FULFILLMENT_PIPELINE_24H, BLE_PRESENCE_30M, STOCKOUTS_OPEN_BY_STORE,
               CAMPAIGN_CONVERSION_FUNNEL]
    return sorted([*(_from_view(v) for v in QUERYSET_VIEWS.values()), *written], key=lambda q: q.name)


def render() -> dict[str, str]:
    return {q.path: q.render() for q in querysets()}
