"""Identifier text: business ids (RCP..., ONL..., SHP...) and numeric trace ids, built column-wise.

Business ids are derived from the natural key of what they identify (day, store, sequence), so the
same receipt gets the same id whichever month generates it. Trace ids are a two-digit table code
followed by the row's packed natural key in decimal: unique per table, deterministic, and cheap
to render (one integer-to-text cast).
"""

from __future__ import annotations

import numpy as np
import polars as pl

from retail_assets.lib.generator import calendar as cal

TRACE_KEY_LIMIT = 10**17

# Two-digit trace-id prefixes, one per table (and per kind of row within inventory tables).
TRACE_CODES = {
    "fact_store_inventory_txn": 11,
    "fact_dc_inventory_txn": 12,
    "fact_foot_traffic": 13,
    "fact_ble_pings": 14,
    "fact_customer_zone_changes": 15,
    "fact_store_ops": 16,
    "fact_stockouts": 17,
    "fact_reorders": 18,
}


def trace_ids(table: str, keys: np.ndarray) -> pl.Series:
    """Decimal text of ``code * 10**17 + key`` for each key (keys must be < 10**17)."""
    keys = np.asarray(keys, dtype=np.int64)
    if len(keys) and (keys.min() < 0 or keys.max() >= TRACE_KEY_LIMIT):
        raise ValueError(f"{table}: trace key out of range")
    return pl.Series("trace_id", keys + np.int64(TRACE_CODES[table]) * TRACE_KEY_LIMIT).cast(pl.String)


def day_text(ordinals: np.ndarray) -> pl.Series:
    """yyyymmdd for each day ordinal."""
    ordinals = np.asarray(ordinals, dtype=np.int64)
    if not len(ordinals):
        return pl.Series([], dtype=pl.String)
    lo = int(ordinals.min())
    span = int(ordinals.max()) - lo + 1
    lut = pl.Series([cal.from_ordinal(lo + i).strftime("%Y%m%d") for i in range(span)], dtype=pl.String)
    return lut.gather(pl.Series(ordinals - lo))


def padded(values: np.ndarray, width: int) -> pl.Expr:
    return pl.lit(pl.Series(np.asarray(values, dtype=np.int64))).cast(pl.String).str.zfill(width)


def build(prefix: str, *parts: pl.Expr | pl.Series, n: int) -> pl.Series:
    """prefix + the concatenated parts, as one text column of length ``n``."""
    if n == 0:
        return pl.Series([], dtype=pl.String)
    exprs = [pl.lit(p) if isinstance(p, pl.Series) else p for p in parts]
    return pl.select(pl.concat_str([pl.lit(prefix), *exprs])).to_series()


def receipt_ids(day: np.ndarray, store: np.ndarray, seq: np.ndarray, prefix: str = "RCP") -> pl.Series:
    """RCP + yyyymmdd + store (4 digits, 1-based) + sequence in the store-day (5 digits)."""
    return build(prefix, day_text(day), padded(store + 1, 4), padded(seq, 5), n=len(day))


def lookup(values, codes: np.ndarray) -> pl.Series:
    """Text column from integer codes into a small vocabulary (no per-row string work)."""
    return pl.Series(list(values), dtype=pl.String).gather(pl.Series(np.asarray(codes, dtype=np.int64)))


def utc(us: np.ndarray) -> pl.Series:
    """UTC timestamps (microseconds since 1970) as Datetime('us', 'UTC')."""
    return pl.Series(np.asarray(us, dtype=np.int64)).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
