"""Where the platform runs: one place decides local vs Azure, from environment variables.

Local (the default) needs nothing: the lake, landing zone and DuckDB file live under
``RETAIL_DATA_DIR`` (``./data``). The synthetic data generator is on unless ``RETAIL_GENERATOR=off``
(for users who land their own data); ``RETAIL_PROFILE`` picks its size (tiny, demo, reference).
Streaming reads landing event files by default; Event Hubs (``RETAIL_EVENTHUB_*``, checkpoints in
``RETAIL_CHECKPOINT_*``) and Capture files (``RETAIL_CAPTURE_URI``) are added when set. Azure is selected with ``RETAIL_ENV=azure`` plus the URIs and
credentials below. ``RETAIL_EXECUTOR`` chooses where steps execute (in the run's process by default; Celery
workers with ``RETAIL_CELERY_*``; Kubernetes jobs): lib/executors.py, docs/scale-out.md. Secrets are only ever
read from the environment, through ``dagster.EnvVar`` (or ``{"env": ...}`` executor config), so they never appear
in run config, logs or metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from datetime import timedelta
from pathlib import Path


class Environment(StrEnum):
    LOCAL = "local"
    AZURE = "azure"


class SettingsError(ValueError):
    """The environment variables do not describe a usable deployment."""


# Environment variables understood by the platform.
ENV = "RETAIL_ENV"
DATA_DIR = "RETAIL_DATA_DIR"
LAKE_URI = "RETAIL_LAKE_URI"
LANDING_URI = "RETAIL_LANDING_URI"
ACCOUNT_NAME = "AZURE_STORAGE_ACCOUNT_NAME"
ACCOUNT_KEY = "AZURE_STORAGE_ACCOUNT_KEY"
SAS_TOKEN = "AZURE_STORAGE_SAS_TOKEN"
ENDPOINT = "AZURE_STORAGE_ENDPOINT"
CLIENT_ID = "AZURE_CLIENT_ID"
CLIENT_SECRET = "AZURE_CLIENT_SECRET"
TENANT_ID = "AZURE_TENANT_ID"
EVENTHUB_CONNECTION_STRING = "RETAIL_EVENTHUB_CONNECTION_STRING"
EVENTHUB_NAME = "RETAIL_EVENTHUB_NAME"
EVENTHUB_CONSUMER_GROUP = "RETAIL_EVENTHUB_CONSUMER_GROUP"
CHECKPOINT_CONNECTION_STRING = "RETAIL_CHECKPOINT_CONNECTION_STRING"
CHECKPOINT_CONTAINER = "RETAIL_CHECKPOINT_CONTAINER"
CAPTURE_URI = "RETAIL_CAPTURE_URI"
GENERATOR = "RETAIL_GENERATOR"
PROFILE = "RETAIL_PROFILE"
# How landed event files reach Bronze, Silver and Gold: "worker" (default: one long-lived run applies each batch
# incrementally, seconds from file to minute KPI) or "runs" (one Dagster run per batch and month).
STREAM_MODE = "RETAIL_STREAM_MODE"
STREAM_MODES = ("worker", "runs")
_ON, _OFF = ("on", "true", "1", "yes"), ("off", "false", "0", "no")
# Landing retention of acknowledged event files (docs/operations.md "Landing retention"): days after which a file's
# day folder is archived or deleted (unset = keep everything, the default), and which of the two.
LANDING_RETENTION_DAYS = "RETAIL_LANDING_RETENTION_DAYS"
LANDING_RETENTION_MODE = "RETAIL_LANDING_RETENTION_MODE"
LANDING_RETENTION_MODES = ("archive", "delete")
# Settled (closed) day folders the streaming listing re-lists per poll where it cannot tell they are unchanged
# (always on Azure; on local disk only before it has seen them): bounds both a poll's cost and a late file's delay.
LANDING_SWEEP_FOLDERS = "RETAIL_LANDING_SWEEP_FOLDERS"
DEFAULT_SWEEP_FOLDERS = 8
# Rows of a landed batch file Bronze types and writes at a time (lib/bronze.py DEFAULT_CHUNK_ROWS when unset): a fact
# month's memory follows it, not the number of stores.
BRONZE_CHUNK_ROWS = "RETAIL_BRONZE_CHUNK_ROWS"
# Optional URL the alert sensor POSTs new business alerts to (it may embed a token: treated as a secret).
ALERTS_WEBHOOK_URL = "RETAIL_ALERTS_WEBHOOK_URL"
# Run-failure alerts (defs/failure_alerts.py): each destination is on when its variables are set. The webhook URLs
# and the Slack token are secrets: never printed, not even in these errors.
FAILURE_WEBHOOK_URL = "RETAIL_FAILURE_WEBHOOK_URL"
SLACK_BOT_TOKEN = "RETAIL_SLACK_BOT_TOKEN"
SLACK_CHANNEL = "RETAIL_SLACK_CHANNEL"
SLACK_API_URL = "RETAIL_SLACK_API_URL"
TEAMS_WEBHOOK_URL = "RETAIL_TEAMS_WEBHOOK_URL"
DAGSTER_UI_URL = "RETAIL_DAGSTER_UI_URL"
DEFAULT_DAGSTER_UI_URL = "http://127.0.0.1:3000"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
# Freshness policies (lib/freshness.py): minute KPIs warn/fail this many minutes after their last update
# ("off" attaches no policy), daily KPIs fail when not rebuilt since midnight UTC by this hour (UTC).
FRESHNESS_MINUTE_WARN = "RETAIL_FRESHNESS_MINUTE_WARN_MINUTES"
FRESHNESS_MINUTE_FAIL = "RETAIL_FRESHNESS_MINUTE_FAIL_MINUTES"
FRESHNESS_DAILY_HOUR = "RETAIL_FRESHNESS_DAILY_HOUR"
# Lake maintenance (defs/maintenance.py): when the daily job runs (cron, UTC) and how long vacuum keeps files that
# no current version needs (hours; time travel to older versions is gone after that).
MAINTENANCE_CRON = "RETAIL_MAINTENANCE_CRON"
DEFAULT_MAINTENANCE_CRON = "0 3 * * *"
VACUUM_RETENTION_HOURS = "RETAIL_VACUUM_RETENTION_HOURS"
DEFAULT_VACUUM_RETENTION_HOURS = 168
# Bronze input rows above which a Silver fact month is built in key-hash shards of about this many rows each
# (lib/silver/shards.py), so a step's memory does not grow with the chain; 0 builds every month as one frame.
SILVER_SHARD_ROWS = "RETAIL_SILVER_SHARD_ROWS"
DEFAULT_SILVER_SHARD_ROWS = 2_000_000
# Where a run's steps execute (lib/executors.py, docs/scale-out.md): in the run's own process (the default), on Celery
# workers, or in one Kubernetes job each. The Celery broker and result backend URLs may hold a password: they are
# never printed (not even in these errors) and reach Dagster only as environment variable references.
EXECUTOR = "RETAIL_EXECUTOR"
EXECUTORS = ("in_process", "celery", "k8s")
CELERY_BROKER = "RETAIL_CELERY_BROKER"
CELERY_BACKEND = "RETAIL_CELERY_BACKEND"
DEFAULT_CELERY_BROKER = "redis://127.0.0.1:6379/0"
CELERY_BROKER_SCHEMES = ("redis", "rediss", "sentinel", "amqp", "amqps", "pyamqp")
CELERY_BACKEND_SCHEMES = ("redis", "rediss", "sentinel", "rpc")
# Seconds after which a step taken by a worker that vanished (SIGKILL, lost machine) is handed to another worker
# (Redis broker; AMQP brokers redeliver when the connection drops). Must exceed the longest step: a step running
# longer is handed out a second time while it still runs.
CELERY_VISIBILITY_TIMEOUT = "RETAIL_CELERY_VISIBILITY_TIMEOUT"
DEFAULT_CELERY_VISIBILITY_TIMEOUT = 3600
# Times a step whose worker process died under it (OOM kill, segfault) is sent again before its run fails.
CELERY_WORKER_LOST_RETRIES = "RETAIL_CELERY_WORKER_LOST_RETRIES"
DEFAULT_CELERY_WORKER_LOST_RETRIES = 2


def _check_profile(profile: str | None) -> None:
    # The generator's own module reads this module's names: import it here, not at the top.
    from retail_assets.lib.generator.config import DEFAULT_PROFILE, PROFILES

    if profile is not None and profile not in PROFILES:
        raise SettingsError(
            f"{PROFILE}={profile!r} is not a generator profile: set one of {sorted(PROFILES)}, or unset it for "
            f"the generator config's profile (default {DEFAULT_PROFILE})"
        )


def _maintenance_cron(env: Mapping[str, str]) -> str:
    # Dagster's own check of a cron string (a schedule refuses an invalid one), imported only here.
    import dagster as dg

    cron = (env.get(MAINTENANCE_CRON) or "").strip() or DEFAULT_MAINTENANCE_CRON

    try:
        dg.ScheduleDefinition(name="lake_maintenance_schedule", cron_schedule=cron, job_name="lake_maintenance")
    except dg.DagsterInvalidDefinitionError:
        raise SettingsError(
            f"{MAINTENANCE_CRON}={cron!r} is not a cron schedule of 5 fields (minute hour day month weekday, UTC): "
            f"e.g. '30 2 * * *' for 02:30 daily, or unset it for {DEFAULT_MAINTENANCE_CRON!r}"
        ) from None
    return cron


def _vacuum_retention_hours(env: Mapping[str, str]) -> int:
    """Hours of removed files vacuum keeps. At least 1: a reader still scanning the snapshot from before a compaction
    (or a month rebuild) must find its files, and a writer's files not committed yet are minutes old."""
    raw = (env.get(VACUUM_RETENTION_HOURS) or "").strip()
    if not raw:
        return DEFAULT_VACUUM_RETENTION_HOURS
    try:
        hours = int(raw)
    except ValueError:
        hours = -1
    if hours < 1:
        raise SettingsError(
            f"{VACUUM_RETENTION_HOURS}={raw!r} is not a whole number of hours of at least 1: set e.g. 72, or unset it "
            f"for {DEFAULT_VACUUM_RETENTION_HOURS} (7 days; versions older than that cannot be restored after vacuum)"
        )
    return hours


