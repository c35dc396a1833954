"""Building blocks of the event → fact mappings; each event module (``lib/specs/events/``) maps its own events.

Bronze event tables hold the reference envelope plus the flattened payload with the reference's
names and float dollars. A mapping returns the fact's columns (snake_case, int cents) and the
checks for what the mapping itself can find wrong (an integer too large for the fact's column,
a truck id that is not a number, an operation that contradicts its event type). Money in dollars
becomes cents as ``round(dollars × 100)`` (half away from zero, after removing float noise); the
optional ``*_cents`` payload fields win when present.

Each mapping also flags, per row, which of its columns are a default or derivation rather than a
value the event carried (``rules.not_carried``): when an event and a batch row share a business key,
only what the event carried is compared with the batch row (``dedupe.py``), so an event is not a
conflict because it lacks a balance or an order status.

The event modules import this module while the registry is being built, so it must not import
``retail_assets.lib.specs`` (nor anything that does) at module level; ``rules.py`` obeys the same rule.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib import money
from retail_assets.lib.silver.rules import BATCH_ID, EVENT_TRACE_ID, ORIGIN, SOURCE_FILE, TYPE_ERROR, RowCheck, as_text, not_carried

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


Mapping = Callable[[pl.LazyFrame, MappingContext], Mapped]

ALWAYS = pl.lit(True)  # a column the event type never carries


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


def finish(
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


def money_columns(exprs: list[pl.Expr]) -> list[pl.Expr]:
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
