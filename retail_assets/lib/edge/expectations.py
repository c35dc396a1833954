"""DLT-style expectations: a named row rule with an action, each evaluated as an asset check.

Seed 003's Silver layer declares Delta Live Tables expectations (``@dlt.expect``, ``@dlt.expect_or_drop``,
``@dlt.expect_or_fail``). Here an :class:`Expectation` is a polars expression that is true for a good row, and
its action says what a violating row does:

- ``warn``: the row is kept; the check (WARN severity) fails and counts the rows, with examples;
- ``drop``: the row goes to the quarantine table with reason code ``expectation_<name>`` and a reason naming the
  table, partition, column and value; the check (WARN) fails and counts them;
- ``fail``: nothing of the month is written; the check is **blocking** (ERROR), so the month's downstream is held
  by the spine's gates (``lib/gates.py``) until a run passes. All rows are evaluated before anything is written.

Rows dropped by one expectation are not evaluated by the later ones (their reason names the first rule broken),
as DLT does for ``expect_or_drop``. A NULL result of a rule counts as a violation.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import dagster as dg
import polars as pl

from retail_assets.lib.checks import CheckOutcome, check_spec, frame_table
from retail_assets.lib.conform import quarantine_frame
from retail_assets.lib.specs import QUARANTINE_COLUMNS, empty_frame

Action = Literal["warn", "drop", "fail"]


@dataclass(frozen=True)
class Expectation:
    name: str
    description: str
    rule: pl.Expr
    action: Action
    column: str  # the column a violation is reported on

    @property
    def check_name(self) -> str:
        return f"expect_{self.name}"

    def spec(self, key: dg.AssetKey) -> dg.AssetCheckSpec:
        blocking = self.action == "fail"
        return check_spec(
            self.check_name,
            key,
            partitioned=True,
            blocking=blocking,
            description=f"{self.description} Action on violation: {self.action}"
            + (" (blocking: nothing of the month is written)." if blocking else "."),
        )


@dataclass
class Expected:
    """The rows kept, the rows dropped (quarantine schema) and each expectation's outcome for one month."""

    rows: pl.DataFrame
    quarantine: pl.DataFrame
    outcomes: dict[str, CheckOutcome]

    @property
    def failed(self) -> list[str]:
        return [name for name, o in self.outcomes.items() if not o.passed and o.severity == dg.AssetCheckSeverity.ERROR]


def apply_expectations(
    rows: pl.DataFrame,
    expectations: Sequence[Expectation],
    *,
    table: str,
    month: dt.date,
    at: dt.datetime,
    record: Sequence[str],
) -> Expected:
    """Evaluate ``expectations`` in order on ``rows`` (one month of ``table``); ``record`` are the columns kept, as
    JSON, in a quarantined row's ``record``."""
    outcomes: dict[str, CheckOutcome] = {}
    dropped: list[pl.DataFrame] = []
    subject = f"edge/{table} {month:%Y-%m}"
    for e in expectations:
        ok = rows.select(e.rule.fill_null(False).alias("ok")).get_column("ok")
        bad = rows.filter(~ok)
        severity = dg.AssetCheckSeverity.ERROR if e.action == "fail" else dg.AssetCheckSeverity.WARN
        verb = {"warn": "kept", "drop": "dropped to quarantine", "fail": "failing the month"}[e.action]
        examples = bad.select(e.column, *[c for c in ("trace_id", "device_id") if c in bad.columns and c != e.column])
        outcomes[e.check_name] = CheckOutcome(
            passed=not bad.height,
            description=(
                f"{subject}: {bad.height} of {rows.height} rows break {e.name} ({e.description}); {verb}"
                if bad.height
                else f"{subject}: all {rows.height} rows meet {e.name}"
            ),
            metadata={"violations": bad.height, "rows": rows.height, "action": e.action}
            | ({"examples": frame_table(examples, limit=5)} if bad.height else {}),
            severity=severity,
        )
        if e.action == "drop" and bad.height:
            dropped.append(_quarantined(bad, e, subject, record))
            rows = rows.filter(ok)
    quarantine = (
        quarantine_frame(pl.concat(dropped), table=table, month=month, quarantined_at=at)
        if dropped
        else empty_frame(QUARANTINE_COLUMNS)
    )
    return Expected(rows, quarantine, outcomes)


def _quarantined(bad: pl.DataFrame, e: Expectation, subject: str, record: Sequence[str]) -> pl.DataFrame:
    value = pl.col(e.column).cast(pl.String)
    return bad.select(
        pl.col("trace_id") if "trace_id" in bad.columns else pl.lit(None, pl.String).alias("trace_id"),
        pl.lit(None, pl.Int64).alias("row_number"),
        pl.lit(e.column).alias("column_name"),
        value.alias("value"),
        pl.lit(f"expectation_{e.name}").alias("reason_code"),
        pl.format(
            f"{subject}: column {e.column} = {{}} breaks expectation {e.name} ({e.description})",
            value.fill_null("NULL"),
        ).alias("reason"),
        pl.struct([c for c in record if c in bad.columns]).struct.json_encode().alias("record"),
    )
