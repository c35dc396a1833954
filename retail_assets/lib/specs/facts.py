"""The facts: the reference system's, plus fact_marketing_attribution (reference spec §7, §17).

Differences from the reference, on purpose:
- snake_case throughout (the reference mixes StoreID/ReceiptId/CostCents with snake_case);
- money only as integer cents (the reference also carries formatted-dollar strings);
- every fact has ``event_ts`` (the reference used operation_time/picked_ts on some), which
  decides its month partition; online order lines carry the order's creation time;
- receipts carry gross, discount, net, tax and total so the money identities can be checked:
  gross_subtotal - discount = subtotal, subtotal + tax = total (the reference subtracted the
  discount twice).
Primary keys are the business keys of reference spec §10.3; tables without one are keyed by the
``trace_id`` of the event that carries the row.
"""

from __future__ import annotations

from retail_assets.lib.specs.columns import (
    cents,
    col,
    customer_id,
    dc_id,
    event_ts,
    fk,
    product_id,
    store_id,
    trace_id,
)
from retail_assets.lib.specs.model import DType, TableSpec

D = DType

RECEIPT_TYPES = ("SALE", "RETURN")
PAYMENT_METHODS = ("CREDIT_CARD", "DEBIT_CARD", "CASH", "MOBILE_PAY", "PAYPAL", "CHECK", "OTHER")
PAYMENT_STATUSES = ("APPROVED", "DECLINED")
DECLINE_REASONS = (
    "INSUFFICIENT_FUNDS",
    "CARD_EXPIRED",
    "INVALID_CVV",
    "NETWORK_ERROR",
    "FRAUD_SUSPECTED",
    "CARD_BLOCKED",
    "LIMIT_EXCEEDED",
)
STORE_TXN_TYPES = ("SALE", "INBOUND_SHIPMENT", "RETURN", "DAMAGED", "OUTBOUND_SHIPMENT", "ADJUSTMENT", "ONLINE_PICK")
DC_TXN_TYPES = ("INBOUND_SHIPMENT", "OUTBOUND_SHIPMENT", "ONLINE_PICK", "ADJUSTMENT")
TRUCK_STATUSES = ("SCHEDULED", "LOADING", "IN_TRANSIT", "ARRIVED", "UNLOADING", "COMPLETED")
TRUCK_ACTIONS = ("LOAD", "UNLOAD")
NODE_TYPES = ("DC", "STORE")
FOOT_TRAFFIC_ZONES = ("ENTRANCE_MAIN", "ENTRANCE_SIDE", "AISLES_A", "AISLES_B", "CHECKOUT")
BLE_ZONES = ("ENTRANCE", "ELECTRONICS", "GROCERY", "CLOTHING", "CHECKOUT")
MARKETING_CHANNELS = ("FACEBOOK", "GOOGLE", "INSTAGRAM", "YOUTUBE", "EMAIL", "DISPLAY", "SEARCH", "SOCIAL", "VIDEO")
DEVICES = ("MOBILE", "DESKTOP", "TABLET")
FULFILLMENT_MODES = ("SHIP_FROM_DC", "SHIP_FROM_STORE", "BOPIS")
FULFILLMENT_STATUSES = ("CREATED", "PICKED", "SHIPPED", "DELIVERED", "CANCELLED")
STORE_OPERATIONS = ("opened", "closed")
DISCOUNT_TYPES = ("PERCENTAGE", "FIXED_AMOUNT", "BOGO")
REORDER_PRIORITIES = ("NORMAL", "HIGH", "URGENT")
ATTRIBUTION_STATUSES = (
    "ATTRIBUTED",
    "OUTSIDE_WINDOW",
    "RECONCILIATION_FAILED",
    "PROMOTION_MISMATCH",
    "MONEY_MISMATCH",
)

