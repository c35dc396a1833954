"""Fault drills shared by the test suite (one trial each) and ``benchmarks/faults.py`` (many trials).

- ``race``: writer *processes* replace overlapping months of a table that does not exist yet;
  every month must end up holding exactly one writer's rows.
- ``kill_pool_holders``: a run holds each pool's only slot, a second run waits, the holder is SIGKILLed;
  the waiter must complete on its own.
- ``overlap``: a generated month of batch files, then events streamed over part of that month (what
  ``retail-assets stream --start`` inside the month does); Silver and Gold rebuilt must lose no batch row,
  hold one row per business key and leave Gold unchanged.
- ``kill_stream_worker``: ``dagster dev`` with its daemon, events streaming into the landing zone, the
  stream worker run SIGKILLed while it works; streaming must resume by itself and every produced event
  must reach Bronze exactly once.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from retail_assets.devtools.processes import stop_process_group  # noqa: F401 - tests import it from here too
from retail_assets_tests.operations.holders import POOLS

REPO = Path(__file__).resolve().parents[2]


@dataclass
class DrillReport:
    trials: int = 0
    converged: int = 0
    lost_rows: int = 0
    duplicated_rows: int = 0
    stalls: int = 0
    seconds: list[float] = field(default_factory=list)  # per trial: kill → recovered (or the trial's wall time)
    notes: list[str] = field(default_factory=list)

    def line(self, name: str) -> str:
        ordered = sorted(self.seconds)
        timing = (
            f", recovery median {ordered[len(ordered) // 2]:.1f} s, max {ordered[-1]:.1f} s" if ordered else ""
        )
        return (f"{name}: {self.trials} trials, {self.converged} converged, {self.lost_rows} rows lost, "
                f"{self.duplicated_rows} rows doubled, {self.stalls} stalls{timing}")


# ---- race: first writers of a new table, as separate processes ------------------------------------------

_RACE_WRITER = textwrap.dedent(
    """
    import datetime as dt, json, sys
    import polars as pl
    from retail_assets.lib.lake import LakeStore

    root, table, name, months = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
    months = [dt.date.fromisoformat(m) for m in months]
    frame = pl.concat([
        pl.DataFrame({"month_start": [m] * (m.month * 50), "amount_cents": list(range(m.month * 50)),
                      "label": [name] * (m.month * 50)})
        for m in months
    ])
    sys.stdin.readline()  # start together
    LakeStore(root_uri=root).overwrite_months(table, frame, months)
    """
)
RACE_WRITERS = {"w1": ["2024-01-01"], "w2": ["2024-02-01"], "w3": ["2024-01-01", "2024-02-01", "2024-03-01"],
                "w4": ["2024-04-01"], "w5": ["2024-03-01"]}


def race(trials: int, root: Path | None = None) -> DrillReport:
    """``trials`` times, five writer processes (overlapping months) race to create and fill one table."""
    import polars as pl

    from retail_assets.lib.lake import LakeStore

    report = DrillReport()
    base = Path(root or tempfile.mkdtemp(prefix="retail-race-"))
    store = LakeStore(root_uri=str(base / "lake"))
    for trial in range(trials):
        table = f"bronze/race_{trial}"
        started = time.monotonic()
        writers = [
            subprocess.Popen([sys.executable, "-c", _RACE_WRITER, store.root_uri, table, name, json.dumps(months)],
                             stdin=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO)
            for name, months in RACE_WRITERS.items()
        ]
        time.sleep(2.0)  # every writer imported its libraries and waits on stdin
        for w in writers:
            w.stdin.write("go\n")
            w.stdin.flush()
        failed = []
        for w in writers:
            try:
                _, err = w.communicate(timeout=120)
                if w.returncode:
                    failed.append(err.strip().splitlines()[-1] if err.strip() else f"exit {w.returncode}")
            except subprocess.TimeoutExpired:
                w.kill()
                report.stalls += 1
        report.trials += 1
        report.seconds.append(time.monotonic() - started)
        if failed:
            report.notes.append(f"trial {trial}: {failed}")
            continue
        stored = store.read(table)
        lost = doubled = 0
        for month in sorted({m for ms in RACE_WRITERS.values() for m in ms}):
            day = dt.date.fromisoformat(month)
            rows = stored.filter(pl.col("month_start") == day)
            labels = rows.get_column("label").unique().to_list()
            expected = day.month * 50
            if len(labels) != 1:
                lost += expected if not labels else 0
                doubled += max(0, rows.height - expected)
            else:
                lost += max(0, expected - rows.height)
                doubled += max(0, rows.height - expected)
        report.lost_rows += lost
        report.duplicated_rows += doubled
        report.converged += int(lost == 0 and doubled == 0)
    if root is None:
        shutil.rmtree(base, ignore_errors=True)
    return report


# ---- kill the run holding each pool -----------------------------------------------------------------------


def drill_home(root: Path) -> Path:
    """A DAGSTER_HOME with sqlite storage under ``root`` and the repository's concurrency and monitoring settings."""
    repo = yaml.safe_load((REPO / "dagster.yaml").read_text())
    home = root / "home"
    home.mkdir(parents=True, exist_ok=True)
    config = {
        **{k: v for k, v in repo.items() if k not in ("storage", "local_artifact_storage", "compute_logs")},
        "storage": {"sqlite": {"base_dir": str(home / "storage")}},
        "local_artifact_storage": {"module": repo["local_artifact_storage"]["module"],
                                   "class": repo["local_artifact_storage"]["class"], "config": {"base_dir": str(home)}},
        "compute_logs": {"module": repo["compute_logs"]["module"], "class": repo["compute_logs"]["class"],
                         "config": {"base_dir": str(home / "compute_logs")}},
    }
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    return home


