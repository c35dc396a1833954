"""Simulated facts → every event type of the registry in the reference envelope (reference spec §9.1–9.2).

The inverse of Silver's event mapping: each event module (``lib/specs/events/<event_type>.py``) declares, next to
its Silver mapping, the ``Envelope`` (``inverse.py``) turning fact rows back into its events; this module collects
them (``ENVELOPES``) and encodes them. Every event carries exactly what Silver needs to rebuild the fact row it came
from, so a window of events ingested through Bronze and Silver gives back the generator's rows for that window
(``docs/streaming.md`` lists the columns an event cannot carry, e.g. inventory balances). Encoding is vectorised
(one polars ``json_encode`` per event type), far faster than any sink.

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

from collections.abc import Mapping

import polars as pl

from retail_assets.lib.specs import REGISTRY
from retail_assets.lib.specs.envelope import SCHEMA_VERSIONS
from retail_assets.lib.specs.events import MODULES
from retail_assets.lib.streaming.inverse import Envelope, order_node

SOURCE = "retail-assets-stream"
SCHEMA_VERSION = SCHEMA_VERSIONS[-1]
ISO = "%Y-%m-%dT%H:%M:%S%.6fZ"
# Columns of an encoded event frame.
EVENT_FRAME = {"event_type": pl.String, "trace_id": pl.String, "ingest_timestamp": pl.Datetime("us", "UTC"),
               "partition_key": pl.String, "body": pl.String}

# Every event module's envelopes, in registry order.
ENVELOPES: tuple[Envelope, ...] = tuple(envelope for module in MODULES for envelope in module.ENVELOPES)

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
            headers.select("order_id", order_node().alias("order_partition_key"))
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
