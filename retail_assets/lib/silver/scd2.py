"""SCD Type 2 versions of a dimension from its landed snapshots, and as-of resolution of facts.

Convention: Bronze keeps every landed snapshot (``snapshot_month``). A key's version starts with
the snapshot that introduced its attribute values: ``valid_from`` = 00:00 UTC on the first day of
that snapshot month, ``valid_to`` = the next version's ``valid_from`` (exclusive), NULL and
``is_current`` for the latest. A snapshot repeating a key's current attributes adds no version. A
key missing from a later snapshot keeps its last version open (snapshots say nothing about
deletions). Versions of a key are therefore contiguous from its first ``valid_from`` on, and a fact
at time t resolves to the one version with ``valid_from <= t < valid_to``; a fact before a key's
first version does not resolve (land the first snapshot under the first month of facts).
"""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl

from retail_assets.lib.specs import SNAPSHOT_MONTH, TableSpec

UTC_TS = pl.Datetime("us", "UTC")


def snapshot_start(column: str = SNAPSHOT_MONTH.name) -> pl.Expr:
    return pl.col(column).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")


def build_versions(snapshots: pl.DataFrame, table: TableSpec) -> tuple[pl.DataFrame, int]:
    """Versions (spec columns + valid_from, valid_to, is_current) and how many snapshot rows repeated a version.

    ``snapshots`` holds at most one row per key and snapshot month.
    """
    key = list(table.primary_key)
    attributes = [c for c in table.column_names if c not in key]
    ordered = snapshots.sort([*key, SNAPSHOT_MONTH.name])
    same_key_as_previous = pl.all_horizontal([pl.col(k) == pl.col(k).shift(1) for k in key]).fill_null(False)
    changed = ~same_key_as_previous | pl.any_horizontal([pl.col(a).ne_missing(pl.col(a).shift(1)) for a in attributes])
    versions = ordered.filter(changed).with_columns(snapshot_start().alias("valid_from"))
    same_key_as_next = pl.all_horizontal([pl.col(k) == pl.col(k).shift(-1) for k in key]).fill_null(False)
    versions = versions.with_columns(
        pl.when(same_key_as_next).then(pl.col("valid_from").shift(-1)).alias("valid_to")
    ).with_columns(pl.col("valid_to").is_null().alias("is_current"))
    return versions.select(*table.column_names, "valid_from", "valid_to", "is_current"), ordered.height - versions.height


def latest_rows(snapshots: pl.DataFrame, table: TableSpec) -> tuple[pl.DataFrame, int]:
    """For a snapshot (non-SCD2) dimension: each key's row from the latest snapshot that has it."""
    latest = snapshots.sort(SNAPSHOT_MONTH.name).unique(subset=list(table.primary_key), keep="last", maintain_order=True)
    return latest.select(table.column_names), snapshots.height - latest.height


def as_of(
    facts: pl.LazyFrame,
    versions: pl.LazyFrame,
    *,
    key: str,
    at: str,
    columns: Sequence[str],
    suffix: str = "",
) -> pl.LazyFrame:
    """Facts with ``columns`` of the dimension version valid at each fact's ``at`` (NULL when none is).

    Facts reference dimensions by natural key; this is how Gold (or anyone) joins a fact to the
    attributes the dimension had when the fact happened.
    """
    attributes = versions.select(
        pl.col(key).alias("__key"),
        "valid_from",
        "valid_to",
        *[pl.col(c).alias(f"{c}{suffix}") for c in columns],
    )
    indexed = facts.with_row_index("__fact")
    matched = (
        indexed.select("__fact", pl.col(key).alias("__key"), pl.col(at).alias("__at"))
        .join(attributes, on="__key", how="inner")
        .filter((pl.col("__at") >= pl.col("valid_from")) & (pl.col("valid_to").is_null() | (pl.col("__at") < pl.col("valid_to"))))
        .select("__fact", *[f"{c}{suffix}" for c in columns])
    )
    return indexed.join(matched, on="__fact", how="left", maintain_order="left").drop("__fact")
