"""``Envelope``: how rows of a fact become events of one type (the inverse of the type's Silver mapping).

Each event module (``lib/specs/events/``) declares its envelopes with the class and expressions here;
``lib/streaming/envelopes.py`` collects them and encodes events. The event modules import this module
while the registry is being built, so it imports polars only, never ``retail_assets.lib.specs``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl


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


def dollars(cents: str) -> pl.Expr:
    """Cents as the float nearest to the decimal dollars (41.82, not 41.820000000000001: a float
    division by 100 is rewritten as a multiplication and misses by one ulp in ~13 % of values)."""
    return pl.format("{}e-2", pl.col(cents)).cast(pl.Float64)


def node(prefix: str, column: str) -> pl.Expr:
    return pl.format(f"{prefix}_{{}}", pl.col(column))


def store_or_dc() -> pl.Expr:
    return pl.when(pl.col("store_id").is_not_null()).then(node("store", "store_id")).otherwise(node("dc", "dc_id"))


def order_node() -> pl.Expr:
    return pl.when(pl.col("node_type") == "STORE").then(node("store", "node_id")).otherwise(node("dc", "node_id"))


def money_payload() -> list[pl.Expr]:
    """The money, tender and attribution fields of receipt_created and online_order_created."""
    return [
        dollars("subtotal_cents").alias("subtotal"),
        dollars("tax_cents").alias("tax"),
        dollars("total_cents").alias("total"),
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