FACT_RECEIPTS = TableSpec(
    name="fact_receipts",
    kind="fact",
    description=(
        "Receipt headers of in-store sales and returns. Money identities: gross_subtotal_cents - "
        "discount_cents = subtotal_cents and subtotal_cents + tax_cents = total_cents; returns are negative."
    ),
    grain="one row per receipt",
    primary_key=("receipt_id",),
    time_column="event_ts",
    source_events=("receipt_created",),
    columns=(
        col("receipt_id", D.STRING, "Receipt id (reference: receipt_id_ext)."),
        event_ts("When the receipt was closed at the till."),
        store_id(),
        customer_id(nullable=True, description="Customer, when known (dim_customers.customer_id)."),
        col("receipt_type", D.STRING, "SALE or RETURN.", allowed=RECEIPT_TYPES),
        col(
            "return_for_receipt_id",
            D.STRING,
            "For a RETURN, the original SALE receipt (reference: return_for_receipt_id_ext).",
            nullable=True,
        ),
        col("payment_method", D.STRING, "Tender used (reference: payment_method / tender_type).", allowed=PAYMENT_METHODS),
        col("item_count", D.INT32, "Units on the receipt (negative on returns)."),
        cents("gross_subtotal_cents", "Sum of unit price x quantity before discounts.", signed=True),
        cents("discount_cents", "Promotion discounts on the receipt.", signed=True),
        cents("subtotal_cents", "Net subtotal after discounts, before tax.", signed=True),
        cents("tax_cents", "Sales tax.", signed=True),
        cents("total_cents", "Amount paid: subtotal + tax.", signed=True),
        col("campaign_id", D.STRING, "Marketing campaign the purchase is attributed to.", nullable=True),
        trace_id(key=False),
    ),
)

FACT_RECEIPT_LINES = TableSpec(
    name="fact_receipt_lines",
    kind="fact",
    description="Lines of in-store receipts: ext_price_cents = unit_price_cents x quantity - discount_cents.",
    grain="one row per receipt line",
    primary_key=("receipt_id", "line_number"),
    time_column="event_ts",
    source_events=("receipt_line_added",),
    columns=(
        col("receipt_id", D.STRING, "Receipt (fact_receipts.receipt_id)."),
        col("line_number", D.INT32, "Line number on the receipt, 1..n.", gt=0),
        event_ts("Receipt time."),
        product_id(),
        col("quantity", D.INT32, "Units; negative on returns."),
        cents("unit_price_cents", "Shelf price per unit.", signed=False),
        cents("discount_cents", "Promotion discount on the line.", signed=True),
        cents("ext_price_cents", "Line amount after discount.", signed=True),
        col("promo_code", D.STRING, "Promotion applied to the line.", nullable=True),
        trace_id(key=False),
    ),
)

FACT_PAYMENTS = TableSpec(
    name="fact_payments",
    kind="fact",
    description="Payment authorisations for store receipts and online orders, approved or declined.",
    grain="one row per payment transaction",
    primary_key=("transaction_id",),
    time_column="event_ts",
    source_events=("payment_processed",),
    columns=(
        col("transaction_id", D.STRING, "Payment transaction id."),
        event_ts("When the authorisation completed."),
        col("receipt_id", D.STRING, "Store receipt paid (fact_receipts.receipt_id); NULL for online.", nullable=True),
        col("order_id", D.STRING, "Online order paid (fact_online_order_headers.order_id); NULL in store.", nullable=True),
        col("payment_method", D.STRING, "Tender.", allowed=PAYMENT_METHODS),
        cents("amount_cents", "Amount authorised; equals the receipt or order total."),
        col("processing_time_ms", D.INT32, "Authorisation latency in milliseconds.", ge=0),
        col("status", D.STRING, "APPROVED or DECLINED.", allowed=PAYMENT_STATUSES),
        col("decline_reason", D.STRING, "Why a payment was declined.", nullable=True, allowed=DECLINE_REASONS),
        store_id(nullable=True, description="Store for in-store payments (dim_stores.store_id)."),
        customer_id(nullable=True),
        trace_id(key=False),
    ),
)

FACT_STORE_INVENTORY_TXN = TableSpec(
    name="fact_store_inventory_txn",
    kind="fact",
    description="Store stock movements; balance is on-hand after the movement and is continuous over time.",
    grain="one row per store inventory movement",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("inventory_updated",),
    columns=(
        trace_id(key=True),
        event_ts(),
        store_id(),
        product_id(),
        col("quantity", D.INT32, "Signed change in units (sales and shipments out are negative)."),
        col("txn_type", D.STRING, "Kind of movement.", allowed=STORE_TXN_TYPES),
        col("source", D.STRING, "Business document: receipt, shipment or return id, CYCLE_COUNT, RTV.", nullable=True),
        col("balance", D.INT64, "On-hand after the movement; NULL when a streamed event did not carry it.", nullable=True, ge=0),
    ),
)

