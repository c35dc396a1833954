"""Run-failure alerts reach a real HTTP server on loopback through each client, once, and never leak a secret.

One server plays the three destinations: ``/hook/<secret>`` the generic webhook, ``/api/chat.postMessage`` the Slack
Web API (slack_sdk pointed at it by ``slack_api_url``), ``/teams/<secret>`` a Teams Workflows webhook. It records
every request and can answer the next N requests of a path with an error.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import dagster as dg
import pytest

from retail_assets.defs.failure_alerts import RESOURCE, SENSOR, FailureAlertError, build_notifier, failure_alerts
from retail_assets.lib import settings as s
from retail_assets.lib.notify import FailureNotifier, delivered, redact

HOOK_SECRET = "hook-s3cret-4f1a"
SLACK_TOKEN = "xoxb-slack-s3cret-77"
TEAMS_SECRET = "teams-s3cret-9c2e"
SECRETS = (HOOK_SECRET, SLACK_TOKEN, TEAMS_SECRET)
UI = "http://dagster.example:3000"


class Receiver:
    """Records each request (path, headers, JSON body); ``fail[path_prefix] = [status, ...]`` answers the next ones."""

    def __init__(self) -> None:
        self.requests: list[dict] = []
        self.fail: dict[str, list[int]] = {}
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except ValueError:  # slack_sdk may post form data
                    body = raw.decode()
                receiver.requests.append({"path": self.path, "headers": dict(self.headers), "body": body})
                for prefix, statuses in receiver.fail.items():
                    if self.path.startswith(prefix) and statuses:
                        self.send_response(statuses.pop(0))
                        self.end_headers()
                        return
                answer = json.dumps({"ok": True, "channel": "C1", "ts": "1.0"}).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def to(self, prefix: str) -> list[dict]:
        return [r for r in self.requests if r["path"].startswith(prefix)]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver()
    yield server
    server.server.shutdown()
    server.server.server_close()


def _notifier(receiver: Receiver, **overrides) -> FailureNotifier:
    config = dict(
        webhook_url=f"{receiver.base}/hook/{HOOK_SECRET}",
        slack_token=SLACK_TOKEN,
        slack_channel="#data-alerts",
        slack_api_url=f"{receiver.base}/api/",
        teams_webhook_url=f"{receiver.base}/teams/{TEAMS_SECRET}?sig={TEAMS_SECRET}",
        ui_url=UI,
        timeout_seconds=5,
        backoff_seconds=0.01,
    )
    return FailureNotifier(**{**config, **overrides})


@dg.op
def load_month() -> None:
    raise ValueError("gold/sales_minute_store 2024-01: column total_cents has value -5\nsecond line\n" + "x\n" * 20)


@dg.job
def nightly_gold() -> None:
    load_month()


def _failed_run(instance: dg.DagsterInstance) -> dg.ExecuteInProcessResult:
    result = nightly_gold.execute_in_process(
        instance=instance, raise_on_error=False, tags={"dagster/partition": "2024-01-01"}
    )
    assert not result.success
    return result


def _evaluate(instance: dg.DagsterInstance, result: dg.ExecuteInProcessResult, notifier: FailureNotifier):
    """One sensor evaluation for the failed run, as the daemon makes it (a fresh context and resource each time)."""
    context = dg.build_run_status_sensor_context(
        sensor_name=SENSOR,
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
        resources={RESOURCE: notifier},
    )
    return failure_alerts(context.for_run_failure())


def test_a_failed_run_is_posted_once_to_each_destination_across_restarts(receiver: Receiver, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    with dg.instance_for_test() as instance:
        result = _failed_run(instance)
        run_id = result.run_id

        _evaluate(instance, result, _notifier(receiver))

        hook, slack, teams = receiver.to("/hook/"), receiver.to("/api/"), receiver.to("/teams/")
        assert (len(hook), len(slack), len(teams)) == (1, 1, 1)
        posted = hook[0]["body"]
        assert posted["alert_id"] == run_id and hook[0]["headers"]["Idempotency-Key"] == run_id
        assert posted["job"] == "nightly_gold" and posted["partition"] == "2024-01-01"
        assert posted["steps"] == ["load_month"]
        assert "column total_cents has value -5" in posted["error"] and posted["error"].count("\n") <= 4
        assert posted["url"] == f"{UI}/runs/{run_id}"
        assert slack[0]["path"] == "/api/chat.postMessage"
        assert slack[0]["headers"]["Authorization"] == f"Bearer {SLACK_TOKEN}"
        slack_body = slack[0]["body"]
        assert slack_body["channel"] == "#data-alerts"
        for part in ("nightly_gold", "2024-01-01", "load_month", "total_cents has value -5", f"{UI}/runs/{run_id}"):
            assert part in slack_body["text"]
        card_text = json.dumps(teams[0]["body"])
        for part in ("nightly_gold", "2024-01-01", "load_month", "total_cents has value -5", f"{UI}/runs/{run_id}"):
            assert part in card_text
        assert teams[0]["body"]["attachments"][0]["contentType"] == "application/vnd.microsoft.card.adaptive"

        # The daemon evaluating the same failure again, then a restarted process (new resource, new context): the
        # ledger in the instance says every destination already has it.
        _evaluate(instance, result, _notifier(receiver))
        _evaluate(instance, result, _notifier(receiver))
        assert len(receiver.requests) == 3
        assert all(delivered(instance, run_id, d) for d in ("webhook", "slack", "teams"))

        # A second failed run is a new alert.
        _evaluate(instance, _failed_run(instance), _notifier(receiver))
        assert len(receiver.requests) == 6
    assert not [secret for secret in SECRETS if secret in caplog.text]


def test_a_server_error_is_retried_with_backoff(receiver: Receiver) -> None:
    receiver.fail = {"/hook/": [500], "/api/": [503], "/teams/": [502]}
    with dg.instance_for_test() as instance:
        result = _failed_run(instance)
        _evaluate(instance, result, _notifier(receiver))
        assert (len(receiver.to("/hook/")), len(receiver.to("/api/")), len(receiver.to("/teams/"))) == (2, 2, 2)
        assert all(delivered(instance, result.run_id, d) for d in ("webhook", "slack", "teams"))


def test_a_refused_alert_names_no_secret_and_is_tried_again_only_where_it_failed(receiver: Receiver, caplog) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.fail = {"/hook/": [400]}
    # Teams is unreachable (a closed port): requests quotes the URL's path and query in its error.
    unreachable = _notifier(receiver, teams_webhook_url=f"http://127.0.0.1:9/teams/{TEAMS_SECRET}?sig={TEAMS_SECRET}")
    with dg.instance_for_test() as instance:
        result = _failed_run(instance)
        with pytest.raises(FailureAlertError) as raised:
            _evaluate(instance, result, unreachable)
        message = str(raised.value)
        assert "webhook: the failure webhook answered HTTP 400" in message
        assert "teams: Teams could not be reached" in message
        assert not [secret for secret in SECRETS if secret in message or secret in caplog.text]
        assert len(receiver.to("/hook/")) == 1  # a 4xx is not retried
        assert delivered(instance, result.run_id, "slack") and not delivered(instance, result.run_id, "webhook")

        # Evaluated again (the destinations recovered): only the two that failed are posted, Slack is not repeated.
        _evaluate(instance, result, _notifier(receiver))
        assert (len(receiver.to("/hook/")), len(receiver.to("/api/")), len(receiver.to("/teams/"))) == (2, 1, 1)


def test_no_destination_skips_and_redact_hides_url_parts() -> None:
    with dg.instance_for_test() as instance:
        result = _failed_run(instance)
        skipped = _evaluate(instance, result, FailureNotifier())
        assert isinstance(skipped, dg.SkipReason) and "no alert destination" in (skipped.skip_message or "")
    url = f"https://hooks.example/x/{HOOK_SECRET}?token={TEAMS_SECRET}"
    text = f"Max retries exceeded with url: /x/{HOOK_SECRET}?token={TEAMS_SECRET} ({url})"
    assert HOOK_SECRET not in redact(text, [url]) and TEAMS_SECRET not in redact(text, [url])


def test_destinations_come_from_environment_variables_whose_secrets_are_never_printed() -> None:
    env = {
        s.FAILURE_WEBHOOK_URL: f"https://hooks.example/{HOOK_SECRET}",
        s.SLACK_BOT_TOKEN: SLACK_TOKEN,
        s.SLACK_CHANNEL: "#data-alerts",
        s.DAGSTER_UI_URL: "https://dagster.example/",
    }
    settings = s.failure_alert_settings(env)
    assert settings.destinations == ("webhook", "slack") and settings.ui_url == "https://dagster.example"
    notifier = build_notifier(settings)
    assert HOOK_SECRET not in repr(notifier) and SLACK_TOKEN not in repr(notifier)  # EnvVar names only

    with pytest.raises(s.SettingsError, match=s.FAILURE_WEBHOOK_URL) as bad_url:
        s.failure_alert_settings({s.FAILURE_WEBHOOK_URL: f"hooks.example/{HOOK_SECRET}"})
    assert HOOK_SECRET not in str(bad_url.value)
    with pytest.raises(s.SettingsError, match=s.SLACK_CHANNEL) as no_channel:
        s.failure_alert_settings({s.SLACK_BOT_TOKEN: SLACK_TOKEN})
    assert SLACK_TOKEN not in str(no_channel.value)
    with pytest.raises(s.SettingsError, match=s.TEAMS_WEBHOOK_URL):
        s.validate_environment({s.TEAMS_WEBHOOK_URL: "not a url"})
