"""The alert delivery sensor: new rows of ``gold/alerts`` go to the log and, when configured, a webhook.

The sensor only looks and delivers (no runs): its cursor holds the Delta version of ``gold/alerts`` it
last looked at and whether alerts were left for the next tick, so an unchanged table costs one
version lookup. Which alerts were delivered is recorded in the lake ledger ``ops/alert_deliveries``
(``lib/gold/delivery.py``), so a restart, a reset cursor or a re-run month never delivers an alert
twice.
"""

import json

import dagster as dg

from retail_assets.lib.gold.delivery import ALERTS_TABLE, AlertSink, DeliveryError, deliver_new_alerts
from retail_assets.lib.lake import LakeStore

SENSOR = "deliver_alerts"


@dg.sensor(
    name=SENSOR,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Delivers each new business alert of gold/alerts once: to this sensor's log, and as a JSON POST to "
        "RETAIL_ALERTS_WEBHOOK_URL when set. Delivered ids are kept in the lake table ops/alert_deliveries; a failed "
        "webhook leaves the alerts for the next tick."
    ),
)
def deliver_alerts(context: dg.SensorEvaluationContext, lake: LakeStore, alert_sink: AlertSink) -> dg.SensorResult:
    if not lake.exists(ALERTS_TABLE):
        return dg.SensorResult(skip_reason=f"{ALERTS_TABLE} has not been materialized yet")
    version = lake.version(ALERTS_TABLE)
    seen = json.loads(context.cursor) if context.cursor else {}
    if seen.get("version") == version and not seen.get("backlog"):
        return dg.SensorResult(skip_reason=f"{ALERTS_TABLE} unchanged since version {version}")
    try:
        delivery = deliver_new_alerts(lake, alert_sink, log=context.log.info)
    except DeliveryError as exc:
        context.log.warning(f"{exc}; the alerts stay pending and are retried next tick")
        return dg.SensorResult(skip_reason=str(exc))
    cursor = json.dumps({"version": version, "backlog": delivery.remaining > 0})
    return dg.SensorResult(
        skip_reason=f"delivered {delivery.delivered} alerts ({delivery.remaining} left for the next tick)",
        cursor=cursor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[deliver_alerts])
