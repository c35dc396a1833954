"""What truck_arrived and truck_departed share: their payload's ids and the truck id, text in the events."""

from __future__ import annotations

import polars as pl

from retail_assets.lib.silver.mapping import raw
from retail_assets.lib.silver.rules import TYPE_ERROR, RowCheck
from retail_assets.lib.specs.envelope import id_field, text_field
from retail_assets.lib.specs.model import ColumnSpec

# The ids both events start their payload with.
PAYLOAD_IDS: tuple[ColumnSpec, ...] = (
    text_field("truck_id", "Truck id (text in the reference's events)."),
    id_field("dc_id", "Shipping distribution centre.", nullable=True),
    id_field("store_id", "Receiving store.", nullable=True),
    text_field("shipment_id", "Shipment."),
)


def truck_id() -> tuple[list[pl.Expr], RowCheck]:
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


def payload_ids() -> list[pl.Expr]:
    """The fact row's ids as the events carry them (the truck id as text)."""
    return [pl.col("truck_id").cast(pl.String), pl.col("dc_id"), pl.col("store_id"), pl.col("shipment_id")]
