"""Row checks: each says when a row must be rejected, with a code, the column at fault and a message.

A check is a boolean polars expression (true = reject). All checks of a table are evaluated as
cheap boolean columns over every row; the text of the reasons is only built for the rows that
fail, so validation costs little on months of millions of rows.

The event modules (``lib/specs/events/``) import this module while the registry is being built, so it imports
nothing of ``retail_assets.lib.specs`` at module level: spec types for annotations only, the registry in a function.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import polars as pl

from retail_assets.lib.partitions import month_start

if TYPE_CHECKING:
    from retail_assets.lib.specs import ColumnSpec, TableSpec

# Reason codes written to quarantine/silver/<table>.reason_code.
NULL_KEY = "null_key"
NULL_REQUIRED = "null_required"
TYPE_ERROR = "type_error"
OUT_OF_RANGE = "out_of_range"
NOT_ALLOWED = "not_allowed"
INCONSISTENT = "inconsistent_row"
WRONG_PARTITION = "wrong_partition"
FK_MISS = "fk_miss"
CONFLICT = "conflicting_duplicate"
CONFLICTS_WITH_BATCH = "conflicts_with_batch"
UNMATCHED_UPDATE = "unmatched_update"

# Meta columns carried next to the spec columns while a month is built (never written to Silver).
ORIGIN = "__origin"  # "batch" or the event type the row was mapped from
SOURCE_FILE = "__source_file"  # Bronze lineage: landing file of the row
BATCH_ID = "__batch_id"  # Bronze lineage: landing batch
EVENT_TRACE_ID = "__event_trace_id"  # trace_id of the event a stream row came from
META_COLUMNS = (ORIGIN, SOURCE_FILE, BATCH_ID, EVENT_TRACE_ID)
BATCH = "batch"  # the ORIGIN of rows from the batch files: the system of record (``dedupe.py``)


def not_carried(column: str) -> str:
    """Hidden boolean column of an event row: true where ``column`` is the mapping's default or derivation,
    not a value the event carried, so it is never held against a batch row (``mapping.py``, ``dedupe.py``)."""
    return f"__not_carried_{column}"


@dataclass(frozen=True)
class RowCheck:
    """Reject a row when ``condition`` is true (null counts as false)."""

    name: str
    code: str
    column: str | None
    condition: pl.Expr
    message: pl.Expr
    value: pl.Expr | None = None


def as_text(expr: pl.Expr) -> pl.Expr:
    return expr.cast(pl.String)


def _bound_checks(c: ColumnSpec) -> list[RowCheck]:
    col = pl.col(c.name)
    checks = []
    for op, bound, fails in (
        (">=", c.ge, lambda b: col < b),
        (">", c.gt, lambda b: col <= b),
        ("<=", c.le, lambda b: col > b),
    ):
        if bound is None:
            continue
        shown = int(bound) if float(bound).is_integer() else bound
        checks.append(
            RowCheck(
                name=f"{c.name}{op}{shown}",
                code=OUT_OF_RANGE,
                column=c.name,
                condition=fails(bound),
                message=pl.format(f"column {c.name}: {{}} is out of range (must be {op} {shown})", as_text(col)),
                value=as_text(col),
            )
        )
    return checks


def column_checks(table: TableSpec) -> list[RowCheck]:
    """Required values present (keys first), numbers within bounds, text within allowed values."""
    checks: list[RowCheck] = []
    for c in table.columns:
        if not c.nullable:
            key = c.name in table.primary_key
            checks.append(
                RowCheck(
                    name=f"{c.name} not null",
                    code=NULL_KEY if key else NULL_REQUIRED,
                    column=c.name,
                    condition=pl.col(c.name).is_null(),
                    message=pl.lit(f"column {c.name}: {'key' if key else 'required'} value is missing"),
                )
            )
    for c in table.columns:
        checks.extend(_bound_checks(c))
        if c.allowed is not None:
            checks.append(
                RowCheck(
                    name=f"{c.name} allowed",
                    code=NOT_ALLOWED,
                    column=c.name,
                    condition=pl.col(c.name).is_not_null() & ~pl.col(c.name).is_in(list(c.allowed)),
                    message=pl.format(f"column {c.name}: {{}} is not one of {list(c.allowed)}", pl.col(c.name)),
                    value=pl.col(c.name),
                )
            )
    return checks


def _exactly_one(table: str, a: str, b: str) -> RowCheck:
    one = pl.col(a).is_null() ^ pl.col(b).is_null()
    return RowCheck(
        name=f"exactly one of {a}, {b}",
        code=INCONSISTENT,
        column=a,
        condition=~one,
        message=pl.format(
            f"{table}: exactly one of {a} and {b} must be set (found {a}={{}}, {b}={{}})",
            pl.col(a).cast(pl.String).fill_null("NULL"),
            pl.col(b).cast(pl.String).fill_null("NULL"),
        ),
    )


def table_rules(table: TableSpec) -> list[RowCheck]:
    """Cross-column rules the column specs cannot express."""
    match table.name:
        case "fact_payments":
            return [_exactly_one(table.name, "receipt_id", "order_id")]
        case "fact_stockouts":
            return [_exactly_one(table.name, "store_id", "dc_id")]
    return []


def partition_check(table: TableSpec, month: dt.date) -> RowCheck:
    """The row's time column must fall in the month being built (Silver months never read other months)."""
    assert table.time_column is not None
    tc = table.time_column
    return RowCheck(
        name="partition",
        code=WRONG_PARTITION,
        column=tc,
        condition=month_start(tc) != month,
        message=pl.format(
            f"column {tc}: {{}} is not in {month:%Y-%m}, the month being built (the event was filed under "
            f"{month:%Y-%m} by its ingest_timestamp)",
            pl.col(tc).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
        ),
        value=pl.col(tc).dt.to_string("%Y-%m-%dT%H:%M:%S%.fZ"),
    )


