"""inventory_updated: stock moved at a store or a DC ↔ one row of fact_store_inventory_txn or fact_dc_inventory_txn.

Each event goes to exactly one of the two facts: the store fact when ``store_id`` is set, else the DC fact.
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import ALWAYS, Mapped, MappingContext, Mapping, finish, narrow, raw
from retail_assets.lib.silver.rules import INCONSISTENT, RowCheck, as_text
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.envelope import INVENTORY, id_field, text_field
from retail_assets.lib.specs.model import DType, EventSpec
from retail_assets.lib.streaming.inverse import Envelope, node

POSITION = 4

INVENTORY_UPDATED = EventSpec(
    event_type="inventory_updated",
    description="Stock moved at a store (store_id set) or a distribution centre (dc_id set).",
    facts=("fact_store_inventory_txn", "fact_dc_inventory_txn"),
    retention_days=INVENTORY,
    payload=(
        id_field("store_id", "Store, for store stock.", nullable=True),
        id_field("dc_id", "Distribution centre, for DC stock.", nullable=True),
        id_field("product_id", "Product."),
        col("quantity_delta", DType.INT64, "Signed change in units (never 0)."),
        text_field("reason", "Kind of movement (SALE, INBOUND_SHIPMENT, ...)."),
        col(
            "payload_source",
            DType.STRING,
            "Business document (payload field 'source', renamed to avoid the envelope's source).",
            nullable=True,
            json_field="source",
        ),
    ),
)


def _to_node_fact(node_column: str) -> Mapping:
    """inventory_updated → the store fact when store_id is set, else the DC fact (each event goes to exactly one)."""
    other = "dc_id" if node_column == "store_id" else "store_id"

    def mapping(events: pl.LazyFrame, ctx: MappingContext) -> Mapped:
        routed = events.filter(pl.col("store_id").is_not_null() if node_column == "store_id" else pl.col("store_id").is_null())
        qty, qty_check = narrow("quantity_delta", "quantity", pl.Int32())
        exprs = [
            pl.col("trace_id"),
            pl.col("ingest_timestamp").alias("event_ts"),
            pl.col(node_column),
            pl.col("product_id"),
            *qty,
            pl.col("reason").alias("txn_type"),
            pl.col("payload_source").alias("source"),
            pl.lit(None, dtype=pl.Int64).alias("balance"),
            pl.col(other).alias(raw(other)),
        ]
        if node_column == "store_id":
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
        return finish(routed, "inventory_updated", exprs, [qty_check, node_check], {"balance": ALWAYS})

    return mapping


to_fact_store_inventory_txn = _to_node_fact("store_id")
to_fact_dc_inventory_txn = _to_node_fact("dc_id")

MAPPINGS = {
    "fact_store_inventory_txn": to_fact_store_inventory_txn,
    "fact_dc_inventory_txn": to_fact_dc_inventory_txn,
}

NOTES = {
    "fact_store_inventory_txn": (
        "inventory_updated with store_id set (an event setting dc_id too is quarantined): quantity = quantity_delta, "
        "txn_type = reason, source = payload_source, balance NULL (the event does not carry it)."
    ),
    "fact_dc_inventory_txn": (
        "inventory_updated with store_id NULL (an event with neither id is quarantined here): quantity = "
        "quantity_delta, txn_type = reason, source = payload_source, balance NULL (the event does not carry it)."
    ),
}


def _payload(store_id: pl.Expr, dc_id: pl.Expr) -> list[pl.Expr]:
    return [
        store_id.alias("store_id"),
        dc_id.alias("dc_id"),
        pl.col("product_id"),
        pl.col("quantity").cast(pl.Int64).alias("quantity_delta"),
        pl.col("txn_type").alias("reason"),
        pl.col("source").alias("payload_source"),
    ]


_NO_NODE = pl.lit(None, dtype=pl.Int64)

# Every movement is streamed, returns' and cancellations' included.
ENVELOPES = (
    Envelope(
        "inventory_updated",
        "fact_store_inventory_txn",
        lambda: _payload(pl.col("store_id"), _NO_NODE),
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("store", "store_id"),
        correlation_id=pl.col("source"),
    ),
    Envelope(
        "inventory_updated",
        "fact_dc_inventory_txn",
        lambda: _payload(_NO_NODE, pl.col("dc_id")),
        "event_ts",
        trace_id=pl.col("trace_id"),
        partition_key=node("dc", "dc_id"),
        correlation_id=pl.col("source"),
    ),
)
