"""Which transform computes each Gold table and which identities reconcile it (specs in lib/gold/specs.py)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import polars as pl

from retail_assets.lib.gold import alerts, customers, inventory, logistics, marketing, promotions, sales, traffic
from retail_assets.lib.gold.frames import GoldInputs
from retail_assets.lib.gold.reconcile import Balance
from retail_assets.lib.gold.specs import GOLD
from retail_assets.lib.specs import SpecError


@dataclass(frozen=True)
class Builder:
    build: Callable[[GoldInputs], pl.LazyFrame]
    reconcile: Callable[[GoldInputs, pl.LazyFrame], list[Balance]]


def _positions(table: str) -> Builder:
    return Builder(partial(inventory.positions, table=table), partial(inventory.reconcile_positions, table=table))


BUILDERS: dict[str, Builder] = {
    "sales_minute_store": Builder(sales.sales_minute_store, sales.reconcile_sales_minute_store),
    "top_products_15m": Builder(sales.top_products_15m, sales.reconcile_top_products_15m),
    "inventory_position_current": _positions("inventory_position_current"),
    "dc_inventory_position_current": _positions("dc_inventory_position_current"),
    "truck_dwell_daily": Builder(logistics.truck_dwell_daily, logistics.reconcile_truck_dwell_daily),
    "online_sales_daily": Builder(sales.online_sales_daily, sales.reconcile_online_sales_daily),
    "fulfillment_daily": Builder(logistics.fulfillment_daily, logistics.reconcile_fulfillment_daily),
    "zone_dwell_minute": Builder(traffic.zone_dwell_minute, traffic.reconcile_zone_dwell_minute),
    "ble_presence_minute": Builder(traffic.ble_presence_minute, traffic.reconcile_ble_presence_minute),
    "marketing_cost_daily": Builder(marketing.marketing_cost_daily, marketing.reconcile_marketing_cost_daily),
    "campaign_revenue_daily": Builder(marketing.campaign_revenue_daily, marketing.reconcile_campaign_revenue_daily),
    "tender_mix_daily": Builder(sales.tender_mix_daily, sales.reconcile_tender_mix_daily),
    "stockouts_daily": Builder(inventory.stockouts_daily, inventory.reconcile_stockouts_daily),
    "reorders_daily": Builder(inventory.reorders_daily, inventory.reconcile_reorders_daily),
    "promo_performance_daily": Builder(
        promotions.promo_performance_daily, promotions.reconcile_promo_performance_daily
    ),
    "store_ops_daily": Builder(promotions.store_ops_daily, promotions.reconcile_store_ops_daily),
    "stockout_duration_daily": Builder(inventory.stockout_duration_daily, inventory.reconcile_stockout_duration_daily),
    "reorder_cycle_daily": Builder(inventory.reorder_cycle_daily, inventory.reconcile_reorder_cycle_daily),
    "promotion_effectiveness_daily": Builder(
        promotions.promotion_effectiveness_daily, promotions.reconcile_promotion_effectiveness_daily
    ),
    "store_performance_daily": Builder(sales.store_performance_daily, sales.reconcile_store_performance_daily),
    "campaign_performance_daily": Builder(
        marketing.campaign_performance_daily, marketing.reconcile_campaign_performance_daily
    ),
    "daily_sales_by_channel": Builder(sales.daily_sales_by_channel, sales.reconcile_daily_sales_by_channel),
    "customer_lifetime_value": Builder(customers.customer_lifetime_value, customers.reconcile_customer_lifetime_value),
    "product_returns_daily": Builder(sales.product_returns_daily, sales.reconcile_product_returns_daily),
    "payments_refunds_daily": Builder(sales.payments_refunds_daily, sales.reconcile_payments_refunds_daily),
    "alerts": Builder(alerts.alerts_table, alerts.reconcile_alerts),
}

if set(BUILDERS) != set(GOLD):
    raise SpecError(
        f"Gold tables without a builder: {sorted(set(GOLD) - set(BUILDERS))}; "
        f"builders without a table: {sorted(set(BUILDERS) - set(GOLD))}"
    )