def _whole_number(env: Mapping[str, str], name: str, minimum: int, meaning: str) -> int | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise SettingsError(f"{name}={raw!r} is not a whole number >= {minimum}: set {meaning}, or unset it")
    return value


def landing_settings(env: Mapping[str, str]) -> dict[str, object]:
    """Landing retention and streaming listing settings (``RETAIL_LANDING_*``), checked."""
    days = _whole_number(env, LANDING_RETENTION_DAYS, 1, "the days acknowledged event files stay (unset: keep)")
    mode = (env.get(LANDING_RETENTION_MODE) or "archive").strip().lower()
    if mode not in LANDING_RETENTION_MODES:
        raise SettingsError(
            f"{LANDING_RETENTION_MODE}={mode!r} is not one of {list(LANDING_RETENTION_MODES)}: unset it for archive "
            "(files move under archive/, month rebuilds still read them), or set delete"
        )
    sweep = _whole_number(env, LANDING_SWEEP_FOLDERS, 1, "how many settled day folders a poll may re-list")
    bronze_chunk_rows(env)
    return {
        "landing_retention_days": days,
        "landing_retention_mode": mode,
        "landing_sweep_folders": sweep or DEFAULT_SWEEP_FOLDERS,
    }


def bronze_chunk_rows(environ: Mapping[str, str] | None = None) -> int | None:
    """``RETAIL_BRONZE_CHUNK_ROWS``, checked; None when unset (lib/bronze.py then uses its default)."""
    env = os.environ if environ is None else environ
    return _whole_number(env, BRONZE_CHUNK_ROWS, 1, "the rows of a landed file Bronze types and writes at a time")


