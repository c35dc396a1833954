"""Small constructors for the column declarations shared by many tables."""

from __future__ import annotations

from retail_assets.lib.specs.model import ColumnSpec, DType


def col(
    name: str,
    dtype: DType,
    description: str,
    *,
    nullable: bool = False,
    references: str | None = None,
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
    allowed: tuple[str, ...] | None = None,
    json_field: str | None = None,
) -> ColumnSpec:
    return ColumnSpec(
        name=name,
        dtype=dtype,
        description=description,
        nullable=nullable,
        references=references,
        ge=ge,
        gt=gt,
        le=le,
        allowed=allowed,
        json_field=json_field,
    )


def event_ts(description: str = "When it happened: UTC instant, microseconds.") -> ColumnSpec:
    return col("event_ts", DType.TIMESTAMP, description)


def trace_id(*, key: bool) -> ColumnSpec:
    if key:
        return col("trace_id", DType.STRING, "Trace id of the event that carries this row; the row's key.")
    return col(
        "trace_id",
        DType.STRING,
        "Trace id of the streaming event that carried this row, when it came from the stream.",
        nullable=True,
    )


def fk(name: str, dimension: str, description: str, *, nullable: bool = False) -> ColumnSpec:
    return col(name, DType.INT64, description, nullable=nullable, references=dimension, gt=0)


def store_id(*, nullable: bool = False, description: str = "Store (dim_stores.store_id).") -> ColumnSpec:
    return fk("store_id", "dim_stores", description, nullable=nullable)


def dc_id(*, nullable: bool = False, description: str = "Distribution centre (dim_distribution_centers.dc_id).") -> ColumnSpec:
    return fk("dc_id", "dim_distribution_centers", description, nullable=nullable)


def product_id(description: str = "Product (dim_products.product_id).") -> ColumnSpec:
    return fk("product_id", "dim_products", description)


def customer_id(*, nullable: bool, description: str = "Customer (dim_customers.customer_id).") -> ColumnSpec:
    return fk("customer_id", "dim_customers", description, nullable=nullable)


def cents(name: str, description: str, *, nullable: bool = False, signed: bool = False) -> ColumnSpec:
    """Money in integer cents; non-negative unless ``signed`` (returns carry negative amounts)."""
    return col(name, DType.INT64, description, nullable=nullable, ge=None if signed else 0)
