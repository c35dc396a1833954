"""A code location for the kill drills: one asset per pool of the platform, holding its slot for a while.

It runs on the platform's own executor (``watched_in_process_executor``), which registers each run's
process and watches over dead runs; only what the step does (sleep while holding the slot) is the test's.
"""

import os
import time

import dagster as dg

from retail_assets.lib.liveness import watched_in_process_executor
from retail_assets.lib.pools import PLATFORM_POOLS

# The platform's own pools, so a renamed or added pool is drilled too (they were once bronze_events/stream_hot).
POOLS = PLATFORM_POOLS


def _holder(pool: str) -> dg.AssetsDefinition:
    @dg.asset(name=f"hold_{pool}", pool=pool)
    def _hold(context: dg.AssetExecutionContext) -> None:
        context.log.info(f"holding pool {pool}")
        time.sleep(float(os.environ.get("HOLD_SECONDS", "0")))

    return _hold


defs = dg.Definitions(assets=[_holder(p) for p in POOLS], executor=watched_in_process_executor)
