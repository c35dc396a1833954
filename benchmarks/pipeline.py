"""The whole platform on reference-sized chains: landing → Bronze → Silver → Gold → serving, as users run it.

Each phase runs as its own process, exactly as a user would start it, so its peak RSS is its own (read with
``wait4``, which also covers every process the phase waited for):

1. ``generate`` — ``retail-assets generate --profile reference`` with ``RETAIL_GEN_STORES`` = 86 × ``--scale``
   (the reference network is 86 stores; ``--scale 4`` is a 344-store chain);
2. ``run`` — ``retail-assets run --month M [--to N]`` with ``RETAIL_GENERATOR=off`` on that landing zone, in a
   fresh ``DAGSTER_HOME`` (the local default executor unless ``RETAIL_EXECUTOR`` says otherwise).

    uv run python benchmarks/pipeline.py month                  # one reference month (86 stores)
    uv run python benchmarks/pipeline.py month --scale 4        # the same month on a 344-store chain
    uv run python benchmarks/pipeline.py month --scale 0.25     # a quick look (22 stores)
    uv run python benchmarks/pipeline.py year --months 3        # 3 reference months, projected to 12 (stated so)
    uv run python benchmarks/pipeline.py month --workdir DIR --reuse   # run again on DIR's landing zone

Prints, per phase: wall time, fact rows, rows/s and peak RSS; for the run, the ten steps with the longest wall
time and the layers' row counts (the run's own summary). Nothing is asserted: figures are for notes and docs.
Only one heavy benchmark at a time on a 2-core machine.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

from retail_assets.lib.months import add_months, parse_month

REPO = Path(__file__).resolve().parent.parent
REFERENCE_STORES = 86

INSTANCE_YAML = """\
storage:
  sqlite:
    base_dir: {home}/storage
local_artifact_storage:
  module: dagster._core.storage.root
  class: LocalArtifactStorage
  config:
    base_dir: {home}
telemetry:
  enabled: false
concurrency:
  pools:
    default_limit: 1
"""


def run_measured(command: list[str], env: dict[str, str], log: Path) -> tuple[int, float, float, float]:
    """(exit code, seconds, peak RSS of the largest process in GB, CPU % of one core used by the command) of one
    command.

    The peak and the CPU time are the kernel's (``wait4``: the command's own and its waited-for children's; 200 %
    is both cores of this machine busy all the time); a sampler adds processes that are still running, e.g.
    workers of another executor."""
    started = time.monotonic()
    with log.open("w") as out:
        process = subprocess.Popen(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    sampled = [0.0]
    done = threading.Event()

    def sample() -> None:
        parent = psutil.Process(process.pid)
        while not done.wait(0.5):
            try:
                tree = [parent, *parent.children(recursive=True)]
                sampled[0] = max(sampled[0], *(p.memory_info().rss for p in tree))
            except psutil.Error:
                pass

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    _, status, usage = os.wait4(process.pid, 0)
    done.set()
    thread.join()
    process.returncode = os.waitstatus_to_exitcode(status)
    seconds = time.monotonic() - started
    peak = max(usage.ru_maxrss * 1024, sampled[0]) / 1e9
    return process.returncode, seconds, peak, 100 * (usage.ru_utime + usage.ru_stime) / seconds


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "retail_assets.cli", *args]


def environment(workdir: Path, stores: int) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RETAIL_", "DAGSTER_"))}
    home = workdir / "dagster"
    home.mkdir(parents=True, exist_ok=True)
    (home / "dagster.yaml").write_text(INSTANCE_YAML.format(home=home))
    env.update(
        RETAIL_PROFILE="reference",
        RETAIL_GEN_STORES=str(stores),
        RETAIL_DATA_DIR=str(workdir / "data"),
        RETAIL_GENERATOR="off",
        DAGSTER_HOME=str(home),
        PYTHONWARNINGS="ignore",
    )
    for name in ("RETAIL_EXECUTOR", "RETAIL_BRONZE_CHUNK_ROWS", "RETAIL_SILVER_SHARD_ROWS"):
        if name in os.environ:
            env[name] = os.environ[name]
    return env


def fact_rows(log: Path) -> int:
    """Fact rows the generator reported."""
    found = re.findall(r"([\d,]+) fact rows in", log.read_text())
    return int(found[-1].replace(",", "")) if found else 0


def run_summary(log: Path) -> list[str]:
    return [line.rstrip() for line in log.read_text().splitlines() if line.startswith(("  ", "retail_lakehouse"))]


def slowest_steps(home: Path, limit: int = 10) -> list[str]:
    """The run's slowest steps, from its event log (public instance API)."""
    script = (
        "import dagster as dg\n"
        "with dg.DagsterInstance.get() as i:\n"
        "    run = i.get_runs(limit=1)[0]\n"
        "    starts, out = {}, []\n"
        "    for r in i.all_logs(run.run_id):\n"
        "        e = r.dagster_event\n"
        "        if e is None: continue\n"
        "        if e.event_type_value == 'STEP_START': starts[e.step_key] = r.timestamp\n"
        "        elif e.event_type_value in ('STEP_SUCCESS', 'STEP_FAILURE'):\n"
        "            out.append((r.timestamp - starts.get(e.step_key, r.timestamp), e.step_key))\n"
        f"    for s, k in sorted(out, reverse=True)[:{limit}]: print(f'{{s:7.1f}} s  {{k}}')\n"
    )
    env = {**os.environ, "DAGSTER_HOME": str(home), "PYTHONWARNINGS": "ignore"}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, cwd=REPO)
    return result.stdout.splitlines()


