"""The streaming event types (the reference's) and their envelope (reference spec §9.1-9.3, §12.1, §17).

Payload field names, types and constraints follow the reference exactly (float dollars included)
so that producers built for the reference's Event Hubs/Eventhouse work against this platform too.
The reference's later additions (receipt and order cents, attribution ids, customer_id on ad
impressions) are optional fields. Silver maps payloads to facts and converts dollars to cents.

Conventions the reference left open:
- truck ``estimated_unload_duration`` / ``actual_unload_duration`` are minutes;
- ``ingest_timestamp`` is the business time of the event (as in the reference), and decides the
  event's month partition.
"""

from __future__ import annotations

from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.facts import (
    BLE_ZONES,
    DECLINE_REASONS,
    DISCOUNT_TYPES,
    FULFILLMENT_MODES,
    NODE_TYPES,
    PAYMENT_STATUSES,
    REORDER_PRIORITIES,
    STORE_OPERATIONS,
)
from retail_assets.lib.specs.model import ColumnSpec, DType, EventSpec

D = DType

SCHEMA_VERSIONS = ("1.0",)

# Eventhouse retention classes (reference spec §12.1), in days.
TRANSACTIONS, INVENTORY, CUSTOMER_LOCATION, OPERATIONS, MARKETING, OMNICHANNEL = 30, 14, 7, 14, 14, 30