FACT_DC_INVENTORY_TXN = TableSpec(
    name="fact_dc_inventory_txn",
    kind="fact",
    description="Distribution-centre stock movements: supplier receipts in, truck loads out.",
    grain="one row per DC inventory movement",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("inventory_updated",),
    columns=(
        trace_id(key=True),
        event_ts(),
        dc_id(),
        product_id(),
        col("quantity", D.INT32, "Signed change in units."),
        col("txn_type", D.STRING, "Kind of movement.", allowed=DC_TXN_TYPES),
        col("source", D.STRING, "Business document: shipment or supplier delivery id.", nullable=True),
        col("balance", D.INT64, "On-hand after the movement; NULL when a streamed event did not carry it.", nullable=True, ge=0),
    ),
)

FACT_TRUCK_MOVES = TableSpec(
    name="fact_truck_moves",
    kind="fact",
    description=(
        "Shipment lifecycle from DC to store: SCHEDULED, LOADING, IN_TRANSIT, ARRIVED, UNLOADING, COMPLETED, "
        "one row per status, in that order."
    ),
    grain="one row per shipment status",
    primary_key=("shipment_id", "status"),
    time_column="event_ts",
    source_events=("truck_arrived", "truck_departed"),
    columns=(
        col("shipment_id", D.STRING, "Shipment id."),
        col("status", D.STRING, "Lifecycle status reached.", allowed=TRUCK_STATUSES),
        event_ts("When the shipment reached this status."),
        fk("truck_id", "dim_trucks", "Truck (dim_trucks.truck_id)."),
        dc_id(description="Shipping distribution centre (dim_distribution_centers.dc_id)."),
        store_id(description="Receiving store (dim_stores.store_id)."),
        col("eta", D.TIMESTAMP, "Planned arrival at the store.", nullable=True),
        col("etd", D.TIMESTAMP, "Planned departure from the store after unloading.", nullable=True),
        col(
            "unload_duration_minutes",
            D.INT32,
            "Estimated unload minutes on ARRIVED, actual minutes on COMPLETED, else NULL.",
            nullable=True,
            ge=0,
        ),
        trace_id(key=False),
    ),
)

FACT_TRUCK_INVENTORY = TableSpec(
    name="fact_truck_inventory",
    kind="fact",
    description="Products loaded onto a truck at the DC and unloaded at the store, per shipment.",
    grain="one row per shipment, product and action",
    primary_key=("shipment_id", "product_id", "action"),
    time_column="event_ts",
    columns=(
        col("shipment_id", D.STRING, "Shipment (fact_truck_moves.shipment_id)."),
        product_id(),
        col("action", D.STRING, "LOAD at the DC or UNLOAD at the store.", allowed=TRUCK_ACTIONS),
        event_ts(),
        fk("truck_id", "dim_trucks", "Truck (dim_trucks.truck_id)."),
        col("quantity", D.INT32, "Units loaded or unloaded.", gt=0),
        col("location_type", D.STRING, "DC or STORE.", allowed=NODE_TYPES),
        col("location_id", D.INT64, "dc_id when location_type is DC, store_id when STORE.", gt=0),
    ),
)

FACT_FOOT_TRAFFIC = TableSpec(
    name="fact_foot_traffic",
    kind="fact",
    description="People counted by door and aisle sensors per store zone and hour.",
    grain="one row per store, sensor zone and hour",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("customer_entered",),
    columns=(
        trace_id(key=True),
        event_ts("Start of the hour counted."),
        store_id(),
        col("sensor_id", D.STRING, "Sensor id SENSOR_<store>_<zone>."),
        col("zone", D.STRING, "Sensor zone.", allowed=FOOT_TRAFFIC_ZONES),
        col("customer_count", D.INT32, "People counted in the zone (reference: count).", ge=0),
        col("dwell_seconds", D.INT32, "Average dwell in the zone, seconds.", ge=0),
    ),
)