# ---- foreign keys ------------------------------------------------------------------------------


@dataclass(frozen=True)
class DimensionKeys:
    """The keys of a Silver dimension, and for SCD2 dimensions when each key's first version starts.

    SCD2 versions of a key are contiguous (each ends where the next starts and the last is open),
    so "a version valid at t exists" is exactly "the key exists and t >= its first valid_from".
    """

    table: str
    key: str
    keys: pl.Series
    first_valid_from: pl.Series | None = None

    @property
    def versioned(self) -> bool:
        return self.first_valid_from is not None


def _first_version(column: pl.Expr, dim: DimensionKeys) -> pl.Expr:
    assert dim.first_valid_from is not None
    return column.replace_strict(dim.keys, dim.first_valid_from, default=None, return_dtype=dim.first_valid_from.dtype)


def _miss(column: pl.Expr, dim: DimensionKeys, at: pl.Expr | None, month: dt.date | None = None) -> pl.Expr:
    """True where ``column`` is set but has no row (no version valid at ``at``) in the dimension.

    With ``month``, keys whose first version starts by the month's first instant resolve for any
    row of the month, so only keys introduced later are compared with the row's time (cheap).
    """
    if not dim.versioned or at is None:
        return column.is_not_null() & ~column.is_in(dim.keys.implode())
    assert dim.first_valid_from is not None
    if month is None:
        starts = _first_version(column, dim)
        return column.is_not_null() & (starts.is_null() | (at < starts))
    month_begins = dt.datetime(month.year, month.month, 1, tzinfo=dt.UTC)
    early = dim.first_valid_from <= month_begins
    late = DimensionKeys(dim.table, dim.key, dim.keys.filter(~early), dim.first_valid_from.filter(~early))
    resolves = column.is_in(dim.keys.filter(early).implode())
    if late.keys.len():
        starts = _first_version(column, late)
        resolves = resolves | (starts.is_not_null() & (at >= starts))
    return column.is_not_null() & ~resolves


