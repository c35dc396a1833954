"""RETAIL_EXECUTOR and the Celery settings, without a broker: which executor each value gives, what the workers'
app is configured to do, and that broker URLs (which may hold a password) reach no config, snapshot or message."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from retail_assets.lib import executors
from retail_assets.lib.liveness import watched_in_process_executor
from retail_assets.lib.settings import ExecutorSettings, SettingsError, executor_settings
from retail_assets_tests.distributed.cluster import REPO, clean_environment

SECRET = "s3cr3t-pa55"
BROKER = f"redis://:{SECRET}@redis.internal:6379/0"


def test_in_process_is_the_default_and_loads_no_distributed_library() -> None:
    probe = (
        "import sys; from retail_assets.lib import executors, liveness; "
        "print(executors.run_executor() is liveness.watched_in_process_executor, "
        "sorted(m for m in ('celery', 'dagster_celery', 'dagster_k8s', 'kubernetes') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=clean_environment(), capture_output=True,
                         text=True, timeout=120, check=True)
    assert out.stdout.split("\n")[0] == "True []", out.stdout + out.stderr[-2000:]


def test_each_setting_selects_its_executor() -> None:
    from dagster_k8s import k8s_job_executor

    assert executors.run_executor(ExecutorSettings()) is watched_in_process_executor
    assert executors.run_executor(ExecutorSettings(executor="k8s")) is k8s_job_executor
    celery = executors.run_executor(ExecutorSettings(executor="celery"))
    assert celery.name == "celery"
    assert set(dg.multiple_process_executor_requirements()) <= set(celery.get_requirements({}))


def test_celery_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in [n for n in os.environ if n.startswith("RETAIL_")]:
        monkeypatch.delenv(name)
    default = executor_settings()
    assert default == ExecutorSettings()
    assert executors.broker_url(default) == executors.backend_url(default) == "redis://127.0.0.1:6379/0"
    monkeypatch.setenv("RETAIL_EXECUTOR", "celery")
    monkeypatch.setenv("RETAIL_CELERY_BROKER", BROKER)
    monkeypatch.setenv("RETAIL_CELERY_VISIBILITY_TIMEOUT", "600")
    monkeypatch.setenv("RETAIL_CELERY_WORKER_LOST_RETRIES", "0")
    settings = executor_settings()
    assert settings == ExecutorSettings("celery", "RETAIL_CELERY_BROKER", "RETAIL_CELERY_BROKER", 600, 0)
    assert executors.backend_url(settings) == BROKER  # the backend defaults to the broker's Redis
    monkeypatch.setenv("RETAIL_CELERY_BACKEND", "redis://results.internal:6379/1")
    assert executors.backend_url(executor_settings()) == "redis://results.internal:6379/1"


@pytest.mark.parametrize(
    ("variable", "value", "named"),
    [
        ("RETAIL_EXECUTOR", "dask", ["RETAIL_EXECUTOR='dask'", "in_process", "celery", "k8s"]),
        ("RETAIL_CELERY_BROKER", f"http://user:{SECRET}@broker", ["RETAIL_CELERY_BROKER", "redis://", "not shown"]),
        ("RETAIL_CELERY_BROKER", SECRET, ["RETAIL_CELERY_BROKER", "redis://"]),
        ("RETAIL_CELERY_BACKEND", f"mongodb://u:{SECRET}@h", ["RETAIL_CELERY_BACKEND", "rpc://"]),
        ("RETAIL_CELERY_VISIBILITY_TIMEOUT", "5", ["RETAIL_CELERY_VISIBILITY_TIMEOUT='5'", ">= 10"]),
        ("RETAIL_CELERY_WORKER_LOST_RETRIES", "-1", ["RETAIL_CELERY_WORKER_LOST_RETRIES='-1'", ">= 0"]),
    ],
)
def test_a_bad_executor_setting_is_one_line_that_never_shows_a_url(variable: str, value: str, named: list[str]) -> None:
    with pytest.raises(SettingsError) as error:
        executor_settings({variable: value})
    message = str(error.value)
    assert "\n" not in message and SECRET not in message
    for text in named:
        assert text in message


def test_the_broker_password_reaches_no_config_or_snapshot_only_a_variable_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RETAIL_CELERY_BROKER", BROKER)
    settings = executor_settings({"RETAIL_EXECUTOR": "celery", "RETAIL_CELERY_BROKER": BROKER})
    config = executors.celery_executor_config(settings)
    assert config["broker"] == config["backend"] == {"env": "RETAIL_CELERY_BROKER"}
    assert SECRET not in json.dumps(config)

    @dg.asset
    def probe() -> None:
        """A stand-in asset."""

    job = dg.Definitions(assets=[probe], executor=executors.run_executor(settings)).resolve_implicit_global_asset_job_def()
    assert SECRET not in dg.serialize_value(job.get_job_snapshot())
    assert executors.redact_url(BROKER) == "redis://***@redis.internal:6379/0"
    assert executors.redact_url("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"


def test_the_workers_app_acknowledges_late_retries_lost_workers_and_loads_no_polars() -> None:
    probe = (
        "import json, sys; from retail_assets.celery_app import app, StepOfLiveRun; t = app.tasks['execute_plan']; "
        "print(json.dumps({'polars': 'polars' in sys.modules, 'guarded': isinstance(t, StepOfLiveRun), "
        "'acks_late': t.acks_late, 'reject_on_worker_lost': t.reject_on_worker_lost, "
        "'retry_on_worker_lost': t.retry_on_worker_lost, 'max_retries': t.max_retries, "
        "'prefetch': app.conf.worker_prefetch_multiplier, 'transport': app.conf.broker_transport_options, "
        "'broker': app.conf.broker_url}))"
    )
    env = clean_environment(RETAIL_EXECUTOR="celery", RETAIL_CELERY_BROKER=BROKER, RETAIL_CELERY_VISIBILITY_TIMEOUT="900",
                            RETAIL_CELERY_WORKER_LOST_RETRIES="1")
    out = subprocess.run([sys.executable, "-c", probe], cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-3000:]
    app = json.loads(out.stdout.splitlines()[-1])
    assert app["polars"] is False, "Celery forks its worker processes from this one: polars must not be loaded yet"
    assert app["guarded"] and app["acks_late"] and app["reject_on_worker_lost"] and app["retry_on_worker_lost"]
    assert app["max_retries"] == 1 and app["prefetch"] == 1
    assert app["transport"]["visibility_timeout"] == 900
    assert app["broker"] == BROKER  # the worker connects with it; Celery prints it masked (redis://:**@...)


def test_retail_assets_worker_refuses_to_start_without_the_celery_executor(tmp_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "retail_assets.cli", "worker"], cwd=REPO, capture_output=True,
                            text=True, timeout=120, env=clean_environment(RETAIL_DATA_DIR=str(tmp_path)))
    assert result.returncode == 2, result.stderr[-3000:]
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and "RETAIL_EXECUTOR=celery" in lines[0], result.stderr[-3000:]


def test_a_run_on_workers_needs_a_persistent_instance() -> None:
    from retail_assets.commands.run import _execute

    @dg.asset
    def probe() -> None:
        """A stand-in asset."""

    job = dg.Definitions(assets=[probe]).resolve_implicit_global_asset_job_def()
    month = dt.date(2024, 1, 1)
    with dg.DagsterInstance.ephemeral() as instance, pytest.raises(SettingsError, match="DAGSTER_HOME"):
        _execute(job, instance, month, month, executor="celery")


def test_a_step_of_a_run_that_already_ended_is_dropped_not_executed(tmp_path: Path) -> None:
    from dagster._grpc.types import ExecuteStepArgs  # the message dagster-celery sends; built here as it builds it
    from dagster._serdes import pack_value

    from retail_assets.celery_app import app

    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    recon = dg.build_reconstructable_job(__name__, "_probe_job")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        run = instance.create_run_for_job(_probe_job(), status=dg.DagsterRunStatus.FAILURE)
        args = ExecuteStepArgs(recon.get_python_origin(), run.run_id, ["probe"], instance.get_ref())
        result = app.tasks["execute_plan"].apply(
            kwargs={"execute_step_args_packed": pack_value(args), "executable_dict": recon.to_dict()}
        )
        assert result.successful() and result.result == []
        assert not [e for e in instance.all_logs(run.run_id) if e.dagster_event and e.dagster_event.is_step_event]


def _probe_job() -> dg.JobDefinition:
    @dg.asset
    def probe() -> None:
        raise AssertionError("a dropped step must not execute")

    return dg.Definitions(assets=[probe], jobs=[dg.define_asset_job("probe_job")]).resolve_job_def("probe_job")