def measure(args: argparse.Namespace, months: list[str]) -> int:
    stores = max(1, round(REFERENCE_STORES * args.scale))
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="pipeline-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    env = environment(workdir, stores)
    first, last = months[0], months[-1]
    print(f"{stores} stores (reference × {args.scale:g}), months {first}..{last}, work dir {workdir}, "
          f"{psutil.cpu_count()} cores", flush=True)
    rows = 0
    if not (args.reuse and (workdir / "data" / "landing").exists()):
        log = workdir / "generate.log"
        command = cli("generate", "--profile", "reference", "--month", first, "--to", last)
        code, seconds, peak, cpu = run_measured(command, env, log)
        rows = fact_rows(log)
        print(f"generate: {'ok' if code == 0 else f'FAILED ({code}), see ' + str(log)}  {seconds:7.1f} s  "
              f"{rows:,} fact rows  {rows / seconds:,.0f} rows/s  peak RSS {peak:.2f} GB  CPU {cpu:.0f} %", flush=True)
        if code:
            return code
    shutil.rmtree(workdir / "data" / "lake", ignore_errors=True)
    (workdir / "data" / "retail.duckdb").unlink(missing_ok=True)
    log = workdir / "run.log"
    code, seconds, peak, cpu = run_measured(cli("run", "--month", first, "--to", last), env, log)
    rows = rows or sum(int(m.replace(",", "")) for m in re.findall(r"^bronze\s+\d+ assets\s+([\d,]+) rows", "\n".join(
        line.strip() for line in run_summary(log)), flags=re.M))
    print(f"run:      {'ok' if code == 0 else f'FAILED ({code}), see ' + str(log)}  {seconds:7.1f} s  "
          f"{rows:,} fact rows  {rows / seconds:,.0f} rows/s  peak RSS {peak:.2f} GB  CPU {cpu:.0f} %", flush=True)
    for line in run_summary(log):
        print(f"  {line}")
    print("slowest steps:")
    for line in slowest_steps(workdir / "dagster"):
        print(f"  {line}")
    if len(months) < args.project_to:
        factor = args.project_to / len(months)
        print(f"projection (not measured): {args.project_to} months ≈ {seconds * factor:,.0f} s of run, "
              f"{rows * factor:,.0f} rows, at the measured {rows / seconds:,.0f} rows/s; peak RSS stays per month")
    if not args.keep and not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return code


def month_list(first: str, count: int) -> list[str]:
    start = parse_month(first)
    return [f"{add_months(start, offset):%Y-%m}" for offset in range(count)]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", choices=["month", "year"])
    parser.add_argument("--scale", type=float, default=1.0, help="Chain size as a multiple of the reference's 86 stores.")
    parser.add_argument("--month", default="2024-01", help="First month, YYYY-MM.")
    parser.add_argument("--months", type=int, default=12, help="year: months measured (fewer are projected to 12).")
    parser.add_argument("--workdir", help="Keep landing, lake, DuckDB and instance here.")
    parser.add_argument("--reuse", action="store_true", help="Reuse the landing zone already in --workdir.")
    parser.add_argument("--keep", action="store_true", help="Keep the temporary work dir.")
    args = parser.parse_args()
    args.project_to = 12 if args.what == "year" else 1
    months = month_list(args.month, args.months if args.what == "year" else 1)
    return measure(args, months)


if __name__ == "__main__":
    sys.exit(main())
