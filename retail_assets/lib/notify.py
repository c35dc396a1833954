"""Run-failure alerts: what is posted, where to, and the ledger that keeps each delivery to one.

Destinations (each on when its environment variables are set, ``lib/settings.py``):

- ``webhook``: ``POST`` of :meth:`FailureAlert.payload` as JSON to ``RETAIL_FAILURE_WEBHOOK_URL``, with the header
  ``Idempotency-Key: <run id>``;
- ``slack``: ``chat.postMessage`` to ``RETAIL_SLACK_CHANNEL`` with the bot token ``RETAIL_SLACK_BOT_TOKEN``, through
  dagster-slack's client (slack_sdk; ``RETAIL_SLACK_API_URL`` points it elsewhere than https://slack.com/api/);
- ``teams``: a card posted to the incoming webhook ``RETAIL_TEAMS_WEBHOOK_URL`` through dagster-msteams (an adaptive
  card for Workflows webhooks, a legacy card for ``*.webhook.office.com`` connectors, as dagster-msteams does).

Each post is tried up to ``attempts`` times with exponential backoff on connection errors and 5xx/429 answers
(slack_sdk's own retry handlers for Slack, tenacity for the others; dagster-msteams does not surface the status
code, so any failed Teams post is retried). Errors name the destination, never its URL or token: every message
that leaves this module goes through :func:`redact`, and library exceptions are not chained.

Never twice: a delivery is recorded in the Dagster instance's key-value store under
``retail_assets/failure_alerts/<run id>/<destination>`` right after the destination accepted it, and a destination
already recorded for a run is skipped. The ledger lives in the instance, so it survives sensor restarts, code
reloads and a reset sensor cursor. The one window left is a process killed between the destination's answer and
the ledger write (milliseconds): the next evaluation of that run, if any, posts once more. The webhook payload's
``alert_id`` and ``Idempotency-Key`` (the run id) let a receiver drop such a repeat.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from urllib.parse import urlsplit

import dagster as dg
import requests
import tenacity
from dagster_msteams import Card, MSTeamsResource
from dagster_msteams.adaptive_card import AdaptiveCard
from dagster_slack import SlackResource
from pydantic import Field
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
    ServerErrorRetryHandler,
)

from retail_assets.lib import settings as s

LEDGER_PREFIX = "retail_assets/failure_alerts"
ERROR_LINES = 5
ERROR_CHARS = 800
PARTITION_TAG = "dagster/partition"
RANGE_TAGS = ("dagster/asset_partition_range_start", "dagster/asset_partition_range_end")


class NotifyError(RuntimeError):
    """A destination did not take the alert (its URL and token are not in the message)."""


class _Transient(NotifyError):
    """Worth another attempt: a connection error, a timeout, a 5xx or 429 answer."""


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """``text`` with every secret replaced by ``***``; for a URL also its path and query, which HTTP libraries
    quote on their own ("Max retries exceeded with url: /hook/<token>")."""
    for secret in secrets:
        if not secret:
            continue
        parts = [secret]
        if secret.lower().startswith(("http://", "https://")):
            url = urlsplit(secret)
            path = url.path + (f"?{url.query}" if url.query else "")
            parts += [p for p in (path, url.query, url.password) if p and len(p) > 1]
        for part in sorted(parts, key=len, reverse=True):
            text = text.replace(part, "***")
    return text


def error_head(message: str, lines: int = ERROR_LINES, chars: int = ERROR_CHARS) -> str:
    head = "\n".join(message.strip().splitlines()[:lines])
    return head if len(head) <= chars else head[: chars - 1] + "…"


@dataclass(frozen=True)
class FailureAlert:
    """One failed run as posted: job, partition, failed steps, the head of the first error and a link to the run."""

    run_id: str
    job: str
    partition: str | None
    steps: tuple[str, ...]
    error: str
    url: str
    failed_at: str = field(default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))

    def payload(self) -> dict:
        return {"alert_id": self.run_id, "kind": "run_failure", **asdict(self), "steps": list(self.steps)}

    @property
    def title(self) -> str:
        where = f" (partition {self.partition})" if self.partition else ""
        return f"Dagster run failed: {self.job}{where}"

    def text(self) -> str:
        steps = ", ".join(self.steps) if self.steps else "none (the run failed outside its steps)"
        return f"{self.title}\nFailed steps: {steps}\nError:\n{self.error}\nRun: {self.url}"


def run_partition(tags: dict[str, str]) -> str | None:
    if PARTITION_TAG in tags:
        return tags[PARTITION_TAG]
    start, end = (tags.get(t) for t in RANGE_TAGS)
    if start and end:
        return start if start == end else f"{start}...{end}"
    return None


def _user_error(error) -> str:
    """The step's own exception: Dagster wraps an op's exception in DagsterExecutionStepExecutionError, whose
    message only says which op failed (the UI shows the cause below it)."""
    while error.cls_name == "DagsterExecutionStepExecutionError" and error.cause is not None:
        error = error.cause
    return error.message


class _RedactingFilter(logging.Filter):
    """urllib3 logs each request line at DEBUG ("POST /hook/<token> HTTP/1.1"): hide the secrets in it."""

    def __init__(self, secrets: tuple[str | None, ...]) -> None:
        super().__init__()
        self.secrets = secrets

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg = redact(record.getMessage(), self.secrets)
        record.args = None
        return True


@contextlib.contextmanager
def _redacted_http_logs(secrets: tuple[str | None, ...]) -> Iterator[None]:
    logger = logging.getLogger("urllib3.connectionpool")
    hidden = _RedactingFilter(secrets)
    logger.addFilter(hidden)
    try:
        yield
    finally:
        logger.removeFilter(hidden)


def failure_alert(context: dg.RunFailureSensorContext, ui_url: str) -> FailureAlert:
    """The alert for the run a run-failure sensor was called for."""
    run = context.dagster_run
    failures = context.get_step_failure_events()
    steps = tuple(dict.fromkeys(e.step_key for e in failures if e.step_key))
    errors = [e.event_specific_data.error for e in failures if getattr(e.event_specific_data, "error", None)]
    message = _user_error(errors[0]) if errors else (context.failure_event.message or "no error message")
    return FailureAlert(
        run_id=run.run_id,
        job=run.job_name,
        partition=run_partition(dict(run.tags)),
        steps=steps,
        error=error_head(message),
        url=f"{ui_url.rstrip('/')}/runs/{run.run_id}",
    )


def _ledger_key(run_id: str, destination: str) -> str:
    return f"{LEDGER_PREFIX}/{run_id}/{destination}"


def delivered(instance: dg.DagsterInstance, run_id: str, destination: str) -> str | None:
    """When the alert of ``run_id`` was delivered to ``destination`` (ISO UTC), or None."""
    key = _ledger_key(run_id, destination)
    return instance.run_storage.get_cursor_values({key}).get(key)


def record_delivery(instance: dg.DagsterInstance, run_id: str, destination: str) -> None:
    at = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    instance.run_storage.set_cursor_values({_ledger_key(run_id, destination): at})


class FailureNotifier(dg.ConfigurableResource):
    """The run-failure alert destinations; secrets come from ``dagster.EnvVar`` (see ``defs/failure_alerts.py``)."""

    webhook_url: str | None = Field(default=None, description="Generic webhook (RETAIL_FAILURE_WEBHOOK_URL; a secret).")
    slack_token: str | None = Field(default=None, description="Slack bot token (RETAIL_SLACK_BOT_TOKEN; a secret).")
    slack_channel: str | None = Field(default=None, description="Slack channel (RETAIL_SLACK_CHANNEL).")
    slack_api_url: str = Field(
        default=s.DEFAULT_SLACK_API_URL, description="Slack API base URL (RETAIL_SLACK_API_URL)."
    )
    teams_webhook_url: str | None = Field(
        default=None, description="Microsoft Teams incoming webhook (RETAIL_TEAMS_WEBHOOK_URL; a secret)."
    )
    ui_url: str = Field(default=s.DEFAULT_DAGSTER_UI_URL, description="Dagster UI base URL for run links.")
    timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout of one request.")
    attempts: int = Field(default=3, ge=1, description="Attempts per destination (connection errors, 5xx, 429).")
    backoff_seconds: float = Field(default=0.5, ge=0, description="First pause between attempts; doubles each time.")

    @property
    def destinations(self) -> tuple[str, ...]:
        on = {
            "webhook": self.webhook_url,
            "slack": self.slack_token and self.slack_channel,
            "teams": self.teams_webhook_url,
        }
        return tuple(name for name, value in on.items() if value)

    @property
    def _secrets(self) -> tuple[str | None, ...]:
        return (self.webhook_url, self.slack_token, self.teams_webhook_url)

    def send(self, destination: str, alert: FailureAlert) -> None:
        """Post ``alert`` to one destination; raises :class:`NotifyError` (redacted) when it did not take it."""
        post: Callable[[FailureAlert], None] = {"webhook": self._webhook, "slack": self._slack, "teams": self._teams}[
            destination
        ]
        try:
            with _redacted_http_logs(self._secrets):
                if destination == "slack":  # slack_sdk retries on its own
                    post(alert)
                    return
                for attempt in tenacity.Retrying(
                    stop=tenacity.stop_after_attempt(self.attempts),
                    wait=tenacity.wait_exponential(multiplier=self.backoff_seconds, max=10),
                    retry=tenacity.retry_if_exception_type(_Transient),
                    reraise=True,
                ):
                    with attempt:
                        post(alert)
        except NotifyError as exc:
            raise NotifyError(redact(str(exc), self._secrets)) from None

    def _webhook(self, alert: FailureAlert) -> None:
        request = urllib.request.Request(
            str(self.webhook_url),
            data=json.dumps(alert.payload()).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Idempotency-Key": alert.run_id},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError) as exc:
            raise _Transient(f"the failure webhook could not be reached: {getattr(exc, 'reason', exc)}") from None
        if status >= 500 or status == 429:
            raise _Transient(f"the failure webhook answered HTTP {status}")
        if not 200 <= status < 300:
            raise NotifyError(f"the failure webhook answered HTTP {status}")

    def _slack(self, alert: FailureAlert) -> None:
        client = SlackResource(token=str(self.slack_token)).get_client()
        client.base_url = self.slack_api_url if self.slack_api_url.endswith("/") else f"{self.slack_api_url}/"
        client.timeout = int(self.timeout_seconds)
        retries = self.attempts - 1
        client.retry_handlers = [
            ConnectionErrorRetryHandler(max_retry_count=retries),
            ServerErrorRetryHandler(max_retry_count=retries),
            RateLimitErrorRetryHandler(max_retry_count=retries),
        ]
        steps = ", ".join(f"`{step}`" for step in alert.steps) or "none (the run failed outside its steps)"
        text = f"*{alert.title}*\nFailed steps: {steps}\n```{alert.error}```\n<{alert.url}|Open the run in Dagster>"
        try:
            client.chat_postMessage(channel=str(self.slack_channel), text=text, unfurl_links=False)
        except SlackApiError as exc:
            status = exc.response.status_code if exc.response is not None else "?"
            reason = exc.response.get("error") if exc.response is not None and exc.response.data else None
            raise NotifyError(f"Slack answered HTTP {status}: {reason or 'no error code'}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise NotifyError(f"Slack could not be reached: {getattr(exc, 'reason', exc)}") from None

    def _teams(self, alert: FailureAlert) -> None:
        client = MSTeamsResource(hook_url=str(self.teams_webhook_url), timeout=self.timeout_seconds).get_client()
        card = Card() if client.is_legacy_webhook() else AdaptiveCard()
        card.add_attachment(text_message=f"**{alert.title}**")
        card.add_attachment(text_message=f"Failed steps: {', '.join(alert.steps) or 'none'}")
        card.add_attachment(text_message=alert.error)
        card.add_attachment(text_message=f"[Open the run in Dagster]({alert.url})")
        try:
            client.post_message(payload=card.payload)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _Transient(f"Teams could not be reached: {type(exc).__name__}: {exc}") from None
        except requests.RequestException as exc:
            raise _Transient(f"Teams refused the card: {str(exc)[:200]}") from None


@dataclass
class Delivery:
    sent: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # already delivered before (ledger)
    failed: dict[str, str] = field(default_factory=dict)  # destination -> redacted error


def deliver(
    instance: dg.DagsterInstance, notifier: FailureNotifier, alert: FailureAlert, log: Callable[[str], None]
) -> Delivery:
    """Post ``alert`` to every configured destination not yet in the ledger; record each that took it at once."""
    out = Delivery()
    for destination in notifier.destinations:
        if delivered(instance, alert.run_id, destination):
            out.skipped.append(destination)
            continue
        try:
            notifier.send(destination, alert)
        except NotifyError as exc:
            out.failed[destination] = str(exc)
            log(f"run {alert.run_id}: the failure alert to {destination} failed: {exc}")
            continue
        record_delivery(instance, alert.run_id, destination)
        out.sent.append(destination)
        log(f"run {alert.run_id}: failure alert delivered to {destination}")
    return out
