"""Local wall-clock time of stores and DCs <-> UTC instants, vectorised, DST-exact per hour.

Stores keep local hours (``dim_stores.time_zone``); every landed timestamp is UTC. Offsets are
looked up per (zone, local day, local hour) and per (zone, UTC hour) for a window of days, so a
conversion is one table lookup per value. A local time that does not exist (the spring-forward
hour) takes the offset in force before the jump, as ``zoneinfo`` does with ``fold=0``.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import numpy as np

from retail_assets.lib.generator import calendar as cal

_UTC = dt.UTC


class Clock:
    """Offsets for ``zones`` over local days [first_day, last_day] (ordinals), with a day of margin."""

    def __init__(self, zones: list[str], first_day: int, last_day: int):
        self.zones = list(zones)
        self.first_day = first_day - 2
        self.days = last_day - first_day + 5
        self.local_offset = np.zeros((len(zones), self.days, 24), dtype=np.int64)
        self.utc_offset = np.zeros((len(zones), self.days * 24), dtype=np.int64)
        base_utc = dt.datetime.combine(cal.from_ordinal(self.first_day), dt.time(), _UTC)
        for z, name in enumerate(self.zones):
            zone = ZoneInfo(name)
            for d in range(self.days):
                day = cal.from_ordinal(self.first_day + d)
                for h in range(24):
                    local = dt.datetime(day.year, day.month, day.day, h, tzinfo=zone)
                    self.local_offset[z, d, h] = int(local.utcoffset().total_seconds()) * 1_000_000
            for k in range(self.days * 24):
                instant = base_utc + dt.timedelta(hours=k)
                self.utc_offset[z, k] = int(instant.astimezone(zone).utcoffset().total_seconds()) * 1_000_000
        self.base_utc_us = (self.first_day + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY

    def local_to_utc(self, zone: np.ndarray, day: np.ndarray, local_us_of_day: np.ndarray) -> np.ndarray:
        """UTC microseconds since 1970 of local (day ordinal, microseconds into that day)."""
        d = np.asarray(day) - self.first_day
        if len(d) and (d.min() < 0 or d.max() >= self.days):
            raise ValueError("local day outside the clock's window")
        hour = np.clip(np.asarray(local_us_of_day) // cal.US_PER_HOUR, 0, 23)
        offset = self.local_offset[np.asarray(zone), d, hour]
        return (np.asarray(day) + cal.EPOCH_1970_DAYS) * cal.US_PER_DAY + local_us_of_day - offset

    def utc_to_local(self, zone: np.ndarray, utc_us: np.ndarray) -> np.ndarray:
        """Naive local microseconds since 1970 of UTC instants."""
        k = (np.asarray(utc_us) - self.base_utc_us) // cal.US_PER_HOUR
        if len(k) and (k.min() < 0 or k.max() >= self.days * 24):
            raise ValueError("instant outside the clock's window")
        return np.asarray(utc_us) + self.utc_offset[np.asarray(zone), k]


def local_day(local_us: np.ndarray, shift_hours: float = 0.0) -> np.ndarray:
    """Day ordinal of naive local microseconds, after shifting the clock back by ``shift_hours``."""
    return (np.asarray(local_us) - int(shift_hours * cal.US_PER_HOUR)) // cal.US_PER_DAY - cal.EPOCH_1970_DAYS