def _holder_process(pool: str, home: Path, hold: float, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "retail_assets_tests.operations.holders",
         "--select", f"hold_{pool}"],
        cwd=REPO, env={**os.environ, "DAGSTER_HOME": str(home), "HOLD_SECONDS": str(hold)},
        stdout=open(log, "w"), stderr=subprocess.STDOUT,  # noqa: SIM115 - a file, so no pipe can fill and block
    )


def kill_pool_holders(trials: int, root: Path | None = None, deadline: float = 120.0) -> DrillReport:
    """``trials`` rounds: for every pool at once, a holder run takes the slot, a waiter queues, the holder is killed."""
    import dagster as dg

    report = DrillReport()
    base = Path(root or tempfile.mkdtemp(prefix="retail-kill-"))
    home = drill_home(base)
    with dg.DagsterInstance.from_config(str(home)) as instance:
        storage = instance.event_log_storage
        for trial in range(trials):
            holders = {p: _holder_process(p, home, 600, base / f"holder-{trial}-{p}.log") for p in POOLS}
            held: dict[str, str] = {}
            limit = time.monotonic() + 120
            while len(held) < len(POOLS) and time.monotonic() < limit:
                for pool in POOLS:
                    claimed = storage.get_concurrency_info(pool).claimed_slots
                    if claimed and pool not in held:
                        held[pool] = claimed[0].run_id
                time.sleep(0.3)
            waiters = {p: _holder_process(p, home, 0, base / f"waiter-{trial}-{p}.log") for p in POOLS}
            limit = time.monotonic() + 120
            while time.monotonic() < limit and not all(
                {s.run_id for s in storage.get_concurrency_info(p).pending_steps} - {held.get(p)} for p in POOLS
            ):
                time.sleep(0.3)
            for process in holders.values():
                process.send_signal(signal.SIGKILL)
                process.wait(timeout=30)
            killed = time.monotonic()
            for pool, waiter in waiters.items():
                report.trials += 1
                try:
                    waiter.wait(timeout=max(1.0, deadline - (time.monotonic() - killed)))
                    ok = waiter.returncode == 0
                except subprocess.TimeoutExpired:
                    waiter.kill()
                    waiter.wait(timeout=30)
                    ok = False
                    report.stalls += 1
                run = instance.get_run_by_id(held[pool]) if pool in held else None
                dead_failed = run is not None and run.status == dg.DagsterRunStatus.FAILURE
                report.converged += int(ok and dead_failed)
                report.seconds.append(time.monotonic() - killed)
                if not (ok and dead_failed):
                    report.notes.append(f"trial {trial} {pool}: waiter ok={ok}, killed run {run.status if run else None}")
    if root is None:
        shutil.rmtree(base, ignore_errors=True)
    return report


