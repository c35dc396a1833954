"""Freshness policies: on exactly the minute and daily Gold KPIs, set from the environment, and evaluated by the
real freshness daemon of ``dagster dev`` into the state the UI shows (fresh -> failing)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.definitions import defs
from retail_assets.lib import settings as s
from retail_assets.lib.freshness import DAILY_GOLD, MINUTE_GOLD, daily_policy, gold_freshness_policy, minute_policy
from retail_assets.lib.gold.specs import GOLD_TABLES

# The reference's minute tables, and its Gold tables without a day or minute grain (monthly snapshots and the alerts
# table). A KPI added since declares its own refresh; the registry is read for it, not a list here.
MINUTE = ("sales_minute_store", "top_products_15m", "zone_dwell_minute", "ble_presence_minute")
UNTIMED = ("inventory_position_current", "dc_inventory_position_current", "customer_lifetime_value", "alerts")


def _policies() -> dict[str, dg.FreshnessPolicy]:
    graph = defs().resolve_asset_graph()
    return {
        key.to_user_string(): graph.get(key).freshness_policy
        for key in graph.get_all_asset_keys()
        if graph.get(key).freshness_policy is not None
    }


def test_policies_are_on_exactly_the_minute_and_daily_gold_kpis() -> None:
    refresh = {t.name: t.refresh for t in GOLD_TABLES}
    month = {n for n, r in refresh.items() if r == "month"}
    assert set(MINUTE) <= set(MINUTE_GOLD) and set(UNTIMED) <= month
    assert MINUTE_GOLD == tuple(n for n, r in refresh.items() if r == "stream")
    assert set(DAILY_GOLD) == set(refresh) - set(MINUTE_GOLD) - month
    policies = _policies()
    assert set(policies) == {f"gold/{name}" for name in (*MINUTE_GOLD, *DAILY_GOLD)}
    for name in MINUTE_GOLD:
        assert policies[f"gold/{name}"] == dg.FreshnessPolicy.time_window(
            fail_window=dt.timedelta(minutes=5), warn_window=dt.timedelta(minutes=2)
        )
    for name in DAILY_GOLD:
        assert policies[f"gold/{name}"] == dg.FreshnessPolicy.cron(
            deadline_cron="0 6 * * *", lower_bound_delta=dt.timedelta(hours=6), timezone="UTC"
        )


def test_windows_and_deadline_are_settings() -> None:
    settings = s.freshness_settings(
        {s.FRESHNESS_MINUTE_WARN: "3", s.FRESHNESS_MINUTE_FAIL: "10", s.FRESHNESS_DAILY_HOUR: "4"}
    )
    assert minute_policy(settings) == dg.FreshnessPolicy.time_window(
        fail_window=dt.timedelta(minutes=10), warn_window=dt.timedelta(minutes=3)
    )
    assert daily_policy(settings) == dg.FreshnessPolicy.cron(
        deadline_cron="0 4 * * *", lower_bound_delta=dt.timedelta(hours=4), timezone="UTC"
    )
    # A deployment that never streams turns the minute policy off; the daily one stays.
    off = s.freshness_settings({s.FRESHNESS_MINUTE_FAIL: "off"})
    assert gold_freshness_policy("sales_minute_store", off) is None
    assert gold_freshness_policy("daily_sales_by_channel", off) is not None
    assert gold_freshness_policy("alerts", off) is None
    # A one-minute fail window leaves no room for the default warning.
    assert s.freshness_settings({s.FRESHNESS_MINUTE_FAIL: "1"}).minute_warn is None
    for env, name in (
        ({s.FRESHNESS_MINUTE_FAIL: "-3"}, s.FRESHNESS_MINUTE_FAIL),
        ({s.FRESHNESS_MINUTE_WARN: "5", s.FRESHNESS_MINUTE_FAIL: "5"}, s.FRESHNESS_MINUTE_WARN),
        ({s.FRESHNESS_DAILY_HOUR: "0"}, s.FRESHNESS_DAILY_HOUR),
        ({s.FRESHNESS_DAILY_HOUR: "7am"}, s.FRESHNESS_DAILY_HOUR),
    ):
        with pytest.raises(s.SettingsError, match=name):
            s.validate_environment(env)


STATUS_QUERY = """
query ($keys: [AssetKeyInput!]) {
  assetNodes(assetKeys: $keys) {
    assetKey { path }
    freshnessStatusInfo { freshnessStatus }
    internalFreshnessPolicy {
      __typename
      ... on TimeWindowFreshnessPolicy { failWindowSeconds warnWindowSeconds }
      ... on CronFreshnessPolicy { deadlineCron lowerBoundDeltaSeconds timezone }
    }
  }
}
"""


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator:
    from retail_assets_tests.ui.conftest import start_webserver, stop_webserver

    # The daemon evaluates freshness every second (default 30 s); the minute KPIs fail after one minute.
    process, server = start_webserver(
        tmp_path / "home",
        tmp_path / "data",
        extra_env={"FRESHNESS_DAEMON_INTERVAL_SECONDS": "1", s.FRESHNESS_MINUTE_FAIL: "1"},
    )
    try:
        yield server
    finally:
        stop_webserver(process)


def _statuses(server, names: list[str]) -> dict[str, dict]:
    keys = [{"path": ["gold", name]} for name in names]
    nodes = server.graphql(STATUS_QUERY, {"keys": keys})["assetNodes"]
    return {n["assetKey"]["path"][1]: n for n in nodes}


def _wait_for(server, name: str, status: str, timeout: float) -> float:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = _statuses(server, [name])[name]["freshnessStatusInfo"]
        if info and info["freshnessStatus"] == status:
            return time.monotonic()
        time.sleep(1)
    raise AssertionError(f"gold/{name} did not become {status} within {timeout:.0f} s: {_statuses(server, [name])}")


@pytest.mark.slow
def test_the_daemon_turns_a_streamed_kpi_from_fresh_to_failing(dev_server, monkeypatch) -> None:
    before = _statuses(dev_server, ["sales_minute_store", "daily_sales_by_channel"])
    assert before["sales_minute_store"]["internalFreshnessPolicy"] == {
        "__typename": "TimeWindowFreshnessPolicy", "failWindowSeconds": 60, "warnWindowSeconds": None
    }
    assert before["daily_sales_by_channel"]["internalFreshnessPolicy"]["deadlineCron"] == "0 6 * * *"
    assert before["sales_minute_store"]["freshnessStatusInfo"]["freshnessStatus"] == "UNKNOWN"  # never materialized

    monkeypatch.setenv("DAGSTER_HOME", str(dev_server.home))
    with dg.DagsterInstance.get() as instance:
        for name in ("sales_minute_store", "daily_sales_by_channel"):
            # What the stream worker and a Gold run report: a materialization of the table's month.
            instance.report_runless_asset_event(
                dg.AssetMaterialization(asset_key=["gold", name], partition="2024-01-01")
            )
        reported = time.monotonic()
    fresh = _wait_for(dev_server, "sales_minute_store", "HEALTHY", timeout=30)
    _wait_for(dev_server, "daily_sales_by_channel", "HEALTHY", timeout=30)
    never_built = _statuses(dev_server, ["top_products_15m"])["top_products_15m"]
    assert never_built["freshnessStatusInfo"]["freshnessStatus"] == "UNKNOWN"
    # No stream reports the table again: one minute after its update it is failing (DEGRADED in the UI's health).
    failing = _wait_for(dev_server, "sales_minute_store", "DEGRADED", timeout=90)
    assert failing - reported >= 59 and fresh < failing
    # The daily KPI was rebuilt after midnight UTC: it stays fresh until tomorrow's deadline.
    assert _statuses(dev_server, ["daily_sales_by_channel"])["daily_sales_by_channel"]["freshnessStatusInfo"][
        "freshnessStatus"
    ] == "HEALTHY"