def _id(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    """An integer id the reference types as ``int > 0`` (KQL long)."""
    return col(name, D.INT64, description, nullable=nullable, gt=0)


def _str(name: str, description: str, *, nullable: bool = False, allowed: tuple[str, ...] | None = None) -> ColumnSpec:
    return col(name, D.STRING, description, nullable=nullable, allowed=allowed)


def _dollars(name: str, description: str, *, positive: bool = False, nullable: bool = False) -> ColumnSpec:
    """Float dollars, as the reference's payloads carry them (KQL real)."""
    bound = {"gt": 0.0} if positive else {"ge": 0.0}
    return ColumnSpec(name=name, dtype=D.FLOAT64, description=description, nullable=nullable, **bound)


def _cents(name: str, description: str) -> ColumnSpec:
    return col(name, D.INT64, description, nullable=True, ge=0)


def _ts(name: str, description: str) -> ColumnSpec:
    return col(name, D.TIMESTAMP, description)


def _count(name: str, description: str, *, positive: bool = False) -> ColumnSpec:
    return col(name, D.INT64, description, **({"gt": 0} if positive else {"ge": 0}))


# The envelope: the payload's columns are flattened next to these nine (as the KQL tables do).
ENVELOPE: tuple[ColumnSpec, ...] = (
    _str("event_type", "One of the event types of the registry (lib/specs/events.py)."),
    _str("trace_id", "Unique id of the event; duplicates are dropped on it."),
    _ts("ingest_timestamp", "Business time of the event (UTC); decides its month."),
    _str("schema_version", "Envelope schema version.", allowed=SCHEMA_VERSIONS),
    _str("source", "Producer name (retail-datagen, retail-assets-stream, ...)."),
    _str("correlation_id", "Correlates events of one business flow (receipt id, journey id).", nullable=True),
    _str("partition_key", "Event Hubs partition key (store_<id>, dc_<id>, marketing_<channel>).", nullable=True),
    _str("session_id", "Shopper or device session.", nullable=True),
    _str("parent_event_id", "trace_id of the event that caused this one.", nullable=True),
)

_ATTRIBUTION_CENTS = (
    _cents("gross_subtotal_cents", "Gross subtotal in cents (later reference versions)."),
    _cents("discount_cents", "Discount in cents (later reference versions)."),
    _cents("subtotal_cents", "Net subtotal in cents (later reference versions)."),
    _cents("tax_cents", "Tax in cents (later reference versions)."),
    _cents("total_cents", "Total in cents (later reference versions)."),
)

RECEIPT_CREATED = EventSpec(
    event_type="receipt_created",
    description="A store receipt was closed at the till.",
    facts=("fact_receipts",),
    retention_days=TRANSACTIONS,
    payload=(
        _id("store_id", "Store."),
        _id("customer_id", "Customer; NULL for an anonymous shopper.", nullable=True),
        _str("receipt_id", "Receipt id."),
        _dollars("subtotal", "Net subtotal after discounts, dollars."),
        _dollars("tax", "Tax, dollars."),
        _dollars("total", "Total, dollars."),
        _str("tender_type", "Tender (CREDIT_CARD, CASH, ...)."),
        _count("item_count", "Units on the receipt.", positive=True),
        _str("campaign_id", "Attributed campaign.", nullable=True),
        _str("impression_id", "Attributed impression.", nullable=True),
        *_ATTRIBUTION_CENTS,
    ),
)

RECEIPT_LINE_ADDED = EventSpec(
    event_type="receipt_line_added",
    description="A line was added to a store receipt.",
    facts=("fact_receipt_lines",),
    retention_days=TRANSACTIONS,
    payload=(
        _str("receipt_id", "Receipt id."),
        _count("line_number", "Line number.", positive=True),
        _id("product_id", "Product."),
        _count("quantity", "Units.", positive=True),
        _dollars("unit_price", "Price per unit, dollars.", positive=True),
        _dollars("extended_price", "Line amount after discount, dollars.", positive=True),
        _str("promo_code", "Promotion applied.", nullable=True),
    ),
)

PAYMENT_PROCESSED = EventSpec(
    event_type="payment_processed",
    description="A payment for a receipt or an online order was authorised or declined.",
    facts=("fact_payments",),
    retention_days=TRANSACTIONS,
    payload=(
        _str("receipt_id", "Store receipt paid.", nullable=True),
        _str("order_id", "Online order paid.", nullable=True),
        _str("payment_method", "Tender."),
        _dollars("amount", "Amount, dollars.", positive=True),
        _count("amount_cents", "Amount in cents.", positive=True),
        _str("transaction_id", "Payment transaction id."),
        _ts("processing_time", "When the authorisation completed."),
        col("processing_time_ms", D.INT32, "Authorisation latency, ms.", ge=0),
        _str("status", "APPROVED or DECLINED.", allowed=PAYMENT_STATUSES),
        _str("decline_reason", "Why it was declined.", nullable=True, allowed=DECLINE_REASONS),
        _id("store_id", "Store, for in-store payments.", nullable=True),
        _id("customer_id", "Customer; NULL for an anonymous in-store shopper.", nullable=True),
    ),
)

INVENTORY_UPDATED = EventSpec(
    event_type="inventory_updated",
    description="Stock moved at a store (store_id set) or a distribution centre (dc_id set).",
    facts=("fact_store_inventory_txn", "fact_dc_inventory_txn"),
    retention_days=INVENTORY,
    payload=(
        _id("store_id", "Store, for store stock.", nullable=True),
        _id("dc_id", "Distribution centre, for DC stock.", nullable=True),
        _id("product_id", "Product."),
        col("quantity_delta", D.INT64, "Signed change in units (never 0)."),
        _str("reason", "Kind of movement (SALE, INBOUND_SHIPMENT, ...)."),
        col(
            "payload_source",
            D.STRING,
            "Business document (payload field 'source', renamed to avoid the envelope's source).",
            nullable=True,
            json_field="source",
        ),
    ),
)

STOCKOUT_DETECTED = EventSpec(
    event_type="stockout_detected",
    description="A product's on-hand reached zero at a store or a distribution centre.",
    facts=("fact_stockouts",),
    retention_days=INVENTORY,
    payload=(
        _id("store_id", "Store.", nullable=True),
        _id("dc_id", "Distribution centre.", nullable=True),
        _id("product_id", "Product."),
        _count("last_known_quantity", "Units removed by the movement that emptied the shelf."),
        _ts("detection_time", "Detection time."),
    ),
)

REORDER_TRIGGERED = EventSpec(
    event_type="reorder_triggered",
    description="A store requested replenishment of a product.",
    facts=("fact_reorders",),
    retention_days=INVENTORY,
    payload=(
        _id("store_id", "Store.", nullable=True),
        _id("dc_id", "Supplying distribution centre.", nullable=True),
        _id("product_id", "Product."),
        _count("current_quantity", "On-hand at the check."),
        _count("reorder_quantity", "Units requested.", positive=True),
        _count("reorder_point", "Reorder point."),
        _str("priority", "NORMAL, HIGH or URGENT.", allowed=REORDER_PRIORITIES),
    ),
)

CUSTOMER_ENTERED = EventSpec(
    event_type="customer_entered",
    description="A door or aisle sensor counted people in a store zone.",
    facts=("fact_foot_traffic",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        _id("store_id", "Store."),
        _str("sensor_id", "Sensor."),
        _str("zone", "Sensor zone."),
        _count("customer_count", "People counted."),
        _count("dwell_time", "Average dwell, seconds."),
    ),
)

CUSTOMER_ZONE_CHANGED = EventSpec(
    event_type="customer_zone_changed",
    description="A known device moved from one store zone to another.",
    facts=("fact_customer_zone_changes",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        _id("store_id", "Store."),
        _str("customer_ble_id", "Device id."),
        _str("from_zone", "Zone left.", allowed=BLE_ZONES),
        _str("to_zone", "Zone entered.", allowed=BLE_ZONES),
        _ts("timestamp", "When the device entered the new zone."),
    ),
)

BLE_PING_DETECTED = EventSpec(
    event_type="ble_ping_detected",
    description="A store beacon detected a shopper's device.",
    facts=("fact_ble_pings",),
    retention_days=CUSTOMER_LOCATION,
    payload=(
        _id("store_id", "Store."),
        _str("beacon_id", "Beacon."),
        _str("customer_ble_id", "Device id."),
        col("rssi", D.INT64, "Signal strength, dBm.", ge=-120, le=0),
        _str("zone", "Beacon zone.", allowed=BLE_ZONES),
    ),
)

TRUCK_ARRIVED = EventSpec(
    event_type="truck_arrived",
    description="A truck arrived at the store of a shipment.",
    facts=("fact_truck_moves",),
    retention_days=OPERATIONS,
    payload=(
        _str("truck_id", "Truck id (text in the reference's events)."),
        _id("dc_id", "Shipping distribution centre.", nullable=True),
        _id("store_id", "Receiving store.", nullable=True),
        _str("shipment_id", "Shipment."),
        _ts("arrival_time", "Arrival time."),
        _count("estimated_unload_duration", "Planned unload, minutes.", positive=True),
    ),
)

TRUCK_DEPARTED = EventSpec(
    event_type="truck_departed",
    description="A truck left the store after unloading a shipment.",
    facts=("fact_truck_moves",),
    retention_days=OPERATIONS,
    payload=(
        _str("truck_id", "Truck id (text in the reference's events)."),
        _id("dc_id", "Shipping distribution centre.", nullable=True),
        _id("store_id", "Receiving store.", nullable=True),
        _str("shipment_id", "Shipment."),
        _ts("departure_time", "Departure time."),
        _count("actual_unload_duration", "Actual unload, minutes.", positive=True),
    ),
)


def _store_operation(event_type: str, verb: str) -> EventSpec:
    return EventSpec(
        event_type=event_type,
        description=f"A store {verb}.",
        facts=("fact_store_ops",),
        retention_days=OPERATIONS,
        payload=(
            _id("store_id", "Store."),
            _ts("operation_time", f"When the store {verb}."),
            _str("operation_type", "opened or closed.", allowed=STORE_OPERATIONS),
        ),
    )


STORE_OPENED = _store_operation("store_opened", "opened")
STORE_CLOSED = _store_operation("store_closed", "closed")

AD_IMPRESSION = EventSpec(
    event_type="ad_impression",
    description="A digital ad was shown.",
    facts=("fact_marketing",),
    retention_days=MARKETING,
    payload=(
        _str("channel", "Ad channel."),
        _str("campaign_id", "Campaign."),
        _str("creative_id", "Creative."),
        _str("customer_ad_id", "Advertising id of the device."),
        _str("impression_id", "Impression id."),
        col("cost", D.FLOAT64, "Cost, dollars (4 decimals).", ge=0.0),
        _str("device_type", "MOBILE, DESKTOP or TABLET."),
        _id("customer_id", "Customer matched from the ad id.", nullable=True),
    ),
)

PROMOTION_APPLIED = EventSpec(
    event_type="promotion_applied",
    description="A promotion code discounted lines of a store receipt.",
    facts=("fact_promotions",),
    retention_days=MARKETING,
    payload=(
        _str("receipt_id", "Receipt."),
        _str("promo_code", "Promotion code."),
        _dollars("discount_amount", "Discount, dollars.", positive=True),
        _count("discount_cents", "Discount, cents.", positive=True),
        _str("discount_type", "PERCENTAGE, FIXED_AMOUNT or BOGO.", allowed=DISCOUNT_TYPES),
        _count("product_count", "Discounted lines.", positive=True),
        col("product_ids", D.LIST_INT64, "Discounted products."),
        _id("store_id", "Store."),
        _id("customer_id", "Customer; NULL for an anonymous shopper.", nullable=True),
    ),
)

ONLINE_ORDER_CREATED = EventSpec(
    event_type="online_order_created",
    description="A customer placed an online order.",
    facts=("fact_online_order_headers",),
    retention_days=OMNICHANNEL,
    payload=(
        _str("order_id", "Order id."),
        _id("customer_id", "Customer."),
        _str("fulfillment_mode", "SHIP_FROM_STORE, SHIP_FROM_DC or BOPIS.", allowed=FULFILLMENT_MODES),
        _str("node_type", "STORE or DC.", allowed=NODE_TYPES),
        _id("node_id", "Fulfilling store or DC."),
        _count("item_count", "Units ordered.", positive=True),
        _dollars("subtotal", "Net subtotal, dollars."),
        _dollars("tax", "Tax, dollars."),
        _dollars("total", "Total, dollars."),
        _str("tender_type", "Tender."),
        _str("campaign_id", "Attributed campaign.", nullable=True),
        _str("impression_id", "Attributed impression.", nullable=True),
        *_ATTRIBUTION_CENTS,
    ),
)


def _order_step(event_type: str, time_field: str, verb: str) -> EventSpec:
    return EventSpec(
        event_type=event_type,
        description=f"An online order was {verb}.",
        facts=("fact_online_order_lines",),
        retention_days=OMNICHANNEL,
        payload=(
            _str("order_id", "Order id."),
            _str("node_type", "STORE or DC.", allowed=NODE_TYPES),
            _id("node_id", "Fulfilling store or DC."),
            _str("fulfillment_mode", "SHIP_FROM_STORE, SHIP_FROM_DC or BOPIS.", allowed=FULFILLMENT_MODES),
            _ts(time_field, f"When the order was {verb}."),
        ),
    )


ONLINE_ORDER_PICKED = _order_step("online_order_picked", "picked_time", "picked")
ONLINE_ORDER_SHIPPED = _order_step("online_order_shipped", "shipped_time", "shipped")

EVENTS: tuple[EventSpec, ...] = (
    RECEIPT_CREATED,
    RECEIPT_LINE_ADDED,
    PAYMENT_PROCESSED,
    INVENTORY_UPDATED,
    STOCKOUT_DETECTED,
    REORDER_TRIGGERED,
    CUSTOMER_ENTERED,
    CUSTOMER_ZONE_CHANGED,
    BLE_PING_DETECTED,
    TRUCK_ARRIVED,
    TRUCK_DEPARTED,
    STORE_OPENED,
    STORE_CLOSED,
    AD_IMPRESSION,
    PROMOTION_APPLIED,
    ONLINE_ORDER_CREATED,
    ONLINE_ORDER_PICKED,
    ONLINE_ORDER_SHIPPED,
)
