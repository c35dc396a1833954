"""The one conversion from float dollars (event payloads) to integer cents, for polars and for KQL.

Silver and the KQL hot path must agree to the cent, so both use this. The product ``dollars * 100``
is first rounded to 6 decimals to remove binary float noise (1.005 * 100 is 100.49999999999999),
then rounded half away from zero: 1.005 -> 101, 0.285 -> 29.
"""

from __future__ import annotations

import polars as pl


def dollars_to_cents(dollars: pl.Expr) -> pl.Expr:
    return (dollars * 100).round(6).round(0, mode="half_away_from_zero").cast(pl.Int64, strict=False)


def kql_dollars_to_cents(dollars: str) -> str:
    """The same conversion in KQL (event amounts are never negative, so half up = half away from zero)."""
    return f"tolong(floor(round({dollars} * 100, 6) + 0.5, 1))"
