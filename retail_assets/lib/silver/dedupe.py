"""Business-key deduplication (reference spec §10.3, without H's silent resolution).

Rows are compared on every spec column except ``trace_id`` when the trace id is not the key: the
same receipt from a batch file (no trace id) and from its event is one receipt.

Which row a key keeps:

- **A batch row and events share the key: the batch row wins.** The batch files are the system of
  record; an event of the same key is judged against the batch row on what the event *carries*:
  every column except the key, the ones its event type never carries (inventory ``balance``, an
  order's later ``order_status``) and the ones its mapping filled with a default or a derivation
  (``mapping.py``'s ``not_carried`` flags), and except the columns the event leaves NULL. An event equal
  to the batch row on all of those is a duplicate of it (dropped, counted). An event that differs
  on any of them is a true conflict: the event is quarantined (``conflicts_with_batch``, naming the
  key, each column and both values) and the batch row stays.
- **Otherwise (batch rows only, or events only)** exact duplicates are dropped and counted (the
  first occurrence stays: files in name order) and two or more *different* rows with one key are
  all quarantined (``conflicting_duplicate``): none of them is picked. Two different batch rows of
  one key leave no system of record, so that key's events are quarantined with them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import polars as pl

from retail_assets.lib.silver.rules import BATCH, CONFLICT, CONFLICTS_WITH_BATCH, ORIGIN, not_carried
from retail_assets.lib.specs import TableSpec

BATCH_SUFFIX = "__batch"
ISO = "%Y-%m-%dT%H:%M:%S%.fZ"


@dataclass(frozen=True)
class Deduplicated:
    rows: pl.DataFrame
    conflicts: pl.DataFrame  # the rejected rows, with __code/__column/__value/__message
    duplicates_dropped: int
    events_matching_batch: int = 0  # of duplicates_dropped: events equal to their key's batch row on what they carry


def content_columns(table: TableSpec) -> list[str]:
    return [c for c in table.column_names if c != "trace_id" or "trace_id" in table.primary_key]


def deduplicate(rows: pl.DataFrame, key: Sequence[str], content: Sequence[str], *, table: str) -> Deduplicated:
    """Drop duplicates of ``rows`` on ``key`` and reject conflicts (see the module docstring).

    ``rows`` without an ``ORIGIN`` column are all of one source.
    """
    key = list(key)
    # Most months have no repeated key: find candidates with a cheap 64-bit hash of the key, then
    # compare exactly only those (a hash collision just makes a row a candidate).
    hashes = rows.select(pl.struct(key).hash()).to_series()
    if hashes.n_unique() == rows.height:
        return Deduplicated(rows, _describe(rows.clear(), key, table), 0)
    repeated = hashes.is_duplicated()
    candidates = rows.filter(repeated)
    from_batch = (pl.col(ORIGIN) == BATCH) if ORIGIN in rows.columns else pl.lit(False)
    batch_versions = candidates.filter(from_batch).unique(subset=list(content), keep="first", maintain_order=True)
    record = batch_versions.filter(~pl.struct(key).is_duplicated())  # keys with exactly one batch version
    judged = _judge_against_batch(candidates.filter(~from_batch), record, key, content)
    matching = judged.filter(~pl.col("__differs"))
    against_batch = judged.filter(pl.col("__differs")).drop("__differs")
    # Everything not judged against a batch row: batch rows, and events of keys with no (or no single) batch version.
    rest = candidates.filter(from_batch).vstack(candidates.filter(~from_batch).join(record.select(key), on=key, how="anti"))
    distinct = rest.unique(subset=list(content), keep="first", maintain_order=True)
    clash = distinct.select(pl.struct(key).is_duplicated()).to_series()
    kept = pl.concat([rows.filter(~repeated), distinct.filter(~clash)], how="vertical")
    conflicts = pl.concat(
        [_describe(distinct.filter(clash), key, table), _describe_against_batch(against_batch, key, content, table)],
        how="diagonal_relaxed",
    )
    return Deduplicated(
        kept,
        conflicts.select(_describe(rows.clear(), key, table).columns),
        rest.height - distinct.height + matching.height,
        matching.height,
    )


def _compared(event_columns: Sequence[str], key: Sequence[str], content: Sequence[str]) -> list[str]:
    return [c for c in content if c not in key and c in event_columns]


def _differs(column: str, event_columns: Sequence[str]) -> pl.Expr:
    """The event carries ``column`` (set, and not a mapping's stand-in) and it is not the batch row's value."""
    flag = not_carried(column)
    stand_in = pl.col(flag).fill_null(False) if flag in event_columns else pl.lit(False)
    return pl.col(column).is_not_null() & ~stand_in & pl.col(column).ne_missing(pl.col(column + BATCH_SUFFIX))


def _judge_against_batch(events: pl.DataFrame, record: pl.DataFrame, key: list[str], content: Sequence[str]) -> pl.DataFrame:
    """``events`` whose key has one batch version, with that version's columns (suffixed) and ``__differs``."""
    compared = _compared(events.columns, key, content)
    batch = record.select(*key, *[pl.col(c).alias(c + BATCH_SUFFIX) for c in compared])
    joined = events.join(batch, on=key, how="inner", maintain_order="left")
    return joined.with_columns(pl.any_horizontal([_differs(c, events.columns) for c in compared] or [pl.lit(False)]).alias("__differs"))


def _text(column: str, dtype: pl.DataType) -> pl.Expr:
    value = pl.col(column)
    if isinstance(dtype, pl.List):
        shown = pl.format("[{}]", value.list.eval(pl.element().cast(pl.String)).list.join(", "))
    elif isinstance(dtype, pl.Datetime):
        shown = value.dt.to_string(ISO)
    else:
        shown = value.cast(pl.String)
    return shown.fill_null("NULL")


def _describe_against_batch(events: pl.DataFrame, key: Sequence[str], content: Sequence[str], table: str) -> pl.DataFrame:
    """Events that disagree with their key's batch row: the first differing column and value, every difference."""
    compared = _compared(events.columns, key, content)
    if not events.height or not compared:
        return events.clear()
    differs = {c: _differs(c, events.columns) for c in compared}
    first = [pl.when(differs[c]) for c in compared]
    column = pl.coalesce([when.then(pl.lit(c)) for when, c in zip(first, compared, strict=True)])
    value = pl.coalesce([when.then(_text(c, events.schema[c])) for when, c in zip(first, compared, strict=True)])
    differences = pl.concat_str(
        [
            pl.when(differs[c]).then(
                pl.format(f"{c}: event {{}}, batch {{}}", _text(c, events.schema[c]), _text(c + BATCH_SUFFIX, events.schema[c]))
            )
            for c in compared
        ],
        separator="; ",
        ignore_nulls=True,
    )
    return events.with_columns(
        pl.lit(CONFLICTS_WITH_BATCH).alias("__code"),
        column.alias("__column"),
        value.alias("__value"),
        pl.format(
            f"{table} key ({{}}): the event disagrees with the batch row of that key, which is the system of record "
            "and was kept ({}). Correct the producer of the event, or the batch file and re-run the month",
            key_text(key),
            differences,
        ).alias("__message"),
    )


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
