"""One month of a Silver fact: Bronze batch rows ∪ mapped Bronze events, checked, deduplicated.

Order of work for a month:
1. batch rows (``bronze/<fact>``, already typed by Bronze) and every source event's rows mapped to
   the fact's columns (``stream.py``) are stacked;
2. every row is checked at once (``rules.py``): mapping problems, required values (keys first),
   bounds, allowed values, cross-column rules, the row's month, foreign keys to the Silver
   dimensions (SCD2 ones at the row's event time); failing rows are quarantined with every reason;
3. the rest is deduplicated on the fact's business key (``dedupe.py``): where a batch row and an
   event share a key, the batch row is the system of record and wins; the event is a duplicate
   when it agrees with it on every column it carries, else it is quarantined
   (``conflicts_with_batch``);
4. for online order lines, picked/shipped events are applied to the lines (``lifecycle.py``),
   including the next month's events for this month's orders.

Counts reconcile per month: Bronze rows in = Silver rows + quarantined + exact duplicates dropped
(+ for online order lines: step events applied to lines, and this month's step events handed to
the previous month's lines; the next month's events taken here count as Bronze rows in).

Keys are kept too: every business key of the month's batch rows that passed the row checks is in
the month's Silver rows (``lost_batch_keys`` lists those that are not, e.g. a key whose batch
rows contradict each other; the ``keeps_bronze_keys`` check fails on them).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import polars as pl

from retail_assets.lib.months import add_months
from retail_assets.lib.silver.dedupe import content_columns, deduplicate, key_text
from retail_assets.lib.silver.lifecycle import (
    EVENT_COLUMNS,
    NeighbourMonths,
    apply_line_updates,
    map_step_events,
    taken_from_next_month,
)
from retail_assets.lib.silver.mapping import CustomerDevices, MappingContext
from retail_assets.lib.silver.quarantine import empty_quarantine, quarantine_rows
from retail_assets.lib.silver.rules import (
    BATCH,
    BATCH_ID,
    EVENT_TRACE_ID,
    ORIGIN,
    SOURCE_FILE,
    DimensionKeys,
    RowCheck,
    column_checks,
    flag_rows,
    foreign_key_checks,
    origin_counts,
    partition_check,
    split_flagged,
    table_rules,
    with_unknown_list_elements,
)
from retail_assets.lib.silver.stream import ROW_MAPPINGS, UPDATE_EVENTS, map_events
from retail_assets.lib.specs import MONTH_START, REGISTRY, bronze_columns, polars_schema, silver_columns


LOST_KEYS = pl.DataFrame(schema={"key": pl.String, "quarantined_as": pl.String})
ROW = "__row"  # the index of a checked row while a month is built: which input rows were written


@dataclass(frozen=True)
class FactMonth:
    table: str
    month: dt.date
    rows: pl.DataFrame  # Silver columns, in spec order (none when the month was built in shards: see ``shards``)
    quarantine: pl.DataFrame
    rows_in: dict[str, int]  # per origin ("batch" or event type): rows taken from Bronze
    rows_out: dict[str, int]  # per origin: rows written to Silver
    duplicates_dropped: int
    updates_applied: int = 0
    updates_handed_back: int = 0  # step events of this month for the previous month's orders
    quarantined_by_reason: dict[str, int] = field(default_factory=dict)
    events_matching_batch: int = 0  # of duplicates_dropped: events equal to their key's batch row on what they carry
    batch_keys: int = 0  # distinct business keys of the batch rows that passed the row checks
    lost_batch_keys: pl.DataFrame = field(default_factory=LOST_KEYS.clear)  # of those, not in ``rows``
    # Key-hash shards the month was built in (``shards.py``); above 1 the rows went to the lake shard by shard
    # and ``rows`` is empty (with the Silver schema): count them with ``row_count``.
    shards: int = 1

    @property
    def bronze_rows(self) -> int:
        return sum(self.rows_in.values())

    @property
    def row_count(self) -> int:
        """Rows of the month written to Silver (``rows_out`` counts them per origin, in one shard or several)."""
        return sum(self.rows_out.values())

    @property
    def reconciles(self) -> bool:
        out = self.row_count + self.quarantine.height + self.duplicates_dropped
        return self.bronze_rows == out + self.updates_applied + self.updates_handed_back


def lost_batch_keys(
    valid: pl.DataFrame, rows: pl.DataFrame, quarantined: pl.DataFrame, key: list[str]
) -> tuple[int, pl.DataFrame]:
    """(distinct keys of the batch rows in ``valid``, those keys missing from ``rows``): the build's input
    against its output, whatever the deduplication decided. Each missing key says how it was quarantined
    (NULL: not at all).

    ``rows`` carry the ``ROW`` index of the ``valid`` row they are, so the usual month (every batch row
    written) costs one pass over a boolean mask; keys are compared only for batch rows that were not
    written (duplicates, events' batch rows, conflicts). Written keys are unique (validated before the
    write), so the batch keys are the written batch rows plus the missing keys.
    """
    from_batch = valid.get_column(ORIGIN) == BATCH
    written = pl.repeat(False, valid.height, dtype=pl.Boolean, eager=True).scatter(rows.get_column(ROW), True)
    written_batch_rows = int((from_batch & written).sum())
    unwritten = valid.filter(from_batch & ~written).select(key).unique(maintain_order=True)
    if not unwritten.height:
        return written_batch_rows, LOST_KEYS.clear()
    missing = unwritten.join(rows.select(key).join(unwritten, on=key, how="semi"), on=key, how="anti", nulls_equal=True)
    shown = key_text(key)
    how = quarantined.select(shown.alias("key"), pl.col("__code").alias("quarantined_as"))
    lost = missing.select(shown.alias("key")).join(
        how.unique(subset="key", keep="first", maintain_order=True), on="key", how="left", maintain_order="left"
    )
    return written_batch_rows + lost.height, lost.select(LOST_KEYS.columns)


def batch_candidates(table: str, batch: pl.LazyFrame) -> pl.LazyFrame:
    spec = REGISTRY.table(table)
    return batch.select(
        *spec.column_names,
        pl.lit(BATCH, dtype=pl.Categorical).alias(ORIGIN),
        pl.col("_source_file").cast(pl.Categorical).alias(SOURCE_FILE),
        pl.col("_batch_id").cast(pl.Categorical).alias(BATCH_ID),
        pl.lit(None, dtype=pl.String).alias(EVENT_TRACE_ID),
    )


def build_fact_month(
    table: str,
    month: dt.date,
    *,
    batch: pl.LazyFrame | None,
    events: Mapping[str, pl.LazyFrame],
    dims: Mapping[str, DimensionKeys],
    devices: CustomerDevices | None = None,
    neighbours: NeighbourMonths | None = None,
    quarantined_at: dt.datetime,
    shard: pl.Expr | None = None,
) -> FactMonth:
    """Build one month of ``table`` from its Bronze inputs (each already restricted to ``month``).

    ``neighbours``: for online order lines, what the months around it hold (step events of the
    next month, order ids of both); without it events only resolve within the month.
    ``shard``: build only the rows (batch rows and mapped events) for which this predicate on the
    fact's first key column holds, i.e. one key-hash shard of the month (``shards.py``). Every row
    of a key is in the same shard, so the shard's outcome is the month's for its keys.
    """
    if shard is not None and UPDATE_EVENTS.get(table):
        raise ValueError(f"silver/{table} relates rows of different keys (step events): it cannot be built in key shards")
    spec = REGISTRY.table(table)
    ctx = MappingContext(month, devices or CustomerDevices.empty(), shard)
    frames: list[pl.LazyFrame] = []
    mapping_checks: dict[str, RowCheck] = {}
    if batch is not None:
        frames.append(batch_candidates(table, batch))
    for event_type, lf in events.items():
        if (table, event_type) in ROW_MAPPINGS:
            mapped = map_events(table, event_type, lf, ctx)
            frames.append(mapped.frame)
            mapping_checks.update({c.name: c for c in mapped.checks})
    if shard is not None:
        # On each input after mapping, where the key has its Silver value (batch and events alike); polars pushes
        # the predicate into the Bronze scans, so a shard reads its rows, not the month.
        frames = [frame.filter(shard) for frame in frames]
    checks = [
        *mapping_checks.values(),
        *column_checks(spec),
        *table_rules(spec),
        partition_check(spec, month),
        *foreign_key_checks(spec, dict(dims), month),
    ]
    if frames:
        candidates = pl.concat(frames, how="diagonal_relaxed")
    else:
        candidates = batch_candidates(table, pl.LazyFrame(schema=polars_schema(bronze_columns(table))))
    flagged = flag_rows(with_unknown_list_elements(candidates, spec, dict(dims)), checks).collect()
    rows_in = origin_counts(flagged)
    valid, described = split_flagged(flagged, checks)
    valid = valid.with_row_index(ROW)
    deduped = deduplicate(valid, spec.primary_key, content_columns(spec), table=table)
    conflicts = deduped.conflicts.drop(ROW)
    quarantine = [
        quarantine_rows(
            pl.concat([described.select(conflicts.columns), conflicts], how="vertical_relaxed"),
            table=table,
            month=month,
            record_columns=spec.column_names,
            quarantined_at=quarantined_at,
        )
    ]
    rows, duplicates, applied, handed = deduped.rows, deduped.duplicates_dropped, 0, 0
    around = neighbours or NeighbourMonths.none()
    steps = [e for e in UPDATE_EVENTS.get(table, ()) if e in events or e in around.next_events]
    if steps:
        this_orders = (
            batch.select(pl.col("order_id").unique()).collect().to_series()
            if batch is not None
            else NeighbourMonths.none().next_orders
        )
        mapped = [map_step_events(e, events[e]) for e in steps if e in events]
        mapped += [
            taken_from_next_month(map_step_events(e, around.next_events[e]), this_orders, around.next_orders)
            for e in steps
            if e in around.next_events
        ]
        previous = add_months(month, -1)
        updates = apply_line_updates(
            rows,
            pl.concat(mapped, how="vertical"),
            this_orders=this_orders,
            previous_orders=around.previous_orders,
            searched=f"fact_online_order_lines of {month:%Y-%m} or {previous:%Y-%m}",
        )
        rows, applied, handed = updates.lines, updates.applied, updates.handed_to_previous_month
        duplicates += updates.duplicates_dropped
        for origin, n in updates.events_in.items():
            rows_in[origin] = rows_in.get(origin, 0) + n
        quarantine.append(
            quarantine_rows(
                updates.rejected, table=table, month=month, record_columns=EVENT_COLUMNS, quarantined_at=quarantined_at
            )
        )
    batch_keys, lost = lost_batch_keys(valid, rows, conflicts, list(spec.primary_key))
    out = rows.with_columns(pl.lit(month, dtype=pl.Date).alias(MONTH_START.name))
    all_quarantined = (
        pl.concat([q for q in quarantine if q.height], how="vertical")
        if any(q.height for q in quarantine)
        else empty_quarantine()
    )
    by_reason = all_quarantined.group_by("reason_code").len()
    return FactMonth(
        table=table,
        month=month,
        rows=out.select([c.name for c in silver_columns(table)]),
        quarantine=all_quarantined,
        rows_in={k: v for k, v in rows_in.items() if v},
        rows_out=origin_counts(rows),
        duplicates_dropped=duplicates,
        updates_applied=applied,
        updates_handed_back=handed,
        quarantined_by_reason=dict(
            zip(by_reason.get_column("reason_code").to_list(), by_reason.get_column("len").to_list(), strict=True)
        ),
        events_matching_batch=deduped.events_matching_batch,
        batch_keys=batch_keys,
        lost_batch_keys=lost,
    )
