"""deploy/helm/values.yaml: valid for the Dagster chart, and naming exactly the settings our code reads.

Helm validates the merged values against the chart's values.schema.json before it renders anything; these tests do
the same with the vendored schemas (deploy/helm/chart/SOURCE.md), offline. The schemas' Kubernetes objects (env
entries, volumes, security contexts) point at remote definitions, which are not fetched: test_launched_pods.py checks
those objects through dagster-k8s's own Kubernetes models instead.
"""

from __future__ import annotations

import copy
import json
import re
import tomllib
from typing import Any

import jsonschema
import pytest
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from retail_assets.lib import settings as s
from retail_assets_tests.deploy import chart

# Our settings that are secrets: only ever read from a Kubernetes Secret, never written as a value.
SECRETS = {s.ACCOUNT_KEY, s.SAS_TOKEN, s.CLIENT_SECRET, s.EVENTHUB_CONNECTION_STRING, s.CHECKPOINT_CONNECTION_STRING,
           s.ALERTS_WEBHOOK_URL, s.FAILURE_WEBHOOK_URL, s.SLACK_BOT_TOKEN, s.TEAMS_WEBHOOK_URL}
# The ADLS Gen2 and Event Hubs settings lib/settings.py reads, and those the values leave out on purpose.
AZURE_SETTINGS = {s.LAKE_URI, s.LANDING_URI, s.ACCOUNT_NAME, s.ACCOUNT_KEY, s.SAS_TOKEN, s.ENDPOINT, s.CLIENT_ID,
                  s.CLIENT_SECRET, s.TENANT_ID, s.EVENTHUB_CONNECTION_STRING, s.EVENTHUB_NAME,
                  s.EVENTHUB_CONSUMER_GROUP, s.CHECKPOINT_CONNECTION_STRING, s.CHECKPOINT_CONTAINER, s.CAPTURE_URI}
LEFT_OUT = {
    s.ENDPOINT: "emulators and proxies only; AKS reaches the storage account's own endpoints",
    s.CLIENT_ID: "injected by AKS's workload identity webhook",
    s.TENANT_ID: "injected by AKS's workload identity webhook",
    s.CLIENT_SECRET: "a service principal's secret: workload identity replaces it",
}


def _remote_kubernetes_definitions(schema: dict[str, Any]) -> Registry:
    """A stand-in for each remote Kubernetes definition the schema points at: any object. Without it validation
    stops at the first remote $ref (no network here)."""
    documents: dict[str, dict[str, Any]] = {}

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            ref = node.get("$ref", "")
            if ref.startswith("http"):
                uri, _, pointer = ref.partition("#")
                target = documents.setdefault(uri, {})
                for part in pointer.strip("/").split("/"):
                    target = target.setdefault(part, {})
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return Registry().with_resources((uri, DRAFT202012.create_resource(document)) for uri, document in documents.items())


def _errors(values: dict[str, Any], schema_path) -> list[str]:
    schema = json.loads(schema_path.read_text())
    validator_class = jsonschema.validators.validator_for(schema, default=jsonschema.Draft202012Validator)
    validator = validator_class(schema, registry=_remote_kubernetes_definitions(schema))
    return sorted(
        f"{'/'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}" for error in validator.iter_errors(values)
    )


def test_the_merged_values_validate_against_the_charts_schemas() -> None:
    """Fails on a key the chart does not know where the chart's schema is strict (dagsterDaemon, concurrency,
    runLauncher, webserver, ...), a wrong type, or a required key removed (a deployment without `port`)."""
    merged = chart.chart_values()
    assert _errors(merged, chart.CHART / "values.schema.json") == []
    assert _errors(chart.subchart_values(merged), chart.CHART / chart.SUBCHART / "values.schema.json") == []


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("concurrency", "runs", "maxConcurrentRun"), 2),  # a typo in a strict section
        (("dagsterDaemon", "runMonitoring"), "on"),  # a wrong type
        (("runLauncher", "config", "k8sRunLauncher", "loadInclusterConfig"), "yes"),
    ],
)
def test_the_schema_check_is_live(path: tuple[str, ...], value: Any) -> None:
    """The validation above can fail: the same values with one mistake do not pass."""
    broken = copy.deepcopy(chart.our_values())
    node = broken
    for key in path[:-1]:
        node = node.setdefault(key, {})
    node[path[-1]] = value
    assert _errors(chart.chart_values(broken), chart.CHART / "values.schema.json")


def _env(merged: dict[str, Any]) -> list[dict[str, Any]]:
    return chart.user_deployment(merged)["env"]


