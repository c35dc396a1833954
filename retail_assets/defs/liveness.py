"""The ``dead_run_reaper`` sensor: runs whose process died are failed and their pool slots freed (lib/liveness.py)."""

import dagster as dg

from retail_assets.lib.liveness import WATCH_SECONDS, reap_dead_runs


@dg.sensor(name="dead_run_reaper", minimum_interval_seconds=int(WATCH_SECONDS), default_status=dg.DefaultSensorStatus.RUNNING)
def dead_run_reaper(context: dg.SensorEvaluationContext):
    """Every 15 s: a STARTED run whose worker process on this host is gone (SIGKILL, crash, reboot) is marked failed
    and its pool slots (duckdb, stream) freed, so nothing waits for it for ever; slots still held
    by runs that already ended are freed too. Requests no runs (a killed stream worker is restarted by
    stream_worker_sensor; other runs are re-run by their sensor, automation or a person)."""
    reaped = reap_dead_runs(context.instance, "sensor dead_run_reaper", log=context.log.warning)
    return dg.SkipReason(f"{len(reaped)} dead runs failed and their slots freed" if reaped else "no dead run")


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[dead_run_reaper])
