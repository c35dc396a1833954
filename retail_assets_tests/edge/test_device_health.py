"""Gold device_health_summary and Silver device_heartbeat expectations on hand-made heartbeats with known answers."""

from __future__ import annotations

import datetime as dt

import dagster as dg
import polars as pl
import pytest

from retail_assets.lib.edge.device_health import DEVICE_HEALTH_SUMMARY, device_health_summary
from retail_assets.lib.edge.expectations import apply_expectations
from retail_assets.lib.edge.heartbeat import DEVICE_HEARTBEAT_SILVER, EXPECTATIONS, finish, prepare, registry_as_of
from retail_assets.lib.specs.registry import polars_schema

MAY = dt.date(2024, 5, 1)
UTC = dt.UTC


def _at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    return dt.datetime(2024, 5, day, hour, minute, tzinfo=UTC)


def _beats(device: int, times: list[dt.datetime], temp: float = 50.0, skew: float = 0.0) -> pl.DataFrame:
    return pl.DataFrame(
        {
            "device_id": [device] * len(times),
            "store_id": [device] * len(times),
            "received_at": times,
            "cpu_temp_c": [temp] * len(times),
            "clock_skew_seconds": [skew] * len(times),
        },
        schema={"device_id": pl.Int64, "store_id": pl.Int64, "received_at": pl.Datetime("us", "UTC"),
                "cpu_temp_c": pl.Float64, "clock_skew_seconds": pl.Float64},
    )


def _every_10_min(first: dt.datetime, last: dt.datetime) -> list[dt.datetime]:
    out, t = [], first
    while t <= last:
        out.append(t)
        t += dt.timedelta(minutes=10)
    return out


DEVICES = pl.DataFrame(
    {"device_id": [1, 2, 3, 4], "store_id": [1, 2, 3, 4], "installed_on": [dt.date(2024, 1, 1)] * 3 + [MAY]},
)


@pytest.fixture(scope="module")
def summary() -> pl.DataFrame:
    two_days = _every_10_min(_at(1, 0), _at(2, 23, 50))
    # Device 2: silent from 06:00 to 12:00 on day 1 (heartbeats at 06:00 and 12:00).
    gap = [t for t in two_days if not (_at(1, 6) < t < _at(1, 12))]
    # Device 3: runs hot on day 1 and sends nothing on day 2.
    hot = _every_10_min(_at(1, 0), _at(1, 23, 50))
    # Device 4: installed on May 1st, first heartbeat at 12:00, drifting clock (400 s ahead).
    late = _every_10_min(_at(1, 12), _at(2, 23, 50))
    beats = pl.concat(
        [_beats(1, two_days), _beats(2, gap), _beats(3, hot, temp=88.0), _beats(4, late, skew=400.0)]
    )
    return device_health_summary(beats, DEVICES, MAY)


def _row(summary: pl.DataFrame, device: int, day: int) -> dict:
    return summary.filter((pl.col("device_id") == device) & (pl.col("day") == dt.date(2024, 5, day))).row(0, named=True)


def test_the_span_ends_with_the_last_day_any_device_reported(summary):
    assert summary.schema == polars_schema(DEVICE_HEALTH_SUMMARY.columns)
    assert sorted(set(summary.get_column("day"))) == [dt.date(2024, 5, 1), dt.date(2024, 5, 2)]
    assert summary.height == 8 and not summary.select("device_id", "day").is_duplicated().any()


def test_a_device_that_never_stopped_is_healthy_all_day(summary):
    row = _row(summary, 1, 1)
    assert (row["heartbeats"], row["uptime_pct"], row["offline_periods"], row["heartbeat_gaps"]) == (144, 100.0, 0, 0)
    assert row["expected_interval_seconds"] == 600.0 and row["health_status"] == "healthy"


def test_a_six_hour_silence_is_one_offline_period_from_one_interval_after_the_last_heartbeat(summary):
    row = _row(summary, 2, 1)
    # Offline 06:10 → 12:00 = 21,000 s of 86,400.
    assert row["offline_seconds"] == 21_000 and row["offline_periods"] == 1 and row["heartbeat_gaps"] == 1
    assert row["uptime_pct"] == pytest.approx(100 * (1 - 21_000 / 86_400), abs=1e-4)
    assert row["longest_gap_seconds"] == 6 * 3600.0 and row["health_status"] == "critical"
    assert _row(summary, 2, 2)["health_status"] == "healthy"