def _named_env(merged: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every environment variable the values set, in any pod."""
    found = {entry["name"]: entry for entry in _env(merged)}
    for section in (merged["dagsterDaemon"], merged["dagsterWebserver"]):
        env = section.get("env") or []
        found.update({entry["name"]: entry for entry in env} if isinstance(env, list) else
                     {name: {"name": name, "value": value} for name, value in env.items()})
    for item in merged["runLauncher"]["config"]["k8sRunLauncher"].get("envVars") or []:
        found[item.split("=", 1)[0]] = {"name": item.split("=", 1)[0]}
    return found


def _settings_names() -> set[str]:
    return {value for name, value in vars(s).items()
            if name.isupper() and isinstance(value, str) and re.fullmatch(r"(RETAIL|AZURE)_[A-Z0-9_]+", value)}


def test_every_retail_and_azure_variable_in_the_values_is_a_setting_our_code_reads() -> None:
    """Fails when a setting is renamed in lib/settings.py (or misspelt here): the pods would set a variable nobody
    reads, and the setting would silently fall back to its default."""
    ours = {name for name in _named_env(chart.chart_values()) if name.startswith(("RETAIL_", "AZURE_"))}
    assert ours <= _settings_names(), sorted(ours - _settings_names())


def test_every_adls_and_event_hubs_setting_is_provided_or_left_out_for_a_reason() -> None:
    """Fails when lib/settings.py gains an Azure setting the values neither provide nor explain."""
    ours = set(_named_env(chart.chart_values()))
    assert AZURE_SETTINGS <= _settings_names()
    assert AZURE_SETTINGS - ours == set(LEFT_OUT), sorted(AZURE_SETTINGS - ours)
    assert not set(LEFT_OUT) & ours


def test_secrets_come_from_secrets_and_no_value_is_written_in_the_file() -> None:
    """Fails on a literal value for anything but the three fixed switches, and on a secret read from a ConfigMap."""
    literal = {"RETAIL_ENV": "azure", "RETAIL_EXECUTOR": "k8s", "RETAIL_DATA_DIR": "/var/lib/retail"}
    for name, entry in _named_env(chart.chart_values()).items():
        if "value" in entry:
            assert literal.get(name) == entry["value"], f"{name} is written into the values file"
            continue
        source = entry["valueFrom"]
        kind = "secretKeyRef" if name in SECRETS else "configMapKeyRef"
        assert set(source) == {kind}, f"{name} must come from a {kind}, not {sorted(source)}"
        assert source[kind]["key"] == name, f"{name} is read from key {source[kind]['key']}"
    merged = chart.chart_values()
    assert merged["generatePostgresqlPasswordSecret"] is False
    assert "postgresqlPassword" not in chart.our_values()["postgresql"]


def _environment_from_values(optional_present: bool) -> dict[str, str]:
    """What a pod's environment holds: literal values as written, references filled with plausible stand-ins
    (optional ones only when ``optional_present``)."""
    env: dict[str, str] = {}
    for entry in _env(chart.chart_values()):
        name = entry["name"]
        if "value" in entry:
            env[name] = entry["value"]
            continue
        (reference,) = entry["valueFrom"].values()
        if reference.get("optional") and not optional_present:
            continue
        if name.endswith("_URL"):
            env[name] = "https://alerts.example.invalid/hook"
        elif name.endswith("_URI"):
            env[name] = "abfss://lake@retailaccount.dfs.core.windows.net/retail"
        elif name.endswith("CONNECTION_STRING"):
            env[name] = "Endpoint=sb://ns.servicebus.windows.net/;SharedAccessKeyName=k;SharedAccessKey=v"
        else:
            env[name] = "stand-in"
    return env


@pytest.mark.parametrize("optional_present", [False, True], ids=["required-only", "every-optional-set"])
def test_the_pods_environment_is_a_valid_azure_configuration(optional_present: bool) -> None:
    """Our own up-front settings check (the one every command and the code location run) accepts what the values
    give the pods, with only the required references filled (workload identity, no Event Hubs) and with all of
    them. Fails when a required Azure setting is missing, or the Event Hubs trio is split between optional and not."""
    settings = s.validate_environment(_environment_from_values(optional_present))
    assert settings.environment is s.Environment.AZURE
    assert str(settings.duckdb_path) == "/var/lib/retail/retail.duckdb"
    assert settings.eventhubs_enabled is optional_present


def test_the_chart_version_in_the_docs_is_our_locked_dagster_version() -> None:
    """The chart's webserver and daemon images are the chart's Dagster release; ours comes from uv.lock. Fails when
    one is bumped without the other (a daemon and a code location of different versions)."""
    lock = tomllib.loads((chart.REPO / "uv.lock").read_text())
    (dagster,) = [package["version"] for package in lock["package"] if package["name"] == "dagster"]
    docs = (chart.REPO / "docs" / "scale-out.md").read_text()
    versions = set(re.findall(r"helm upgrade --install dagster dagster/dagster[^\n]*?--version (\S+)", docs))
    assert versions == {dagster}
