"""A lake whose Bronze quarantined rows, written by the real Bronze assets in one Dagster run (Jan–Feb 2024).

- ``bronze/fact_store_ops``: a CSV row per month whose ``store_id`` is not a number (``type_error``);
- ``bronze/receipt_created``: an exact duplicate (dropped), a conflicting duplicate, a malformed line and an
  unsupported schema version (three quarantined, January);
- ``bronze/fact_promotions``: clean rows, nothing rejected.
"""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl

from retail_assets.defs.bronze import bronze_key, build_event_assets, build_fact_asset
from retail_assets.lib.landing import LandingZone
from retail_assets_tests.factories import land_events, land_table, sample_events, sample_rows

JAN, FEB = dt.date(2024, 1, 1), dt.date(2024, 2, 1)
RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-02-01"}
EXPECTED = {
    # (layer, table, month, reason_code) -> rows
    ("bronze", "fact_store_ops", JAN, "type_error"): 1,
    ("bronze", "fact_store_ops", FEB, "type_error"): 1,
    ("bronze", "receipt_created", JAN, "conflicting_duplicate"): 1,
    ("bronze", "receipt_created", JAN, "malformed_json"): 1,
    ("bronze", "receipt_created", JAN, "unsupported_schema_version"): 1,
}


def store_ops_csv(month: dt.date, bad_store_id: str = "four") -> bytes:
    day = f"{month:%Y-%m}-03"
    return (
        "trace_id,event_ts,store_id,operation_type\n"
        f"ok-{month:%m},{day}T08:00:00Z,4,opened\n"
        f"bad-{month:%m},{day}T22:00:00Z,{bad_store_id},closed\n"
    ).encode()


def land_rejects(landing: LandingZone) -> None:
    for month in (JAN, FEB):
        landing.write_bytes(f"batch/fact_store_ops/{month:%Y-%m}/stores.csv", store_ops_csv(month))
        land_table(landing, "fact_promotions", sample_rows("fact_promotions", 3, month), month)
    good = sample_events("receipt_created", 3)
    conflicting = {**good[1], "payload": {**good[1]["payload"], "total": 999.0}}
    unsupported = {**good[2], "trace_id": "other", "schema_version": "2.0"}
    land_events(landing, "receipt_created", [*good, good[0], conflicting, "{broken", unsupported], JAN)


def bronze_assets() -> list[dg.AssetsDefinition]:
    return [build_fact_asset("fact_store_ops"), build_fact_asset("fact_promotions"), build_event_assets()]


def materialize_rejects(resources: dict, instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    """Land the files and run the three Bronze assets for Jan–Feb in one run."""
    land_rejects(resources["landing"])
    result = dg.materialize(
        bronze_assets(),
        resources=resources,
        instance=instance,
        tags=RANGE,
        selection=[bronze_key("fact_store_ops"), bronze_key("fact_promotions"), bronze_key("receipt_created")],
        raise_on_error=False,
    )
    assert result.success, [e.message for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    return result


def fix_store_ops(resources: dict, instance: dg.DagsterInstance, month: dt.date) -> None:
    """The producer fixed the month's file; re-running Bronze for the month clears its quarantine."""
    resources["landing"].write_bytes(f"batch/fact_store_ops/{month:%Y-%m}/stores.csv", store_ops_csv(month, "5"))
    result = dg.materialize(
        [build_fact_asset("fact_store_ops")], resources=resources, instance=instance, partition_key=f"{month:%Y-%m-%d}"
    )
    assert result.success


def quarantined(frame: pl.DataFrame) -> dict[tuple, int]:
    """(layer, table, month, reason_code) -> rows, from a frame of quarantine rows."""
    counted = frame.group_by("layer", "quarantine_table", "month_start", "reason_code").len()
    return {tuple(row[:4]): row[4] for row in counted.iter_rows()}
