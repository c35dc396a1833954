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

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        raw = env.get(ENV, Environment.LOCAL.value).strip().lower()
        try:
            environment = Environment(raw)
        except ValueError:
            raise SettingsError(f"{ENV}={raw!r} is not one of {[e.value for e in Environment]}") from None
        data_dir = Path(env.get(DATA_DIR) or "data").expanduser().resolve()
        present = frozenset(k for k in (LAKE_URI, LANDING_URI, ACCOUNT_NAME, ACCOUNT_KEY, SAS_TOKEN, ENDPOINT,
                                        CLIENT_ID, CLIENT_SECRET, TENANT_ID, EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME,
                                        EVENTHUB_CONSUMER_GROUP, CHECKPOINT_CONNECTION_STRING, CHECKPOINT_CONTAINER,
                                        CAPTURE_URI, ALERTS_WEBHOOK_URL) if env.get(k))
        switch = env.get(GENERATOR, "on").strip().lower()
        if switch not in _ON + _OFF:
            raise SettingsError(f"{GENERATOR}={switch!r} is not on or off")
        mode = env.get(STREAM_MODE, "worker").strip().lower()
        if mode not in STREAM_MODES:
            raise SettingsError(f"{STREAM_MODE}={mode!r} is not one of {list(STREAM_MODES)}")
        settings = cls(
            environment=environment,
            data_dir=data_dir,
            present=present,
            generator_enabled=switch in _ON,
            generator_profile=(env.get(PROFILE) or "").strip().lower() or None,
            stream_mode=mode,
        )
        hub = {EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME, CHECKPOINT_CONNECTION_STRING} & present
        if hub and len(hub) < 3:
            missing = sorted({EVENTHUB_CONNECTION_STRING, EVENTHUB_NAME, CHECKPOINT_CONNECTION_STRING} - present)
            raise SettingsError(f"Event Hubs ingestion needs these environment variables too: {missing}")
        if environment is Environment.AZURE:
            missing = [k for k in (LAKE_URI, LANDING_URI, ACCOUNT_NAME) if k not in present]
            if missing:
                raise SettingsError(f"{ENV}=azure needs these environment variables: {missing}")
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
