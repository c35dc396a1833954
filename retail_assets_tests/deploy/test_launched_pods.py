"""What the values make Dagster do, loaded by Dagster itself without a cluster.

- The instance (dagster.yaml) the chart renders from the values loads, with the K8sRunLauncher, the run queue, the
  pools and run monitoring as our local dagster.yaml has them.
- The container context the code location passes to every run builds the run pod's Kubernetes Job (dagster-k8s's
  own code, strict Kubernetes models), with our secrets, volume, node pool, identity label and user.
- The same settings are valid configuration of dagster_k8s.k8s_job_executor, which RETAIL_EXECUTOR=k8s selects.

Not exercised: the in-cluster credentials (the launcher is pointed at a stand-in kubeconfig), PostgreSQL storage
(replaced by SQLite here; deploy/dagster.yaml's tests cover it) and anything a Kubernetes API server would decide.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import dagster as dg
import kubernetes
import pytest
import yaml
from dagster_k8s import K8sRunLauncher, construct_dagster_k8s_job, k8s_job_executor
from dagster_k8s.container_context import K8sContainerContext

from retail_assets_tests.deploy import chart

IMAGE = "retailassets.azurecr.io/retail-assets:0123abc"
KUBECONFIG = {
    "apiVersion": "v1",
    "kind": "Config",
    "clusters": [{"name": "stand-in", "cluster": {"server": "https://127.0.0.1:1"}}],
    "users": [{"name": "stand-in", "user": {"token": "not-a-token"}}],
    "contexts": [{"name": "stand-in", "context": {"cluster": "stand-in", "user": "stand-in"}}],
    "current-context": "stand-in",
}


def _sqlite(tmp: Path) -> dict[str, Any]:
    return {"storage": {"sqlite": {"base_dir": str(tmp / "storage")}},
            "local_artifact_storage": {"module": "dagster._core.storage.root", "class": "LocalArtifactStorage",
                                       "config": {"base_dir": str(tmp)}}}


def _load(home: Path, config: dict[str, Any]) -> dg.DagsterInstance:
    home.mkdir(parents=True)
    home.joinpath("dagster.yaml").write_text(yaml.safe_dump(config))
    return dg.DagsterInstance.from_config(str(home))


@pytest.fixture
def cluster_instance(tmp_path: Path) -> dg.DagsterInstance:
    """The chart's instance, storage swapped for SQLite and in-cluster credentials for a stand-in kubeconfig."""
    config = chart.instance_config(chart.chart_values())
    for storage in ("run_storage", "event_log_storage", "schedule_storage"):
        assert config.pop(storage)["module"].startswith("dagster_postgres")
    launcher = config["run_launcher"]["config"]
    assert launcher.pop("load_incluster_config") is True
    kubeconfig = tmp_path / "kubeconfig"
    kubeconfig.write_text(yaml.safe_dump(KUBECONFIG))
    launcher.update(load_incluster_config=False, kubeconfig_file=str(kubeconfig))
    instance = _load(tmp_path / "cluster", {**config, **_sqlite(tmp_path / "cluster")})
    yield instance
    instance.dispose()


@pytest.fixture
def local_instance(tmp_path: Path) -> dg.DagsterInstance:
    """The repository's dagster.yaml, its storage moved to a temporary directory."""
    config = yaml.safe_load((chart.REPO / "dagster.yaml").read_text())
    for key in ("storage", "local_artifact_storage", "compute_logs"):
        config.pop(key, None)
    instance = _load(tmp_path / "local", {**config, **_sqlite(tmp_path / "local")})
    yield instance
    instance.dispose()


def test_the_charts_instance_loads_with_the_kubernetes_run_launcher(cluster_instance: dg.DagsterInstance) -> None:
    """Fails when the launcher config the values produce is refused by dagster-k8s (an unknown or mistyped field),
    or the instance's config schema refuses a section (run monitoring, concurrency, sensors)."""
    launcher = cluster_instance.run_launcher
    assert isinstance(launcher, K8sRunLauncher)
    assert launcher.job_namespace == chart.NAMESPACE
    assert launcher.instance_config_map == "dagster-instance"
    assert launcher.postgres_password_secret == "dagster-postgresql"
    assert launcher.image_pull_policy == "IfNotPresent"
    assert launcher.security_context == {"allowPrivilegeEscalation": False, "capabilities": {"drop": ["ALL"]}}
    assert cluster_instance.run_monitoring_enabled
    assert cluster_instance.telemetry_enabled is False


def test_run_queue_pools_and_run_monitoring_are_those_of_our_dagster_yaml(
    cluster_instance: dg.DagsterInstance, local_instance: dg.DagsterInstance
) -> None:
    """Fails when a limit is changed in dagster.yaml and not in the values (or the other way round): the cluster
    would then let two DuckDB writers or two Bronze event writers run at once, or starve the streaming hot path."""
    cluster, local = cluster_instance.get_concurrency_config(), local_instance.get_concurrency_config()
    assert cluster.pool_config.default_pool_limit == local.pool_config.default_pool_limit == 1
    assert cluster.pool_config.pool_granularity == local.pool_config.pool_granularity
    for field in ("max_concurrent_runs", "tag_concurrency_limits"):
        assert getattr(cluster.run_queue_config, field) == getattr(local.run_queue_config, field), field
    assert cluster.run_queue_config.max_concurrent_runs == 2
    assert (cluster_instance.run_coordinator.dequeue_interval_seconds
            == local_instance.run_coordinator.dequeue_interval_seconds == 1)
    for setting in ("enabled", "cancel_timeout_seconds", "max_resume_run_attempts", "poll_interval_seconds",
                    "free_slots_after_run_end_seconds"):
        assert (cluster_instance.get_settings("run_monitoring")[setting]
                == local_instance.get_settings("run_monitoring")[setting]), setting
    # The one deliberate difference: a run pod on a fresh node pulls the image first (values.yaml says so).
    assert cluster_instance.run_monitoring_start_timeout_seconds == 300
    assert local_instance.run_monitoring_start_timeout_seconds == 180
    assert cluster_instance.get_settings("sensors") == local_instance.get_settings("sensors")


