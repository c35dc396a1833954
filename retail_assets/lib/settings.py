"""Where the platform runs: one place decides local vs Azure, from environment variables.

Local (the default) needs nothing: the lake, landing zone and DuckDB file live under
``RETAIL_DATA_DIR`` (``./data``). The synthetic data generator is on unless ``RETAIL_GENERATOR=off``
(for users who land their own data); ``RETAIL_PROFILE`` picks its size (tiny, demo, reference).
Streaming reads landing event files by default; Event Hubs (``RETAIL_EVENTHUB_*``, checkpoints in
``RETAIL_CHECKPOINT_*``) and Capture files (``RETAIL_CAPTURE_URI``) are added when set. Azure is selected with ``RETAIL_ENV=azure`` plus the URIs and
credentials below. Secrets are only ever read from the environment, through ``dagster.EnvVar``,
so they never appear in run config, logs or metadata.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
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
# Optional URL the alert sensor POSTs new business alerts to (it may embed a token: treated as a secret).
ALERTS_WEBHOOK_URL = "RETAIL_ALERTS_WEBHOOK_URL"
# Lake maintenance (defs/maintenance.py): when the daily job runs (cron, UTC) and how long vacuum keeps files that
# no current version needs (hours; time travel to older versions is gone after that).
MAINTENANCE_CRON = "RETAIL_MAINTENANCE_CRON"
DEFAULT_MAINTENANCE_CRON = "0 3 * * *"
VACUUM_RETENTION_HOURS = "RETAIL_VACUUM_RETENTION_HOURS"
DEFAULT_VACUUM_RETENTION_HOURS = 168


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
    try:
        load_config(settings.generator_profile, environ=environ)
        AlertThresholds.from_env(environ)
    except (GeneratorConfigError, AlertConfigError) as exc:
        raise SettingsError(str(exc)) from exc
    return settings