def _fk_message(column: str, value: pl.Expr, dim: DimensionKeys, at: pl.Expr | None) -> pl.Expr:
    unknown = pl.format(f"column {column}: {{}} is not a {dim.table}.{dim.key}", as_text(value))
    if not dim.versioned or at is None:
        return unknown
    stamp = "%Y-%m-%dT%H:%M:%S%.fZ"
    starts = _first_version(value, dim)
    return (
        pl.when(starts.is_null())
        .then(unknown)
        .otherwise(
            pl.format(
                f"column {column}: {{}} has no {dim.table} version valid at {{}} (its first version starts {{}})",
                as_text(value),
                at.dt.to_string(stamp),
                starts.dt.to_string(stamp),
            )
        )
    )


# Columns whose target dimension depends on a type column: (id column, type column, {type: dimension}).
POLYMORPHIC_KEYS: dict[str, tuple[tuple[str, str, dict[str, str]], ...]] = {
    "fact_online_order_headers": (("node_id", "node_type", {"STORE": "dim_stores", "DC": "dim_distribution_centers"}),),
    "fact_online_order_lines": (("node_id", "node_type", {"STORE": "dim_stores", "DC": "dim_distribution_centers"}),),
    "fact_truck_inventory": (("location_id", "location_type", {"STORE": "dim_stores", "DC": "dim_distribution_centers"}),),
}
# List columns whose every element references a dimension.
LIST_KEYS: dict[str, tuple[tuple[str, str], ...]] = {"fact_promotions": (("product_ids", "dim_products"),)}


def unknown_elements_column(list_column: str) -> str:
    return f"__unknown_{list_column}"


def with_unknown_list_elements(frame: pl.LazyFrame, table: TableSpec, dims: dict[str, DimensionKeys]) -> pl.LazyFrame:
    """Add, per list key column of ``table``, the text of its elements that are not dimension keys.

    ``"7,99"`` (comma-separated, in list order, repeats kept) when any element does not resolve,
    NULL when all do or the list is NULL or empty (NULL elements are not judged). The check of a
    list key (``foreign_key_checks``) reads this column. Elements are compared with the key Series
    once, after exploding the lists with a row index: memory follows the number of elements, never
    elements × dimension keys (``is_in`` inside ``list.eval`` broadcasts the keys into every row:
    ~23 GB for one month of fact_promotions against 10k products).
    """
    for list_column, dim_name in LIST_KEYS.get(table.name, ()):
        dim = dims[dim_name]
        target = unknown_elements_column(list_column)
        indexed = frame.with_row_index("__list_row")
        unknown = (
            indexed.select("__list_row", pl.col(list_column).alias("__element"))
            .explode("__element")
            .filter(pl.col("__element").is_not_null() & ~pl.col("__element").is_in(dim.keys.implode()))
            .group_by("__list_row", maintain_order=True)
            .agg(pl.col("__element").cast(pl.String).str.join(",").alias(target))
        )
        frame = indexed.join(unknown, on="__list_row", how="left", maintain_order="left").drop("__list_row")
    return frame


def referenced_dimensions(table: TableSpec) -> list[str]:
    """Every Silver dimension a table's rows are checked (or resolved) against, in registry order."""
    from retail_assets.lib.specs import REGISTRY  # not at module level: the event modules import this module

    names = {c.references for c in table.columns if c.references}
    for _, _, targets in POLYMORPHIC_KEYS.get(table.name, ()):
        names.update(targets.values())
    names.update(dim for _, dim in LIST_KEYS.get(table.name, ()))
    if table.name == "fact_ble_pings":
        names.add("dim_customers")  # stream pings resolve customer_id from dim_customers.ble_id
    return [d.name for d in REGISTRY.dimensions if d.name in names]


