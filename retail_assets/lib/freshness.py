"""Freshness policies of the Gold KPIs: how late a table may be before the UI shows it as stale.

Dagster evaluates a policy against the asset's latest materialization, whatever its partition; the freshness
daemon (part of ``dagster dev`` and ``dagster-daemon run``, on by default, every 30 s) records the state, and the UI
shows it on the asset page and in the catalog's health column (Fresh / Warning / Failing / Unknown).

- Minute-grain KPIs (``MINUTE_GOLD``: sales_minute_store, top_products_15m, zone_dwell_minute,
  ble_presence_minute): a time-window policy, warn after ``RETAIL_FRESHNESS_MINUTE_WARN_MINUTES`` (2) and fail after
  ``RETAIL_FRESHNESS_MINUTE_FAIL_MINUTES`` (5) without an update. While a stream runs, the stream worker reports
  these tables at least every 30 s, so a Warning means the stream is a few minutes behind. "While a stream runs"
  is not something a policy can express (it looks only at the last update): when no stream runs, the tables read
  Failing after the fail window, which says what an operator needs to know (the live KPIs are not live). A
  deployment that never streams sets ``RETAIL_FRESHNESS_MINUTE_FAIL_MINUTES=off``.
- Daily KPIs (``DAILY_GOLD``: the Gold tables at UTC-day grain): a cron policy "rebuilt since midnight UTC by
  HH:00 UTC" (``RETAIL_FRESHNESS_DAILY_HOUR``, 6): a build after midnight is the first that can hold all of
  yesterday, so a table not rebuilt by then is missing yesterday. A later build turns it fresh again until the
  next day's deadline.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from retail_assets.lib.gold.specs import GOLD_TABLES
from retail_assets.lib.settings import FreshnessSettings, freshness_settings
from retail_assets.lib.streaming.incremental import MINUTE_GOLD

DAILY_GOLD: tuple[str, ...] = tuple(t.name for t in GOLD_TABLES if t.refresh == "daily")


def minute_policy(settings: FreshnessSettings) -> dg.FreshnessPolicy | None:
    if settings.minute_fail is None:
        return None
    return dg.FreshnessPolicy.time_window(fail_window=settings.minute_fail, warn_window=settings.minute_warn)


def daily_policy(settings: FreshnessSettings) -> dg.FreshnessPolicy:
    # The window ends at HH:00 UTC and starts HH hours earlier, at midnight: a build inside it (or a later one,
    # which turns the table fresh again) follows the end of yesterday.
    return dg.FreshnessPolicy.cron(
        deadline_cron=f"0 {settings.daily_hour} * * *",
        lower_bound_delta=timedelta(hours=settings.daily_hour),
        timezone="UTC",
    )


def gold_freshness_policy(table: str, settings: FreshnessSettings | None = None) -> dg.FreshnessPolicy | None:
    """The freshness policy of ``gold/<table>``, None for the tables no freshness target applies to (monthly
    snapshots, the alerts table)."""
    settings = settings or freshness_settings()
    if table in MINUTE_GOLD:
        return minute_policy(settings)
    if table in DAILY_GOLD:
        return daily_policy(settings)
    return None
