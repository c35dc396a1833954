"""The event → fact mapping: every event type of the registry onto the rows of its fact (reference spec §9.3).

Bronze event tables hold the reference envelope plus the flattened payload with the reference's
names and float dollars. Each mapping here returns the fact's columns (snake_case, int cents) and
the checks for what the mapping itself can find wrong (an integer too large for the fact's column,
a truck id that is not a number, an operation that contradicts its event type). Money in dollars
becomes cents as ``round(dollars × 100)`` (half away from zero, after removing float noise); the
optional ``*_cents`` payload fields win when present.

``online_order_picked`` and ``online_order_shipped`` do not create rows: they update the lines of
their order (``lifecycle.py``).

Where an event does not carry a fact column, the choice is listed in ``MAPPING_NOTES`` (shown in
the asset's description) and tested. Each mapping also flags, per row, which of its columns are such
a default or derivation rather than a value the event carried (``rules.not_carried``): when an
event and a batch row share a business key, only what the event carried is compared with the batch
row (``dedupe.py``), so an event is not a conflict because it lacks a balance or an order status.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import polars as pl

from retail_assets.lib import money
from retail_assets.lib.silver.rules import (
    BATCH_ID,
    EVENT_TRACE_ID,
    INCONSISTENT,
    ORIGIN,
    SOURCE_FILE,
    TYPE_ERROR,
    RowCheck,
    as_text,
    not_carried,
)
from retail_assets.lib.specs import REGISTRY

TS = pl.Datetime("us", "UTC")


@dataclass(frozen=True)
class CustomerDevices:
    """Which customer owned which BLE device id when: one row per dim_customers version."""

    versions: pl.DataFrame  # ble_id, customer_id, valid_from, valid_to

    @classmethod
    def empty(cls) -> CustomerDevices:
        return cls(pl.DataFrame(schema={"ble_id": pl.String, "customer_id": pl.Int64, "valid_from": TS, "valid_to": TS}))


@dataclass(frozen=True)
class MappingContext:
    month: dt.date
    devices: CustomerDevices = field(default_factory=CustomerDevices.empty)
    # The key-hash shard being built (``shards.py``), a predicate on the fact's first key column. The fact builder
    # applies it to every mapped frame; a mapping whose plan stops polars from pushing it into the Bronze scan
    # applies it to the raw events too, where its key column is the event's own.
    shard: pl.Expr | None = None


@dataclass(frozen=True)
class Mapped:
    frame: pl.LazyFrame
    checks: tuple[RowCheck, ...] = ()


ALWAYS = pl.lit(True)  # a column the event type never carries


# ---- building blocks ---------------------------------------------------------------------------


def dollars_to_cents(column: str) -> pl.Expr:
    """Float dollars to integer cents, exactly as the KQL hot path converts them (``lib/money.py``)."""
    return money.dollars_to_cents(pl.col(column))


def cents(cents_field: str | None, dollars_field: str) -> pl.Expr:
    converted = dollars_to_cents(dollars_field)
    return pl.coalesce(pl.col(cents_field), converted) if cents_field else converted


def raw(target: str) -> str:
    return f"__raw_{target}"


def narrow(source: str, target: str, dtype: pl.DataType) -> tuple[list[pl.Expr], RowCheck]:
    """Read ``source`` into ``target`` of a narrower integer type; rows that overflow are rejected."""
    exprs = [pl.col(source).cast(dtype, strict=False).alias(target), pl.col(source).alias(raw(target))]
    check = RowCheck(
        name=f"{target} fits {dtype}",
        code=TYPE_ERROR,
        column=target,
        condition=pl.col(raw(target)).is_not_null() & pl.col(target).is_null(),
        message=pl.format(f"column {target}: {{}} does not fit {dtype} (from payload {source})", as_text(pl.col(raw(target)))),
        value=as_text(pl.col(raw(target))),
    )
    return exprs, check


def _meta(event_type: str) -> list[pl.Expr]:
    return [
        pl.lit(event_type, dtype=pl.Categorical).alias(ORIGIN),
        pl.col("_source_file").cast(pl.Categorical).alias(SOURCE_FILE),
        pl.col("_batch_id").cast(pl.Categorical).alias(BATCH_ID),
        pl.col("trace_id").alias(EVENT_TRACE_ID),
    ]


def _finish(
    events: pl.LazyFrame,
    event_type: str,
    exprs: list[pl.Expr],
    checks: list[RowCheck],
    not_carried_by: dict[str, pl.Expr] | None = None,
) -> Mapped:
    """The mapped rows; ``not_carried_by``: fact column -> true on the rows where the mapping filled it with a
    default or a derivation (a stand-in for what the event does not say), kept as a hidden flag column."""
    flags = [expr.alias(not_carried(column)) for column, expr in (not_carried_by or {}).items()]
    return Mapped(events.select(*exprs, *flags, *_meta(event_type)), tuple(checks))


# Neither discount_cents nor gross_subtotal_cents in the event: discount 0 and gross = subtotal are defaults.
MONEY_NOT_CARRIED = {
    column: pl.col("discount_cents").is_null() & pl.col("gross_subtotal_cents").is_null()
    for column in ("discount_cents", "gross_subtotal_cents")
}


def _money(exprs: list[pl.Expr]) -> list[pl.Expr]:
    """Receipt/order money: cents fields when carried, else dollars; discount 0 and gross = net when neither says."""
    subtotal = cents("subtotal_cents", "subtotal")
    discount = pl.coalesce(pl.col("discount_cents"), pl.col("gross_subtotal_cents") - subtotal, pl.lit(0, dtype=pl.Int64))
    return [
        *exprs,
        pl.coalesce(pl.col("gross_subtotal_cents"), subtotal + discount).alias("gross_subtotal_cents"),
        discount.alias("discount_cents"),
        subtotal.alias("subtotal_cents"),
        cents("tax_cents", "tax").alias("tax_cents"),
        cents("total_cents", "total").alias("total_cents"),
    ]


# ---- one mapping per (fact, event) ---------------------------------------------------------------


def _receipt_created(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    item_count, item_check = narrow("item_count", "item_count", pl.Int32())
    exprs = _money(
        [
            pl.col("receipt_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col("store_id"),
            pl.col("customer_id"),
            pl.lit("SALE").alias("receipt_type"),
            pl.lit(None, dtype=pl.String).alias("return_for_receipt_id"),
            pl.col("tender_type").alias("payment_method"),
            *item_count,
        ]
    )
    return _finish(
        events, "receipt_created", [*exprs, pl.col("campaign_id"), pl.col("trace_id")], [item_check], MONEY_NOT_CARRIED
    )


def _receipt_line_added(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    line, line_check = narrow("line_number", "line_number", pl.Int32())
    qty, qty_check = narrow("quantity", "quantity", pl.Int32())
    unit = dollars_to_cents("unit_price")
    ext = dollars_to_cents("extended_price")
    exprs = [
        pl.col("receipt_id"),
        *line,
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("product_id"),
        *qty,
        unit.alias("unit_price_cents"),
        (unit * pl.col("quantity") - ext).alias("discount_cents"),
        ext.alias("ext_price_cents"),
        pl.col("promo_code"),
        pl.col("trace_id"),
    ]
    return _finish(events, "receipt_line_added", exprs, [line_check, qty_check])


def _payment_processed(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("transaction_id"),
        pl.col("processing_time").alias("event_ts"),
        pl.col("receipt_id"),
        pl.col("order_id"),
        pl.col("payment_method"),
        cents("amount_cents", "amount").alias("amount_cents"),
        pl.col("processing_time_ms"),
        pl.col("status"),
        pl.col("decline_reason"),
        pl.col("store_id"),
        pl.col("customer_id"),
        pl.col("trace_id"),
    ]
    return _finish(events, "payment_processed", exprs, [])


def _inventory(node: str) -> Callable[[pl.LazyFrame, MappingContext], Mapped]:
    """inventory_updated → the store fact when store_id is set, else the DC fact (each event goes to exactly one)."""
    other = "dc_id" if node == "store_id" else "store_id"

    def mapping(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
        routed = events.filter(pl.col("store_id").is_not_null() if node == "store_id" else pl.col("store_id").is_null())
        qty, qty_check = narrow("quantity_delta", "quantity", pl.Int32())
        exprs = [
            pl.col("trace_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col(node),
            pl.col("product_id"),
            *qty,
            pl.col("reason").alias("txn_type"),
            pl.col("payload_source").alias("source"),
            pl.lit(None, dtype=pl.Int64).alias("balance"),
            pl.col(other).alias(raw(other)),
        ]
        if node == "store_id":
            node_check = RowCheck(
                name="store or dc",
                code=INCONSISTENT,
                column="dc_id",
                condition=pl.col(raw("dc_id")).is_not_null(),
                message=pl.format(
                    "inventory_updated sets both store_id and dc_id ({}); it must name one node", as_text(pl.col(raw("dc_id")))
                ),
                value=as_text(pl.col(raw("dc_id"))),
            )
        else:
            node_check = RowCheck(
                name="store or dc",
                code=INCONSISTENT,
                column="dc_id",
                condition=pl.col("dc_id").is_null(),
                message=pl.lit("inventory_updated sets neither store_id nor dc_id; it must name one node"),
            )
        return _finish(routed, "inventory_updated", exprs, [qty_check, node_check], {"balance": ALWAYS})

    return mapping


def _stockout_detected(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    qty, qty_check = narrow("last_known_quantity", "last_known_quantity", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("detection_time").alias("event_ts"),
        pl.col("store_id"),
        pl.col("dc_id"),
        pl.col("product_id"),
        *qty,
        # The event reports the stockout as it is detected; lost sales are only known once the shelf is restocked.
        pl.lit(None, dtype=pl.Int32()).alias("lost_sales_units"),
    ]
    return _finish(events, "stockout_detected", exprs, [qty_check])


def _reorder_triggered(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    current, c1 = narrow("current_quantity", "current_quantity", pl.Int32())
    quantity, c2 = narrow("reorder_quantity", "reorder_quantity", pl.Int32())
    point, c3 = narrow("reorder_point", "reorder_point", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("dc_id"),
        pl.col("product_id"),
        *current,
        *quantity,
        *point,
        pl.col("priority"),
    ]
    return _finish(events, "reorder_triggered", exprs, [c1, c2, c3])


def _customer_entered(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    count, c1 = narrow("customer_count", "customer_count", pl.Int32())
    dwell, c2 = narrow("dwell_time", "dwell_seconds", pl.Int32())
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("sensor_id"),
        pl.col("zone"),
        *count,
        *dwell,
    ]
    return _finish(events, "customer_entered", exprs, [c1, c2])


def _customer_zone_changed(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("trace_id"),
        pl.col("timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("customer_ble_id"),
        pl.col("from_zone"),
        pl.col("to_zone"),
    ]
    return _finish(events, "customer_zone_changed", exprs, [])


def resolve_devices(pings: pl.LazyFrame, devices: CustomerDevices) -> pl.LazyFrame:
    """Add ``customer_id``: the customer whose dim_customers version valid at the ping's time has its ble_id.

    Anonymous devices (no version has the id) and ids claimed by two customers at once resolve to NULL.
    """
    indexed = pings.with_row_index("__ping")
    candidates = (
        indexed.select("__ping", "customer_ble_id", "ingest_timestamp")
        .join(devices.versions.lazy(), left_on="customer_ble_id", right_on="ble_id", how="inner")
        .filter(
            (pl.col("ingest_timestamp") >= pl.col("valid_from"))
            & (pl.col("valid_to").is_null() | (pl.col("ingest_timestamp") < pl.col("valid_to")))
        )
        .group_by("__ping")
        .agg(pl.col("customer_id").unique())
        .filter(pl.col("customer_id").list.len() == 1)
        .select("__ping", pl.col("customer_id").list.first())
    )
    return indexed.join(candidates, on="__ping", how="left").drop("__ping")


def _ble_ping_detected(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    rssi, rssi_check = narrow("rssi", "rssi", pl.Int32())
    if ctx.shard is not None:
        # The fact's key is the event's trace_id, mapped unchanged (below). The row index of ``resolve_devices``
        # keeps polars from pushing the shard's predicate past it: without this, every shard would resolve the
        # devices of the whole month's pings.
        events = events.filter(ctx.shard)
    resolved = resolve_devices(events, ctx.devices)
    exprs = [
        pl.col("trace_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("store_id"),
        pl.col("beacon_id"),
        pl.col("customer_ble_id"),
        pl.col("customer_id"),
        *rssi,
        pl.col("zone"),
    ]
    # Resolved from dim_customers, not sent: a batch row's customer_id is the producer's own record.
    return _finish(resolved, "ble_ping_detected", exprs, [rssi_check], {"customer_id": ALWAYS})


def _truck_id() -> tuple[list[pl.Expr], RowCheck]:
    """truck_id is text in truck events; it must be the number of a dim_trucks.truck_id."""
    text = pl.col("truck_id").str.strip_chars()
    parsed = pl.when(text.str.contains(r"^\d+$")).then(text.cast(pl.Int64, strict=False))
    check = RowCheck(
        name="truck_id is a number",
        code=TYPE_ERROR,
        column="truck_id",
        condition=pl.col(raw("truck_id")).is_not_null() & pl.col("truck_id").is_null(),
        message=pl.format("column truck_id: {} is not a numeric truck id (dim_trucks.truck_id)", pl.col(raw("truck_id"))),
        value=pl.col(raw("truck_id")),
    )
    return [parsed.alias("truck_id"), pl.col("truck_id").alias(raw("truck_id"))], check


def _truck_arrived(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    truck, truck_check = _truck_id()
    unload, unload_check = narrow("estimated_unload_duration", "unload_duration_minutes", pl.Int32())
    arrival = pl.col("arrival_time")
    exprs = [
        pl.col("shipment_id"),
        pl.lit("ARRIVED").alias("status"),
        arrival.alias("event_ts"),
        *truck,
        pl.col("dc_id"),
        pl.col("store_id"),
        arrival.alias("eta"),
        (arrival + pl.duration(minutes=pl.col("estimated_unload_duration"))).alias("etd"),
        *unload,
        pl.col("trace_id"),
    ]
    # eta and etd are stand-ins (the actual arrival, plus the estimated unload), not the planned times.
    return _finish(events, "truck_arrived", exprs, [truck_check, unload_check], {"eta": ALWAYS, "etd": ALWAYS})


def _truck_departed(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    truck, truck_check = _truck_id()
    unload, unload_check = narrow("actual_unload_duration", "unload_duration_minutes", pl.Int32())
    exprs = [
        pl.col("shipment_id"),
        pl.lit("COMPLETED").alias("status"),
        pl.col("departure_time").alias("event_ts"),
        *truck,
        pl.col("dc_id"),
        pl.col("store_id"),
        pl.lit(None, dtype=TS).alias("eta"),
        pl.lit(None, dtype=TS).alias("etd"),
        *unload,
        pl.col("trace_id"),
    ]
    return _finish(events, "truck_departed", exprs, [truck_check, unload_check], {"eta": ALWAYS, "etd": ALWAYS})


def _store_operation(event_type: str, operation: str) -> Callable[[pl.LazyFrame, MappingContext], Mapped]:
    def mapping(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
        exprs = [
            pl.col("trace_id"),
            pl.col("operation_time").alias("event_ts"),
            pl.col("store_id"),
            pl.col("operation_type"),
        ]
        check = RowCheck(
            name="operation matches event",
            code=INCONSISTENT,
            column="operation_type",
            condition=pl.col("operation_type") != operation,
            message=pl.format(f"{event_type} carries operation_type {{}}; expected {operation!r}", pl.col("operation_type")),
            value=pl.col("operation_type"),
        )
        return _finish(events, event_type, exprs, [check])

    return mapping


def _ad_impression(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    exprs = [
        pl.col("impression_id"),
        pl.col("ingest_timestamp").alias("event_ts"),
        pl.col("channel"),
        pl.col("campaign_id"),
        pl.col("creative_id"),
        pl.col("customer_ad_id"),
        pl.col("customer_id"),
        dollars_to_cents("cost").alias("cost_cents"),
        pl.col("device_type").alias("device"),
        pl.col("trace_id"),
    ]
    return _finish(events, "ad_impression", exprs, [])


def _promotion_applied(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    count, count_check = narrow("product_count", "product_count", pl.Int32())
    exprs = [
        pl.col("receipt_id"),
        pl.col("promo_code"),
        pl.col("ingest_timestamp").alias("event_ts"),
        cents("discount_cents", "discount_amount").alias("discount_cents"),
        pl.col("discount_type"),
        *count,
        pl.col("product_ids"),
        pl.col("store_id"),
        pl.col("customer_id"),
        pl.col("trace_id"),
    ]
    return _finish(events, "promotion_applied", exprs, [count_check])


def _online_order_created(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    item_count, item_check = narrow("item_count", "item_count", pl.Int32())
    exprs = _money(
        [
            pl.col("order_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col("customer_id"),
            pl.col("fulfillment_mode"),
            pl.col("node_type"),
            pl.col("node_id"),
            *item_count,
        ]
    )
    exprs += [
        pl.col("tender_type").alias("payment_method"),
        pl.lit("CREATED").alias("order_status"),
        pl.lit(None, dtype=TS).alias("completed_ts"),
        pl.col("campaign_id"),
        pl.col("trace_id"),
    ]
    # The order as created: its later status and completion are not in the event.
    not_carried_by = {**MONEY_NOT_CARRIED, "order_status": ALWAYS, "completed_ts": ALWAYS}
    return _finish(events, "online_order_created", exprs, [item_check], not_carried_by)


Mapping = Callable[[pl.LazyFrame, MappingContext], Mapped]

# (fact, event type) → mapping. online_order_picked/shipped are in lifecycle.py (they update lines).
ROW_MAPPINGS: dict[tuple[str, str], Mapping] = {
    ("fact_receipts", "receipt_created"): _receipt_created,
    ("fact_receipt_lines", "receipt_line_added"): _receipt_line_added,
    ("fact_payments", "payment_processed"): _payment_processed,
    ("fact_store_inventory_txn", "inventory_updated"): _inventory("store_id"),
    ("fact_dc_inventory_txn", "inventory_updated"): _inventory("dc_id"),
    ("fact_stockouts", "stockout_detected"): _stockout_detected,
    ("fact_reorders", "reorder_triggered"): _reorder_triggered,
    ("fact_foot_traffic", "customer_entered"): _customer_entered,
    ("fact_customer_zone_changes", "customer_zone_changed"): _customer_zone_changed,
    ("fact_ble_pings", "ble_ping_detected"): _ble_ping_detected,
    ("fact_truck_moves", "truck_arrived"): _truck_arrived,
    ("fact_truck_moves", "truck_departed"): _truck_departed,
    ("fact_store_ops", "store_opened"): _store_operation("store_opened", "opened"),
    ("fact_store_ops", "store_closed"): _store_operation("store_closed", "closed"),
    ("fact_marketing", "ad_impression"): _ad_impression,
    ("fact_promotions", "promotion_applied"): _promotion_applied,
    ("fact_online_order_headers", "online_order_created"): _online_order_created,
}
UPDATE_EVENTS: dict[str, tuple[str, ...]] = {"fact_online_order_lines": ("online_order_picked", "online_order_shipped")}


def map_events(table: str, event_type: str, events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
    """Rows of ``table`` from one Bronze event table, in the fact's column order, plus the mapping's checks."""
    mapped = ROW_MAPPINGS[(table, event_type)](events, ctx)
    spec = REGISTRY.table(table)
    hidden = [c for c in mapped.frame.collect_schema().names() if c.startswith(("__raw_", not_carried("")))]
    frame = mapped.frame.select(*spec.column_names, ORIGIN, SOURCE_FILE, BATCH_ID, EVENT_TRACE_ID, *hidden)
    # A mapping's checks judge only the rows it mapped (batch rows and other events share the frame later).
    own = pl.col(ORIGIN) == event_type
    checks = tuple(replace(c, name=f"{event_type}: {c.name}", condition=own & c.condition) for c in mapped.checks)
    return Mapped(frame, checks)


# Decisions where an event does not carry a fact column; shown in each Silver asset's description.
MAPPING_NOTES: dict[str, str] = {
    "fact_receipts": (
        "receipt_created → one SALE row: event_ts = ingest_timestamp, payment_method = tender_type, "
        "return_for_receipt_id NULL; *_cents payload fields win over round(dollars × 100). When the event carries "
        "neither discount_cents nor gross_subtotal_cents, discount_cents = 0 and gross = subtotal (the reference's mapping)."
    ),
    "fact_receipt_lines": (
        "receipt_line_added: line_number, unit/ext cents = round(dollars × 100); discount_cents is derived as "
        "unit_price_cents × quantity − ext_price_cents (the line identity), event_ts = ingest_timestamp."
    ),
    "fact_payments": "payment_processed: event_ts = processing_time; amount_cents payload field wins over round(amount × 100).",
    "fact_store_inventory_txn": (
        "inventory_updated with store_id set (an event setting dc_id too is quarantined): quantity = quantity_delta, "
        "txn_type = reason, source = payload_source, balance NULL (the event does not carry it)."
    ),
    "fact_dc_inventory_txn": (
        "inventory_updated with store_id NULL (an event with neither id is quarantined here): quantity = "
        "quantity_delta, txn_type = reason, source = payload_source, balance NULL (the event does not carry it)."
    ),
    "fact_stockouts": "stockout_detected: event_ts = detection_time, lost_sales_units NULL (the event does not carry it).",
    "fact_reorders": "reorder_triggered: event_ts = ingest_timestamp; store_id and dc_id are required here.",
    "fact_foot_traffic": "customer_entered: customer_count, dwell_seconds = dwell_time, event_ts = ingest_timestamp as sent.",
    "fact_customer_zone_changes": "customer_zone_changed: event_ts = the payload timestamp.",
    "fact_ble_pings": (
        "ble_ping_detected carries no customer_id: it is resolved from dim_customers.ble_id, using the customer "
        "version valid at the ping's time; anonymous devices (and ids held by two customers at once) stay NULL."
    ),
    "fact_truck_moves": (
        "truck_arrived → status ARRIVED at arrival_time, eta = arrival_time, etd = eta + estimated_unload_duration "
        "(minutes), unload_duration_minutes = estimated; truck_departed → status COMPLETED at departure_time, "
        "unload_duration_minutes = actual_unload_duration, eta/etd NULL (the planned times are not in the event). "
        "truck_id is text in events and must be a number."
    ),
    "fact_store_ops": (
        "store_opened/store_closed: event_ts = operation_time; an operation_type contradicting the event type is quarantined."
    ),
    "fact_marketing": (
        "ad_impression: impression_id, cost_cents = round(cost × 100), device = device_type; customer_id only when the "
        "event carries it (the CRM match), never derived from the ad id."
    ),
    "fact_promotions": "promotion_applied: discount_cents payload field wins over round(discount_amount × 100).",
    "fact_online_order_headers": (
        "online_order_created: payment_method = tender_type, money as for receipts, order_status CREATED and "
        "completed_ts NULL (delivery is not an event)."
    ),
    "fact_online_order_lines": (
        "online_order_picked/shipped create no rows: they set picked_ts/shipped_ts and advance fulfillment_status "
        "(never backwards) of the order's lines fulfilled by the event's node, in the order's month: a month also "
        "takes the next month's events of its orders. An event whose order has no such line in its month or the "
        "previous one (a stream-only order, or one placed more than a month earlier) is quarantined as "
        "unmatched_update; so is one contradicting a timestamp the line already has, or targeting a cancelled line."
    ),
    "fact_truck_inventory": "Batch only: no event maps to truck loads/unloads.",
    "fact_promo_lines": "Batch only: promotion_applied carries no line numbers, so it cannot give promo lines.",
    "fact_marketing_attribution": "Batch only: attribution is computed by the producer, not streamed.",
}
