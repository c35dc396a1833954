"""Our Helm values as the Dagster chart sees them, without Helm or a cluster.

``chart_values`` merges ``deploy/helm/values.yaml`` over the chart's defaults the way Helm coalesces values.
``instance_config`` and ``container_context`` follow, line for line, the chart templates that turn values into the
instance's ``dagster.yaml`` (``templates/configmap-instance.yaml`` and ``templates/helpers/instance/*.tpl``) and into
the container context the code location hands every run (``charts/dagster-user-deployments/templates/helpers/
_helpers.tpl``, ``dagsterUserDeployments.k8sContainerContext``), for the sections our values use; a section we do not
use raises instead of being guessed. What they cannot catch: a chart template that differs from these readings.
"""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any

import yaml

REPO = Path(__file__).resolve().parents[2]
HELM = REPO / "deploy" / "helm"
CHART = HELM / "chart"
SUBCHART = "dagster-user-deployments"
# The release and namespace of docs/scale-out.md's `helm upgrade --install dagster ... --namespace retail`.
RELEASE = "dagster"
NAMESPACE = "retail"


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text())


def coalesce(defaults: Any, overrides: Any) -> Any:
    """Helm's merge of a values file over a chart's defaults: maps merge key by key, a null removes the chart's
    key, anything else (lists included) replaces it."""
    if not isinstance(defaults, dict) or not isinstance(overrides, dict):
        return copy.deepcopy(overrides)
    merged = copy.deepcopy(defaults)
    for key, value in overrides.items():
        if value is None:
            merged.pop(key, None)
        elif isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = coalesce(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def our_values() -> dict[str, Any]:
    return load_yaml(HELM / "values.yaml")


def chart_values(values: dict[str, Any] | None = None) -> dict[str, Any]:
    """The values the parent chart renders with."""
    return coalesce(load_yaml(CHART / "values.yaml"), our_values() if values is None else values)


def subchart_values(merged: dict[str, Any]) -> dict[str, Any]:
    """The values the user-deployments subchart renders with: its defaults, the parent's section for it, and the
    parent's ``global``."""
    scoped = coalesce(load_yaml(CHART / SUBCHART / "values.yaml"), merged[SUBCHART])
    scoped["global"] = coalesce(scoped.get("global", {}), merged["global"])
    return scoped


def user_deployment(merged: dict[str, Any]) -> dict[str, Any]:
    (deployment,) = merged[SUBCHART]["deployments"]
    return deployment


def _fullname(chart_name: str) -> str:
    return RELEASE if chart_name in RELEASE else f"{RELEASE}-{chart_name}"


def grpc_server_args(merged: dict[str, Any]) -> list[str]:
    """The container args of the code location (``deployment-user.yaml``, the ``dagsterApiGrpcArgs`` branch). The
    server id stands in for Helm's (``toJson | sha256sum`` of the deployment): its place matters here, not its value."""
    deployment = user_deployment(merged)
    if not deployment.get("dagsterApiGrpcArgs"):
        raise NotImplementedError("only the chart's dagsterApiGrpcArgs branch is read here")
    checksum = hashlib.sha256(json.dumps(deployment, sort_keys=True, separators=(",", ":")).encode()).hexdigest()
    return ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", str(deployment["port"]), "--fixed-server-id", checksum,
            *deployment["dagsterApiGrpcArgs"]]


def _postgres_config(merged: dict[str, Any]) -> dict[str, Any]:
    pg = merged["postgresql"]
    if pg["enabled"] or merged["global"].get("postgresqlAuthWifEnabled"):
        raise NotImplementedError("only an external PostgreSQL with a password secret is read here")
    config: dict[str, Any] = {
        "postgres_db": {
            "username": pg["postgresqlUsername"],
            "password": {"env": "DAGSTER_PG_PASSWORD"},
            "hostname": pg["postgresqlHost"],
            "db_name": pg["postgresqlDatabase"],
            "port": pg["service"]["port"],
            "params": pg["postgresqlParams"],
        }
    }
    if pg.get("postgresqlScheme"):
        config["postgres_db"]["scheme"] = pg["postgresqlScheme"]
    return config


