"""Business-key deduplication (reference spec §10.3, without H's silent resolution).

Rows are compared on every spec column except ``trace_id`` when the trace id is not the key: the
same receipt from a batch file (no trace id) and from its event is one receipt. Exact duplicates
are dropped and counted (the first occurrence stays: batch before stream, files in name order).
Two or more *different* rows with one key are all quarantined: none of them is picked.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.silver.rules import CONFLICT
from retail_assets.lib.specs import TableSpec


@dataclass(frozen=True)
class Deduplicated:
    rows: pl.DataFrame
    conflicts: pl.DataFrame  # the conflicting rows, with __code/__column/__value/__message
    duplicates_dropped: int


def content_columns(table: TableSpec) -> list[str]:
    return [c for c in table.column_names if c != "trace_id" or "trace_id" in table.primary_key]


def deduplicate(rows: pl.DataFrame, key: Sequence[str], content: Sequence[str], *, table: str) -> Deduplicated:
    # Most months have no repeated key: find candidates with a cheap 64-bit hash of the key, then
    # compare exactly only those (a hash collision just makes a row a candidate).
    hashes = rows.select(pl.struct(list(key)).hash()).to_series()
    if hashes.n_unique() == rows.height:
        return Deduplicated(rows, _describe(rows.clear(), key, table), 0)
    repeated = hashes.is_duplicated()
    candidates = rows.filter(repeated)
    distinct = candidates.unique(subset=list(content), keep="first", maintain_order=True)
    clash = distinct.select(pl.struct(list(key)).is_duplicated()).to_series()
    kept = pl.concat([rows.filter(~repeated), distinct.filter(~clash)], how="vertical")
    return Deduplicated(kept, _describe(distinct.filter(clash), key, table), candidates.height - distinct.height)


def key_text(key: Sequence[str]) -> pl.Expr:
    """A key as the quarantine's ``value`` shows it: ``receipt_id=R1, line_number=2``."""
    return pl.concat_str([pl.format(f"{k}={{}}", pl.col(k).cast(pl.String)) for k in key], separator=", ")


def _describe(conflicting: pl.DataFrame, key: Sequence[str], table: str) -> pl.DataFrame:
    shown = key_text(key)
    return conflicting.with_columns(
        pl.lit(CONFLICT).alias("__code"),
        pl.lit(key[0]).alias("__column"),
        shown.alias("__value"),
        pl.format(
            f"{table} key ({{}}) has {{}} different rows; none was kept (exact duplicates are dropped, "
            "differing ones are never resolved silently)",
            shown,
            pl.len().over(list(key)).cast(pl.String),
        ).alias("__message"),
    )
