"""Silver ``device_heartbeat`` (seed 003 ``silver_device_heartbeat``): Bronze heartbeats checked against the
device registry and enriched with the device's store and barangay.

Bronze already typed the events, kept one per ``trace_id`` and quarantined what could not be read. Silver adds
what needs the registry, as expectations (``lib/edge/expectations.py``), in this order:

- ``known_device`` (drop): the device is in ``dim_edge_devices``;
- ``device_in_its_store`` (drop): the heartbeat's ``store_id`` is the store the registry installs the device in;
- ``uptime_within_install`` (fail): a device cannot have been up longer than it has been installed — a violation
  means the registry (install date) or the device's clock is wrong, and the month must not be published;
- ``clock_in_sync`` (warn): the device clock is within 5 minutes of the gateway's (``clock_skew_seconds``);
- ``temperature_normal`` (warn): ``cpu_temp_c`` below 80 °C (the Pi 4/5 start throttling at 80–85 °C).

Its input is Bronze ``device_heartbeat`` and the heartbeats of Bronze ``raw_events`` (the legacy format, split by
``lib/edge/legacy.py``; a record whose data cannot be read is quarantined with reason code ``legacy_unreadable``).
A device sends one format or the other, so the two never hold the same reading.

The registry is Bronze's latest snapshot of ``dim_edge_devices`` landed for the month or before it (the first
snapshot when every snapshot is later).
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from retail_assets.lib.conform import quarantine_frame
from retail_assets.lib.edge.expectations import Expectation
from retail_assets.lib.edge.legacy import split_raw_events
from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.partitions import month_start
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.edge import DEVICE_HEARTBEAT
from retail_assets.lib.specs.envelope import text_field, time_field
from retail_assets.lib.specs.model import DType

MAX_CLOCK_SKEW_SECONDS = 300.0
HOT_CPU_C = 80.0
_PAYLOAD = {c.name: c for c in DEVICE_HEARTBEAT.payload}

DEVICE_HEARTBEAT_SILVER = EdgeTable(
    name="device_heartbeat",
    layer="silver",
    description="Device heartbeats checked against the device registry, with store, barangay and clock skew.",
    grain="one row per heartbeat (trace_id)",
    key=("trace_id",),
    time_column="received_at",
    columns=(
        text_field("trace_id", "Heartbeat event's trace_id."),
        _PAYLOAD["device_id"],
        _PAYLOAD["store_id"],
        col("barangay_id", DType.INT64, "Barangay of the store (dim_sari_stores)."),
        time_field("received_at", "When the gateway received it (the event's ingest_timestamp, UTC)."),
        _PAYLOAD["device_clock"],
        col("clock_skew_seconds", DType.FLOAT64, "device_clock − received_at, seconds (positive: device ahead)."),
        *(
            _PAYLOAD[n]
            for n in (
                "uptime_seconds",
                "cpu_temp_c",
                "memory_used_pct",
                "storage_used_pct",
                "network_type",
                "signal_dbm",
                "battery_pct",
                "firmware_version",
            )
        ),
    ),
)

EXPECTATIONS = (
    Expectation(
        "known_device",
        "The device is registered in dim_edge_devices.",
        pl.col("__registered_store").is_not_null(),
        "drop",
        "device_id",
    ),
    Expectation(
        "device_in_its_store",
        "The heartbeat's store is the one the registry installs the device in.",
        pl.col("store_id") == pl.col("__registered_store"),
        "drop",
        "store_id",
    ),
    Expectation(
        "uptime_within_install",
        "The device has not been up longer than it has been installed.",
        pl.col("received_at") - pl.duration(seconds=pl.col("uptime_seconds"))
        >= pl.col("__installed_on").cast(pl.Datetime("us", "UTC")),
        "fail",
        "uptime_seconds",
    ),
    Expectation(
        "clock_in_sync",
        f"The device clock is within {MAX_CLOCK_SKEW_SECONDS:.0f} s of the gateway's.",
        pl.col("clock_skew_seconds").abs() <= MAX_CLOCK_SKEW_SECONDS,
        "warn",
        "clock_skew_seconds",
    ),
    Expectation(
        "temperature_normal",
        f"The CPU is below {HOT_CPU_C:.0f} °C.",
        pl.col("cpu_temp_c") < HOT_CPU_C,
        "warn",
        "cpu_temp_c",
    ),
)


def snapshot_as_of(frame: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """The rows of a Bronze dimension's latest snapshot landed for ``month`` or before (else its first snapshot)."""
    months = frame.get_column("snapshot_month").unique().sort()
    earlier = months.filter(months <= month)
    chosen = earlier.max() if earlier.len() else months.min()
    return frame.filter(pl.col("snapshot_month") == chosen)


def registry_as_of(devices: pl.DataFrame, stores: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """Bronze snapshots of dim_edge_devices and dim_sari_stores → device_id, store, install day, barangay."""
    as_of = lambda frame: snapshot_as_of(frame, month)  # noqa: E731
    return (
        as_of(devices)
        .select(
            "device_id", pl.col("store_id").alias("__registered_store"), pl.col("installed_on").alias("__installed_on")
        )
        .join(
            as_of(stores).select(pl.col("store_id").alias("__registered_store"), "barangay_id"),
            on="__registered_store",
            how="left",
        )
    )


def heartbeats_with_legacy(
    bronze: pl.DataFrame, raw_events: pl.DataFrame, *, table: str, month: dt.date, at: dt.datetime
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Bronze heartbeats and the legacy records' heartbeats (same columns), and the legacy records that could not be
    read (quarantine rows)."""
    split, unreadable = split_raw_events(raw_events, DEVICE_HEARTBEAT.event_type)
    return pl.concat([bronze.select(split.columns), split]), legacy_quarantine(unreadable, table, month, at)


def legacy_quarantine(unreadable: pl.DataFrame, table: str, month: dt.date, at: dt.datetime) -> pl.DataFrame:
    """Quarantine rows (reason code ``legacy_unreadable``) for legacy records whose data could not be read."""
    rejected = unreadable.with_columns(
        pl.lit(None, pl.Int64).alias("row_number"),
        pl.lit("legacy_unreadable").alias("reason_code"),
        pl.col("value").alias("record"),
    )
    return quarantine_frame(rejected, table=table, month=month, quarantined_at=at)


def prepare(bronze: pl.DataFrame, registry: pl.DataFrame) -> pl.DataFrame:
    """Bronze heartbeat rows → Silver columns plus the registry's columns the expectations read (``__…``)."""
    return bronze.join(registry, on="device_id", how="left").select(
        "trace_id",
        "device_id",
        "store_id",
        "barangay_id",
        pl.col("ingest_timestamp").alias("received_at"),
        "device_clock",
        ((pl.col("device_clock") - pl.col("ingest_timestamp")).dt.total_microseconds() / 1e6).alias(
            "clock_skew_seconds"
        ),
        *DEVICE_HEARTBEAT_SILVER.column_names[7:],
        "__registered_store",
        "__installed_on",
    )


def finish(rows: pl.DataFrame) -> pl.DataFrame:
    """Kept rows → the Silver table's columns (and ``month_start``), in key order."""
    return (
        rows.select(DEVICE_HEARTBEAT_SILVER.column_names)
        .with_columns(month_start("received_at").alias("month_start"))
        .sort("device_id", "received_at", "trace_id")
    )