def _check_endpoint(endpoint: str, present: frozenset[str]) -> None:
    """Azure storage takes a token credential (service principal, managed identity) over HTTPS only.

    Without a shared key or SAS token the clients fall back to such a credential, and an ``http://``
    endpoint (Azurite, a private proxy) then fails at the first request with "Token credential is only
    supported with HTTPS", deep inside a run: say so before anything starts.
    """
    if endpoint.lower().startswith("http://") and not {ACCOUNT_KEY, SAS_TOKEN} & present:
        raise SettingsError(
            f"{ENDPOINT}={endpoint!r} is plain HTTP, where Azure storage accepts no token credential: set "
            f"{ACCOUNT_KEY} (or {SAS_TOKEN}) for this endpoint, or use an https:// endpoint"
        )


@dataclass(frozen=True)
class Settings:
    environment: Environment
    data_dir: Path
    # Names of the environment variables that are set (values are never held here).
    present: frozenset[str]
    generator_enabled: bool = True
    # RETAIL_PROFILE when set; otherwise the generator config file's profile, else "demo".
    generator_profile: str | None = None
    stream_mode: str = "worker"
    maintenance_cron: str = DEFAULT_MAINTENANCE_CRON
    vacuum_retention_hours: int = DEFAULT_VACUUM_RETENTION_HOURS
    landing_retention_days: int | None = None  # None: keep every landed file
    landing_retention_mode: str = "archive"
    landing_sweep_folders: int = DEFAULT_SWEEP_FOLDERS

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = env.get(ENV, Environment.LOCAL.value).strip().lower()
        try:
            environment = Environment(raw)
        except ValueError:
            raise SettingsError(
                f"{ENV}={raw!r} is not one of {[e.value for e in Environment]}: unset it for the local default, or set "
                f"it to azure with the storage variables of the README's 'Running on Azure'"
            ) from None
        data_dir = Path(env.get(DATA_DIR) or "data").expanduser().resolve()
        present = frozenset(k for k in (LAKE_URI, LANDING_URI, ACCOUNT_NAME, ACCOUNT_KEY, SAS_TOKEN, ENDPOINT,
                                        CLIENT_ID, CLIENT_SECRET, TENANT_ID, EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME,
                                        EVENTHUB_CONSUMER_GROUP, CHECKPOINT_CONNECTION_STRING, CHECKPOINT_CONTAINER,
                                        CAPTURE_URI, ALERTS_WEBHOOK_URL) if env.get(k))
        switch = env.get(GENERATOR, "on").strip().lower()
        if switch not in _ON + _OFF:
            raise SettingsError(
                f"{GENERATOR}={switch!r} is not on or off: set on (the default: synthetic data is generated) or off "
                "(Bronze reads only the files you land)"
            )
        mode = env.get(STREAM_MODE, "worker").strip().lower()
        if mode not in STREAM_MODES:
            raise SettingsError(
                f"{STREAM_MODE}={mode!r} is not one of {list(STREAM_MODES)}: unset it for worker (one long-lived run "
                "applies each landed batch), or set runs (one Dagster run per batch and month)"
            )
        profile = (env.get(PROFILE) or "").strip().lower() or None
        _check_profile(profile)
        settings = cls(
            environment=environment,
            data_dir=data_dir,
            present=present,
            generator_enabled=switch in _ON,
            generator_profile=profile,
            stream_mode=mode,
            maintenance_cron=_maintenance_cron(env),
            vacuum_retention_hours=_vacuum_retention_hours(env),
            **landing_settings(env),
        )
        hub = {EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME, CHECKPOINT_CONNECTION_STRING} & present
        if hub and len(hub) < 3:
            missing = sorted({EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME, CHECKPOINT_CONNECTION_STRING} - present)
            raise SettingsError(
                f"Event Hubs ingestion needs these environment variables too: {missing}: set them, or unset "
                f"{sorted(hub)} to ingest landed event files only"
            )
        if environment is Environment.AZURE:
            missing = [k for k in (LAKE_URI, LANDING_URI, ACCOUNT_NAME) if k not in present]
            if missing:
                raise SettingsError(
                    f"{ENV}=azure needs these environment variables: {missing}: set them (see the README's "
                    f"'Running on Azure'), or unset {ENV} for the local default"
                )
        if environment is Environment.AZURE or CAPTURE_URI in present:
            _check_endpoint(env.get(ENDPOINT, "").strip(), present)
        return settings

    @property
    def eventhubs_enabled(self) -> bool:
        """Event Hubs source and sink: a hub, its connection string and a checkpoint store are set."""
        return {EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME, CHECKPOINT_CONNECTION_STRING} <= self.present

    @property
    def capture_enabled(self) -> bool:
        return CAPTURE_URI in self.present

    @property
    def lake_dir(self) -> Path:
        return self.data_dir / "lake"

    @property
    def landing_dir(self) -> Path:
        return self.data_dir / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.data_dir / "retail.duckdb"