FACT_BLE_PINGS = TableSpec(
    name="fact_ble_pings",
    kind="fact",
    description="Bluetooth beacon pings of shoppers' devices; known devices resolve to a customer.",
    grain="one row per ping",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("ble_ping_detected",),
    columns=(
        trace_id(key=True),
        event_ts(),
        store_id(),
        col("beacon_id", D.STRING, "Beacon id BEACON_<store>_<zone>."),
        col("customer_ble_id", D.STRING, "Device id: a customer's ble_id or an anonymous id."),
        customer_id(nullable=True, description="Customer owning the device, when known (reference: CustomerId)."),
        col("rssi", D.INT32, "Signal strength in dBm.", ge=-120, le=0),
        col("zone", D.STRING, "Store zone of the beacon.", allowed=BLE_ZONES),
    ),
)

FACT_CUSTOMER_ZONE_CHANGES = TableSpec(
    name="fact_customer_zone_changes",
    kind="fact",
    description="A known device moving from one store zone to another, derived from consecutive pings.",
    grain="one row per zone change",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("customer_zone_changed",),
    columns=(
        trace_id(key=True),
        event_ts("Time of the first ping in the new zone."),
        store_id(),
        col("customer_ble_id", D.STRING, "Device id."),
        col("from_zone", D.STRING, "Zone left.", allowed=BLE_ZONES),
        col("to_zone", D.STRING, "Zone entered.", allowed=BLE_ZONES),
    ),
)

FACT_MARKETING = TableSpec(
    name="fact_marketing",
    kind="fact",
    description="Digital ad impressions with their cost; 5 % resolve to a known customer.",
    grain="one row per ad impression",
    primary_key=("impression_id",),
    time_column="event_ts",
    source_events=("ad_impression",),
    columns=(
        col("impression_id", D.STRING, "Impression id (reference: impression_id_ext)."),
        event_ts(),
        col("channel", D.STRING, "Ad channel.", allowed=MARKETING_CHANNELS),
        col("campaign_id", D.STRING, "Campaign."),
        col("creative_id", D.STRING, "Creative shown."),
        col("customer_ad_id", D.STRING, "Advertising id of the device."),
        customer_id(nullable=True, description="Customer matched from the ad id (reference: CustomerId)."),
        cents("cost_cents", "Cost of the impression (reference: CostCents)."),
        col("device", D.STRING, "Device type.", allowed=DEVICES),
        trace_id(key=False),
    ),
)

FACT_ONLINE_ORDER_HEADERS = TableSpec(
    name="fact_online_order_headers",
    kind="fact",
    description=(
        "Online orders with fulfilment mode and money; same identities as receipts. Cancelled orders "
        "carry zero money and have no payment."
    ),
    grain="one row per online order",
    primary_key=("order_id",),
    time_column="event_ts",
    source_events=("online_order_created",),
    columns=(
        col("order_id", D.STRING, "Order id (reference: order_id_ext)."),
        event_ts("When the order was placed."),
        customer_id(nullable=False),
        col("fulfillment_mode", D.STRING, "How the order is fulfilled.", allowed=FULFILLMENT_MODES),
        col("node_type", D.STRING, "Fulfilling node type.", allowed=NODE_TYPES),
        col("node_id", D.INT64, "dc_id or store_id of the fulfilling node.", gt=0),
        col("item_count", D.INT32, "Units ordered.", ge=0),
        cents("gross_subtotal_cents", "Sum of unit price x quantity before discounts."),
        cents("discount_cents", "Promotion discounts."),
        cents("subtotal_cents", "Net subtotal after discounts, before tax."),
        cents("tax_cents", "Sales tax."),
        cents("total_cents", "Amount charged: subtotal + tax."),
        col("payment_method", D.STRING, "Tender (reference: tender_type).", allowed=PAYMENT_METHODS),
        col("order_status", D.STRING, "Latest fulfilment status of the order.", allowed=FULFILLMENT_STATUSES),
        col("completed_ts", D.TIMESTAMP, "When the last line was delivered or picked up.", nullable=True),
        col("campaign_id", D.STRING, "Marketing campaign the order is attributed to.", nullable=True),
        trace_id(key=False),
    ),
)

