"""The alert sensor delivers every alert once, to the log and to a real local HTTP webhook, across restarts."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import polars as pl
import pytest

from retail_assets.defs.alerts import deliver_alerts
from retail_assets.lib.alerts import AlertThresholds
from retail_assets.lib.gold.delivery import LEDGER, AlertSink
from retail_assets.lib.gold.pipeline import build_month, gold_path
from retail_assets.lib.gold.specs import gold_table
from retail_assets.lib.lake import LakeStore
from retail_assets_tests.gold.silver_rows import FEB, JAN, at, inputs

SECRET = "token-s3cret"


class Webhook:
    """A local HTTP server that records each POSTed alert batch; it can be told to answer 503."""

    def __init__(self) -> None:
        self.batches: list[list[dict]] = []
        self.failing = False
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if hook.failing:
                    self.send_response(503)
                else:
                    hook.batches.append(body["alerts"])
                    self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/alerts?key={SECRET}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def delivered(self) -> list[str]:
        return [a["alert_id"] for batch in self.batches for a in batch]


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    hook = Webhook()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


# High value is the far tail of the store's own receipts: with the median as the tail, every $2,000 receipt among
# ordinary $40 ones alerts, so each test decides exactly which alerts exist.
STORE_TAIL = AlertThresholds(high_value_receipt_quantile=0.5)


def _alerts(month, receipts: list[str]) -> pl.DataFrame:
    rows = [
        dict(receipt_id=r, total_cents=200_000 + i, event_ts=at(month.month, 10, 9, i)) for i, r in enumerate(receipts)
    ]
    rows += [dict(receipt_id=f"N{month.month}_{i}", total_cents=4_000, event_ts=at(month.month, 11, 9, i)) for i in range(10)]
    return build_month(inputs(month, thresholds=STORE_TAIL, fact_receipts=rows), gold_table("alerts"))


def _publish(lake: LakeStore, month, receipts: list[str]) -> None:
    lake.overwrite_months(gold_path("alerts"), _alerts(month, receipts), [month])


INSTANCE = dg.DagsterInstance.ephemeral()


def _tick(lake: LakeStore, sink: AlertSink, cursor: str | None) -> dg.SensorResult:
    """One evaluation of the real sensor; a None cursor is a sensor that lost its state (a reset or new deployment)."""
    with dg.build_sensor_context(
        cursor=cursor, resources={"lake": lake, "alert_sink": sink}, instance=INSTANCE
    ) as context:
        return deliver_alerts(context)


def test_each_alert_is_delivered_once_across_ticks_restarts_and_reruns(
    lake: LakeStore, webhook: Webhook, capfd: pytest.CaptureFixture
) -> None:
    sink = AlertSink(webhook_url=webhook.url)
    assert "not been materialized" in _tick(lake, sink, None).skip_reason.skip_message
    _publish(lake, JAN, ["A", "B", "C"])
    first = _tick(lake, sink, None)
    assert webhook.delivered == ["high_value_receipt:A", "high_value_receipt:B", "high_value_receipt:C"]
    logged = capfd.readouterr().err
    assert "ALERT high_value_receipt at 2024-01-10 09:00:00 UTC: receipt A at store 1: total $2000.00" in logged
    payload = webhook.batches[0][0]
    assert (payload["occurred_at"], payload["month_start"], payload["observed_value"]) == (
        "2024-01-10T09:00:00.000000Z",
        "2024-01-01",
        200_000.0,
    )
    # Nothing changed: the cursor alone says so.
    assert "unchanged" in _tick(lake, sink, first.cursor).skip_reason.skip_message
    # A restart that lost its cursor, then a re-run of January (same ids, new Delta version): nothing is sent again.
    restarted = _tick(lake, sink, None)
    _publish(lake, JAN, ["A", "B", "C"])
    rerun = _tick(lake, sink, restarted.cursor)
    assert "delivered 0 alerts" in rerun.skip_reason.skip_message
    # A new alert in another month: only it is sent.
    _publish(lake, FEB, ["D"])
    _tick(lake, sink, rerun.cursor)
    assert webhook.delivered == [
        "high_value_receipt:A",
        "high_value_receipt:B",
        "high_value_receipt:C",
        "high_value_receipt:D",
    ]
    assert lake.read(LEDGER).height == 4
    assert lake.read(LEDGER)["sinks"].unique().to_list() == ["log,webhook"]


def test_a_failing_webhook_leaves_alerts_pending_and_never_leaks_its_url(
    lake: LakeStore, webhook: Webhook, capfd: pytest.CaptureFixture
) -> None:
    sink = AlertSink(webhook_url=webhook.url)
    _publish(lake, JAN, ["A"])
    webhook.failing = True
    failed = _tick(lake, sink, None)
    assert failed.cursor is None and not lake.exists(LEDGER)
    assert "HTTP 503" in failed.skip_reason.skip_message
    logged = capfd.readouterr().err
    assert "retried next tick" in logged
    assert SECRET not in logged and SECRET not in failed.skip_reason.skip_message
    webhook.failing = False
    _tick(lake, sink, failed.cursor)
    _tick(lake, sink, None)
    assert webhook.delivered == ["high_value_receipt:A"]


def test_a_backlog_is_delivered_over_several_ticks_without_a_webhook(lake: LakeStore) -> None:
    sink = AlertSink(max_per_tick=2)
    _publish(lake, JAN, ["A", "B", "C"])
    first = _tick(lake, sink, None)
    assert json.loads(first.cursor)["backlog"] is True
    second = _tick(lake, sink, first.cursor)
    assert json.loads(second.cursor)["backlog"] is False
    ledger = lake.read(LEDGER).sort("alert_id")
    assert ledger["alert_id"].to_list() == ["high_value_receipt:A", "high_value_receipt:B", "high_value_receipt:C"]
    assert ledger["sinks"].unique().to_list() == ["log"]
    assert "unchanged" in _tick(lake, sink, second.cursor).skip_reason.skip_message