def validate_environment(environ: Mapping[str, str] | None = None) -> Settings:
    """Every setting the platform reads from the environment, checked at once, before a command does anything.

    ``Settings`` alone checks the deployment variables; the generator (``RETAIL_GEN_*``,
    ``RETAIL_GENERATOR_CONFIG``) and the alert thresholds (``RETAIL_ALERT_*``) are otherwise only read
    inside a run, where a bad value fails a step after the run has started. Their errors are raised
    here as :class:`SettingsError`, so a caller handles one kind of configuration error.
    """
    from retail_assets.lib.alerts import AlertConfigError, AlertThresholds
    from retail_assets.lib.generator.config import GeneratorConfigError, load_config

    settings = Settings.from_env(environ)
    failure_alert_settings(environ)
    executor_settings(environ)
    freshness_settings(environ)
    try:
        load_config(settings.generator_profile, environ=environ)
        AlertThresholds.from_env(environ)
    except (GeneratorConfigError, AlertConfigError) as exc:
        raise SettingsError(str(exc)) from exc
    return settings


def _http_url(name: str, value: str, secret: bool) -> str:
    value = value.strip()
    if not value.lower().startswith(("http://", "https://")):
        shown = "(value not shown: it is a secret)" if secret else repr(value)
        raise SettingsError(f"{name} is not an http(s) URL {shown}: set a URL starting with https://, or unset it")
    return value