FACT_ONLINE_ORDER_LINES = TableSpec(
    name="fact_online_order_lines",
    kind="fact",
    description="Lines of online orders with their pick/ship/deliver lifecycle; partitioned by order time.",
    grain="one row per order line",
    primary_key=("order_id", "line_number"),
    time_column="event_ts",
    source_events=("online_order_picked", "online_order_shipped"),
    columns=(
        col("order_id", D.STRING, "Order (fact_online_order_headers.order_id)."),
        col("line_number", D.INT32, "Line number, 1..n.", gt=0),
        event_ts("When the order was placed (the header's event_ts)."),
        product_id(),
        col("quantity", D.INT32, "Units.", gt=0),
        cents("unit_price_cents", "Price per unit."),
        cents("discount_cents", "Promotion discount on the line."),
        cents("ext_price_cents", "Line amount after discount."),
        col("promo_code", D.STRING, "Promotion applied.", nullable=True),
        col("fulfillment_status", D.STRING, "Latest status of the line.", allowed=FULFILLMENT_STATUSES),
        col("fulfillment_mode", D.STRING, "How the line is fulfilled.", allowed=FULFILLMENT_MODES),
        col("node_type", D.STRING, "Fulfilling node type.", allowed=NODE_TYPES),
        col("node_id", D.INT64, "dc_id or store_id of the fulfilling node.", gt=0),
        col("picked_ts", D.TIMESTAMP, "When the line was picked.", nullable=True),
        col("shipped_ts", D.TIMESTAMP, "When the line shipped (NULL for store pickup).", nullable=True),
        col("delivered_ts", D.TIMESTAMP, "When the line was delivered or picked up.", nullable=True),
    ),
)

FACT_STORE_OPS = TableSpec(
    name="fact_store_ops",
    kind="fact",
    description="Store opening and closing times, following each store's operating hours.",
    grain="one row per store opening or closing",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("store_opened", "store_closed"),
    columns=(
        trace_id(key=True),
        event_ts("When the store opened or closed (reference: operation_time)."),
        store_id(),
        col("operation_type", D.STRING, "opened or closed.", allowed=STORE_OPERATIONS),
    ),
)

FACT_STOCKOUTS = TableSpec(
    name="fact_stockouts",
    kind="fact",
    description="A product's on-hand reaching zero at a store or a DC (exactly one of store_id, dc_id is set).",
    grain="one row per stockout detection",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("stockout_detected",),
    columns=(
        trace_id(key=True),
        event_ts("Detection time (reference: DetectionTime)."),
        store_id(nullable=True),
        dc_id(nullable=True),
        product_id(),
        col("last_known_quantity", D.INT32, "Units removed by the movement that emptied the shelf.", ge=0),
        col(
            "lost_sales_units",
            D.INT32,
            "Units shoppers wanted while a store's shelf was empty (that inventory day) and did not replace with another "
            "product; null for DCs and for streamed events, which report the stockout as it is detected.",
            ge=0,
            nullable=True,
        ),
    ),
)

FACT_PROMOTIONS = TableSpec(
    name="fact_promotions",
    kind="fact",
    description="Promotion codes applied to store receipts with the discount they gave.",
    grain="one row per receipt and promotion code",
    primary_key=("receipt_id", "promo_code"),
    time_column="event_ts",
    source_events=("promotion_applied",),
    columns=(
        col("receipt_id", D.STRING, "Receipt (fact_receipts.receipt_id)."),
        col("promo_code", D.STRING, "Promotion code."),
        event_ts("Receipt time."),
        cents("discount_cents", "Total discount given by the code on the receipt.", signed=False),
        col("discount_type", D.STRING, "Kind of promotion.", allowed=DISCOUNT_TYPES),
        col("product_count", D.INT32, "Discounted lines.", gt=0),
        col("product_ids", D.LIST_INT64, "Discounted products (dim_products.product_id)."),
        store_id(),
        customer_id(nullable=True),
        trace_id(key=False),
    ),
)

