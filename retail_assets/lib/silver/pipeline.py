"""Silver against the lake: read Bronze, build, validate before writing, write one commit per table and month.

A fact month reads only that month of its Bronze tables plus the (small) Silver dimensions it
references (online order lines: also the next month's step events and the neighbouring months'
order ids, ``read_neighbours``), and overwrites only that month of ``silver/<fact>`` and ``quarantine/silver/<fact>``:
its cost does not depend on how many months exist. Nothing is written when the input or the
output drifts from the spec, or when the output's key is null or not unique
(:class:`SpecValidationError`, naming the blocking check it fails).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import polars as pl

from retail_assets.lib.checks import (
    PRIMARY_KEY_UNIQUE,
    SCHEMA_PARITY,
    SpecValidationError,
    frame_parity,
    key_examples,
    stored_reason_codes,
)
from retail_assets.lib.lake import LakeStore, WriteReport, months_predicate
from retail_assets.lib.months import add_months
from retail_assets.lib.settings import silver_shard_rows
from retail_assets.lib.silver.dims import DimensionBuild, build_dimension, dimension_keys
from retail_assets.lib.silver.facts import FactMonth, build_fact_month
from retail_assets.lib.silver.lifecycle import NeighbourMonths, taken_from_next_month
from retail_assets.lib.silver.mapping import CustomerDevices
from retail_assets.lib.silver.shards import KeyShard, combine, shard_count, shardable, shards_of, without_rows
from retail_assets.lib.silver.rules import (
    DimensionKeys,
    foreign_key_checks,
    referenced_dimensions,
    with_unknown_list_elements,
)
from retail_assets.lib.silver.stream import ROW_MAPPINGS, UPDATE_EVENTS
from retail_assets.lib.specs import REGISTRY, bronze_columns, polars_schema, silver_columns

LAYER = "silver"


def silver_table(name: str) -> str:
    return f"{LAYER}/{name}"


def quarantine_table(name: str) -> str:
    return f"quarantine/{LAYER}/{name}"


class MissingDimension(LookupError):
    """A Silver dimension a table needs has not been materialized."""


def _partition(month: dt.date | None) -> str:
    return month.isoformat() if month else "unpartitioned"


def _check_parity(frame_schema: pl.Schema, columns, *, what: str, table: str, month: dt.date | None, fix: str) -> None:
    drift = frame_parity(pl.DataFrame(schema=frame_schema), columns)
    if not drift.ok:
        where = f"{month:%Y-%m}" if month else "(unpartitioned)"
        raise SpecValidationError(
            f"silver/{table} {where}: {what} does not match the spec ({drift.describe()}); nothing was written. {fix}",
            layer=LAYER,
            table=table,
            check=SCHEMA_PARITY,
            partition=_partition(month),
            drift=drift,
        )


def read_bronze(lake: LakeStore, name: str, *, table: str, month: dt.date | None) -> pl.LazyFrame | None:
    """Bronze rows of ``name`` for ``month`` (all snapshots for a dimension); None when the table does not exist.

    The Bronze table's columns must match its spec, or the Silver load stops before anything is written.
    """
    source = f"bronze/{name}"
    if not lake.exists(source):
        return None
    frame = lake.scan(source, [month] if month else None)
    _check_parity(
        frame.collect_schema(),
        bronze_columns(name),
        what=f"input {source}",
        table=table,
        month=month,
        fix=f"Re-materialize {source} with the current spec (or change the spec and the producer together).",
    )
    return frame


def validate_output(rows: pl.DataFrame, table: str, month: dt.date | None) -> None:
    """Schema parity with ``silver_columns`` and a unique, non-null primary key; raises before anything is written."""
    _check_parity(
        rows.schema,
        silver_columns(table),
        what="output",
        table=table,
        month=month,
        fix="The Silver transform disagrees with the spec: fix lib/silver for this table.",
    )
    problems = primary_key_problems(rows, table)
    if problems:
        where = f"{month:%Y-%m}" if month else "(unpartitioned)"
        raise SpecValidationError(
            f"silver/{table} {where}: primary key {problems['key']} has {problems['null_keys']} null and "
            f"{problems['duplicate_keys']} duplicated values, {problems['keys_without_one_current_version']} keys "
            "without exactly one current version; nothing was written",
            layer=LAYER,
            table=table,
            partition=_partition(month),
            check=PRIMARY_KEY_UNIQUE,
            key_examples=key_examples(rows, problems["key"]),
            **problems,
        )


def silver_key(table: str) -> list[str]:
    spec = REGISTRY.table(table)
    return [*spec.primary_key, "valid_from"] if spec.history == "scd2" else list(spec.primary_key)


def primary_key_problems(rows: pl.DataFrame, table: str) -> dict[str, Any]:
    """Null and duplicated key counts (SCD2 dimensions: key + valid_from, and one current version per key)."""
    key = silver_key(table)
    keys = rows.select(key)
    nulls = keys.filter(pl.any_horizontal(pl.all().is_null())).height
    # A unique 64-bit hash proves the key unique; only a repeated hash needs the exact (slower) count.
    hashes = keys.select(pl.struct(key).hash()).to_series()
    duplicates = 0 if hashes.n_unique() == rows.height else int(keys.is_duplicated().sum())
    without_one_current = 0
    if REGISTRY.table(table).history == "scd2":
        base = list(REGISTRY.table(table).primary_key)
        current = rows.group_by(base).agg(pl.col("is_current").sum().alias("current"))
        without_one_current = current.filter(pl.col("current") != 1).height
    if not (nulls or duplicates or without_one_current):
        return {}
    return {
        "key": key,
        "null_keys": nulls,
        "duplicate_keys": duplicates,
        "keys_without_one_current_version": without_one_current,
    }


def stored_key_problems(lake: LakeStore, table: str, month: dt.date) -> tuple[int, dict[str, Any]]:
    """(rows, ``primary_key_problems``) of the month as stored in ``silver/<table>``, from a lazy scan of its key
    columns: the key check of a month too large to hold (built in key-hash shards). Facts only (no SCD2)."""
    key = silver_key(table)
    keys = lake.scan(silver_table(table), [month]).select(key)
    rows, nulls, hashes = (
        keys.select(
            pl.len().alias("rows"),
            pl.any_horizontal([pl.col(k).is_null() for k in key]).sum().alias("nulls"),
            pl.struct(key).hash().n_unique().alias("hashes"),
        )
        .collect()
        .row(0)
    )
    # A unique 64-bit hash proves the key unique; only a repeated hash needs the exact (slower) count.
    duplicates = 0 if hashes == rows else int(keys.select(pl.struct(key).is_duplicated().sum().alias("d")).collect().item())
    if not (nulls or duplicates):
        return rows, {}
    return rows, {"key": key, "null_keys": int(nulls), "duplicate_keys": duplicates, "keys_without_one_current_version": 0}


def load_dimension_keys(lake: LakeStore, dims: list[str], *, needed_by: str) -> dict[str, DimensionKeys]:
    found = {}
    for dim in dims:
        if not lake.exists(silver_table(dim)):
            raise MissingDimension(
                f"silver/{needed_by} needs silver/{dim} to check its references; materialize silver/{dim} first"
            )
        found[dim] = dimension_keys(dim, lake.scan(silver_table(dim)))
    return found


def load_customer_devices(lake: LakeStore) -> CustomerDevices:
    versions = lake.scan(silver_table("dim_customers")).select("ble_id", "customer_id", "valid_from", "valid_to").collect()
    return CustomerDevices(versions)


def fact_events(table: str) -> tuple[str, ...]:
    spec = REGISTRY.table(table)
    return tuple(e for e in spec.source_events if (table, e) in ROW_MAPPINGS or e in UPDATE_EVENTS.get(table, ()))


def unresolved_references(
    rows: pl.DataFrame, table: str, dims: Mapping[str, DimensionKeys], month: dt.date | None = None
) -> dict[str, int]:
    """Per reference check, how many of ``rows`` do not resolve (verification of what is written)."""
    spec = REGISTRY.table(table)
    checks = foreign_key_checks(spec, dict(dims), month)
    if not checks:
        return {}
    frame = with_unknown_list_elements(rows.lazy(), spec, dict(dims))
    counts = frame.select([c.condition.fill_null(False).sum().alias(c.name) for c in checks]).collect()
    return {name: int(n) for name, n in counts.row(0, named=True).items()}


@dataclass(frozen=True)
class WrittenMonth:
    build: FactMonth
    version: int
    unresolved: dict[str, int]  # per reference: written rows that do not resolve (0 unless a bug)
    silver_rows: int  # counted back from the lake after the write
    quarantine_codes: pl.DataFrame  # reason_code of each quarantined row of the month, read back after the write
    bronze_rows: int  # counted independently from Bronze
    missing_inputs: tuple[str, ...]

    @property
    def quarantined_rows(self) -> int:
        return self.quarantine_codes.height

    @property
    def shards(self) -> int:
        """Key-hash shards the month was built in (1: one frame, ``build.rows`` holds the month's rows)."""
        return self.build.shards


def _order_ids(lake: LakeStore, month: dt.date) -> pl.Series:
    source = "bronze/fact_online_order_lines"
    if not lake.exists(source):
        return NeighbourMonths.none().next_orders
    return lake.scan(source, [month]).select(pl.col("order_id").unique()).collect().to_series()


def read_neighbours(lake: LakeStore, table: str, month: dt.date) -> NeighbourMonths | None:
    """For a table whose events update rows of earlier months (online order lines): the months around ``month``."""
    if not UPDATE_EVENTS.get(table):
        return None
    following = add_months(month, 1)
    next_events = {}
    for event_type in UPDATE_EVENTS[table]:
        frame = read_bronze(lake, event_type, table=table, month=following)
        if frame is not None:
            next_events[event_type] = frame
    return NeighbourMonths(_order_ids(lake, add_months(month, -1)), _order_ids(lake, following), next_events)


def count_bronze_rows(lake: LakeStore, table: str, month: dt.date) -> tuple[int, dict[str, int]]:
    """Rows this fact takes from Bronze for ``month``, counted on the Bronze tables themselves.

    Online order lines also take the next month's step events of this month's orders.
    """
    counts: dict[str, int] = {}
    if lake.exists(f"bronze/{table}"):
        counts["batch"] = lake.scan(f"bronze/{table}", [month]).select(pl.len()).collect().item()
    for event_type in fact_events(table):
        if not lake.exists(f"bronze/{event_type}"):
            continue
        events = lake.scan(f"bronze/{event_type}", [month])
        if event_type == "inventory_updated":
            # Each inventory event belongs to exactly one of the two inventory facts.
            store = pl.col("store_id").is_not_null()
            events = events.filter(store if table == "fact_store_inventory_txn" else ~store)
        counts[event_type] = events.select(pl.len()).collect().item()
    following = add_months(month, 1)
    for event_type in UPDATE_EVENTS.get(table, ()):
        if lake.exists(f"bronze/{event_type}"):
            later = lake.scan(f"bronze/{event_type}", [following])
            taken = taken_from_next_month(later, _order_ids(lake, month), _order_ids(lake, following))
            counts[event_type] = counts.get(event_type, 0) + taken.select(pl.len()).collect().item()
    return sum(counts.values()), counts


def _count_month(lake: LakeStore, table: str, month: dt.date) -> int:
    if not lake.exists(table):
        return 0
    return lake.scan(table, [month]).select(pl.len()).collect().item()


def stored_quarantine(lake: LakeStore, table: str, month: dt.date) -> pl.DataFrame:
    """The ``reason_code`` of every row of ``quarantine/silver/<table>`` for ``month``, as stored."""
    return stored_reason_codes(lake, quarantine_table(table), month)


def _input_rows(inputs: list[pl.LazyFrame]) -> int:
    """Rows of a month's Bronze inputs (from the Parquet footers: no data is read)."""
    return sum(frame.select(pl.len()).collect().item() for frame in inputs)


def materialize_fact_month(
    lake: LakeStore,
    table: str,
    month: dt.date,
    *,
    commit_metadata: Mapping[str, str] | None = None,
    shard_rows: int | None = None,
) -> WrittenMonth:
    """Build, validate and write one month of ``silver/<table>`` and its quarantine.

    A month of more than ``shard_rows`` Bronze rows (default ``RETAIL_SILVER_SHARD_ROWS``) is built in
    key-hash shards of about that many rows, streamed into one Silver commit (``shards.py``), so memory
    holds a shard, not the month; the result is the same as one build of the whole month.
    """
    at = dt.datetime.now(dt.UTC)
    missing = []
    batch = read_bronze(lake, table, table=table, month=month)
    if batch is None:
        missing.append(f"bronze/{table}")
    events = {}
    for event_type in fact_events(table):
        frame = read_bronze(lake, event_type, table=table, month=month)
        if frame is None:
            missing.append(f"bronze/{event_type}")
        else:
            events[event_type] = frame
    dims = load_dimension_keys(lake, referenced_dimensions(REGISTRY.table(table)), needed_by=table)
    devices = load_customer_devices(lake) if table == "fact_ble_pings" else None
    inputs = FactInputs(batch, events, dims, devices, read_neighbours(lake, table, month), at)
    threshold = silver_shard_rows() if shard_rows is None else shard_rows
    count = 1
    if shardable(table) and threshold > 0:
        count = shard_count(table, _input_rows([f for f in (batch, *events.values()) if f is not None]), threshold)
    if count == 1:
        build = inputs.build(table, month)
        validate_output(build.rows, table, month)
        report = lake.overwrite_months(silver_table(table), build.rows, [month], commit_metadata=commit_metadata)
        unresolved = unresolved_references(build.rows, table, dims, month)
    else:
        build, report, unresolved = _write_in_shards(lake, table, month, inputs, count, commit_metadata)
    write_quarantine_months(lake, table, build.quarantine, [month], commit_metadata)
    bronze_rows, _ = count_bronze_rows(lake, table, month)
    return WrittenMonth(
        build=build,
        version=report.version,
        unresolved=unresolved,
        silver_rows=_count_month(lake, silver_table(table), month),
        quarantine_codes=stored_quarantine(lake, table, month),
        bronze_rows=bronze_rows,
        missing_inputs=tuple(missing),
    )


@dataclass(frozen=True)
class FactInputs:
    """What a fact month is built from: its Bronze inputs (lazy, restricted to the month) and the references."""

    batch: pl.LazyFrame | None
    events: dict[str, pl.LazyFrame]
    dims: dict[str, DimensionKeys]
    devices: CustomerDevices | None
    neighbours: NeighbourMonths | None
    quarantined_at: dt.datetime

    def build(self, table: str, month: dt.date, shard: KeyShard | None = None) -> FactMonth:
        return build_fact_month(
            table,
            month,
            batch=self.batch,
            events=self.events,
            dims=self.dims,
            devices=self.devices,
            neighbours=self.neighbours,
            quarantined_at=self.quarantined_at,
            shard=shard.rows() if shard is not None else None,
        )


def _write_in_shards(
    lake: LakeStore,
    table: str,
    month: dt.date,
    inputs: FactInputs,
    count: int,
    commit_metadata: Mapping[str, str] | None,
) -> tuple[FactMonth, WriteReport, dict[str, int]]:
    """Build the month shard by shard (each validated before it is handed to the writer) into ONE Silver commit.

    A shard failing validation (or any error) ends the stream before the commit: nothing of the month is written,
    neither Silver nor (the caller writes it afterwards) its quarantine.
    """
    built: list[FactMonth] = []
    unresolved: list[dict[str, int]] = []
    failed: list[BaseException] = []

    def shard_rows() -> Iterator[pl.DataFrame]:
        built.clear()  # a commit lost to a concurrent writer produces the shards again
        unresolved.clear()
        for shard in shards_of(table, count):
            try:
                build = inputs.build(table, month, shard)
                validate_output(build.rows, table, month)
            except Exception as exc:
                failed.append(exc)
                raise
            unresolved.append(unresolved_references(build.rows, table, inputs.dims, month))
            built.append(without_rows(build))
            rows = build.rows
            del build  # only the rows stay alive while the writer takes them
            yield rows
            del rows

    try:
        report = lake.overwrite_months_streamed(
            silver_table(table),
            shard_rows,
            polars_schema(silver_columns(table)),
            [month],
            commit_metadata=commit_metadata,
        )
    except Exception:
        if failed:  # the writer wraps what the stream raised: the caller needs the validation error itself
            raise failed[-1] from None
        raise
    total: dict[str, int] = {}
    for counts in unresolved:
        for name, n in counts.items():
            total[name] = total.get(name, 0) + n
    return combine(built), report, total


def write_quarantine_months(
    lake: LakeStore, table: str, quarantine: pl.DataFrame, months: list[dt.date], meta: Mapping[str, str] | None
) -> None:
    """Replace these months of the quarantine (clearing them when a re-run rejects nothing)."""
    target = quarantine_table(table)
    if quarantine.height:
        lake.overwrite_months(target, quarantine, months, commit_metadata=meta)
    elif lake.exists(target):
        lake.delete(target, months_predicate(months), commit_metadata=meta)


@dataclass(frozen=True)
class WrittenDimension:
    build: DimensionBuild
    version: int
    unresolved: dict[str, int]
    silver_rows: int
    quarantined_rows: int
    bronze_rows: int


def materialize_dimension(lake: LakeStore, table: str, *, commit_metadata: Mapping[str, str] | None = None) -> WrittenDimension:
    """Rebuild ``silver/<dim>`` from every Bronze snapshot (dimensions are small) and replace its quarantine."""
    at = dt.datetime.now(dt.UTC)
    bronze = read_bronze(lake, table, table=table, month=None)
    if bronze is None:
        raise MissingDimension(f"silver/{table} reads bronze/{table}, which does not exist; materialize bronze/{table} first")
    dims = load_dimension_keys(lake, referenced_dimensions(REGISTRY.table(table)), needed_by=table)
    build = build_dimension(table, bronze, dims, quarantined_at=at)
    validate_output(build.rows, table, None)
    report = lake.replace(silver_table(table), build.rows, commit_metadata=commit_metadata)
    target = quarantine_table(table)
    if build.quarantine.height or lake.exists(target):
        lake.replace(target, build.quarantine, partition_by=["month_start"], commit_metadata=commit_metadata)
    quarantined = lake.scan(target).select(pl.len()).collect().item() if lake.exists(target) else 0
    return WrittenDimension(
        build=build,
        version=report.version,
        unresolved=unresolved_references(build.rows, table, dims),
        silver_rows=lake.scan(silver_table(table)).select(pl.len()).collect().item(),
        quarantined_rows=quarantined,
        bronze_rows=lake.scan(f"bronze/{table}").select(pl.len()).collect().item(),
    )