def _service_account(merged: dict[str, Any]) -> str:
    return merged["global"].get("serviceAccountName") or merged["serviceAccount"]["name"] or _fullname("dagster")


def _k8s_run_launcher(merged: dict[str, Any]) -> dict[str, Any]:
    launcher = merged["runLauncher"]
    if launcher["type"] != "K8sRunLauncher":
        raise NotImplementedError(f"run launcher {launcher['type']} is not read here")
    k8s = launcher["config"]["k8sRunLauncher"]
    config: dict[str, Any] = {"load_incluster_config": k8s["loadInclusterConfig"]}
    if k8s.get("kubeconfigFile"):
        config["kubeconfig_file"] = k8s["kubeconfigFile"]
    config["job_namespace"] = k8s.get("jobNamespace") or NAMESPACE
    config["image_pull_policy"] = k8s["imagePullPolicy"]
    if merged["imagePullSecrets"]:
        config["image_pull_secrets"] = merged["imagePullSecrets"]
    config["service_account_name"] = _service_account(merged)
    if "image" in k8s:
        raise NotImplementedError("runLauncher image is not read here (the code location's image is used)")
    config["dagster_home"] = merged["global"]["dagsterHome"]
    config["instance_config_map"] = f"{_fullname('dagster')}-instance"
    config["postgres_password_secret"] = merged["global"]["postgresqlSecretName"]
    for value_key, config_key in (("envConfigMaps", "env_config_maps"), ("envSecrets", "env_secrets")):
        names = [item["name"] for item in k8s.get(value_key) or [] if "name" in item]
        if names:
            config[config_key] = names
    for value_key, config_key in (("envVars", "env_vars"), ("volumeMounts", "volume_mounts"), ("volumes", "volumes"),
                                  ("labels", "labels"), ("resources", "resources"),
                                  ("securityContext", "security_context")):
        if k8s.get(value_key):
            config[config_key] = k8s[value_key]
    if k8s.get("failPodOnRunFailure"):
        config["fail_pod_on_run_failure"] = True
    if k8s.get("schedulerName"):
        config["scheduler_name"] = k8s["schedulerName"]
    run_k8s = k8s.get("runK8sConfig") or {}
    keys = {"containerConfig": "container_config", "podSpecConfig": "pod_spec_config",
            "podTemplateSpecMetadata": "pod_template_spec_metadata", "jobSpecConfig": "job_spec_config",
            "jobMetadata": "job_metadata"}
    if run_k8s:
        config["run_k8s_config"] = {keys[key]: value for key, value in run_k8s.items() if value}
    return {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": config}


def _queued_run_coordinator(merged: dict[str, Any]) -> dict[str, Any]:
    coordinator = merged["dagsterDaemon"]["runCoordinator"]
    if coordinator["type"] != "QueuedRunCoordinator":
        raise NotImplementedError(f"run coordinator {coordinator['type']} is not read here")
    queued = coordinator["config"]["queuedRunCoordinator"]
    concurrency_enabled = merged["concurrency"]["enabled"]
    section: dict[str, Any] = {"module": "dagster._core.run_coordinator", "class": "QueuedRunCoordinator"}
    if not any(value not in (None, "", [], {}, False, 0) for value in queued.values()):
        return section
    config: dict[str, Any] = {}
    if not concurrency_enabled or queued.get("maxConcurrentRuns") is not None:
        max_runs = queued.get("maxConcurrentRuns")
        config["max_concurrent_runs"] = -1 if max_runs is None else max_runs
    if queued.get("tagConcurrencyLimits"):
        config["tag_concurrency_limits"] = queued["tagConcurrencyLimits"]
    for value_key, config_key in (("dequeueIntervalSeconds", "dequeue_interval_seconds"),
                                  ("dequeueUseThreads", "dequeue_use_threads"),
                                  ("dequeueNumWorkers", "dequeue_num_workers")):
        if queued.get(value_key):
            config[config_key] = queued[value_key]
    if queued.get("blockOpConcurrencyLimitedRuns"):
        raise NotImplementedError("blockOpConcurrencyLimitedRuns is not read here")
    section["config"] = config
    return section


def _concurrency(merged: dict[str, Any]) -> dict[str, Any]:
    """``_concurrency.tpl``, including the conflicts it refuses."""
    concurrency = merged["concurrency"]
    pools, runs = concurrency["pools"], concurrency["runs"]
    queued = merged["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]
    if runs.get("maxConcurrentRuns") is not None and queued.get("maxConcurrentRuns") is not None:
        raise ValueError("Cannot set both concurrency.runs.maxConcurrentRuns and queuedRunCoordinator.maxConcurrentRuns")
    if runs.get("tagConcurrencyLimits") and queued.get("tagConcurrencyLimits"):
        raise ValueError("Cannot set both concurrency.runs.tagConcurrencyLimits and queuedRunCoordinator's")
    section: dict[str, Any] = {}
    rendered_pools = {
        config_key: pools[value_key]
        for value_key, config_key in (("defaultLimit", "default_limit"), ("granularity", "granularity"),
                                      ("opGranularityRunBuffer", "op_granularity_run_buffer"))
        if pools.get(value_key) is not None
    }
    if rendered_pools:
        section["pools"] = rendered_pools
    rendered_runs: dict[str, Any] = {}
    if runs.get("maxConcurrentRuns") is not None:
        rendered_runs["max_concurrent_runs"] = runs["maxConcurrentRuns"]
    if runs.get("tagConcurrencyLimits"):
        rendered_runs["tag_concurrency_limits"] = [
            {"key": limit["key"], **({"value": limit["value"]} if limit.get("value") else {}), "limit": limit["limit"]}
            for limit in runs["tagConcurrencyLimits"]
        ]
    if rendered_runs:
        section["runs"] = rendered_runs
    return section


def instance_config(merged: dict[str, Any]) -> dict[str, Any]:
    """The ``dagster.yaml`` of the chart's instance ConfigMap, which the daemon, the webserver and every run and step
    pod load."""
    daemon = merged["dagsterDaemon"]
    if merged["scheduler"]["type"] != "DagsterDaemonScheduler" or merged["scheduler"]["config"]:
        raise NotImplementedError("only the default daemon scheduler is read here")
    if merged["computeLogManager"]["type"] != "NoOpComputeLogManager" or merged["pythonLogs"]:
        raise NotImplementedError("only the default compute log manager and python logs are read here")
    storage = _postgres_config(merged)
    config: dict[str, Any] = {
        "scheduler": {"module": "dagster._core.scheduler", "class": "DagsterDaemonScheduler"},
        "schedule_storage": {"module": "dagster_postgres.schedule_storage", "class": "PostgresScheduleStorage",
                             "config": storage},
        "run_launcher": _k8s_run_launcher(merged),
        "run_storage": {"module": "dagster_postgres.run_storage", "class": "PostgresRunStorage", "config": storage},
        "event_log_storage": {"module": "dagster_postgres.event_log", "class": "PostgresEventLogStorage",
                              "config": storage},
        "compute_logs": {"module": "dagster._core.storage.noop_compute_log_manager", "class": "NoOpComputeLogManager"},
    }
    if not daemon["enabled"]:
        raise NotImplementedError("a chart without the daemon is not read here")
    if daemon["runCoordinator"]["enabled"]:
        config["run_coordinator"] = _queued_run_coordinator(merged)
    monitoring = daemon["runMonitoring"]
    if monitoring.get("enabled"):
        config["run_monitoring"] = {"enabled": True, "start_timeout_seconds": monitoring["startTimeoutSeconds"]}
        for value_key, config_key in (("cancelTimeoutSeconds", "cancel_timeout_seconds"),
                                      ("maxRuntimeSeconds", "max_runtime_seconds"),
                                      ("maxResumeRunAttempts", "max_resume_run_attempts")):
            if monitoring.get(value_key) is not None:
                config["run_monitoring"][config_key] = monitoring[value_key]
        config["run_monitoring"]["poll_interval_seconds"] = monitoring["pollIntervalSeconds"]
        config["run_monitoring"]["free_slots_after_run_end_seconds"] = monitoring["freeSlotsAfterRunEndSeconds"]
    retries = daemon["runRetries"]
    if retries.get("enabled"):
        config["run_retries"] = {"enabled": True}
        if retries.get("maxRetries"):
            config["run_retries"]["max_retries"] = retries["maxRetries"]
        if "retryOnAssetOrOpFailure" in retries:
            config["run_retries"]["retry_on_asset_or_op_failure"] = retries["retryOnAssetOrOpFailure"]
    for name in ("sensors", "schedules", "backfills"):
        section = daemon.get(name)
        if section and section.get("useThreads"):
            config[name] = {"use_threads": True}
            for value_key, config_key in (("numWorkers", "num_workers"), ("numSubmitWorkers", "num_submit_workers")):
                if section.get(value_key):
                    config[name][config_key] = section[value_key]
    config["telemetry"] = {"enabled": merged["telemetry"]["enabled"]}
    if merged["retention"]["enabled"]:
        raise NotImplementedError("retention is not read here")
    if merged["concurrency"]["enabled"]:
        config["concurrency"] = _concurrency(merged)
    config.update(merged.get("additionalInstanceConfig") or {})
    return config


def container_context(merged: dict[str, Any]) -> dict[str, Any]:
    """What the code location passes every run it launches (``includeConfigInLaunchedRuns``): the env, secrets,
    volumes, labels and pod settings of the user deployment."""
    subchart = subchart_values(merged)
    deployment = user_deployment(merged)
    if not deployment.get("includeConfigInLaunchedRuns", {"enabled": True})["enabled"]:
        return {}
    fullname = _fullname(SUBCHART)
    k8s: dict[str, Any] = {"image_pull_policy": deployment["image"]["pullPolicy"]}
    if subchart["imagePullSecrets"]:
        k8s["image_pull_secrets"] = subchart["imagePullSecrets"]
    k8s["env_config_maps"] = [f"{fullname}-{deployment['name']}-user-env"] + [
        item["name"] for item in deployment.get("envConfigMaps") or [] if "name" in item
    ]
    if deployment.get("envSecrets"):
        k8s["env_secrets"] = [item["name"] for item in deployment["envSecrets"] if "name" in item]
    for value_key, config_key in (("volumeMounts", "volume_mounts"), ("volumes", "volumes"), ("labels", "labels"),
                                  ("resources", "resources"), ("schedulerName", "scheduler_name")):
        if deployment.get(value_key):
            k8s[config_key] = deployment[value_key]
    k8s["namespace"] = deployment.get("deploymentNamespace") or NAMESPACE
    k8s["service_account_name"] = (
        subchart["global"].get("serviceAccountName") or subchart["serviceAccount"].get("name")
        or f"{fullname}-user-deployments"
    )
    if isinstance(deployment.get("env"), list) and deployment["env"]:
        k8s["env"] = deployment["env"]
    pod_spec: dict[str, Any] = {"automount_service_account_token": True}
    for value_key, config_key in (("nodeSelector", "node_selector"), ("tolerations", "tolerations"),
                                  ("podSecurityContext", "security_context"), ("sidecarContainers", "containers")):
        if deployment.get(value_key):
            pod_spec[config_key] = deployment[value_key]
    if deployment.get("initContainers"):
        raise NotImplementedError("initContainers are not read here")
    k8s["run_k8s_config"] = {"pod_spec_config": pod_spec}
    if deployment.get("annotations"):
        k8s["run_k8s_config"]["pod_template_spec_metadata"] = {"annotations": deployment["annotations"]}
    return {"k8s": k8s}
