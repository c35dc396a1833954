"""Simulated facts → every event type of the registry in the reference envelope (reference spec §9.1–9.2).

The inverse of Silver's event mapping (``lib/silver/stream.py``): every event carries exactly what
Silver needs to rebuild the fact row it came from, so a window of events ingested through Bronze
and Silver gives back the generator's rows for that window (``docs/streaming.md`` lists the
columns an event cannot carry, e.g. inventory balances). Encoding is vectorised (one polars
``json_encode`` per event type), far faster than any sink.

Choices where the reference is silent or buggy:
- ``trace_id`` is deterministic: the fact's own trace_id where it has one, else the business id
  (receipt id, ``<receipt>-<line>``, transaction id, ``<shipment>-<status>``, impression id,
  ``<receipt>-<promo>``, order id, ``<order>-<STEP>-<node>``). Replaying a window therefore
  produces exact duplicates, which Bronze drops.
- ``ingest_timestamp`` is the business time of the fact (as the reference's outbox mode).
- Truck moves: ARRIVED → ``truck_arrived``, COMPLETED → ``truck_departed``; the other four
  statuses have no event (the reference sent ``truck_arrived`` for every status).
- Returns (negative receipts and lines) and cancelled online orders (zero items and money) do not
  fit the reference's payload constraints and are not streamed; their inventory movements are.
- One ``online_order_picked`` / ``online_order_shipped`` per order and fulfilling node, at the
  earliest line's time (Silver updates every line of the order at that node).
- Partition keys: ``store_<id>`` / ``dc_<id>`` for anything happening at a node (receipts and
  everything they cause share their store's key, so Event Hubs keeps them in order),
  ``marketing_<channel>`` for impressions; online payments take their order's node when the
  order is in the same window, else ``customer_<id>``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.specs.events import SCHEMA_VERSIONS

SOURCE = "retail-assets-stream"
SCHEMA_VERSION = SCHEMA_VERSIONS[-1]
ISO = "%Y-%m-%dT%H:%M:%S%.6fZ"
# Columns of an encoded event frame.
EVENT_FRAME = {"event_type": pl.String, "trace_id": pl.String, "ingest_timestamp": pl.Datetime("us", "UTC"),
               "partition_key": pl.String, "body": pl.String}


@dataclass(frozen=True)
class Envelope:
    """How one fact (filtered) becomes one event type: payload columns and envelope expressions."""

    event_type: str
    fact: str
    payload: Callable[[], list[pl.Expr]]  # one expression per payload column, aliased to the spec name
    time: str  # fact column that is the event's business time
    trace_id: pl.Expr
    partition_key: pl.Expr
    correlation_id: pl.Expr | None = None
    session_id: pl.Expr | None = None
    parent_event_id: pl.Expr | None = None
    rows: pl.Expr | None = None  # which fact rows become events


def _dollars(cents: str) -> pl.Expr:
    """Cents as the float nearest to the decimal dollars (41.82, not 41.820000000000001: a float
    division by 100 is rewritten as a multiplication and misses by one ulp in ~13 % of values)."""
    return pl.format("{}e-2", pl.col(cents)).cast(pl.Float64)


def _node(prefix: str, column: str) -> pl.Expr:
    return pl.format(f"{prefix}_{{}}", pl.col(column))


def _store_or_dc() -> pl.Expr:
    return pl.when(pl.col("store_id").is_not_null()).then(_node("store", "store_id")).otherwise(_node("dc", "dc_id"))


def _order_node() -> pl.Expr:
    return pl.when(pl.col("node_type") == "STORE").then(_node("store", "node_id")).otherwise(_node("dc", "node_id"))


def _money_payload() -> list[pl.Expr]:
    return [
        _dollars("subtotal_cents").alias("subtotal"),
        _dollars("tax_cents").alias("tax"),
        _dollars("total_cents").alias("total"),
        pl.col("payment_method").alias("tender_type"),
        pl.col("item_count").cast(pl.Int64),
        pl.col("campaign_id"),
        pl.col("impression_id"),
        pl.col("gross_subtotal_cents"),
        pl.col("discount_cents"),
        pl.col("subtotal_cents"),
        pl.col("tax_cents"),
        pl.col("total_cents"),
    ]


ENVELOPES: tuple[Envelope, ...] = (
    Envelope(
        "receipt_created",
        "fact_receipts",
        lambda: [pl.col("store_id"), pl.col("customer_id"), pl.col("receipt_id"), *_money_payload()],
        "event_ts",
        trace_id=pl.col("receipt_id"),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        rows=pl.col("receipt_type") == "SALE",
    ),
    Envelope(
        "receipt_line_added",
        "fact_receipt_lines",
        lambda: [
            pl.col("receipt_id"),
            pl.col("line_number").cast(pl.Int64),
            pl.col("product_id"),
            pl.col("quantity").cast(pl.Int64),
            _dollars("unit_price_cents").alias("unit_price"),
            _dollars("ext_price_cents").alias("extended_price"),
            pl.col("promo_code"),
        ],
        "event_ts",
        trace_id=pl.format("{}-{}", pl.col("receipt_id"), pl.col("line_number")),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        parent_event_id=pl.col("receipt_id"),
        rows=pl.col("quantity") > 0,
    ),
    Envelope(
        "payment_processed",
        "fact_payments",
        lambda: [
            pl.col("receipt_id"),
            pl.col("order_id"),
            pl.col("payment_method"),
            _dollars("amount_cents").alias("amount"),
            pl.col("amount_cents"),
            pl.col("transaction_id"),
            pl.col("event_ts").alias("processing_time"),
            pl.col("processing_time_ms"),
            pl.col("status"),
            pl.col("decline_reason"),
            pl.col("store_id"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.col("transaction_id"),
        partition_key=pl.coalesce(
            _node("store", "store_id"), pl.col("order_partition_key"), _node("customer", "customer_id")
        ),
        correlation_id=pl.coalesce(pl.col("receipt_id"), pl.col("order_id")),
        parent_event_id=pl.coalesce(pl.col("receipt_id"), pl.col("order_id")),
    ),
    Envelope(
        "inventory_updated",
        "fact_store_inventory_txn",
        lambda: [
            pl.col("store_id"),
            pl.lit(None, dtype=pl.Int64).alias("dc_id"),
            pl.col("product_id"),
            pl.col("quantity").cast(pl.Int64).alias("quantity_delta"),
            pl.col("txn_type").alias("reason"),
            pl.col("source").alias("payload_source"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("source"),
    ),
    Envelope(
        "inventory_updated",
        "fact_dc_inventory_txn",
        lambda: [
            pl.lit(None, dtype=pl.Int64).alias("store_id"),
            pl.col("dc_id"),
            pl.col("product_id"),
            pl.col("quantity").cast(pl.Int64).alias("quantity_delta"),
            pl.col("txn_type").alias("reason"),
            pl.col("source").alias("payload_source"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("dc", "dc_id"),
        correlation_id=pl.col("source"),
    ),
    Envelope(
        "stockout_detected",
        "fact_stockouts",
        lambda: [
            pl.col("store_id"),
            pl.col("dc_id"),
            pl.col("product_id"),
            pl.col("last_known_quantity").cast(pl.Int64),
            pl.col("event_ts").alias("detection_time"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_store_or_dc(),
    ),
    Envelope(
        "reorder_triggered",
        "fact_reorders",
        lambda: [
            pl.col("store_id"),
            pl.col("dc_id"),
            pl.col("product_id"),
            pl.col("current_quantity").cast(pl.Int64),
            pl.col("reorder_quantity").cast(pl.Int64),
            pl.col("reorder_point").cast(pl.Int64),
            pl.col("priority"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("store", "store_id"),
    ),
    Envelope(
        "customer_entered",
        "fact_foot_traffic",
        lambda: [
            pl.col("store_id"),
            pl.col("sensor_id"),
            pl.col("zone"),
            pl.col("customer_count").cast(pl.Int64),
            pl.col("dwell_seconds").cast(pl.Int64).alias("dwell_time"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("store", "store_id"),
    ),
    Envelope(
        "customer_zone_changed",
        "fact_customer_zone_changes",
        lambda: [
            pl.col("store_id"),
            pl.col("customer_ble_id"),
            pl.col("from_zone"),
            pl.col("to_zone"),
            pl.col("event_ts").alias("timestamp"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("store", "store_id"),
        session_id=pl.col("customer_ble_id"),
    ),
    Envelope(
        "ble_ping_detected",
        "fact_ble_pings",
        lambda: [
            pl.col("store_id"),
            pl.col("beacon_id"),
            pl.col("customer_ble_id"),
            pl.col("rssi").cast(pl.Int64),
            pl.col("zone"),
        ],
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=_node("store", "store_id"),
        session_id=pl.col("customer_ble_id"),
    ),
    Envelope(
        "truck_arrived",
        "fact_truck_moves",
        lambda: [
            pl.col("truck_id").cast(pl.String),
            pl.col("dc_id"),
            pl.col("store_id"),
            pl.col("shipment_id"),
            pl.col("event_ts").alias("arrival_time"),
            pl.col("unload_duration_minutes").cast(pl.Int64).alias("estimated_unload_duration"),
        ],
        "event_ts",
        trace_id=pl.format("{}-ARRIVED", pl.col("shipment_id")),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("shipment_id"),
        rows=pl.col("status") == "ARRIVED",
    ),
    Envelope(
        "truck_departed",
        "fact_truck_moves",
        lambda: [
            pl.col("truck_id").cast(pl.String),
            pl.col("dc_id"),
            pl.col("store_id"),
            pl.col("shipment_id"),
            pl.col("event_ts").alias("departure_time"),
            pl.col("unload_duration_minutes").cast(pl.Int64).alias("actual_unload_duration"),
        ],
        "event_ts",
        trace_id=pl.format("{}-COMPLETED", pl.col("shipment_id")),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("shipment_id"),
        parent_event_id=pl.format("{}-ARRIVED", pl.col("shipment_id")),
        rows=pl.col("status") == "COMPLETED",
    ),
    *(
        Envelope(
            event_type,
            "fact_store_ops",
            lambda: [pl.col("store_id"), pl.col("event_ts").alias("operation_time"), pl.col("operation_type")],
            "event_ts",
            trace_id=pl.col("trace_id"),
            partition_key=_node("store", "store_id"),
            rows=pl.col("operation_type") == operation,
        )
        for event_type, operation in (("store_opened", "opened"), ("store_closed", "closed"))
    ),
    Envelope(
        "ad_impression",
        "fact_marketing",
        lambda: [
            pl.col("channel"),
            pl.col("campaign_id"),
            pl.col("creative_id"),
            pl.col("customer_ad_id"),
            pl.col("impression_id"),
            _dollars("cost_cents").alias("cost"),
            pl.col("device").alias("device_type"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.col("impression_id"),
        partition_key=pl.format("marketing_{}", pl.col("channel")),
        correlation_id=pl.col("campaign_id"),
    ),
    Envelope(
        "promotion_applied",
        "fact_promotions",
        lambda: [
            pl.col("receipt_id"),
            pl.col("promo_code"),
            _dollars("discount_cents").alias("discount_amount"),
            pl.col("discount_cents"),
            pl.col("discount_type"),
            pl.col("product_count").cast(pl.Int64),
            pl.col("product_ids"),
            pl.col("store_id"),
            pl.col("customer_id"),
        ],
        "event_ts",
        trace_id=pl.format("{}-{}", pl.col("receipt_id"), pl.col("promo_code")),
        partition_key=_node("store", "store_id"),
        correlation_id=pl.col("receipt_id"),
        parent_event_id=pl.col("receipt_id"),
    ),
    Envelope(
        "online_order_created",
        "fact_online_order_headers",
        lambda: [
            pl.col("order_id"),
            pl.col("customer_id"),
            pl.col("fulfillment_mode"),
            pl.col("node_type"),
            pl.col("node_id"),
            *_money_payload(),
        ],
        "event_ts",
        trace_id=pl.col("order_id"),
        partition_key=_order_node(),
        correlation_id=pl.col("order_id"),
        rows=pl.col("order_status") != "CANCELLED",
    ),
    *(
        Envelope(
            event_type,
            f"online_order_steps_{step}",
            lambda time_field=time_field: [
                pl.col("order_id"),
                pl.col("node_type"),
                pl.col("node_id"),
                pl.col("fulfillment_mode"),
                pl.col("event_ts").alias(time_field),
            ],
            "event_ts",
            trace_id=pl.format(f"{{}}-{step.upper()}-{{}}{{}}", pl.col("order_id"), pl.col("node_type"), pl.col("node_id")),
            partition_key=_order_node(),
            correlation_id=pl.col("order_id"),
            parent_event_id=pl.col("order_id"),
        )
        for event_type, step, time_field in (
            ("online_order_picked", "picked", "picked_time"),
            ("online_order_shipped", "shipped", "shipped_time"),
        )
    ),
)

EVENT_TYPES = tuple(dict.fromkeys(e.event_type for e in ENVELOPES))


def _order_steps(lines: pl.DataFrame, step: str) -> pl.DataFrame:
    """One row per (order, node) with the earliest line time of ``step`` (picked or shipped)."""
    column = f"{step}_ts"
    return (
        lines.filter(pl.col(column).is_not_null())
        .group_by("order_id", "node_type", "node_id", "fulfillment_mode")
        .agg(pl.col(column).min().alias("event_ts"))
    )


def _derived_sources(facts: Mapping[str, pl.DataFrame]) -> dict[str, pl.DataFrame]:
    """Fact frames prepared for the envelopes: joins the payloads need, order steps as rows."""
    sources = dict(facts)
    if "fact_receipts" in facts:
        attribution = facts.get("fact_marketing_attribution")
        impressions = (
            attribution.filter(pl.col("receipt_id").is_not_null()).select("receipt_id", "impression_id").unique("receipt_id")
            if attribution is not None
            else pl.DataFrame(schema={"receipt_id": pl.String, "impression_id": pl.String})
        )
        sources["fact_receipts"] = facts["fact_receipts"].join(impressions, on="receipt_id", how="left")
    if "fact_online_order_headers" in facts:
        attribution = facts.get("fact_marketing_attribution")
        impressions = (
            attribution.filter(pl.col("order_id").is_not_null()).select("order_id", "impression_id").unique("order_id")
            if attribution is not None
            else pl.DataFrame(schema={"order_id": pl.String, "impression_id": pl.String})
        )
        sources["fact_online_order_headers"] = facts["fact_online_order_headers"].join(impressions, on="order_id", how="left")
    if "fact_payments" in facts:
        headers = facts.get("fact_online_order_headers")
        nodes = (
            headers.select("order_id", _order_node().alias("order_partition_key"))
            if headers is not None
            else pl.DataFrame(schema={"order_id": pl.String, "order_partition_key": pl.String})
        )
        sources["fact_payments"] = facts["fact_payments"].join(nodes, on="order_id", how="left")
    if "fact_receipt_lines" in facts and "fact_receipts" in facts:
        stores = facts["fact_receipts"].select("receipt_id", "store_id")
        sources["fact_receipt_lines"] = facts["fact_receipt_lines"].join(stores, on="receipt_id", how="left")
    if "fact_online_order_lines" in facts:
        for step in ("picked", "shipped"):
            sources[f"online_order_steps_{step}"] = _order_steps(facts["fact_online_order_lines"], step)
    return sources


def _encode(envelope: Envelope, rows: pl.DataFrame) -> pl.DataFrame:
    spec = REGISTRY.event(envelope.event_type)
    payload = envelope.payload()
    by_name = {expr.meta.output_name(): expr for expr in payload}
    fields = []
    for column in spec.payload:
        expr = by_name[column.name]
        if column.dtype.name == "TIMESTAMP":
            expr = expr.dt.to_string(ISO)
        fields.append(expr.alias(column.field))
    def nullable(expr: pl.Expr | None) -> pl.Expr:
        return pl.lit(None, dtype=pl.String) if expr is None else expr.cast(pl.String)

    time = pl.col(envelope.time)
    return rows.select(
        pl.lit(envelope.event_type).alias("event_type"),
        envelope.trace_id.cast(pl.String).alias("trace_id"),
        time.alias("ingest_timestamp"),
        envelope.partition_key.alias("partition_key"),
        pl.struct(
            pl.lit(envelope.event_type).alias("event_type"),
            pl.struct(fields).alias("payload"),
            envelope.trace_id.cast(pl.String).alias("trace_id"),
            time.dt.to_string(ISO).alias("ingest_timestamp"),
            pl.lit(SCHEMA_VERSION).alias("schema_version"),
            pl.lit(SOURCE).alias("source"),
            nullable(envelope.correlation_id).alias("correlation_id"),
            envelope.partition_key.alias("partition_key"),
            nullable(envelope.session_id).alias("session_id"),
            nullable(envelope.parent_event_id).alias("parent_event_id"),
        )
        .struct.json_encode()
        .alias("body"),
    )


def encode_events(facts: Mapping[str, pl.DataFrame]) -> pl.DataFrame:
    """Every event the facts give, as one frame (event_type, trace_id, ingest_timestamp, partition_key, body)
    sorted by event time; ``body`` is the JSON envelope."""
    sources = _derived_sources(facts)
    frames = []
    for envelope in ENVELOPES:
        rows = sources.get(envelope.fact)
        if rows is None:
            continue
        if envelope.rows is not None:
            rows = rows.filter(envelope.rows)
        if rows.height:
            frames.append(_encode(envelope, rows))
    if not frames:
        return pl.DataFrame(schema=EVENT_FRAME)
    return pl.concat(frames, how="vertical").sort("ingest_timestamp", maintain_order=True)
