"""deploy/Dockerfile, checked without a Docker engine.

The fast tests read the Dockerfile and .dockerignore against what the chart runs. The slow one does what the
image does, minus the container: a clean copy of the committed tree (``git archive HEAD``), installed with the
Dockerfile's own ``uv sync`` commands and ENV, then the Dockerfile's CMD started from an empty working directory with
the image's environment, until the chart's readiness probe passes and a public client lists our code location.
"""

from __future__ import annotations

import fnmatch
import io
import json
import os
import shlex
import shutil
import socket
import subprocess
import tarfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from retail_assets_tests.deploy import chart

DOCKERFILE = chart.REPO / "deploy" / "Dockerfile"


@dataclass
class Stage:
    base: str
    instructions: list[tuple[str, str]] = field(default_factory=list)

    def all(self, name: str) -> list[str]:
        return [argument for instruction, argument in self.instructions if instruction == name]

    def env(self, start: dict[str, str]) -> dict[str, str]:
        """The stage's ENV instructions applied to ``start`` (``$VAR`` expanded as Docker does)."""
        env = dict(start)
        for argument in self.all("ENV"):
            for pair in shlex.split(argument):
                key, _, value = pair.partition("=")
                for name, current in env.items():
                    value = value.replace(f"${{{name}}}", current).replace(f"${name}", current)
                env[key] = value
        return env


def parse_dockerfile(path: Path) -> list[Stage]:
    """The Dockerfile's stages and instructions, continuation lines joined, comments dropped."""
    stages: list[Stage] = []
    logical = ""
    for line in path.read_text().splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            logical += stripped[:-1].strip() + " "
            continue
        logical += stripped
        instruction, _, argument = logical.partition(" ")
        instruction, logical = instruction.upper(), ""
        if instruction == "FROM":
            stages.append(Stage(base=argument))
        elif stages:
            stages[-1].instructions.append((instruction, argument.strip()))
    return stages


def _cmd(stage: Stage) -> list[str]:
    (cmd,) = stage.all("CMD")
    return json.loads(cmd)


def test_the_images_command_is_the_code_server_the_chart_runs() -> None:
    """Fails when the CMD and the chart's user deployment drift apart (module, port, host), or when an ENTRYPOINT
    appears: the chart sets only `args`, which Kubernetes would then append to the ENTRYPOINT."""
    stages = parse_dockerfile(DOCKERFILE)
    assert not any(stage.all("ENTRYPOINT") for stage in stages)
    args = chart.grpc_server_args(chart.chart_values())
    server_id = args.index("--fixed-server-id")
    assert _cmd(stages[-1]) == args[:server_id] + args[server_id + 2 :]
    assert stages[-1].all("EXPOSE") == [args[args.index("-p") + 1]]


def test_the_image_runs_as_the_fixed_non_root_user_the_pods_require() -> None:
    """Fails when the image's user is root, a name (runAsNonRoot cannot verify names), or not the uid the pods'
    security context runs as."""
    runtime = parse_dockerfile(DOCKERFILE)[-1]
    (user,) = runtime.all("USER")
    uid = user.split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    pod = chart.user_deployment(chart.chart_values())["podSecurityContext"]
    assert int(uid) == pod["runAsUser"] and pod["runAsNonRoot"] is True
    assert any(f"--uid {uid}" in run for run in runtime.all("RUN"))


def test_the_install_is_reproducible_from_uv_lock_without_dev_tools() -> None:
    """Fails when an install step stops honouring uv.lock (--locked) or brings in the dev group."""
    syncs = [shlex.split(run) for run in parse_dockerfile(DOCKERFILE)[0].all("RUN") if run.startswith("uv sync")]
    assert syncs
    for sync in syncs:
        assert "--locked" in sync and "--no-dev" in sync, sync


def _dockerignored(path: str, patterns: list[str]) -> bool:
    """Docker's rule: the last pattern matching the path or one of its parent folders decides."""
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    ignored = False
    for pattern in patterns:
        negated = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in candidates):
            ignored = not negated
    return ignored


def test_the_build_context_holds_what_the_dockerfile_copies_and_nothing_private() -> None:
    """Fails when the Dockerfile copies a path .dockerignore leaves out (`docker build` would stop: not found), or
    when the local lake, node_modules, the virtualenv or the tests would be sent to the Docker daemon."""
    lines = (chart.REPO / ".dockerignore").read_text().splitlines()
    patterns = [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]
    copied = []
    for stage in parse_dockerfile(DOCKERFILE):
        for argument in stage.all("COPY"):
            words = [word for word in shlex.split(argument) if not word.startswith("--")]
            if not argument.startswith("--from"):
                copied += words[:-1]
    assert copied
    for source in copied:
        path = source.rstrip("/")
        assert (chart.REPO / path).exists(), source
        probe = f"{path}/definitions.py" if (chart.REPO / path).is_dir() else path
        assert not _dockerignored(probe, patterns), f"{source} is copied but .dockerignore leaves it out"
    for private in ("data/lake/bronze/x.parquet", "node_modules/azurite/package.json", ".venv/bin/python",
                    "retail_assets_tests/conftest.py", ".git/config", "retail_assets/__pycache__/cli.cpython-311.pyc"):
        assert _dockerignored(private, patterns), f"{private} would be in the build context"


