"""Every Gold table: the one place its grain, columns, formula and reconciliation rule are declared.

The 21 KPI tables the reference names (spec §11), the four star-schema marts of seed 002 (daily
sales by channel, customer lifetime value, product returns, payments and refunds) and the alerts
table. Each description says what was fixed against the reference. All days are UTC calendar days
(``day`` is UTC midnight, as in the Eventhouse twins); all money is integer cents.

``GOLD`` is validated when this module is imported (keys, twins, references), so a broken
declaration fails the code location with a message naming the table and column.
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.gold.model import DATE_KEY, GoldTable, SilverInput, gold_columns
from retail_assets.lib.kpi_twins import KPIS, SHIPMENT_DWELL_COLUMNS, shipment_dwell
from retail_assets.lib.specs import ColumnSpec, DType, SpecError, empty_frame, silver_columns
from retail_assets.lib.specs.columns import cents, col, customer_id, dc_id, product_id, store_id
from retail_assets.lib.specs.facts import PAYMENT_METHODS, REORDER_PRIORITIES

D = DType

CHANNELS = ("STORE", "ONLINE")


def _ts(description: str) -> ColumnSpec:
    return col("ts", D.TIMESTAMP, description)


def _day(description: str = "UTC day (midnight UTC).") -> ColumnSpec:
    return col("day", D.TIMESTAMP, description)


def _date_key() -> ColumnSpec:
    return col(DATE_KEY, D.INT32, "UTC day as yyyymmdd (dim_date.date_key).", references="dim_date", gt=0)


def _count(name: str, description: str) -> ColumnSpec:
    return col(name, D.INT64, description, ge=0)


def _ratio(name: str, description: str, *, nullable: bool = True) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=nullable)


def _hours(name: str, description: str) -> ColumnSpec:
    return col(name, D.FLOAT64, description, nullable=True, ge=0)


def _inputs(*tables: str | tuple[str, int, int]) -> tuple[SilverInput, ...]:
    return tuple(
        SilverInput(table=t) if isinstance(t, str) else SilverInput(table=t[0], first=t[1], last=t[2]) for t in tables
    )


def _site_store(description: str = "Store; NULL for a distribution-centre row (dim_stores.store_id).") -> ColumnSpec:
    return store_id(nullable=True, description=description)


def _site_dc(
    description: str = "Distribution centre; NULL for a store row (dim_distribution_centers.dc_id).",
) -> ColumnSpec:
    return dc_id(nullable=True, description=description)


SALES_MINUTE_STORE = GoldTable(
    name="sales_minute_store",
    origin="reference gold.sales_minute_store",
    description=(
        "Store sales per minute: receipts, their total and the average basket. Returns are included as negative "
        "receipts, as in the reference. Eventhouse twin: mv_store_sales_minute / q_receipts_minute_by_store."
    ),
    grain="store × UTC minute with at least one receipt",
    refresh="stream",
    formula=(
        "kpi_twins.SALES_MINUTE_STORE over silver/fact_receipts: ts = event_ts truncated to the minute; "
        "total_sales_cents = Σ total_cents; receipts = count; avg_basket_cents = floor(total_sales_cents / receipts). "
        "The reference summed a column `total` that batch Silver did not have, so the table was skipped."
    ),
    reconciliation="Σ total_sales_cents = Σ silver/fact_receipts.total_cents and Σ receipts = Silver receipts, per month.",
    columns=(
        store_id(),
        _ts("Minute (UTC) the receipts were closed in."),
        cents("total_sales_cents", "Σ receipt totals (returns negative).", signed=True),
        _count("receipts", "Receipts closed in the minute (sales and returns)."),
        cents("avg_basket_cents", "floor(total_sales_cents / receipts).", signed=True),
        _date_key(),
    ),
    key=("store_id", "ts"),
    time_column="ts",
    inputs=_inputs("fact_receipts"),
    twin="sales_minute_store",
)

TOP_PRODUCTS_15M = GoldTable(
    name="top_products_15m",
    origin="reference gold.top_products_15m",
    description=(
        "Revenue and units per product and 15-minute window (every product sold, not only a top N; a queryset ranks "
        "them). Return lines count negative. Eventhouse twin: mv_top_products_15m / q_top_products_by_sales."
    ),
    grain="product × 15-minute UTC window with at least one line",
    refresh="stream",
    formula=(
        "kpi_twins.TOP_PRODUCTS_15M over silver/fact_receipt_lines: ts = start of the epoch-aligned 15-minute window; "
        "revenue_cents = Σ ext_price_cents (after discount); units = Σ quantity."
    ),
    reconciliation="Σ revenue_cents = Σ silver/fact_receipt_lines.ext_price_cents and Σ units = Σ quantity, per month.",
    columns=(
        product_id(),
        _ts("Start of the 15-minute window (UTC)."),
        cents("revenue_cents", "Σ line amounts after discount.", signed=True),
        col("units", D.INT64, "Σ units (returns negative)."),
        _date_key(),
    ),
    key=("product_id", "ts"),
    time_column="ts",
    inputs=_inputs("fact_receipt_lines"),
    twin="top_products_15m",
)

_POSITION_FORMULA = (
    "Incremental: the previous month's snapshot plus this month's movements, never a rescan of history. For each "
    "{node} and product, movements are ordered by (event_ts, trace_id). A movement carrying a balance sets on_hand to "
    "it; one without (streamed inventory_updated events) adds its signed quantity to the running on_hand, which is "
    "floored at 0 after every movement like the source system's balance (units lost to the floor are reported as "
    "units_clamped). Pairs that did not move keep their position and as_of. The reference took the balance of the "
    "latest row over all history, which is NULL for streamed movements."
)

INVENTORY_POSITION_CURRENT = GoldTable(
    name="inventory_position_current",
    origin="reference gold.inventory_position_current",
    kind="snapshot",
    description=(
        "On-hand units per store and product at the end of the month (the latest month is the current position). "
        "Streamed movements without a balance are applied to the previous position."
    ),
    grain="store × product ever moved, as of the end of month_start's month",
    refresh="month",
    formula=_POSITION_FORMULA.format(node="store"),
    reconciliation=(
        "Rows = previous snapshot's rows + pairs first moved this month; Σ movements_this_month = Silver "
        "fact_store_inventory_txn rows; every pair whose latest movement carries a balance has on_hand = that balance."
    ),
    columns=(
        store_id(),
        product_id(),
        col("on_hand", D.INT64, "Units on hand after the pair's latest movement.", ge=0),
        col("as_of", D.TIMESTAMP, "Time of the pair's latest movement."),
        col("last_txn_type", D.STRING, "Kind of the latest movement (SALE, INBOUND_SHIPMENT, ...)."),
        _count("movements_this_month", "Movements of the pair in the snapshot month."),
    ),
    key=("store_id", "product_id"),
    inputs=_inputs("fact_store_inventory_txn"),
)

DC_INVENTORY_POSITION_CURRENT = GoldTable(
    name="dc_inventory_position_current",
    origin="reference gold.dc_inventory_position_current",
    kind="snapshot",
    description="On-hand units per distribution centre and product at the end of the month (see inventory_position_current).",
    grain="DC × product ever moved, as of the end of month_start's month",
    refresh="month",
    formula=_POSITION_FORMULA.format(node="DC"),
    reconciliation=(
        "Rows = previous snapshot's rows + pairs first moved this month; Σ movements_this_month = Silver "
        "fact_dc_inventory_txn rows; every pair whose latest movement carries a balance has on_hand = that balance."
    ),
    columns=(
        dc_id(),
        product_id(),
        col("on_hand", D.INT64, "Units on hand after the pair's latest movement.", ge=0),
        col("as_of", D.TIMESTAMP, "Time of the pair's latest movement."),
        col("last_txn_type", D.STRING, "Kind of the latest movement."),
        _count("movements_this_month", "Movements of the pair in the snapshot month."),
    ),
    key=("dc_id", "product_id"),
    inputs=_inputs("fact_dc_inventory_txn"),
)

TRUCK_DWELL_DAILY = GoldTable(
    name="truck_dwell_daily",
    origin="reference gold.truck_dwell_daily",
    description=(
        "Average truck dwell per site and day of arrival, each shipment counted once. The reference averaged "
        "etd − eta over every status row, so each shipment counted up to six times and dwell was the planned unload "
        "time. Eventhouse twin: fn_truck_sla() / q_truck_dwell_by_site."
    ),
    grain="site (STORE_<id> or DC_<id>) × UTC day of arrival",
    refresh="daily",
    formula=(
        "kpi_twins.shipment_dwell over silver/fact_truck_moves (ARRIVED rows as arrivals, COMPLETED rows as "
        "departures, of this month and the next so that a stay across midnight at the month's end counts): one row "
        "per (truck_id, dc_id, store_id, shipment_id) with its first arrival and last departure, kept when the "
        "departure is after the arrival; then kpi_twins.TRUCK_DWELL_DAILY: avg_dwell_minutes = mean dwell, "
        "trucks = distinct trucks, shipments = count, by site and day of arrival."
    ),
    reconciliation=(
        "Σ shipments + shipments without a departure yet + shipments departing before arriving = distinct shipments "
        "with an ARRIVED row in the month (each shipment counted once)."
    ),
    columns=(
        col("site", D.STRING, "STORE_<store_id> when the truck unloads at a store, else DC_<dc_id>."),
        _day("UTC day of arrival."),
        col("avg_dwell_minutes", D.FLOAT64, "Mean minutes from first arrival to last departure.", ge=0),
        _count("trucks", "Distinct trucks."),
        _count("shipments", "Shipments (each once)."),
        _date_key(),
    ),
    key=("site", "day"),
    time_column="day",
    inputs=_inputs(("fact_truck_moves", 0, 1)),
    twin="truck_dwell_daily",
)

ONLINE_SALES_DAILY = GoldTable(
    name="online_sales_daily",
    origin="reference gold.online_sales_daily",
    description=(
        "Online orders per day with their money and average order value. Cancelled orders are counted apart "
        "(their money is zero). The reference summed columns batch Silver did not have, so the table was skipped."
    ),
    grain="UTC day the orders were placed",
    refresh="daily",
    formula=(
        "Over silver/fact_online_order_headers: orders = orders not CANCELLED; cancelled_orders = CANCELLED; "
        "subtotal/tax/total_cents = Σ of every order; avg_order_value_cents = floor(total_cents / orders) (0 without orders)."
    ),
    reconciliation="Σ total_cents, subtotal_cents, tax_cents = Silver sums; Σ orders + cancelled_orders = Silver orders.",
    columns=(
        _day("UTC day the orders were placed."),
        _count("orders", "Orders not cancelled."),
        _count("cancelled_orders", "Cancelled orders."),
        cents("subtotal_cents", "Σ net subtotals."),
        cents("tax_cents", "Σ tax."),
        cents("total_cents", "Σ totals."),
        cents("avg_order_value_cents", "floor(total_cents / orders); 0 when there are none."),
        _date_key(),
    ),
    key=("day",),
    time_column="day",
    inputs=_inputs("fact_online_order_headers"),
)

FULFILLMENT_DAILY = GoldTable(
    name="fulfillment_daily",
    origin="reference gold.fulfillment_daily",
    description=(
        "The online fulfilment pipeline: order lines per order day, fulfilment mode and current status, with "
        "lead times. Keyed by order day (the reference used the day of the latest step, which moves a line between "
        "days and months as it progresses and dropped unfulfilled lines)."
    ),
    grain="UTC order day × fulfillment_mode × current fulfillment_status",
    refresh="daily",
    formula=(
        "Over silver/fact_online_order_lines: orders = distinct order_id; lines = count; units = Σ quantity; "
        "avg_hours_to_ship = mean(shipped_ts − event_ts) over shipped lines; avg_hours_to_deliver = "
        "mean(delivered_ts − event_ts) over delivered lines (NULL when none)."
    ),
    reconciliation="Σ lines = Silver order lines and Σ units = Σ quantity, per month.",
    columns=(
        _day("UTC day the orders were placed."),
        col("fulfillment_mode", D.STRING, "SHIP_FROM_DC, SHIP_FROM_STORE or BOPIS."),
        col("fulfillment_status", D.STRING, "Current status of the lines (CREATED ... DELIVERED, CANCELLED)."),
        _count("orders", "Distinct orders."),
        _count("lines", "Order lines."),
        _count("units", "Σ units."),
        _hours("avg_hours_to_ship", "Mean hours from order to shipment, over shipped lines."),
        _hours("avg_hours_to_deliver", "Mean hours from order to delivery or pickup, over delivered lines."),
        _date_key(),
    ),
    key=("day", "fulfillment_mode", "fulfillment_status"),
    time_column="day",
    inputs=_inputs("fact_online_order_lines"),
)

ZONE_DWELL_MINUTE = GoldTable(
    name="zone_dwell_minute",
    origin="reference gold.zone_dwell_minute",
    description=(
        "People counted and their average dwell per store zone and minute. Eventhouse twin: mv_zone_dwell_minute / "
        "q_zone_dwell_heatmap."
    ),
    grain="store × sensor zone × UTC minute",
    refresh="stream",
    formula=(
        "kpi_twins.ZONE_DWELL_MINUTE over silver/fact_foot_traffic: avg_dwell_seconds = mean dwell_seconds of the "
        "readings; customers = Σ customer_count."
    ),
    reconciliation="Σ customers = Σ silver/fact_foot_traffic.customer_count, per month.",
    columns=(
        store_id(),
        col("zone", D.STRING, "Sensor zone."),
        _ts("Minute (UTC) of the readings."),
        col("avg_dwell_seconds", D.FLOAT64, "Mean dwell of the readings, seconds.", ge=0),
        _count("customers", "Σ people counted."),
        _date_key(),
    ),
    key=("store_id", "zone", "ts"),
    time_column="ts",
    inputs=_inputs("fact_foot_traffic"),
    twin="zone_dwell_minute",
)

BLE_PRESENCE_MINUTE = GoldTable(
    name="ble_presence_minute",
    origin="reference gold.ble_presence_minute",
    description="Distinct shopper devices (and known customers) seen by each store's beacons per minute.",
    grain="store × UTC minute with at least one ping",
    refresh="stream",
    formula=(
        "Over silver/fact_ble_pings: devices = distinct customer_ble_id; known_customers = distinct non-null "
        "customer_id; pings = count."
    ),
    reconciliation="Σ pings = Silver BLE pings, per month.",
    columns=(
        store_id(),
        _ts("Minute (UTC)."),
        _count("devices", "Distinct device ids."),
        _count("known_customers", "Distinct customers among the devices."),
        _count("pings", "Pings."),
        _date_key(),
    ),
    key=("store_id", "ts"),
    time_column="ts",
    inputs=_inputs("fact_ble_pings"),
)

MARKETING_COST_DAILY = GoldTable(
    name="marketing_cost_daily",
    origin="reference gold.marketing_cost_daily",
    description="Ad impressions and their cost per campaign and UTC day. Eventhouse twin: q_marketing_cost_24h.",
    grain="campaign × UTC day",
    refresh="daily",
    formula="kpi_twins.MARKETING_COST_DAILY over silver/fact_marketing: impressions = count; cost_cents = Σ cost_cents.",
    reconciliation="Σ impressions = Silver impressions and Σ cost_cents = Σ silver/fact_marketing.cost_cents, per month.",
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        _day(),
        _count("impressions", "Impressions served."),
        cents("cost_cents", "Σ impression cost."),
        _date_key(),
    ),
    key=("campaign_id", "day"),
    time_column="day",
    inputs=_inputs("fact_marketing"),
    twin="marketing_cost_daily",
)

CAMPAIGN_REVENUE_DAILY = GoldTable(
    name="campaign_revenue_daily",
    origin="reference gold.campaign_revenue_daily",
    description=(
        "Same-day view-through of each campaign: impressions, the known customers they reached and what those "
        "customers bought afterwards that day. A purchase can count for every campaign its customer saw (this is "
        "not attribution: see campaign_performance_daily). The reference joined on columns batch Silver did not "
        "have (customer_id/total), so it was skipped."
    ),
    grain="campaign × UTC day",
    refresh="daily",
    formula=(
        "Over silver/fact_marketing, fact_receipts (SALE) and fact_online_order_headers (not CANCELLED): "
        "impressions = count; reached_customers = distinct non-null customer_id among them; a conversion is a purchase "
        "by a reached customer on the same UTC day at or after the customer's first impression of the campaign that "
        "day; conversions = such purchases; converted_customers = their distinct customers; revenue_cents = Σ their "
        "total_cents."
    ),
    reconciliation=(
        "Σ impressions = Silver impressions per month (conversions and revenue are a view-through measure, not "
        "additive across campaigns)."
    ),
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        _day(),
        _count("impressions", "Impressions served."),
        _count("reached_customers", "Distinct known customers that saw the campaign that day."),
        _count("conversions", "Purchases by reached customers after their impression, same day."),
        _count("converted_customers", "Distinct customers among the conversions."),
        cents("revenue_cents", "Σ totals of the conversions."),
        _date_key(),
    ),
    key=("campaign_id", "day"),
    time_column="day",
    inputs=_inputs("fact_marketing", "fact_receipts", "fact_online_order_headers"),
)

TENDER_MIX_DAILY = GoldTable(
    name="tender_mix_daily",
    origin="reference gold.tender_mix_daily",
    description="Store receipts and their total per tender and day (returns are negative, refunded to the card).",
    grain="UTC day × payment method",
    refresh="daily",
    formula="Over silver/fact_receipts: transactions = receipts; total_cents = Σ total_cents.",
    reconciliation="Σ transactions = Silver receipts and Σ total_cents = Σ silver/fact_receipts.total_cents, per month.",
    columns=(
        _day(),
        col("payment_method", D.STRING, "Tender.", allowed=PAYMENT_METHODS),
        _count("transactions", "Receipts."),
        cents("total_cents", "Σ receipt totals.", signed=True),
        _date_key(),
    ),
    key=("day", "payment_method"),
    time_column="day",
    inputs=_inputs("fact_receipts"),
)

STOCKOUTS_DAILY = GoldTable(
    name="stockouts_daily",
    origin="reference stub gold.stockouts_daily (empty there)",
    description="Stockout detections per day and store or distribution centre, and how many products ran out.",
    grain="UTC day × store or DC",
    refresh="daily",
    formula="Over silver/fact_stockouts: stockout_count = detections; products_affected = distinct product_id.",
    reconciliation="Σ stockout_count = Silver stockouts, per month.",
    columns=(
        _day(),
        _site_store(),
        _site_dc(),
        _count("stockout_count", "Stockout detections."),
        _count("products_affected", "Distinct products that ran out."),
        _date_key(),
    ),
    key=("day", "store_id", "dc_id"),
    time_column="day",
    # fact_receipts and fact_receipt_lines: the stockout alert check ranks the store's fast movers.
    inputs=_inputs("fact_stockouts", "fact_receipts", "fact_receipt_lines"),
)

REORDERS_DAILY = GoldTable(
    name="reorders_daily",
    origin="reference stub gold.reorders_daily (empty there)",
    description="Store replenishment requests per day, store, supplying DC and priority.",
    grain="UTC day × store × DC × priority",
    refresh="daily",
    formula=(
        "Over silver/fact_reorders: reorder_count = requests; total_units_ordered = Σ reorder_quantity; "
        "products = distinct product_id."
    ),
    reconciliation="Σ reorder_count = Silver reorders and Σ total_units_ordered = Σ reorder_quantity, per month.",
    columns=(
        _day(),
        store_id(),
        dc_id(),
        col("priority", D.STRING, "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
        _count("reorder_count", "Replenishment requests."),
        _count("total_units_ordered", "Σ units requested."),
        _count("products", "Distinct products requested."),
        _date_key(),
    ),
    key=("day", "store_id", "dc_id", "priority"),
    time_column="day",
    inputs=_inputs("fact_reorders"),
)

PROMO_PERFORMANCE_DAILY = GoldTable(
    name="promo_performance_daily",
    origin="reference stub gold.promo_performance_daily (empty there)",
    description="Promotion codes applied per day: how often, the discount given and the lines discounted.",
    grain="UTC day × promo code × discount type",
    refresh="daily",
    formula=(
        "Over silver/fact_promotions: times_applied = receipts the code was applied to; total_discount_cents = "
        "Σ discount_cents; products_discounted = Σ product_count."
    ),
    reconciliation="Σ times_applied = Silver promotions and Σ total_discount_cents = Σ discount_cents, per month.",
    columns=(
        _day(),
        col("promo_code", D.STRING, "Promotion code."),
        col("discount_type", D.STRING, "PERCENTAGE, FIXED_AMOUNT or BOGO."),
        _count("times_applied", "Receipts the code was applied to."),
        cents("total_discount_cents", "Σ discounts given."),
        _count("products_discounted", "Σ discounted lines."),
        _date_key(),
    ),
    key=("day", "promo_code", "discount_type"),
    time_column="day",
    inputs=_inputs("fact_promotions"),
)

STORE_OPS_DAILY = GoldTable(
    name="store_ops_daily",
    origin="reference stub gold.store_ops_daily (empty there)",
    description="Store openings and closings per UTC day (a store's local evening closing can fall on the next UTC day).",
    grain="UTC day × store × operation type",
    refresh="daily",
    formula="Over silver/fact_store_ops: operation_count = count; first/last_operation = min/max event_ts.",
    reconciliation="Σ operation_count = Silver store operations, per month.",
    columns=(
        _day(),
        store_id(),
        col("operation_type", D.STRING, "opened or closed."),
        _count("operation_count", "Operations."),
        col("first_operation", D.TIMESTAMP, "Earliest operation of the day."),
        col("last_operation", D.TIMESTAMP, "Latest operation of the day."),
        _date_key(),
    ),
    key=("day", "store_id", "operation_type"),
    time_column="day",
    inputs=_inputs("fact_store_ops"),
)

STOCKOUT_DURATION_DAILY = GoldTable(
    name="stockout_duration_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "How long shelves stayed empty: stockouts detected per day and store or DC, how many were restocked and "
        "how many hours that took."
    ),
    grain="UTC day of detection × store or DC",
    refresh="daily",
    formula=(
        "Each Silver stockout (fact_stockouts) is matched to the first later inventory movement with a positive "
        "quantity at the same store (fact_store_inventory_txn) or DC (fact_dc_inventory_txn) and product, looked for "
        "in the detection month and the next. hours_to_restock = (restock time − detection time) in hours. "
        "stockouts = detections; restocked = detections with a restock; open_stockouts = the others; "
        "avg/max_hours_to_restock over restocked ones (NULL when none); out_of_stock_hours = Σ hours_to_restock."
    ),
    reconciliation="Σ stockouts = Silver stockouts and Σ restocked + Σ open_stockouts = Σ stockouts, per month.",
    columns=(
        _day("UTC day of detection."),
        _site_store(),
        _site_dc(),
        _count("stockouts", "Stockout detections."),
        _count("restocked", "Detections followed by a restock within the window."),
        _count("open_stockouts", "Detections without a restock yet."),
        _hours("avg_hours_to_restock", "Mean hours from detection to restock."),
        _hours("max_hours_to_restock", "Longest hours from detection to restock."),
        col("out_of_stock_hours", D.FLOAT64, "Σ hours from detection to restock of the restocked ones.", ge=0),
        _date_key(),
    ),
    key=("day", "store_id", "dc_id"),
    time_column="day",
    inputs=_inputs("fact_stockouts", ("fact_store_inventory_txn", 0, 1), ("fact_dc_inventory_txn", 0, 1)),
)

REORDER_CYCLE_DAILY = GoldTable(
    name="reorder_cycle_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "The replenishment cycle: reorders per day, store and priority, how many were received and how long it took "
        "from request to goods in the store."
    ),
    grain="UTC day of the reorder × store × priority",
    refresh="daily",
    formula=(
        "Each Silver reorder (fact_reorders) is matched to the first later INBOUND_SHIPMENT movement of the same "
        "product at the same store (fact_store_inventory_txn), looked for in the reorder month and the next. "
        "hours_to_receive = (receipt time − reorder time) in hours. reorders = requests; received = matched; "
        "open_reorders = the others; avg/max_hours_to_receive over received ones (NULL when none); units_ordered = "
        "Σ reorder_quantity. Two reorders of a product before one delivery are both received by it."
    ),
    reconciliation=(
        "Σ reorders = Silver reorders, Σ units_ordered = Σ reorder_quantity and Σ received + Σ open_reorders = "
        "Σ reorders, per month."
    ),
    columns=(
        _day("UTC day of the reorder."),
        store_id(),
        col("priority", D.STRING, "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
        _count("reorders", "Replenishment requests."),
        _count("received", "Requests followed by an inbound shipment of the product."),
        _count("open_reorders", "Requests not received yet."),
        _hours("avg_hours_to_receive", "Mean hours from request to receipt."),
        _hours("max_hours_to_receive", "Longest hours from request to receipt."),
        _count("units_ordered", "Σ units requested."),
        _date_key(),
    ),
    key=("day", "store_id", "priority"),
    time_column="day",
    inputs=_inputs("fact_reorders", ("fact_store_inventory_txn", 0, 1)),
)

PROMOTION_EFFECTIVENESS_DAILY = GoldTable(
    name="promotion_effectiveness_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description=(
        "Whether a promotion grows the basket: redemptions, discount given, the baskets that used the code against "
        "the day's baskets without any promotion, and the share of list price given away."
    ),
    grain="UTC day × promo code",
    refresh="daily",
    formula=(
        "Over silver/fact_promotions joined to their receipts in silver/fact_receipts: redemptions = receipts the "
        "code was applied to; discount_cents = Σ discount_cents; promo_basket_sales_cents = Σ subtotal_cents of those "
        "receipts; avg_promo_basket_cents = floor(promo_basket_sales_cents / redemptions); avg_other_basket_cents = "
        "floor(mean subtotal_cents) of the day's SALE receipts with no promotion; basket_lift = "
        "avg_promo_basket_cents / avg_other_basket_cents − 1 (NULL without such receipts); promo_depth = "
        "discount_cents / (promo_basket_sales_cents + discount_cents) (NULL when 0)."
    ),
    reconciliation="Σ redemptions = Silver promotions and Σ discount_cents = Σ silver/fact_promotions.discount_cents.",
    columns=(
        _day(),
        col("promo_code", D.STRING, "Promotion code."),
        _count("redemptions", "Receipts the code was applied to."),
        cents("discount_cents", "Σ discounts given by the code."),
        cents("promo_basket_sales_cents", "Σ net subtotals of the receipts that used the code.", signed=True),
        cents("avg_promo_basket_cents", "floor(promo_basket_sales_cents / redemptions).", signed=True),
        cents(
            "avg_other_basket_cents",
            "Mean net subtotal of the day's sales without a promotion.",
            nullable=True,
            signed=True,
        ),
        _ratio("basket_lift", "avg_promo_basket_cents / avg_other_basket_cents − 1."),
        _ratio("promo_depth", "Share of the pre-discount basket given away: discount / (sales + discount)."),
        _date_key(),
    ),
    key=("day", "promo_code"),
    time_column="day",
    inputs=_inputs("fact_promotions", "fact_receipts"),
)

STORE_PERFORMANCE_DAILY = GoldTable(
    name="store_performance_daily",
    origin="named in the reference's maintenance notebook only; defined here",
    description="The store manager's day: sales, returns, basket, visitors, conversion and stockouts per store.",
    grain="UTC day × store",
    refresh="daily",
    formula=(
        "From silver/fact_receipts: sales_receipts / return_receipts = receipts of each type; units_sold = Σ "
        "item_count of sales; sales_cents = Σ total_cents of sales; returns_cents = −Σ total_cents of returns; "
        "net_sales_cents = sales_cents − returns_cents; avg_basket_cents = floor(sales_cents / sales_receipts). "
        "From silver/fact_foot_traffic: visitors = Σ customer_count at ENTRANCE_MAIN and ENTRANCE_SIDE. "
        "conversion_rate = sales_receipts / visitors (NULL without visitors). From silver/fact_stockouts: stockouts "
        "at the store. A store appears on a day with any of these."
    ),
    reconciliation=(
        "Σ net_sales_cents = Σ silver/fact_receipts.total_cents; Σ sales + return receipts = Silver receipts; "
        "Σ visitors = Σ entrance counts; Σ stockouts = Silver store stockouts, per month."
    ),
    columns=(
        _day(),
        store_id(),
        _count("sales_receipts", "SALE receipts."),
        _count("return_receipts", "RETURN receipts."),
        _count("units_sold", "Σ units on sale receipts."),
        cents("sales_cents", "Σ totals of sales."),
        cents("returns_cents", "Σ refunded totals (positive)."),
        cents("net_sales_cents", "sales_cents − returns_cents.", signed=True),
        cents("avg_basket_cents", "floor(sales_cents / sales_receipts); 0 without sales."),
        _count("visitors", "People counted at the entrances."),
        _ratio("conversion_rate", "sales_receipts / visitors."),
        _count("stockouts", "Stockouts detected at the store."),
        _date_key(),
    ),
    key=("day", "store_id"),
    time_column="day",
    inputs=_inputs("fact_receipts", "fact_foot_traffic", "fact_stockouts"),
)

CAMPAIGN_PERFORMANCE_DAILY = GoldTable(
    name="campaign_performance_daily",
    origin="reference H gold.campaign_performance_daily",
    description=(
        "Spend and last-touch attributed results per campaign, channel and day: the attributed purchases are "
        "credited to the day of the impression that won them."
    ),
    grain="campaign × channel × UTC day",
    refresh="daily",
    formula=(
        "Spend side from silver/fact_marketing: impressions = distinct impression_id, spend_cents = Σ cost_cents, by "
        "day of the impression. Conversion side from silver/fact_marketing_attribution with status ATTRIBUTED, by "
        "day of the touch (touch_ts; attributions of this month and the next, since a purchase follows its touch by "
        "up to 7 days): conversions = distinct attribution_id, Σ attributed_revenue/discount/tax/payment cents. "
        "Full outer join, missing values 0; conversion_rate = conversions / impressions and roas = "
        "attributed_revenue_cents / spend_cents (0 when the denominator is 0)."
    ),
    reconciliation=(
        "Σ spend_cents = Σ silver/fact_marketing.cost_cents and Σ impressions = Silver impressions of the month; "
        "Σ conversions = ATTRIBUTED attributions whose touch is in the month."
    ),
    columns=(
        col("campaign_id", D.STRING, "Campaign."),
        col("channel", D.STRING, "Ad channel."),
        _day("UTC day of the impressions (and of the touches credited)."),
        _count("impressions", "Distinct impressions."),
        cents("spend_cents", "Σ impression cost."),
        _count("conversions", "Attributed purchases credited to touches of the day."),
        cents("attributed_revenue_cents", "Σ net subtotals credited."),
        cents("discount_cents", "Σ promotion discounts of the credited purchases."),
        cents("tax_cents", "Σ tax of the credited purchases."),
        cents("payment_cents", "Σ approved payments of the credited purchases."),
        col("conversion_rate", D.FLOAT64, "conversions / impressions (0 without impressions).", ge=0),
        col("roas", D.FLOAT64, "attributed_revenue_cents / spend_cents (0 without spend).", ge=0),
        _date_key(),
    ),
    key=("campaign_id", "channel", "day"),
    time_column="day",
    inputs=_inputs("fact_marketing", ("fact_marketing_attribution", 0, 1)),
)

DAILY_SALES_BY_CHANNEL = GoldTable(
    name="daily_sales_by_channel",
    origin="seed 002 gold.agg_daily_sales",
    description=(
        "Daily sales per channel (STORE receipts, ONLINE orders): orders, units, customers, money, returns and "
        "average order value (seed 002 §1.3 agg_daily_sales and §9.1)."
    ),
    grain="UTC day × channel",
    refresh="daily",
    formula=(
        "STORE from silver/fact_receipts, ONLINE from silver/fact_online_order_headers (not CANCELLED). orders = "
        "SALE receipts or orders; units = Σ item_count; unique_customers = distinct known customer_id; sales_cents = "
        "Σ total_cents (tax included, as seed 002's sales_total); discount_cents, tax_cents = Σ; returns = RETURN "
        "receipts; returned_units = −Σ their item_count; refund_cents = −Σ their total_cents; net_sales_cents = "
        "sales_cents − refund_cents; avg_order_value_cents = floor(sales_cents / orders); return_rate = returns / "
        "orders (NULL without orders). Online orders have no returns in this model."
    ),
    reconciliation=(
        "STORE: Σ net_sales_cents = Σ silver/fact_receipts.total_cents and Σ orders + Σ returns = Silver receipts; "
        "ONLINE: Σ sales_cents = Σ silver/fact_online_order_headers.total_cents, per month."
    ),
    columns=(
        _day(),
        col("channel", D.STRING, "STORE or ONLINE.", allowed=CHANNELS),
        _count("orders", "Sale receipts or online orders."),
        _count("units", "Σ units sold."),
        _count("unique_customers", "Distinct known customers who bought."),
        cents("sales_cents", "Σ totals of sales (tax included)."),
        cents("discount_cents", "Σ promotion discounts of sales."),
        cents("tax_cents", "Σ tax of sales."),
        _count("returns", "Return receipts."),
        _count("returned_units", "Units returned."),
        cents("refund_cents", "Σ refunded totals (positive)."),
        cents("net_sales_cents", "sales_cents − refund_cents.", signed=True),
        cents("avg_order_value_cents", "floor(sales_cents / orders); 0 without orders."),
        _ratio("return_rate", "returns / orders."),
        _date_key(),
    ),
    key=("day", "channel"),
    time_column="day",
    inputs=_inputs("fact_receipts", "fact_online_order_headers"),
)

CUSTOMER_LIFETIME_VALUE = GoldTable(
    name="customer_lifetime_value",
    origin="seed 002 §9.2 customer lifetime value",
    kind="snapshot",
    description=(
        "Each customer's purchases to date, as of the end of the month (the latest month is the current value): "
        "orders, first and last purchase, gross sales, refunds, lifetime value and average order value."
    ),
    grain="customer with at least one purchase or refund, as of the end of month_start's month",
    refresh="month",
    formula=(
        "Incremental: the previous month's snapshot plus this month's purchases. Purchases are SALE receipts with a "
        "customer (silver/fact_receipts) and online orders not CANCELLED (silver/fact_online_order_headers). "
        "Refunds are RETURN receipts, credited to the return's customer or else to the customer of the original "
        "receipt when that is in this month or the previous one. orders, store_orders, online_orders, "
        "gross_sales_cents (Σ total_cents), refund_cents are added up; first/last_purchase_ts are min/max; "
        "lifetime_value_cents = gross_sales_cents − refund_cents; avg_order_value_cents = floor(gross_sales_cents / "
        "orders) (0 without orders)."
    ),
    reconciliation=(
        "Σ gross_sales_cents and Σ orders grow from the previous snapshot by exactly this month's Silver purchases "
        "with a customer; Σ refund_cents grows by the refunds credited."
    ),
    columns=(
        customer_id(nullable=False),
        col("first_purchase_ts", D.TIMESTAMP, "First purchase.", nullable=True),
        col("last_purchase_ts", D.TIMESTAMP, "Latest purchase.", nullable=True),
        _count("orders", "Purchases (store receipts and online orders)."),
        _count("store_orders", "Store receipts."),
        _count("online_orders", "Online orders."),
        cents("gross_sales_cents", "Σ purchase totals."),
        cents("refund_cents", "Σ refunds credited to the customer (positive)."),
        cents("lifetime_value_cents", "gross_sales_cents − refund_cents.", signed=True),
        cents("avg_order_value_cents", "floor(gross_sales_cents / orders)."),
    ),
    key=("customer_id",),
    inputs=_inputs(("fact_receipts", -1, 0), "fact_online_order_headers"),
)

PRODUCT_RETURNS_DAILY = GoldTable(
    name="product_returns_daily",
    origin="seed 002 §9.3 product return analysis",
    description="Units and money sold and returned per product and day, for return-rate analysis (seed 002 §9.3).",
    grain="UTC day × product",
    refresh="daily",
    formula=(
        "Over silver/fact_receipt_lines: lines with quantity > 0 are sales, < 0 returns. units_sold / sale_lines / "
        "sales_cents = Σ quantity / count / Σ ext_price_cents of sales; units_returned / return_lines / refund_cents "
        "= −Σ quantity / count / −Σ ext_price_cents of returns; return_rate = units_returned / units_sold (NULL "
        "without sales)."
    ),
    reconciliation=(
        "Σ (sales_cents − refund_cents) = Σ silver/fact_receipt_lines.ext_price_cents and Σ (units_sold − "
        "units_returned) = Σ quantity, per month."
    ),
    columns=(
        _day(),
        product_id(),
        _count("units_sold", "Units sold."),
        _count("units_returned", "Units returned."),
        _count("sale_lines", "Sale lines."),
        _count("return_lines", "Return lines."),
        cents("sales_cents", "Σ sale line amounts."),
        cents("refund_cents", "Σ refunded line amounts (positive)."),
        _ratio("return_rate", "units_returned / units_sold."),
        _date_key(),
    ),
    key=("day", "product_id"),
    time_column="day",
    inputs=_inputs("fact_receipt_lines"),
)

PAYMENTS_REFUNDS_DAILY = GoldTable(
    name="payments_refunds_daily",
    origin="seed 002 fact_payment (payments and refunds)",
    description=(
        "Payment authorisations and refunds per day, channel and tender: approvals, declines and their money, "
        "approval rate, refunds (seed 002 Payment & Returns dashboard)."
    ),
    grain="UTC day × channel × payment method",
    refresh="daily",
    formula=(
        "Over silver/fact_payments (channel STORE when the payment is for a receipt, ONLINE for an order): payments, "
        "approved, declined = counts; approved_cents / declined_cents = Σ amount_cents by status; approval_rate = "
        "approved / payments. Refunds from silver/fact_receipts RETURN receipts (STORE, by their tender): refunds = "
        "count, refund_cents = −Σ total_cents. approval_rate is NULL on a refund-only row."
    ),
    reconciliation=(
        "Σ approved_cents + Σ declined_cents = Σ silver/fact_payments.amount_cents; Σ payments = Silver payments; "
        "Σ refunds = Silver RETURN receipts, per month."
    ),
    columns=(
        _day(),
        col("channel", D.STRING, "STORE or ONLINE.", allowed=CHANNELS),
        col("payment_method", D.STRING, "Tender.", allowed=PAYMENT_METHODS),
        _count("payments", "Authorisations."),
        _count("approved", "Approved authorisations."),
        _count("declined", "Declined authorisations."),
        cents("approved_cents", "Σ approved amounts."),
        cents("declined_cents", "Σ declined amounts."),
        _ratio("approval_rate", "approved / payments."),
        _count("refunds", "Refunds (return receipts)."),
        cents("refund_cents", "Σ refunded (positive)."),
        _date_key(),
    ),
    key=("day", "channel", "payment_method"),
    time_column="day",
    inputs=_inputs("fact_payments", "fact_receipts"),
)

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
        _site_store("Store concerned, when any (dim_stores.store_id)."),
        _site_dc("Distribution centre concerned, when any (dim_distribution_centers.dc_id)."),
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
        _date_key(),
    ),
    key=("alert_id",),
    time_column="occurred_at",
    inputs=_inputs(
        "fact_stockouts",
        "fact_receipts",
        "fact_receipt_lines",
        ("fact_truck_moves", 0, 1),
        "fact_marketing",
        "fact_reorders",
        "fact_foot_traffic",
    ),
)

GOLD_TABLES: tuple[GoldTable, ...] = (
    SALES_MINUTE_STORE,
    TOP_PRODUCTS_15M,
    INVENTORY_POSITION_CURRENT,
    DC_INVENTORY_POSITION_CURRENT,
    TRUCK_DWELL_DAILY,
    ONLINE_SALES_DAILY,
    FULFILLMENT_DAILY,
    ZONE_DWELL_MINUTE,
    BLE_PRESENCE_MINUTE,
    MARKETING_COST_DAILY,
    CAMPAIGN_REVENUE_DAILY,
    TENDER_MIX_DAILY,
    STOCKOUTS_DAILY,
    REORDERS_DAILY,
    PROMO_PERFORMANCE_DAILY,
    STORE_OPS_DAILY,
    STOCKOUT_DURATION_DAILY,
    REORDER_CYCLE_DAILY,
    PROMOTION_EFFECTIVENESS_DAILY,
    STORE_PERFORMANCE_DAILY,
    CAMPAIGN_PERFORMANCE_DAILY,
    DAILY_SALES_BY_CHANNEL,
    CUSTOMER_LIFETIME_VALUE,
    PRODUCT_RETURNS_DAILY,
    PAYMENTS_REFUNDS_DAILY,
    ALERTS,
)

GOLD: dict[str, GoldTable] = {t.name: t for t in GOLD_TABLES}


def gold_table(name: str) -> GoldTable:
    try:
        return GOLD[name]
    except KeyError:
        raise KeyError(f"unknown Gold table {name!r}; known: {sorted(GOLD)}") from None


def _twin_source_schema(table: GoldTable) -> pl.LazyFrame:
    kpi = KPIS[table.twin]
    if kpi.source.fact is not None:
        return empty_frame(silver_columns(kpi.source.fact)).lazy()
    keys = {"truck_id": pl.Int64, "dc_id": pl.Int64, "store_id": pl.Int64, "shipment_id": pl.String}
    utc = pl.Datetime("us", "UTC")
    frame = shipment_dwell(
        pl.LazyFrame(schema={**keys, "arrival_time": utc}), pl.LazyFrame(schema={**keys, "departure_time": utc})
    )
    assert tuple(frame.collect_schema()) == SHIPMENT_DWELL_COLUMNS
    return frame


def _validate() -> None:
    if len(GOLD) != len(GOLD_TABLES):
        raise SpecError("two Gold tables share a name")
    for table in GOLD_TABLES:
        if table.twin is None:
            continue
        kpi = KPIS.get(table.twin)
        if kpi is None or kpi.gold_table != table.name:
            raise SpecError(f"Gold table {table.name!r}: twin {table.twin!r} is not a KPI whose gold_table it is")
        produced = kpi.polars(_twin_source_schema(table)).collect_schema()
        declared = {c.name: c.polars_dtype for c in gold_columns(table)}
        for name, dtype in produced.items():
            if declared.get(name) != dtype:
                raise SpecError(
                    f"Gold table {table.name!r}: twin column {name!r} is {dtype} in Kpi.polars but "
                    f"{declared.get(name, 'not declared')} in the spec"
                )
        if tuple(produced)[: len(kpi.keys) + 1] != table.key:
            raise SpecError(f"Gold table {table.name!r}: its key must be the twin's keys and time bin")


_validate()