def foreign_key_checks(table: TableSpec, dims: dict[str, DimensionKeys], month: dt.date | None = None) -> list[RowCheck]:
    """Every reference resolves: plain FKs, node/location ids by their type, list elements.

    For facts, references to SCD2 dimensions must resolve to a version valid at the row's event
    time; dimension-to-dimension references only need the key to exist.
    """
    at = pl.col(table.time_column) if table.time_column else None
    checks: list[RowCheck] = []
    for c in table.columns:
        if c.references is None:
            continue
        dim = dims[c.references]
        checks.append(
            RowCheck(
                name=f"{c.name} -> {dim.table}",
                code=FK_MISS,
                column=c.name,
                condition=_miss(pl.col(c.name), dim, at, month),
                message=_fk_message(c.name, pl.col(c.name), dim, at),
                value=as_text(pl.col(c.name)),
            )
        )
    for id_column, type_column, targets in POLYMORPHIC_KEYS.get(table.name, ()):
        for type_value, dim_name in targets.items():
            dim = dims[dim_name]
            of_type = pl.col(type_column) == type_value
            checks.append(
                RowCheck(
                    name=f"{id_column} ({type_value}) -> {dim.table}",
                    code=FK_MISS,
                    column=id_column,
                    condition=of_type & _miss(pl.col(id_column), dim, at, month),
                    message=_fk_message(f"{id_column} ({type_column} {type_value})", pl.col(id_column), dim, at),
                    value=as_text(pl.col(id_column)),
                )
            )
    for list_column, dim_name in LIST_KEYS.get(table.name, ()):
        dim = dims[dim_name]
        unknown = pl.col(unknown_elements_column(list_column))
        checks.append(
            RowCheck(
                name=f"{list_column}[] -> {dim.table}",
                code=FK_MISS,
                column=list_column,
                condition=unknown.is_not_null(),
                message=pl.format(f"column {list_column}: {{}} are not {dim.table}.{dim.key}", unknown),
                value=unknown,
            )
        )
    return checks


# ---- applying checks ---------------------------------------------------------------------------


def _flag(i: int) -> str:
    return f"__check_{i}"


def flag_rows(frame: pl.LazyFrame, checks: Sequence[RowCheck]) -> pl.LazyFrame:
    """Add one boolean column per check and ``__rejected`` (any of them)."""
    flags = [c.condition.fill_null(False).alias(_flag(i)) for i, c in enumerate(checks)]
    rejected = pl.any_horizontal([pl.col(_flag(i)) for i in range(len(checks))]) if checks else pl.lit(False)
    return frame.with_columns(flags).with_columns(rejected.alias("__rejected"))


def drop_flags(frame: pl.DataFrame, checks: Sequence[RowCheck]) -> pl.DataFrame:
    return frame.drop([_flag(i) for i in range(len(checks))] + ["__rejected"])


def split_flagged(flagged: pl.DataFrame, checks: Sequence[RowCheck]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(accepted rows without the flag columns, rejected rows with their reasons described)."""
    rejected = flagged.get_column("__rejected")
    if not rejected.any():
        # No copy of a month of rows when nothing is rejected (the common case).
        return drop_flags(flagged, checks), describe_failures(flagged.clear(), checks)
    return drop_flags(flagged.filter(~rejected), checks), describe_failures(flagged.filter(rejected), checks)


def origin_counts(frame: pl.DataFrame) -> dict[str, int]:
    """Rows per origin ("batch" or the event type)."""
    if not frame.height:
        return {}
    counted = frame.group_by(ORIGIN).len()
    return dict(zip(counted.get_column(ORIGIN).to_list(), counted.get_column("len").to_list(), strict=True))


def describe_failures(rejected: pl.DataFrame, checks: Sequence[RowCheck]) -> pl.DataFrame:
    """For flagged rows: first failing check's code, column and value, and every failing message."""
    first = [pl.col(_flag(i)) for i in range(len(checks))]

    def first_of(values: list[pl.Expr]) -> pl.Expr:
        expr = None
        for flag, value in zip(first, values, strict=True):
            expr = pl.when(flag).then(value) if expr is None else expr.when(flag).then(value)
        return expr.otherwise(None) if expr is not None else pl.lit(None, dtype=pl.String)

    return rejected.with_columns(
        first_of([pl.lit(c.code) for c in checks]).alias("__code"),
        first_of([pl.lit(c.column, dtype=pl.String) for c in checks]).alias("__column"),
        first_of([c.value if c.value is not None else pl.lit(None, dtype=pl.String) for c in checks]).alias("__value"),
        pl.concat_str(
            [pl.when(flag).then(c.message) for flag, c in zip(first, checks, strict=True)], separator="; ", ignore_nulls=True
        ).alias("__message"),
    )