def test_a_hot_device_is_critical_and_a_silent_day_is_offline(summary):
    day1, day2 = _row(summary, 3, 1), _row(summary, 3, 2)
    assert day1["max_cpu_temp_c"] == 88.0 and day1["uptime_pct"] == 100.0 and day1["health_status"] == "critical"
    # Silent from 23:50 on day 1: offline from 00:00 (23:50 + one interval) to the span's end.
    assert (day2["heartbeats"], day2["uptime_pct"], day2["offline_seconds"]) == (0, 0.0, 86_400)
    assert day2["health_status"] == "offline" and day2["max_cpu_temp_c"] is None


def test_a_device_installed_mid_span_counts_from_its_install_day_and_drift_degrades_it(summary):
    day1 = _row(summary, 4, 1)
    # Installed on May 1st (00:00), silent until 12:00: 12 h offline of 24 h observed.
    assert (day1["observed_seconds"], day1["offline_seconds"], day1["uptime_pct"]) == (86_400, 43_200, 50.0)
    day2 = _row(summary, 4, 2)
    assert day2["uptime_pct"] == 100.0 and day2["max_abs_clock_skew_seconds"] == 400.0
    assert day2["health_status"] == "degraded"


def _bronze_heartbeats(rows: list[dict]) -> pl.DataFrame:
    base = {
        "ingest_timestamp": _at(3, 10),
        "device_clock": _at(3, 10),
        "uptime_seconds": 3600,
        "cpu_temp_c": 50.0,
        "memory_used_pct": 40.0,
        "storage_used_pct": 30.0,
        "network_type": "wifi",
        "signal_dbm": -60,
        "battery_pct": None,
        "firmware_version": "2.4.0",
    }
    return pl.DataFrame([{**base, **r} for r in rows]).with_columns(
        pl.col("ingest_timestamp", "device_clock").dt.cast_time_unit("us"),
        pl.col("battery_pct").cast(pl.Float64),
    )


def _registry() -> pl.DataFrame:
    devices = pl.DataFrame(
        {"device_id": [1, 2], "store_id": [1, 2], "installed_on": [dt.date(2024, 1, 1)] * 2,
         "snapshot_month": [dt.date(2024, 4, 1)] * 2}
    )
    stores = pl.DataFrame({"store_id": [1, 2], "barangay_id": [7, 9], "snapshot_month": [dt.date(2024, 4, 1)] * 2})
    return registry_as_of(devices, stores, MAY)


def _expect(rows: list[dict]):
    prepared = prepare(_bronze_heartbeats(rows), _registry())
    return apply_expectations(
        prepared, EXPECTATIONS, table="silver/device_heartbeat", month=MAY, at=_at(4, 0),
        record=DEVICE_HEARTBEAT_SILVER.column_names,
    )


def test_expectations_drop_warn_and_fail_as_declared():
    expected = _expect(
        [
            {"trace_id": "ok", "device_id": 1, "store_id": 1},
            {"trace_id": "stranger", "device_id": 99, "store_id": 1},
            {"trace_id": "moved", "device_id": 2, "store_id": 1},
            {"trace_id": "drifting", "device_id": 1, "store_id": 1, "device_clock": _at(3, 10, 10)},
            {"trace_id": "hot", "device_id": 2, "store_id": 2, "cpu_temp_c": 82.5},
        ]
    )
    assert sorted(expected.rows.get_column("trace_id")) == ["drifting", "hot", "ok"]
    quarantine = expected.quarantine.sort("trace_id")
    codes = quarantine.get_column("reason_code").to_list()
    assert codes == ["expectation_device_in_its_store", "expectation_known_device"]
    assert quarantine.row(1, named=True)["reason"] == (
        "edge/silver/device_heartbeat 2024-05: column device_id = 99 breaks expectation known_device "
        "(The device is registered in dim_edge_devices.)"
    )
    assert quarantine.get_column("value").to_list() == ["1", "99"]
    outcomes = expected.outcomes
    assert [o.passed for o in outcomes.values()] == [False, False, True, False, False]
    assert outcomes["expect_clock_in_sync"].metadata["violations"] == 1
    assert outcomes["expect_temperature_normal"].severity == dg.AssetCheckSeverity.WARN
    assert expected.failed == []
    silver = finish(expected.rows)
    assert silver.columns == [*DEVICE_HEARTBEAT_SILVER.column_names, "month_start"]
    assert silver.filter(pl.col("trace_id") == "drifting").item(0, "clock_skew_seconds") == 600.0
    assert silver.get_column("barangay_id").to_list() == [7, 7, 9]


def test_an_uptime_longer_than_the_install_fails_the_month():
    expected = _expect([{"trace_id": "impossible", "device_id": 1, "store_id": 1, "uptime_seconds": 400 * 86_400}])
    assert expected.failed == ["expect_uptime_within_install"]
    assert expected.outcomes["expect_uptime_within_install"].severity == dg.AssetCheckSeverity.ERROR