FACT_PROMO_LINES = TableSpec(
    name="fact_promo_lines",
    kind="fact",
    description="Receipt lines discounted by a promotion code.",
    grain="one row per discounted receipt line",
    primary_key=("receipt_id", "line_number", "promo_code"),
    time_column="event_ts",
    columns=(
        col("receipt_id", D.STRING, "Receipt (fact_receipts.receipt_id)."),
        col("line_number", D.INT32, "Receipt line (fact_receipt_lines.line_number).", gt=0),
        col("promo_code", D.STRING, "Promotion code."),
        event_ts("Receipt time."),
        product_id(),
        col("quantity", D.INT32, "Units on the line.", gt=0),
        cents("discount_cents", "Discount on the line."),
    ),
)

FACT_REORDERS = TableSpec(
    name="fact_reorders",
    kind="fact",
    description="Store replenishment requests, routed to the nearest distribution centre.",
    grain="one row per store, product and reorder",
    primary_key=("trace_id",),
    time_column="event_ts",
    source_events=("reorder_triggered",),
    columns=(
        trace_id(key=True),
        event_ts(),
        store_id(),
        dc_id(description="Supplying distribution centre: the store's nearest (dim_distribution_centers.dc_id)."),
        product_id(),
        col("current_quantity", D.INT32, "On-hand when the reorder point was checked.", ge=0),
        col("reorder_quantity", D.INT32, "Units requested.", gt=0),
        col("reorder_point", D.INT32, "Reorder point of the store and product.", ge=0),
        col("priority", D.STRING, "URGENT (>= 50 % below the point), HIGH (>= 25 %) or NORMAL.", allowed=REORDER_PRIORITIES),
    ),
)

FACT_MARKETING_ATTRIBUTION = TableSpec(
    name="fact_marketing_attribution",
    kind="fact",
    description=(
        "Purchases linked to the ad impression that preceded them (last touch within 7 days), "
        "reconciled against payment and promotion money (reference spec §12.3 fn_marketing_attribution)."
    ),
    grain="one row per attributed purchase",
    primary_key=("attribution_id",),
    time_column="event_ts",
    columns=(
        col("attribution_id", D.STRING, "Attribution id."),
        event_ts("Purchase time."),
        col("receipt_id", D.STRING, "Store receipt purchased (fact_receipts.receipt_id).", nullable=True),
        col("order_id", D.STRING, "Online order purchased (fact_online_order_headers.order_id).", nullable=True),
        customer_id(nullable=False),
        col("campaign_id", D.STRING, "Campaign credited."),
        col("impression_id", D.STRING, "Impression credited (fact_marketing.impression_id).", nullable=True),
        col("channel", D.STRING, "Channel of the credited impression.", allowed=MARKETING_CHANNELS),
        col("touch_ts", D.TIMESTAMP, "Time of the credited impression.", nullable=True),
        col("lag_seconds", D.INT64, "Seconds from the impression to the purchase.", nullable=True, ge=0),
        col("attribution_model", D.STRING, "Attribution rule.", allowed=("LAST_TOUCH_7D",)),
        col("status", D.STRING, "Outcome of the reconciliation.", allowed=ATTRIBUTION_STATUSES),
        cents("attributed_revenue_cents", "Net subtotal credited to the campaign."),
        cents("discount_cents", "Promotion discount on the purchase."),
        cents("tax_cents", "Tax on the purchase."),
        cents("payment_cents", "Approved payment for the purchase."),
    ),
)

FACTS: tuple[TableSpec, ...] = (
    FACT_RECEIPTS,
    FACT_RECEIPT_LINES,
    FACT_PAYMENTS,
    FACT_STORE_INVENTORY_TXN,
    FACT_DC_INVENTORY_TXN,
    FACT_TRUCK_MOVES,
    FACT_TRUCK_INVENTORY,
    FACT_FOOT_TRAFFIC,
    FACT_BLE_PINGS,
    FACT_CUSTOMER_ZONE_CHANGES,
    FACT_MARKETING,
    FACT_ONLINE_ORDER_HEADERS,
    FACT_ONLINE_ORDER_LINES,
    FACT_STORE_OPS,
    FACT_STOCKOUTS,
    FACT_PROMOTIONS,
    FACT_PROMO_LINES,
    FACT_REORDERS,
    FACT_MARKETING_ATTRIBUTION,
)