# ---- kill the stream worker under dagster dev ---------------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stream_worker_run(instance):
    import dagster as dg

    runs = instance.get_runs(filters=dg.RunsFilter(job_name="stream_worker", statuses=[dg.DagsterRunStatus.STARTED]), limit=1)
    return runs[0] if runs else None


def kill_stream_worker(
    kills: int, *, rate: float = 300.0, between: float = 20.0, root: Path | None = None, settle: float = 240.0,
    log: Callable[[str], None] = lambda _: None,
) -> DrillReport:
    """Stream at ``rate`` events/s under ``dagster dev`` and SIGKILL the stream worker run ``kills`` times (each
    time ``between`` seconds after a worker is working again). Then every landed event must be in Bronze, once."""
    import dagster as dg
    import polars as pl

    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.output import write_dimensions
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.liveness import WORKER_TAG, Worker
    from retail_assets.lib.streaming.producer import produce
    from retail_assets.lib.streaming.sinks import LandingSink
    from retail_assets.lib.streaming.worker import load_state

    report = DrillReport()
    base = Path(root or tempfile.mkdtemp(prefix="retail-worker-kill-"))
    home = drill_home(base)
    data = base / "data"
    env = {**os.environ, "DAGSTER_HOME": str(home), "RETAIL_DATA_DIR": str(data), "RETAIL_GENERATOR": "off",
           "RETAIL_PROFILE": "tiny", "RETAIL_STREAM_MODE": "worker"}
    config = load_config("tiny")
    month = dt.datetime.now(dt.UTC).date().replace(day=1)
    start = dt.datetime.combine(month, dt.time(), dt.UTC)
    landing, lake = LandingZone(root_uri=str(data / "landing")), LakeStore(root_uri=str(data / "lake"))
    landing.ensure_root()
    write_dimensions(config, [month], landing)
    dims = subprocess.run(
        [sys.executable, "-m", "dagster", "asset", "materialize", "-m", "retail_assets.definitions", "--select",
         "key:bronze/dim_* or key:silver/dim_*"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=600,
    )
    if dims.returncode:
        raise RuntimeError(f"dimensions: {dims.stdout[-2000:]}{dims.stderr[-2000:]}")
    server = subprocess.Popen(
        [sys.executable, "-m", "dagster", "dev", "-w", str(REPO / "workspace.yaml"), "-p", str(_free_port())],
        cwd=REPO, env=env, stdout=open(base / "dagster.log", "w"), stderr=subprocess.STDOUT,  # noqa: SIM115
        start_new_session=True,
    )
    sent: list[pl.DataFrame] = []
    stop = threading.Event()

    def stream() -> None:
        sink = LandingSink(landing, max_seconds=1.0)
        # From the month's first day: at these rates the tiny profile's simulated time runs ~a day per 15 s,
        # and must stay inside the current month (the latest partition).
        produce(config, sink, rate=rate, duration=10_000, start=start,
                on_chunk=lambda events, _: sent.append(events.select("event_type", "trace_id")),
                clock=lambda: time.monotonic() if not stop.is_set() else float("inf"))

    producer = threading.Thread(target=stream, daemon=True)
    try:
        with dg.DagsterInstance.from_config(str(home)) as instance:
            producer.start()
            for kill in range(kills):
                limit = time.monotonic() + 180
                worker = None
                while time.monotonic() < limit:
                    worker = _stream_worker_run(instance)
                    if worker is not None and WORKER_TAG in worker.tags:
                        break
                    time.sleep(0.5)
                if worker is None:
                    report.stalls += 1
                    report.notes.append(f"kill {kill}: no stream worker running within 180 s")
                    break
                time.sleep(between)
                pid = Worker.from_tag(instance.get_run_by_id(worker.run_id).tags[WORKER_TAG]).pid
                os.kill(pid, signal.SIGKILL)
                killed = time.monotonic()
                report.trials += 1
                log(f"kill {kill + 1}: stream worker run {worker.run_id[:8]} (pid {pid}) killed")
                limit = time.monotonic() + 180
                while time.monotonic() < limit:
                    again = _stream_worker_run(instance)
                    dead = instance.get_run_by_id(worker.run_id).status
                    if again is not None and again.run_id != worker.run_id and WORKER_TAG in again.tags and dead != dg.DagsterRunStatus.STARTED:
                        report.seconds.append(time.monotonic() - killed)
                        log(f"  killed run {dead.value}; new worker {again.run_id[:8]} after {report.seconds[-1]:.0f} s")
                        break
                    time.sleep(0.5)
                else:
                    report.stalls += 1
                    report.notes.append(f"kill {kill}: no new stream worker within 180 s")
            stop.set()
            producer.join(timeout=60)
            landed = [(p, m, s) for p, m, s in landing._list("events/")]
            limit = time.monotonic() + settle
            while time.monotonic() < limit and load_state(instance).cursor.unacknowledged(landed):
                time.sleep(1.0)
            waiting = load_state(instance).cursor.unacknowledged(landed)
            produced = pl.concat(sent) if sent else pl.DataFrame(schema={"event_type": pl.String, "trace_id": pl.String})
            stored = pl.concat([
                lake.read(f"bronze/{t}").select("trace_id") for t in produced.get_column("event_type").unique()
                if lake.exists(f"bronze/{t}")
            ]) if produced.height else pl.DataFrame(schema={"trace_id": pl.String})
            landed_ids = produced.get_column("trace_id")
            report.lost_rows = int((~landed_ids.is_in(stored.get_column("trace_id").implode())).sum())
            report.duplicated_rows = stored.height - stored.get_column("trace_id").n_unique()
            report.converged = report.trials if not waiting and report.lost_rows == 0 and report.duplicated_rows == 0 else 0
            report.notes.append(f"{produced.height} events produced, {len(landed)} files, {len(waiting)} files unacknowledged "
                                f"after {settle:.0f} s")
    finally:
        stop.set()
        stop_process_group(server)
        if root is None:
            shutil.rmtree(base, ignore_errors=True)
    return report


# ---- batch month + a stream over part of it -------------------------------------------------------------------

OVERLAP_GOLD = ("sales_minute_store", "daily_sales_by_channel", "inventory_position_daily", "online_sales_daily")


def overlap(trials: int, root: Path | None = None, stream_days: int = 3) -> DrillReport:
    """``trials`` months (tiny profile): batch files landed and built, then ``stream_days`` of the month streamed and
    everything rebuilt. Lost rows: Silver rows of the batch-only build whose key is gone; doubled: rows beyond one
    per business key; a Gold table that changed is a note (and not converged)."""
    import warnings

    import dagster as dg

    from retail_assets.defs.bronze import build_bronze_assets
    from retail_assets.defs.gold import build_gold_assets
    from retail_assets.defs.silver import build_silver_assets
    from retail_assets.lib.generator.config import load_config
    from retail_assets.lib.generator.facts import facts_between
    from retail_assets.lib.generator.output import write_dimensions, write_month
    from retail_assets.lib.lake import LakeStore
    from retail_assets.lib.landing import LandingZone
    from retail_assets.lib.specs import REGISTRY
    from retail_assets.lib.streaming.envelopes import encode_events
    from retail_assets.lib.streaming.sinks import LandingSink

    warnings.simplefilter("ignore")
    report = DrillReport()
    config = load_config("tiny")
    assets = [*build_bronze_assets(), *build_silver_assets(), *build_gold_assets()]
    for trial in range(trials):
        base = Path(root or tempfile.mkdtemp(prefix="retail-overlap-")) / f"trial-{trial}"
        month = dt.date(2024, 1 + trial % 12, 1)
        lake, landing = LakeStore(root_uri=str(base / "lake")), LandingZone(root_uri=str(base / "landing"))
        landing.ensure_root()
        write_dimensions(config, [month], landing)
        write_month(config, month, landing)
        job = dg.Definitions(assets=assets, resources={"lake": lake, "landing": landing}).resolve_implicit_global_asset_job_def()
        started = time.monotonic()
        with dg.DagsterInstance.ephemeral() as instance:
            keys = [k for a in assets for k in a.keys]
            dims = [k for k in keys if k.path[1].startswith("dim_")]
            monthly = [k for k in keys if not k.path[1].startswith("dim_")]
            quiet = {"loggers": {"console": {"config": {"log_level": "ERROR"}}}}
            assert job.execute_in_process(instance=instance, asset_selection=dims, run_config=quiet).success
            assert job.execute_in_process(instance=instance, asset_selection=monthly, partition_key=month.isoformat(),
                                          run_config=quiet).success
            facts = [t.name for t in REGISTRY.facts]
            keys_of = {t: list(REGISTRY.table(t).primary_key) for t in facts}
            before = {t: lake.read(f"silver/{t}", [month]).select(keys_of[t]) for t in facts if lake.exists(f"silver/{t}")}
            gold_before = {g: lake.read(f"gold/{g}", [month]) for g in OVERLAP_GOLD if lake.exists(f"gold/{g}")}
            first = dt.datetime.combine(month.replace(day=4 + trial % 20), dt.time(), dt.UTC)
            sink = LandingSink(landing, name=f"stream{trial}")
            sink.send(encode_events(facts_between(config, first, first + dt.timedelta(days=stream_days))))
            sink.close()
            rebuilt = job.execute_in_process(instance=instance, asset_selection=monthly, partition_key=month.isoformat(),
                                             raise_on_error=False, run_config=quiet)
        report.trials += 1
        report.seconds.append(time.monotonic() - started)
        lost = doubled = 0
        for table, rows in before.items():
            after = lake.read(f"silver/{table}", [month]).select(keys_of[table])
            gone = rows.join(after, on=keys_of[table], how="anti").height
            extra = after.height - after.unique().height
            lost += gone
            doubled += extra
            if gone or extra:
                report.notes.append(f"trial {trial} {table}: {gone} batch rows lost, {extra} doubled")
        changed = [g for g, rows in gold_before.items()
                   if not _same_rows(rows, lake.read(f"gold/{g}", [month]))]
        if changed:
            report.notes.append(f"trial {trial}: Gold changed by the overlapping stream: {changed}")
        if not rebuilt.success:
            report.notes.append(f"trial {trial}: the rebuild failed")
        report.lost_rows += lost
        report.duplicated_rows += doubled
        report.converged += int(rebuilt.success and not lost and not doubled and not changed)
        if root is None:
            shutil.rmtree(base.parent, ignore_errors=True)
    return report


def _same_rows(a, b) -> bool:
    columns = [c for c in a.columns if c in b.columns and not c.startswith("_")]
    return a.height == b.height and a.select(columns).sort(columns, nulls_last=True).equals(b.select(columns).sort(columns, nulls_last=True))