def _run_pod_job(instance: dg.DagsterInstance, context_config: dict[str, Any]) -> dict[str, Any]:
    """The Job the K8sRunLauncher submits for a run of this code location, built as K8sRunLauncher does
    (K8sContainerContext.create_for_run merges the launcher's settings with the code location's context)."""
    launcher = instance.run_launcher
    from_launcher = K8sContainerContext(
        image_pull_policy=launcher.image_pull_policy,
        image_pull_secrets=launcher.image_pull_secrets,
        service_account_name=launcher.service_account_name,
        env_config_maps=launcher.env_config_maps,
        env_secrets=launcher.env_secrets,
        env_vars=launcher.env_vars,
        volume_mounts=launcher.volume_mounts,
        volumes=launcher.volumes,
        labels=launcher.labels,
        namespace=launcher.job_namespace,
        resources=launcher.resources,
        scheduler_name=launcher.scheduler_name,
        security_context=launcher.security_context,
    )
    context = from_launcher.merge(K8sContainerContext.create_from_config(context_config))
    job = construct_dagster_k8s_job(
        job_config=context.get_k8s_job_config(job_image=IMAGE, run_launcher=launcher),
        args=["dagster", "api", "execute_run", "{}"],
        job_name="dagster-run-0123",
        pod_name="dagster-run-0123",
        component="run_worker",
        user_defined_k8s_config=context.run_k8s_config,
        labels={"dagster/job": "retail_lakehouse"},
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def test_a_run_pod_gets_our_settings_secrets_volume_node_pool_and_identity(
    cluster_instance: dg.DagsterInstance,
) -> None:
    """Fails when an env entry, volume or security setting is not a valid Kubernetes object (dagster-k8s builds them
    with the Kubernetes client's models and refuses unknown keys), or when a run pod would miss something the code
    location has: a setting, a secret reference, the serving disk, the node pool or the workload identity label."""
    merged = chart.chart_values()
    job = _run_pod_job(cluster_instance, chart.container_context(merged))
    pod = job["spec"]["template"]
    (container,) = pod["spec"]["containers"]
    assert container["image"] == IMAGE
    env = {entry["name"]: entry for entry in container["env"]}
    for entry in chart.user_deployment(merged)["env"]:
        assert env[entry["name"]] == entry, entry["name"]
    assert env["DAGSTER_PG_PASSWORD"]["valueFrom"]["secretKeyRef"] == {"name": "dagster-postgresql",
                                                                      "key": "postgresql-password"}
    assert {"name": "serving", "mountPath": "/var/lib/retail"} in container["volumeMounts"]
    assert {"name": "serving", "persistentVolumeClaim": {"claimName": "retail-serving"}} in pod["spec"]["volumes"]
    assert pod["spec"]["nodeSelector"] == {"agentpool": "retail"}
    assert pod["metadata"]["labels"]["azure.workload.identity/use"] == "true"
    assert pod["spec"]["serviceAccountName"] == "retail-assets"
    assert pod["spec"]["securityContext"]["runAsUser"] == 10001
    assert pod["spec"]["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert container["resources"]["requests"]["memory"] == "2Gi"


def test_a_misspelt_kubernetes_field_is_refused(cluster_instance: dg.DagsterInstance) -> None:
    """The check above can fail: an env entry with a misspelt key does not build."""
    context = chart.container_context(chart.chart_values())
    broken = copy.deepcopy(context)
    broken["k8s"]["env"][3]["valueFrom"] = {"configMapKeyRefs": {"name": "retail-settings", "key": "X"}}
    with pytest.raises(Exception, match="configMapKeyRefs|configmap_key_refs"):
        _run_pod_job(cluster_instance, broken)


def test_the_same_settings_are_valid_k8s_job_executor_config() -> None:
    """RETAIL_EXECUTOR=k8s runs every step in a pod through dagster_k8s.k8s_job_executor, which takes the run's
    container context plus its own config of the same shape. Fails when these fields would be refused there (e.g.
    per-step pinning of the serving steps to the disk's node, docs/scale-out.md)."""
    context = chart.container_context(chart.chart_values())["k8s"]
    step = {
        "job_namespace": context["namespace"],
        "service_account_name": context["service_account_name"],
        "env_config_maps": context["env_config_maps"],
        "volumes": context["volumes"],
        "volume_mounts": context["volume_mounts"],
        "labels": context["labels"],
        "resources": context["resources"],
        "step_k8s_config": {"pod_spec_config": context["run_k8s_config"]["pod_spec_config"]},
        "per_step_k8s_config": {
            "serving__daily_sales_by_channel": {"pod_spec_config": {"node_selector": {"agentpool": "retail"}}},
        },
    }

    @dg.op
    def step_op() -> None: ...

    @dg.job(executor_def=k8s_job_executor)
    def one_step() -> None:
        step_op()

    assert dg.validate_run_config(one_step, {"execution": {"config": step}})
    with pytest.raises(dg.DagsterInvalidConfigError):
        dg.validate_run_config(one_step, {"execution": {"config": {**step, "volume_mount": []}}})
