"""The code location the daemon test serves: the platform's ``dead_run_reaper`` sensor, the pool holders of the
kill drills (operations/holders.py), and a sensor requesting one run of them."""

import dagster as dg

from retail_assets.defs.liveness import dead_run_reaper
from retail_assets_tests.operations import holders

hold_every_pool = dg.define_asset_job("hold_every_pool", selection=dg.AssetSelection.all())


@dg.sensor(job=hold_every_pool, minimum_interval_seconds=1, default_status=dg.DefaultSensorStatus.RUNNING)
def request_one_run(context: dg.SensorEvaluationContext) -> dg.RunRequest:
    """Requests one run of every pool holder; its run key keeps it to one."""
    return dg.RunRequest(run_key="once")


defs = dg.Definitions.merge(holders.defs, dg.Definitions(jobs=[hold_every_pool], sensors=[dead_run_reaper, request_one_run]))