def _uv() -> str:
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        pytest.skip("uv is not on PATH (README: python3 -m pip install uv)")
    return found


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


QUERY = """{ repositoriesOrError { __typename ... on RepositoryConnection { nodes {
  name location { name } jobs { name } sensors { name } schedules { name } assetNodes { id } } } } }"""


@pytest.mark.slow
def test_the_images_command_serves_our_code_location_from_a_clean_copy(tmp_path: Path) -> None:
    """Fails when the committed tree does not install with the Dockerfile's commands (a file the build needs is not
    committed, the lock is stale, the package misses a module), or when its CMD does not serve the whole code location
    from the installed package alone (no source tree on the path): not healthy within 120 s, or other jobs, sensors,
    schedules or assets than the definitions loaded here.

    The port is the one change to the CMD: a free one instead of 3030, which may be taken on a shared machine."""
    uv = _uv()
    timings: dict[str, float] = {}
    started = time.monotonic()
    tree = subprocess.run(["git", "-C", str(chart.REPO), "archive", "--format=tar", "HEAD"], capture_output=True,
                          check=True).stdout
    source = tmp_path / "src"
    tarfile.open(fileobj=io.BytesIO(tree)).extractall(source, filter="data")
    stages = parse_dockerfile(source / "deploy" / "Dockerfile")
    build, runtime = stages[0], stages[-1]
    timings["archive"] = time.monotonic() - started

    venv = tmp_path / "venv"
    outer = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV" and not k.startswith("UV_")}
    build_env = build.env(outer)
    image_venv = build_env["UV_PROJECT_ENVIRONMENT"]
    build_env["UV_PROJECT_ENVIRONMENT"] = str(venv)
    # Two differences from the image, neither changing which files are installed: uv's default link mode instead of
    # copying out of its cache, and no bytecode compiled ahead. The image compiles every installed module once at
    # build time; here that alone took 60-90 s with the two cores busy, while the server compiles what it imports.
    build_env.pop("UV_LINK_MODE", None)
    build_env.pop("UV_COMPILE_BYTECODE", None)
    for run in build.all("RUN"):
        if run.startswith("uv sync"):
            step = time.monotonic()
            done = subprocess.run([uv, *shlex.split(run)[1:], "--no-compile-bytecode"], cwd=source, env=build_env,
                                  capture_output=True, text=True)
            assert done.returncode == 0, f"{run}\n{done.stderr[-3000:]}"
            timings[run] = time.monotonic() - step

    home, dagster_home, data = tmp_path / "home", tmp_path / "dagster_home", tmp_path / "data"
    for folder in (home, dagster_home, data):
        folder.mkdir()
    env = runtime.env({"PATH": os.environ["PATH"], "HOME": str(home), "LANG": "C.UTF-8"})
    env["PATH"] = env["PATH"].replace(image_venv, str(venv))
    env.update(DAGSTER_HOME=str(dagster_home), RETAIL_DATA_DIR=str(data))
    assert env["PATH"].startswith(f"{venv}/bin:")
    command = _cmd(runtime)
    port = str(_free_port())
    command[command.index("-p") + 1] = port

    step = time.monotonic()
    server = subprocess.Popen(command, cwd=home, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    log: list[str] = []
    started_serving = threading.Event()

    def follow() -> None:
        for line in server.stdout:
            log.append(line)
            if "Started Dagster code server" in line:
                started_serving.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        # The server logs this once the code location is loaded; polling the probe meanwhile would only compete for
        # the two cores with the load it waits for.
        while not started_serving.wait(timeout=1):
            assert server.poll() is None, "the code server exited:\n" + "".join(log)[-3000:]
            assert time.monotonic() - step < 120, "the code server did not start within 120 s:\n" + "".join(log)[-3000:]
        timings["serving"] = time.monotonic() - step
        probe = subprocess.run(["dagster", "api", "grpc-health-check", "-p", port],  # the chart's readiness probe
                               cwd=home, env=env, capture_output=True, text=True)
        assert probe.returncode == 0, probe.stdout + probe.stderr

        listed = subprocess.run(["dagster-graphql", "--ephemeral-instance", "--grpc-host", "127.0.0.1",
                                 "--grpc-port", port, "-t", QUERY], cwd=home, env=env, capture_output=True, text=True)
        assert listed.returncode == 0, listed.stderr[-3000:]
        answer = json.loads(listed.stdout)["data"]["repositoriesOrError"]
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    timings["total"] = time.monotonic() - started
    print("timings (s):", {name: round(seconds, 1) for name, seconds in timings.items()})

    from retail_assets.definitions import defs

    ours = defs()
    (repository,) = answer["nodes"]
    assert {job["name"] for job in repository["jobs"]} == {job.name for job in ours.resolve_all_job_defs()}
    assert {sensor["name"] for sensor in repository["sensors"]} == {sensor.name for sensor in ours.sensors or []}
    assert {schedule["name"] for schedule in repository["schedules"]} == {
        schedule.name for schedule in ours.schedules or []
    }
    assert len(repository["assetNodes"]) == len(ours.resolve_asset_graph().get_all_asset_keys())
    assert {"stream_worker_sensor", "failure_alerts", "dead_run_reaper"} <= {s["name"] for s in repository["sensors"]}
