"""Resources for the environment chosen in ``lib/settings.py``; assets never branch on the environment."""

from __future__ import annotations

import os

import dagster as dg
from dagster_deltalake import AzureConfig, LocalConfig
from dagster_deltalake.config import ClientConfig
from dagster_duckdb import DuckDBResource

from retail_assets.lib import settings as s
from retail_assets.lib.gold.delivery import AlertSink
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.landing import LandingZone
from retail_assets.lib.streaming.capture import CaptureFiles
from retail_assets.lib.streaming.eventhubs import EventHubs


def _env(name: str, settings: s.Settings) -> dg.EnvVar | None:
    return dg.EnvVar(name) if name in settings.present else None


def streaming_resources(settings: s.Settings) -> dict[str, dg.ConfigurableResource]:
    """Event Hubs and Capture, when configured; connection strings only through ``dg.EnvVar``."""
    found: dict[str, dg.ConfigurableResource] = {}
    if settings.eventhubs_enabled:
        found["eventhubs"] = EventHubs(
            connection_string=dg.EnvVar(s.EVENTHUB_CONNECTION_STRING),
            eventhub_name=dg.EnvVar(s.EVENTHUB_NAME),
            consumer_group=os.environ.get(s.EVENTHUB_CONSUMER_GROUP, "$Default"),
            checkpoint_connection_string=dg.EnvVar(s.CHECKPOINT_CONNECTION_STRING),
            checkpoint_container=os.environ.get(s.CHECKPOINT_CONTAINER, "eventhub-checkpoints"),
        )
    if settings.capture_enabled:
        found["capture"] = CaptureFiles(
            root_uri=dg.EnvVar(s.CAPTURE_URI),
            account_name=_env(s.ACCOUNT_NAME, settings),
            account_key=_env(s.ACCOUNT_KEY, settings),
            endpoint=_env(s.ENDPOINT, settings),
        )
    return found


def serving_resources(settings: s.Settings) -> dict[str, dg.ConfigurableResource]:
    """The DuckDB serving file (local in every environment) and the alert sink."""
    return {
        "duckdb": DuckDBResource(database=str(settings.duckdb_path)),
        "alert_sink": AlertSink(webhook_url=_env(s.ALERTS_WEBHOOK_URL, settings)),
    }


def build_resources(settings: s.Settings) -> dict[str, dg.ConfigurableResource]:
    return {**_storage_resources(settings), **streaming_resources(settings)}


def _storage_resources(settings: s.Settings) -> dict[str, dg.ConfigurableResource]:
    if settings.environment is s.Environment.LOCAL:
        return {
            "lake": LakeStore(root_uri=str(settings.lake_dir), storage=LocalConfig()),
            "landing": LandingZone(root_uri=str(settings.landing_dir)),
            **serving_resources(settings),
        }
    service_principal = {s.CLIENT_ID, s.CLIENT_SECRET, s.TENANT_ID} <= settings.present
    storage = AzureConfig(
        account_name=dg.EnvVar(s.ACCOUNT_NAME),
        account_key=_env(s.ACCOUNT_KEY, settings),
        sas_key=_env(s.SAS_TOKEN, settings),
        client_id=dg.EnvVar(s.CLIENT_ID) if service_principal else None,
        client_secret=dg.EnvVar(s.CLIENT_SECRET) if service_principal else None,
        tenant_id=dg.EnvVar(s.TENANT_ID) if service_principal else None,
    )
    endpoint = _env(s.ENDPOINT, settings)
    return {
        "lake": LakeStore(
            root_uri=dg.EnvVar(s.LAKE_URI),
            storage=storage,
            # Emulators and private endpoints may speak plain HTTP; real Azure endpoints are HTTPS.
            client=ClientConfig(allow_http=True) if endpoint is not None else None,
            endpoint=endpoint,
        ),
        "landing": LandingZone(
            root_uri=dg.EnvVar(s.LANDING_URI),
            account_name=dg.EnvVar(s.ACCOUNT_NAME),
            account_key=_env(s.ACCOUNT_KEY, settings),
            sas_token=_env(s.SAS_TOKEN, settings),
            endpoint=endpoint,
        ),
        **serving_resources(settings),
    }


@dg.definitions
def resources() -> dg.Definitions:
    return dg.Definitions(resources=build_resources(s.Settings.from_env()))
