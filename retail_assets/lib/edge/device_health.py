"""Gold ``device_health_summary`` (seed 003 ``gold_device_health_summary``): device × UTC day.

Rules (one place; ``docs/edge.md`` repeats them):

- **Expected interval**: a device's median gap between consecutive heartbeats of the month (the fleet's median
  when the device sent fewer than two).
- **Observed span**: from the month's start (or the device's install day, if later) to the end of the last UTC day
  on which any device of the fleet sent a heartbeat in the month — the data's horizon, so the current month does
  not count days that have not happened as offline.
- **Offline period**: a gap between consecutive heartbeats longer than ``OFFLINE_AFTER`` × the interval is offline
  from one interval after the last heartbeat to the next heartbeat; silence from the span's start to the first
  heartbeat (or from the last heartbeat to the span's end) longer than that is offline too, from the span's start
  (to the span's end, from one interval after the last heartbeat). A device that sent nothing is offline throughout.
- **Heartbeat gap**: a gap between consecutive heartbeats longer than ``GAP_AFTER`` × the interval (a missed
  heartbeat), counted on the day the gap starts.
- Per day: ``uptime_pct`` = 100 × (1 − offline seconds / observed seconds of the day); ``offline_periods`` = offline
  periods overlapping the day; ``max_cpu_temp_c`` and ``max_abs_clock_skew_seconds`` of the day's heartbeats.
- **health_status**: ``offline`` (no heartbeat that day), else ``critical`` (uptime < 90 % or CPU ≥ 85 °C), else
  ``degraded`` (uptime < 99 %, CPU ≥ 80 °C or clock skew > 300 s), else ``healthy``.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl

from retail_assets.lib.edge.heartbeat import HOT_CPU_C, MAX_CLOCK_SKEW_SECONDS
from retail_assets.lib.edge.model import EdgeTable
from retail_assets.lib.months import month_bounds_utc
from retail_assets.lib.specs.columns import col
from retail_assets.lib.specs.model import DType

OFFLINE_AFTER = 3.0
GAP_AFTER = 1.5
CRITICAL_UPTIME_PCT, DEGRADED_UPTIME_PCT, CRITICAL_CPU_C = 90.0, 99.0, 85.0
HEALTH_STATUSES = ("healthy", "degraded", "critical", "offline")
US = 1_000_000
DAY_US = 86_400 * US

DEVICE_HEALTH_SUMMARY = EdgeTable(
    name="device_health_summary",
    layer="gold",
    description="Daily health of each edge device: uptime, offline periods, heartbeat gaps, temperature, clock.",
    grain="one row per device and UTC day of the observed span",
    key=("device_id", "day"),
    time_column="day",
    columns=(
        col("day", DType.DATE, "UTC day."),
        col("device_id", DType.INT64, "Edge device (dim_edge_devices)."),
        col("store_id", DType.INT64, "Store the device is installed in."),
        col("heartbeats", DType.INT64, "Heartbeats received that day.", ge=0),
        col("expected_interval_seconds", DType.FLOAT64, "The device's median gap between heartbeats in the month.",
            nullable=True),
        col("observed_seconds", DType.INT64, "Seconds of the day inside the observed span.", ge=0),
        col("offline_seconds", DType.INT64, "Seconds of the day the device was offline.", ge=0),
        col("uptime_pct", DType.FLOAT64, "100 × (1 − offline / observed).", ge=0, le=100),
        col("offline_periods", DType.INT64, "Offline periods overlapping the day.", ge=0),
        col("heartbeat_gaps", DType.INT64, "Gaps longer than 1.5 intervals starting that day.", ge=0),
        col("longest_gap_seconds", DType.FLOAT64, "Longest gap between heartbeats starting that day.", nullable=True),
        col("max_cpu_temp_c", DType.FLOAT64, "Highest CPU temperature reported that day.", nullable=True),
        col("max_abs_clock_skew_seconds", DType.FLOAT64, "Largest |device clock − gateway clock| that day.",
            nullable=True),
        col("health_status", DType.STRING, "healthy, degraded, critical or offline (rules above).",
            allowed=HEALTH_STATUSES),
    ),
)


def _offline_periods(t: np.ndarray, interval: float, start: int, end: int) -> list[tuple[int, int]]:
    threshold = OFFLINE_AFTER * interval
    if not t.size:
        return [(start, end)]
    periods = []
    if t[0] - start > threshold:
        periods.append((start, int(t[0])))
    gaps = np.diff(t)
    for i in np.flatnonzero(gaps > threshold):
        periods.append((int(t[i] + interval), int(t[i + 1])))
    if end - t[-1] > threshold:
        periods.append((int(t[-1] + interval), end))
    return periods


def _overlap(a: int, b: int, lo: int, hi: int) -> int:
    return max(0, min(b, hi) - max(a, lo))


def device_health_summary(heartbeats: pl.DataFrame, devices: pl.DataFrame, month: dt.date) -> pl.DataFrame:
    """``heartbeats``: Silver rows of the month (device_id, store_id, received_at, cpu_temp_c, clock_skew_seconds);
    ``devices``: the registry (device_id, store_id, installed_on). One row per device and day of the span."""
    schema = {c.name: c.polars_dtype for c in DEVICE_HEALTH_SUMMARY.columns}
    if not heartbeats.height:
        return pl.DataFrame(schema=schema)
    lo, hi = (int(x.timestamp() * US) for x in month_bounds_utc(month))
    t_all = heartbeats.get_column("received_at").dt.epoch("us")
    horizon = min(hi, (int(t_all.max()) // DAY_US + 1) * DAY_US)
    gaps = heartbeats.sort("received_at").select(
        "device_id", pl.col("received_at").dt.epoch("us").diff().over("device_id").alias("gap")
    )
    fleet_interval = float(gaps.get_column("gap").drop_nulls().median() or 0.0) / US or None
    by_device = {k[0]: v for k, v in heartbeats.partition_by("device_id", as_dict=True).items()}
    rows = []
    for device_id, store_id, installed_on in devices.select("device_id", "store_id", "installed_on").iter_rows():
        start = max(lo, int(dt.datetime.combine(installed_on, dt.time(), dt.UTC).timestamp() * US))
        if start >= horizon:
            continue
        mine = by_device.get(device_id, heartbeats.clear()).sort("received_at")
        t = mine.get_column("received_at").dt.epoch("us").to_numpy()
        diffs = np.diff(t)
        interval = float(np.median(diffs)) if diffs.size else (fleet_interval * US if fleet_interval else None)
        periods = _offline_periods(t, interval or 0.0, start, horizon) if interval or not t.size else []
        day_of = (t // DAY_US) * DAY_US
        temps = mine.get_column("cpu_temp_c").to_numpy()
        skews = np.abs(mine.get_column("clock_skew_seconds").to_numpy())
        for day in range((start // DAY_US) * DAY_US, horizon, DAY_US):
            today = day_of == day
            observed = _overlap(start, horizon, day, day + DAY_US)
            offline = sum(_overlap(a, b, day, day + DAY_US) for a, b in periods)
            starting = diffs[today[:-1]] if diffs.size else diffs
            long_gaps = starting[starting > GAP_AFTER * interval] if interval else starting[:0]
            count = int(today.sum())
            uptime = 100.0 * (1 - offline / observed) if observed else 0.0
            max_temp = float(temps[today].max()) if count else None
            max_skew = float(skews[today].max()) if count else None
            rows.append(
                {
                    "day": dt.date(1970, 1, 1) + dt.timedelta(days=day // DAY_US),
                    "device_id": device_id,
                    "store_id": store_id,
                    "heartbeats": count,
                    "expected_interval_seconds": interval / US if interval else None,
                    "observed_seconds": observed // US,
                    "offline_seconds": offline // US,
                    "uptime_pct": round(uptime, 4),
                    "offline_periods": sum(1 for a, b in periods if _overlap(a, b, day, day + DAY_US)),
                    "heartbeat_gaps": int(long_gaps.size),
                    "longest_gap_seconds": float(starting.max()) / US if starting.size else None,
                    "max_cpu_temp_c": max_temp,
                    "max_abs_clock_skew_seconds": max_skew,
                    "health_status": _status(count, uptime, max_temp, max_skew),
                }
            )
    return pl.DataFrame(rows, schema=schema).sort("device_id", "day")


def _status(count: int, uptime: float, temp: float | None, skew: float | None) -> str:
    if not count:
        return "offline"
    if uptime < CRITICAL_UPTIME_PCT or temp >= CRITICAL_CPU_C:
        return "critical"
    if uptime < DEGRADED_UPTIME_PCT or temp >= HOT_CPU_C or skew > MAX_CLOCK_SKEW_SECONDS:
        return "degraded"
    return "healthy"
