"""The run-failure alert sensor: every failed run of this code location is posted once to each configured destination.

Destinations come from environment variables (``RETAIL_FAILURE_WEBHOOK_URL``, ``RETAIL_SLACK_BOT_TOKEN`` +
``RETAIL_SLACK_CHANNEL``, ``RETAIL_TEAMS_WEBHOOK_URL``; ``lib/settings.py``), read through ``dagster.EnvVar`` so the
UI shows the variables' names, never their values. What is posted, the retries and the delivery ledger that keeps
every (run, destination) to one delivery across sensor restarts: ``lib/notify.py``.

A destination still failing after its retries is not tried again for that run: the run status sensor moves past a
failure event once it has been handed over, so the sensor raises instead, and Dagster shows the (redacted) error on
the sensor's tick and in the failed run's event log.
"""

import dagster as dg

from retail_assets.lib import settings as s
from retail_assets.lib.notify import FailureNotifier, deliver, failure_alert

SENSOR = "failure_alerts"
RESOURCE = "failure_notifier"


class FailureAlertError(RuntimeError):
    """At least one destination did not take a run's failure alert (its URL and token are not in the message)."""


@dg.run_failure_sensor(
    name=SENSOR,
    minimum_interval_seconds=10,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description=(
        "Posts each failed run (job, partition, failed steps, error head, link to the run) once to the generic "
        "webhook, Slack and Microsoft Teams destinations configured by RETAIL_FAILURE_WEBHOOK_URL, "
        "RETAIL_SLACK_BOT_TOKEN + RETAIL_SLACK_CHANNEL and RETAIL_TEAMS_WEBHOOK_URL. Deliveries are recorded per run "
        "and destination in the instance, so none is repeated after a restart."
    ),
)
def failure_alerts(context: dg.RunFailureSensorContext, failure_notifier: FailureNotifier):
    run_id = context.dagster_run.run_id
    if not failure_notifier.destinations:
        return dg.SkipReason(f"run {run_id} failed; no alert destination is configured (docs/operations.md)")
    alert = failure_alert(context, failure_notifier.ui_url)
    delivery = deliver(context.instance, failure_notifier, alert, context.log.info)
    if delivery.failed:
        failed = "; ".join(f"{name}: {error}" for name, error in delivery.failed.items())
        raise FailureAlertError(f"run {run_id}: failure alert not delivered to {failed}")
    done = ", ".join(delivery.sent) or "nothing new"
    skipped = f" (already delivered: {', '.join(delivery.skipped)})" if delivery.skipped else ""
    return dg.SkipReason(f"run {run_id}: failure alert sent to {done}{skipped}")


def build_notifier(settings: s.FailureAlertSettings) -> FailureNotifier:
    """The notifier for the destinations in ``settings``; secrets stay environment variables (``dg.EnvVar``)."""
    on = set(settings.destinations)
    return FailureNotifier(
        webhook_url=dg.EnvVar(s.FAILURE_WEBHOOK_URL) if "webhook" in on else None,
        slack_token=dg.EnvVar(s.SLACK_BOT_TOKEN) if "slack" in on else None,
        slack_channel=settings.slack_channel,
        slack_api_url=settings.slack_api_url,
        teams_webhook_url=dg.EnvVar(s.TEAMS_WEBHOOK_URL) if "teams" in on else None,
        ui_url=settings.ui_url,
    )


@dg.definitions
def defs() -> dg.Definitions:
    return dg.Definitions(sensors=[failure_alerts], resources={RESOURCE: build_notifier(s.failure_alert_settings())})
