"""What online_order_picked and online_order_shipped share: updates to the lines of an order, not rows.

Silver applies them in ``lib/silver/lifecycle.py``; the producer sends one per order and fulfilling node, at the
earliest line's time (``envelopes._derived_sources`` prepares ``online_order_steps_<step>`` rows).
"""

from __future__ import annotations

import polars as pl

from retail_assets.lib.specs.envelope import OMNICHANNEL, id_field, text_field, time_field
from retail_assets.lib.specs.facts import FULFILLMENT_MODES, NODE_TYPES
from retail_assets.lib.specs.model import EventSpec
from retail_assets.lib.streaming.inverse import Envelope, order_node

# The facts whose rows the events update.
UPDATES = ("fact_online_order_lines",)

# One note for both (rendered once in the fact's description).
NOTE = (
    "online_order_picked/shipped create no rows: they set picked_ts/shipped_ts and advance fulfillment_status "
    "(never backwards) of the order's lines fulfilled by the event's node, in the order's month: a month also "
    "takes the next month's events of its orders. An event whose order has no such line in its month or the "
    "previous one (a stream-only order, or one placed more than a month earlier) is quarantined as "
    "unmatched_update; so is one contradicting a timestamp the line already has, or targeting a cancelled line. "
    "Deduplicated on order id + step + node (an order's lines may ship from several nodes)."
)


def spec(event_type: str, time_field_name: str, verb: str) -> EventSpec:
    return EventSpec(
        event_type=event_type,
        description=f"An online order was {verb}.",
        facts=UPDATES,
        retention_days=OMNICHANNEL,
        payload=(
            text_field("order_id", "Order id."),
            text_field("node_type", "STORE or DC.", allowed=NODE_TYPES),
            id_field("node_id", "Fulfilling store or DC."),
            text_field("fulfillment_mode", "SHIP_FROM_STORE, SHIP_FROM_DC or BOPIS.", allowed=FULFILLMENT_MODES),
            time_field(time_field_name, f"When the order was {verb}."),
        ),
    )


def envelope(event_type: str, step: str, time_field_name: str) -> Envelope:
    return Envelope(
        event_type,
        f"online_order_steps_{step}",
        lambda: [
            pl.col("order_id"),
            pl.col("node_type"),
            pl.col("node_id"),
            pl.col("fulfillment_mode"),
            pl.col("event_ts").alias(time_field_name),
        ],
        "event_ts",
        trace_id=pl.format(f"{{}}-{step.upper()}-{{}}{{}}", pl.col("order_id"), pl.col("node_type"), pl.col("node_id")),
        partition_key=order_node(),
        correlation_id=pl.col("order_id"),
        parent_event_id=pl.col("order_id"),
    )
