"""Key-hash shards of a Silver fact month: build a large month a bounded piece at a time.

A month whose Bronze input exceeds ``RETAIL_SILVER_SHARD_ROWS`` rows is split into ``n`` shards by a
hash of the first primary-key column, ``n`` growing with the month's rows, so a shard's rows — and the
memory to check, deduplicate and validate them — do not depend on the number of stores. Every row of
one business key (its batch rows and the events mapped to it) falls in the same shard, so each shard
is an ordinary month build (``build_fact_month``) on fewer keys: de-duplication, conflicts, key
uniqueness and quarantine are decided per key and stay exact. The shards' counts add up to the
month's (``combine``); their rows are streamed into one Delta commit (``pipeline.py``).

A table whose build relates rows of different keys cannot be sharded this way and keeps the single
frame: online order lines (picked/shipped events update lines by order and node, judged against the
order ids of the whole month and its neighbours).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

import polars as pl

from retail_assets.lib.silver.facts import LOST_KEYS, FactMonth
from retail_assets.lib.silver.quarantine import empty_quarantine
from retail_assets.lib.silver.stream import UPDATE_EVENTS
from retail_assets.lib.specs import REGISTRY

# Fixed, so a month's shards are the same in every attempt of a commit (the chunks are produced again).
SHARD_SEED = 0x5EED


@dataclass(frozen=True)
class KeyShard:
    """Shard ``index`` of ``count``: the rows whose ``column`` hashes to ``index`` modulo ``count``."""

    column: str
    index: int
    count: int

    def rows(self) -> pl.Expr:
        """True for this shard's rows (a NULL key hashes like any value: its rows, all rejected, land in one shard)."""
        return pl.col(self.column).hash(SHARD_SEED) % self.count == self.index

    def describe(self) -> str:
        return f"shard {self.index + 1}/{self.count} (hash of {self.column})"


def shardable(table: str) -> bool:
    """Whether a month of ``table`` can be built key shard by key shard: no step uses rows of other keys."""
    return not UPDATE_EVENTS.get(table)


def shard_count(table: str, bronze_rows: int, shard_rows: int) -> int:
    """Shards for a month of ``bronze_rows`` input rows: 1 below the threshold (or 0 = never shard), else enough
    that each holds about ``shard_rows`` rows."""
    if shard_rows <= 0 or bronze_rows <= shard_rows or not shardable(table):
        return 1
    return math.ceil(bronze_rows / shard_rows)


def shards_of(table: str, count: int) -> list[KeyShard]:
    column = REGISTRY.table(table).primary_key[0]
    return [KeyShard(column, i, count) for i in range(count)]


def _summed(counts: Sequence[dict[str, int]]) -> dict[str, int]:
    total: dict[str, int] = {}
    for one in counts:
        for k, v in one.items():
            total[k] = total.get(k, 0) + v
    return total


def without_rows(build: FactMonth) -> FactMonth:
    """A shard's build with its rows dropped (they are streamed to the lake): counts, quarantine and lost keys."""
    return replace(build, rows=build.rows.clear())


def combine(shards: Sequence[FactMonth]) -> FactMonth:
    """The month from its shards' builds (rows already dropped): counts summed, quarantine and lost keys stacked.

    ``rows`` of the result is empty with the Silver schema (the rows are in the lake); ``row_count`` is the
    month's rows written.
    """
    if not shards:
        raise ValueError("a month has at least one shard")
    first = shards[0]
    quarantined = [s.quarantine for s in shards if s.quarantine.height]
    lost = [s.lost_batch_keys for s in shards if s.lost_batch_keys.height]
    return FactMonth(
        table=first.table,
        month=first.month,
        rows=first.rows.clear(),
        quarantine=pl.concat(quarantined, how="vertical") if quarantined else empty_quarantine(),
        rows_in=_summed([s.rows_in for s in shards]),
        rows_out=_summed([s.rows_out for s in shards]),
        duplicates_dropped=sum(s.duplicates_dropped for s in shards),
        updates_applied=sum(s.updates_applied for s in shards),
        updates_handed_back=sum(s.updates_handed_back for s in shards),
        quarantined_by_reason=_summed([s.quarantined_by_reason for s in shards]),
        events_matching_batch=sum(s.events_matching_batch for s in shards),
        batch_keys=sum(s.batch_keys for s in shards),
        lost_batch_keys=pl.concat(lost, how="vertical") if lost else LOST_KEYS.clear(),
        shards=len(shards),
    )
