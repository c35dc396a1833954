"""The envelope every streaming event carries, and the helpers the event modules declare payloads with.

The event types themselves are one module each in ``lib/specs/events/`` (reference spec §9.1-9.3, §12.1, §17).
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
from retail_assets.lib.specs.model import ColumnSpec, DType

D = DType

SCHEMA_VERSIONS = ("1.0",)

# Eventhouse retention classes (reference spec §12.1), in days.
TRANSACTIONS, INVENTORY, CUSTOMER_LOCATION, OPERATIONS, MARKETING, OMNICHANNEL = 30, 14, 7, 14, 14, 30


def id_field(name: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    """An integer id the reference types as ``int > 0`` (KQL long)."""
    return col(name, D.INT64, description, nullable=nullable, gt=0)


def text_field(name: str, description: str, *, nullable: bool = False, allowed: tuple[str, ...] | None = None) -> ColumnSpec:
    return col(name, D.STRING, description, nullable=nullable, allowed=allowed)


def dollars_field(name: str, description: str, *, positive: bool = False, nullable: bool = False) -> ColumnSpec:
    """Float dollars, as the reference's payloads carry them (KQL real)."""
    bound = {"gt": 0.0} if positive else {"ge": 0.0}
    return ColumnSpec(name=name, dtype=D.FLOAT64, description=description, nullable=nullable, **bound)


def cents_field(name: str, description: str) -> ColumnSpec:
    return col(name, D.INT64, description, nullable=True, ge=0)


def time_field(name: str, description: str) -> ColumnSpec:
    return col(name, D.TIMESTAMP, description)


def count_field(name: str, description: str, *, positive: bool = False) -> ColumnSpec:
    return col(name, D.INT64, description, **({"gt": 0} if positive else {"ge": 0}))


# The envelope: the payload's columns are flattened next to these nine (as the KQL tables do).
ENVELOPE: tuple[ColumnSpec, ...] = (
    text_field("event_type", "One of the event types of the registry (lib/specs/events/)."),
    text_field("trace_id", "Unique id of the event; duplicates are dropped on it."),
    time_field("ingest_timestamp", "Business time of the event (UTC); decides its month."),
    text_field("schema_version", "Envelope schema version.", allowed=SCHEMA_VERSIONS),
    text_field("source", "Producer name (retail-datagen, retail-assets-stream, ...)."),
    text_field("correlation_id", "Correlates events of one business flow (receipt id, journey id).", nullable=True),
    text_field("partition_key", "Event Hubs partition key (store_<id>, dc_<id>, marketing_<channel>).", nullable=True),
    text_field("session_id", "Shopper or device session.", nullable=True),
    text_field("parent_event_id", "trace_id of the event that caused this one.", nullable=True),
)

# How receipt_created and online_order_created end: the attribution ids, and the money in cents next to the
# reference's float dollars.
ATTRIBUTION: tuple[ColumnSpec, ...] = (
    text_field("campaign_id", "Attributed campaign.", nullable=True),
    text_field("impression_id", "Attributed impression.", nullable=True),
    cents_field("gross_subtotal_cents", "Gross subtotal in cents (later reference versions)."),
    cents_field("discount_cents", "Discount in cents (later reference versions)."),
    cents_field("subtotal_cents", "Net subtotal in cents (later reference versions)."),
    cents_field("tax_cents", "Tax in cents (later reference versions)."),
    cents_field("total_cents", "Total in cents (later reference versions)."),
)