@dataclass(frozen=True)
class FailureAlertSettings:
    """Where run-failure alerts go. Holds the names of the destinations and their non-secret values only: the
    webhook URLs and the Slack token are read by the resource through ``dagster.EnvVar`` (lib/notify.py)."""

    destinations: tuple[str, ...]
    slack_channel: str | None
    slack_api_url: str
    ui_url: str


def failure_alert_settings(environ: Mapping[str, str] | None = None) -> FailureAlertSettings:
    env = os.environ if environ is None else environ
    value = {k: (env.get(k) or "").strip() for k in (FAILURE_WEBHOOK_URL, SLACK_BOT_TOKEN, SLACK_CHANNEL,
                                                      SLACK_API_URL, TEAMS_WEBHOOK_URL, DAGSTER_UI_URL)}
    destinations = []
    if value[FAILURE_WEBHOOK_URL]:
        _http_url(FAILURE_WEBHOOK_URL, value[FAILURE_WEBHOOK_URL], secret=True)
        destinations.append("webhook")
    if bool(value[SLACK_BOT_TOKEN]) != bool(value[SLACK_CHANNEL]):
        pair = (SLACK_BOT_TOKEN, SLACK_CHANNEL)
        given, missing = pair if value[SLACK_BOT_TOKEN] else pair[::-1]
        raise SettingsError(
            f"Slack run-failure alerts need {missing} too: set it (a bot token xoxb-... and a channel such as "
            f"#data-alerts), or unset {given}"
        )
    if value[SLACK_BOT_TOKEN]:
        destinations.append("slack")
    if value[TEAMS_WEBHOOK_URL]:
        _http_url(TEAMS_WEBHOOK_URL, value[TEAMS_WEBHOOK_URL], secret=True)
        destinations.append("teams")
    return FailureAlertSettings(
        destinations=tuple(destinations),
        slack_channel=value[SLACK_CHANNEL] or None,
        slack_api_url=_http_url(SLACK_API_URL, value[SLACK_API_URL], secret=False) if value[SLACK_API_URL]
        else DEFAULT_SLACK_API_URL,
        ui_url=(_http_url(DAGSTER_UI_URL, value[DAGSTER_UI_URL], secret=False) if value[DAGSTER_UI_URL]
                else DEFAULT_DAGSTER_UI_URL).rstrip("/"),
    )


@dataclass(frozen=True)
class ExecutorSettings:
    """Where steps execute. Holds the names of the variables carrying the Celery URLs, never their values: Dagster
    reads them through ``{"env": name}`` config, so a URL's password reaches no run config, log or metadata."""

    executor: str = "in_process"
    celery_broker_env: str | None = None  # None: DEFAULT_CELERY_BROKER
    celery_backend_env: str | None = None  # None: the broker's URL
    celery_visibility_timeout: int = DEFAULT_CELERY_VISIBILITY_TIMEOUT
    celery_worker_lost_retries: int = DEFAULT_CELERY_WORKER_LOST_RETRIES


def _celery_url(env: Mapping[str, str], name: str, schemes: tuple[str, ...], example: str) -> str | None:
    raw = (env.get(name) or "").strip()
    if not raw:
        return None
    scheme, separator, rest = raw.partition("://")
    if not separator or scheme.lower() not in schemes or (scheme.lower() != "rpc" and not rest.strip("/")):
        raise SettingsError(
            f"{name} is not a URL starting with one of {[f'{s}://' for s in schemes]} (value not shown: it may hold "
            f"a password): set e.g. {example}, or unset it for the default"
        )
    return name


