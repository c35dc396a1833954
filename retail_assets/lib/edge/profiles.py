"""Sizes and fault rates of the edge simulation, by profile (the same names as retail's: tiny, demo, reference).

The profile comes from the ``profile`` argument, else ``RETAIL_PROFILE``, else ``demo``, as for the retail
generator (``lib/generator/config.py``); values are validated by pydantic.
"""

from __future__ import annotations

import datetime as dt
import os

from pydantic import BaseModel, ConfigDict, Field

from retail_assets.lib import settings

DEFAULT_PROFILE = "demo"


class EdgeProfile(BaseModel):
    """How big the store network is, how often devices report, and how often they misbehave."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str
    seed: int = Field(ge=0, lt=2**31)
    start: dt.date = Field(description="First simulated month; devices are installed before it.")
    stores: int = Field(ge=1, le=5000, description="Sari-sari stores, one device each.")
    heartbeat_minutes: int = Field(ge=1, le=60, description="Minutes between two heartbeats of a device.")
    interactions_per_day: float = Field(gt=0, description="Mean customer exchanges per store and day.")
    passers_by_per_day: float = Field(ge=0, description="Mean person detections per store and day with no exchange.")
    offline_periods_per_month: float = Field(ge=0, description="Mean offline periods per device and month.")
    offline_median_hours: float = Field(gt=0, description="Median length of an offline period.")
    drifting_device_rate: float = Field(ge=0, le=1, description="Share of devices whose clock drifts (no NTP).")
    hot_device_rate: float = Field(ge=0, le=1, description="Share of devices that overheat in the afternoon.")
    duplicate_rate: float = Field(ge=0, le=1, description="Share of events the device sends twice.")
    low_confidence_rate: float = Field(ge=0, le=1, description="Share of detections with a poor bounding box.")
    garbled_rate: float = Field(ge=0, le=1, description="Share of transcripts Whisper garbles.")


_COMMON = {
    "start": dt.date(2024, 1, 1),
    "offline_median_hours": 3.0,
    "drifting_device_rate": 0.25,
    "hot_device_rate": 0.2,
    "duplicate_rate": 0.01,
    "low_confidence_rate": 0.05,
    "garbled_rate": 0.04,
}
PROFILES: dict[str, EdgeProfile] = {
    # Unit tests: three stores, a heartbeat every 10 minutes, ~6 k events a month.
    "tiny": EdgeProfile(
        name="tiny", seed=17, stores=3, heartbeat_minutes=10, interactions_per_day=12, passers_by_per_day=6,
        offline_periods_per_month=2, **_COMMON,
    ),
    "demo": EdgeProfile(
        name="demo", seed=17, stores=12, heartbeat_minutes=5, interactions_per_day=40, passers_by_per_day=20,
        offline_periods_per_month=1.5, **_COMMON,
    ),
    # A provincial network of 200 stores with one-minute heartbeats (~9 M heartbeats a month).
    "reference": EdgeProfile(
        name="reference", seed=17, stores=200, heartbeat_minutes=1, interactions_per_day=120, passers_by_per_day=60,
        offline_periods_per_month=1.0, **_COMMON,
    ),
}


def edge_profile(name: str | None = None) -> EdgeProfile:
    """The named profile, else ``RETAIL_PROFILE``'s, else demo; an unknown name is refused with the known ones."""
    chosen = (name or os.environ.get(settings.PROFILE) or DEFAULT_PROFILE).strip().lower()
    try:
        return PROFILES[chosen]
    except KeyError:
        raise ValueError(f"edge profile {chosen!r} does not exist; known profiles: {sorted(PROFILES)}") from None
