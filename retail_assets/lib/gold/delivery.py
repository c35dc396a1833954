"""Delivering new rows of ``gold/alerts`` to a sink: the log always, a webhook when one is configured.

Never the same alert twice: every delivered alert id is appended to the ledger ``ops/alert_deliveries``
in the lake (one Delta commit per delivery), and only alerts whose id is not in the ledger are sent.
Re-running a Gold month rewrites the same ids, so nothing is sent again; a restarted sensor reads the
same ledger. An alert is recorded only after every sink took it: when the webhook fails, nothing is
recorded and the next tick retries. The one window left is a crash between the webhook's answer and
the ledger commit; each alert carries its id so a receiver can drop a repeat.

The webhook receives ``POST {"alerts": [{alert_id, alert_type, occurred_at, ..., message}, ...]}``
(JSON, one batch per tick). Its URL comes from ``RETAIL_ALERTS_WEBHOOK_URL`` and may hold a token, so
it is never logged.
"""

from __future__ import annotations

import datetime as dt
import json
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import dagster as dg
import polars as pl
from pydantic import Field

from retail_assets.lib.gold.pipeline import gold_path
from retail_assets.lib.lake import LakeStore

ALERTS_TABLE = gold_path("alerts")
LEDGER = "ops/alert_deliveries"
LEDGER_SCHEMA = {
    "alert_id": pl.String,
    "alert_type": pl.String,
    "occurred_at": pl.Datetime("us", "UTC"),
    "delivered_at": pl.Datetime("us", "UTC"),
    "sinks": pl.String,
}


class DeliveryError(RuntimeError):
    """A sink did not take the alerts (nothing was recorded as delivered)."""


class AlertSink(dg.ConfigurableResource):
    """Where the alert sensor delivers new alerts: its log always, and a webhook when ``webhook_url`` is set."""

    webhook_url: str | None = Field(
        default=None, description="URL that receives POSTed alert batches (from RETAIL_ALERTS_WEBHOOK_URL; a secret)."
    )
    timeout_seconds: float = Field(default=10.0, gt=0, description="Webhook request timeout.")
    max_per_tick: int = Field(default=500, gt=0, description="Most alerts delivered per sensor tick; the rest follow.")

    @property
    def sinks(self) -> str:
        return "log,webhook" if self.webhook_url else "log"

    def post(self, alerts: list[dict[str, Any]]) -> None:
        """POST one batch to the webhook; raises :class:`DeliveryError` unless it answers 2xx."""
        if not self.webhook_url:
            return
        body = json.dumps({"alerts": alerts}).encode()
        request = urllib.request.Request(
            self.webhook_url, data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_seconds) as response:
                status = response.status
        except urllib.error.HTTPError as exc:
            raise DeliveryError(f"the alert webhook answered HTTP {exc.code}") from None
        except (urllib.error.URLError, OSError) as exc:
            raise DeliveryError(f"the alert webhook could not be reached: {getattr(exc, 'reason', exc)}") from None
        if not 200 <= status < 300:
            raise DeliveryError(f"the alert webhook answered HTTP {status}")


def delivered_ids(lake: LakeStore) -> pl.LazyFrame:
    if not lake.exists(LEDGER):
        return pl.LazyFrame(schema={"alert_id": pl.String})
    return lake.scan(LEDGER).select("alert_id")


def pending_alerts(lake: LakeStore) -> pl.DataFrame:
    """Alerts of ``gold/alerts`` never delivered, oldest first."""
    if not lake.exists(ALERTS_TABLE):
        return pl.DataFrame()
    return (
        lake.scan(ALERTS_TABLE)
        .join(delivered_ids(lake), on="alert_id", how="anti")
        .sort("occurred_at", "alert_id")
        .collect()
    )


def payload(alerts: pl.DataFrame) -> list[dict[str, Any]]:
    """Alerts as JSON-ready dicts (timestamps in ISO 8601 UTC, dates as YYYY-MM-DD)."""
    return alerts.with_columns(
        pl.col(pl.Datetime).dt.strftime("%Y-%m-%dT%H:%M:%S%.6fZ"), pl.col(pl.Date).cast(pl.String)
    ).to_dicts()


@dataclass(frozen=True)
class Delivery:
    delivered: int
    remaining: int


def deliver_new_alerts(
    lake: LakeStore, sink: AlertSink, log: Callable[[str], None], now: dt.datetime | None = None
) -> Delivery:
    """Send the oldest undelivered alerts (at most ``sink.max_per_tick``) to every sink, then record them."""
    pending = pending_alerts(lake)
    if not pending.height:
        return Delivery(0, 0)
    batch = pending.head(sink.max_per_tick)
    sink.post(payload(batch))
    for alert_type, occurred_at, message in batch.select("alert_type", "occurred_at", "message").iter_rows():
        log(f"ALERT {alert_type} at {occurred_at:%Y-%m-%d %H:%M:%S} UTC: {message}")
    at = now or dt.datetime.now(dt.UTC)
    ledger = batch.select("alert_id", "alert_type", "occurred_at").with_columns(
        pl.lit(at, dtype=LEDGER_SCHEMA["delivered_at"]).alias("delivered_at"), pl.lit(sink.sinks).alias("sinks")
    )
    lake.append(LEDGER, ledger.select(list(LEDGER_SCHEMA)), commit_metadata={"delivered": str(batch.height)})
    return Delivery(batch.height, pending.height - batch.height)