def executor_settings(environ: Mapping[str, str] | None = None) -> ExecutorSettings:
    env = os.environ if environ is None else environ
    executor = (env.get(EXECUTOR) or "in_process").strip().lower().replace("-", "_")
    if executor not in EXECUTORS:
        raise SettingsError(
            f"{EXECUTOR}={executor!r} is not one of {list(EXECUTORS)}: unset it for in_process (every step in the run's "
            "process, the default), or set celery (steps on Celery workers, docs/scale-out.md) or k8s (one Kubernetes "
            "job per step)"
        )
    broker = _celery_url(env, CELERY_BROKER, CELERY_BROKER_SCHEMES, "redis://redis.internal:6379/0")
    backend = _celery_url(env, CELERY_BACKEND, CELERY_BACKEND_SCHEMES, "redis://redis.internal:6379/1")
    timeout = _whole_number(env, CELERY_VISIBILITY_TIMEOUT, 10,
                            "the seconds after which a vanished worker's step goes to another worker (longer than the "
                            f"longest step; default {DEFAULT_CELERY_VISIBILITY_TIMEOUT})")
    retries = _whole_number(env, CELERY_WORKER_LOST_RETRIES, 0,
                            "how often a step whose worker process died is sent again (default "
                            f"{DEFAULT_CELERY_WORKER_LOST_RETRIES})")
    return ExecutorSettings(
        executor=executor,
        celery_broker_env=broker,
        celery_backend_env=backend or broker,
        celery_visibility_timeout=DEFAULT_CELERY_VISIBILITY_TIMEOUT if timeout is None else timeout,
        celery_worker_lost_retries=DEFAULT_CELERY_WORKER_LOST_RETRIES if retries is None else retries,
    )


@dataclass(frozen=True)
class FreshnessSettings:
    # None: no policy on the minute KPIs (a deployment that never streams).
    minute_warn: timedelta | None = timedelta(minutes=2)
    minute_fail: timedelta | None = timedelta(minutes=5)
    daily_hour: int = 6


def _minutes(env: Mapping[str, str], name: str, default: int) -> int | None:
    raw = (env.get(name) or "").strip().lower()
    if not raw:
        return default
    if raw in _OFF:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise SettingsError(
            f"{name}={raw!r} is not a whole number of minutes >= 1 (Dagster's smallest freshness window): set one, "
            f"off for no policy, or unset it for the default {default}"
        )
    return int(raw)


def freshness_settings(environ: Mapping[str, str] | None = None) -> FreshnessSettings:
    env = os.environ if environ is None else environ
    fail = _minutes(env, FRESHNESS_MINUTE_FAIL, 5)
    warn = _minutes(env, FRESHNESS_MINUTE_WARN, 2) if fail is not None else None
    if fail is not None and warn is not None and warn >= fail:
        if (env.get(FRESHNESS_MINUTE_WARN) or "").strip():
            raise SettingsError(
                f"{FRESHNESS_MINUTE_WARN}={warn} must be below {FRESHNESS_MINUTE_FAIL}={fail}: lower it, or set it to "
                "off for no warning"
            )
        warn = None  # a fail window of 1-2 minutes leaves no room for the default warning
    raw = (env.get(FRESHNESS_DAILY_HOUR) or "6").strip()
    if not raw.isdigit() or not 1 <= int(raw) <= 23:
        raise SettingsError(
            f"{FRESHNESS_DAILY_HOUR}={raw!r} is not an hour from 1 to 23 (UTC): the daily KPIs fail freshness when "
            "not rebuilt since midnight UTC by that hour; unset it for 6"
        )
    return FreshnessSettings(
        minute_warn=timedelta(minutes=warn) if warn is not None else None,
        minute_fail=timedelta(minutes=fail) if fail is not None else None,
        daily_hour=int(raw),
    )


def silver_shard_rows(environ: Mapping[str, str] | None = None) -> int:
    """``RETAIL_SILVER_SHARD_ROWS``: rows per key-hash shard of a large Silver fact month (0: never shard)."""
    env = os.environ if environ is None else environ
    rows = _whole_number(env, SILVER_SHARD_ROWS, 0, "the Bronze rows per shard of a Silver fact month (0: never shard)")
    return DEFAULT_SILVER_SHARD_ROWS if rows is None else rows
