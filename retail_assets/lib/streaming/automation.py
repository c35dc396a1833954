"""Declarative automation for monthly tables that follow their upstream months (Silver facts, Gold).

``AutomationCondition.eager()`` only looks at the latest time window, so a late event for an older
month would never reach Silver (dagster-io/dagster#24474). This condition requests exactly the
month partitions whose monthly upstream was updated since the partition was last requested or
updated, whichever month that is. Unpartitioned dependencies (dimensions) are ignored: a
dimension refresh would otherwise recompute every month; the main job and backfills do that.
Runs for a partition already in progress are not doubled; an update arriving meanwhile triggers
the next run. A month whose upstream month failed a blocking check is not requested until that
check passes again (``lib/gates.py``).
"""

from __future__ import annotations

import dagster as dg

from retail_assets.lib.gates import not_gated


def follows_upstream_months(upstream: dg.AssetSelection) -> dg.AutomationCondition:
    """Update a month partition after any of its ``upstream`` (monthly) dependencies updated that month.

    Silver facts use ``AssetSelection.groups("bronze")``; Gold minute/day KPIs use the Silver facts
    they read (``AssetSelection.assets(*silver_fact_keys)``).
    """
    handled = dg.AutomationCondition.newly_requested() | dg.AutomationCondition.newly_updated()
    return (
        dg.AutomationCondition.any_deps_updated().allow(upstream).since(handled)
        & ~dg.AutomationCondition.in_progress()
        & not_gated()
    ).with_label("follows upstream months")
