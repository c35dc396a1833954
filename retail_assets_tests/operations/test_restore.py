"""``retail-assets restore``: a corrupted month rolled back with Delta time travel, downstream rebuilt by automation.

The lake is the Gold scenario's two months of Silver (``retail_assets_tests/gold/scenario.py``), recorded in a
real Dagster instance (``DAGSTER_HOME`` in a temporary directory) as materialized; Gold is built from it by real
runs, and the months automation requests are found with ``dg.evaluate_automation_conditions`` and run, as the
``medallion_automation`` sensor does.
"""

from __future__ import annotations

import datetime as dt
import os
import shutil
import threading
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import dagster as dg
import polars as pl
import pytest
from deltalake import DeltaTable

from retail_assets import cli
from retail_assets.defs.gold import build_gold_assets
from retail_assets.defs.restore import BLOCKING_EVALUATORS, RESTORE_OPS, find_target, platform_targets
from retail_assets.defs.silver import HOT_POOL, PRIMARY_KEY_UNIQUE, build_silver_assets
from retail_assets.lib.checks import latest_materialization
from retail_assets.lib.gates import failed_gates
from retail_assets.lib.lake import LakeStore
from retail_assets.lib.restore import RestoreRefused
from retail_assets.lib.specs import REGISTRY
from retail_assets_tests.gold.scenario import FACTS, MONTHS, write_silver
from retail_assets_tests.gold.silver_rows import FEB, JAN, silver

RECEIPTS_TABLE = "silver/fact_receipts"
RECEIPTS = dg.AssetKey(["silver", "fact_receipts"])
# The repository's pool settings (dagster.yaml): one slot per pool.
POOL_SETTINGS = "concurrency:\n  pools:\n    default_limit: 1\n"
RANGE = {"dagster/asset_partition_range_start": "2024-01-01", "dagster/asset_partition_range_end": "2024-02-01"}


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The CLI's lake is ``tmp_path/lake`` (the ``lake`` fixture) and its instance ``tmp_path/home``."""
    for name in [n for n in os.environ if n.startswith(("RETAIL_", "AZURE_"))]:
        monkeypatch.delenv(name)
    monkeypatch.setenv("RETAIL_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    (tmp_path / "home").mkdir()
    (tmp_path / "home" / "dagster.yaml").write_text(POOL_SETTINGS)
    return tmp_path / "home"


@pytest.fixture
def instance(home: Path) -> Iterator[dg.DagsterInstance]:
    with dg.DagsterInstance.get() as inst:
        yield inst


def restore(*args: str) -> int:
    return cli.main(["restore", *map(str, args)])


def checksums(lake: LakeStore, prefix: str = "gold/") -> dict[tuple[str, dt.date], int]:
    """An order-insensitive checksum of every (table, month) of a layer."""
    sums = {}
    root = Path(lake.uri(prefix.rstrip("/")))
    for path in sorted(p for p in root.iterdir() if (p / "_delta_log").is_dir()):
        frame = lake.read(f"{prefix}{path.name}")
        for (month,), rows in frame.partition_by("month_start", as_dict=True).items():
            sums[(path.name, month)] = hash(tuple(sorted(rows.hash_rows(seed=1).to_list())))
    return sums


def month_files(lake: LakeStore, table: str, month: dt.date) -> set[str]:
    actions = pl.DataFrame(DeltaTable(lake.uri(table)).get_add_actions(flatten=True))
    return set(actions.filter(pl.col("partition.month_start") == month).get_column("path").to_list())


class Platform:
    """Silver and Gold on a lake and a persistent instance; automation evaluated tick by tick like the daemon."""

    def __init__(self, lake: LakeStore, instance: dg.DagsterInstance):
        self.lake, self.instance = lake, instance
        self.assets = [*build_silver_assets(), *build_gold_assets()]
        self.defs = dg.Definitions(assets=self.assets, resources={"lake": lake})
        self.cursor = None

    def materialize(self, keys, partition: str | None = None, tags: dict | None = None) -> None:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            result = dg.materialize(
                self.assets, selection=list(keys), resources={"lake": self.lake}, instance=self.instance,
                partition_key=partition, tags=tags,
            )
        assert result.success

    def requested(self) -> set[tuple[str, str]]:
        """(asset, partition) automation requests on this tick."""
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", dg.BetaWarning)
            result = dg.evaluate_automation_conditions(defs=self.defs, instance=self.instance, cursor=self.cursor)
        self.cursor = result.cursor
        return {
            (r.key.to_user_string(), pk)
            for r in result.results
            for pk in r.true_subset.expensively_compute_partition_keys()
        }

    def run_requested(self, requested: set[tuple[str, str]]) -> None:
        for partition in sorted({pk for _, pk in requested}):
            keys = [dg.AssetKey(a.split("/")) for a, pk in requested if pk == partition]
            self.materialize(keys, partition)

    def converge(self) -> set[tuple[str, str]]:
        """Tick and run what automation requests until it requests nothing; everything that ran."""
        ran: set[tuple[str, str]] = set()
        for _ in range(5):
            requested = self.requested()
            if not requested:
                return ran
            self.run_requested(requested)
            ran |= requested
        raise AssertionError(f"automation kept requesting: {sorted(requested)}")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Built once per module (~10-60 s, the Gold run on a persistent instance): two months of Silver recorded as
    materialized and Gold built from them, in ``lake/`` and ``home/`` of a directory each test copies."""
    root = tmp_path_factory.mktemp("restore-platform")
    (root / "home").mkdir()
    (root / "home" / "dagster.yaml").write_text(POOL_SETTINGS)
    lake = LakeStore(root_uri=str(root / "lake"))
    write_silver(lake)
    with dg.DagsterInstance.from_config(str(root / "home")) as instance:
        for spec in REGISTRY.facts:
            for month in MONTHS:
                instance.report_runless_asset_event(
                    dg.AssetMaterialization(dg.AssetKey(["silver", spec.name]), partition=f"{month:%Y-%m-%d}")
                )
        for spec in REGISTRY.dimensions:
            instance.report_runless_asset_event(dg.AssetMaterialization(dg.AssetKey(["silver", spec.name])))
        Platform(lake, instance).materialize([k for a in build_gold_assets() for k in a.keys], tags=RANGE)
    return root


@pytest.fixture
def platform(built: Path, home: Path, lake: LakeStore) -> Iterator[Platform]:
    """A copy of the built platform in this test's lake and instance, automation's baseline tick taken."""
    shutil.copytree(built / "lake", lake.root_uri, dirs_exist_ok=True)
    shutil.rmtree(home)
    shutil.copytree(built / "home", home)
    with dg.DagsterInstance.get() as instance:
        house = Platform(lake, instance)
        house.requested()  # the baseline: what the daemon has already seen
        yield house


def corrupt_january(house: Platform, *, duplicate: bool = False) -> None:
    """A bad build of Silver receipts January: amounts ten-fold (and, with ``duplicate``, a receipt twice)."""
    rows = house.lake.read(RECEIPTS_TABLE, [JAN])
    bad = rows.with_columns(pl.col("total_cents") * 10, pl.col("subtotal_cents") * 10)
    if duplicate:
        bad = pl.concat([bad, bad.head(1)])
    house.lake.overwrite_months(RECEIPTS_TABLE, bad, [JAN], commit_metadata={"note": "a bad build"})
    house.instance.report_runless_asset_event(dg.AssetMaterialization(RECEIPTS, partition="2024-01-01"))


@pytest.mark.slow
def test_a_corrupted_silver_month_restored_by_version_rebuilds_gold_to_the_pre_corruption_checksums(
    platform: Platform, lake: LakeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    good_version = lake.version(RECEIPTS_TABLE)
    good_january = lake.read(RECEIPTS_TABLE, [JAN]).sort("receipt_id")
    february_files = month_files(lake, RECEIPTS_TABLE, FEB)
    gold_before = checksums(lake)

    corrupt_january(platform)
    rebuilt_after_corruption = platform.converge()
    assert rebuilt_after_corruption and {a for a, _ in rebuilt_after_corruption} <= {
        k.to_user_string() for a in build_gold_assets() for k in a.keys
    }
    corrupted_gold = checksums(lake)
    assert {k for k in gold_before if corrupted_gold[k] != gold_before[k]}, "the corruption reached Gold"

    assert restore(RECEIPTS_TABLE, "--version", good_version, "--month", "2024-01") == 0
    out = capsys.readouterr().out
    assert f"{RECEIPTS_TABLE} 2024-01: restored from version {good_version}" in out
    assert "declarative automation" in out

    assert lake.read(RECEIPTS_TABLE, [JAN]).sort("receipt_id").equals(good_january)
    assert month_files(lake, RECEIPTS_TABLE, FEB) == february_files, "February is untouched"
    latest = lake.history(RECEIPTS_TABLE, 1)[0]
    assert latest["retail_operation"] == "restore" and latest["restored_from_version"] == str(good_version)
    assert latest["month"] == "2024-01" and latest["command"].startswith("retail-assets restore silver/fact_receipts")

    instance = platform.instance
    [record] = instance.fetch_materializations(
        dg.AssetRecordsFilter(asset_key=RECEIPTS, asset_partitions=["2024-01-01"]), limit=1
    ).records
    metadata = record.asset_materialization.metadata
    assert metadata["restored_from_version"].value == good_version
    assert metadata["rows_after"].value == good_january.height
    run = instance.get_run_by_id(record.run_id)
    assert run.job_name == "restore_table" and run.status == dg.DagsterRunStatus.SUCCESS

    # Automation requests exactly what the corruption made it rebuild: the Gold months reading Silver January.
    requested = platform.requested()
    assert requested == rebuilt_after_corruption
    platform.run_requested(requested)
    assert platform.converge() == set()
    assert checksums(lake) == gold_before


@pytest.mark.slow
def test_restoring_a_month_releases_the_gate_a_failed_blocking_check_held(platform: Platform, lake: LakeStore) -> None:
    instance = platform.instance
    good_version = lake.version(RECEIPTS_TABLE)
    corrupt_january(platform, duplicate=True)
    check = dg.AssetCheckKey(RECEIPTS, PRIMARY_KEY_UNIQUE)
    instance.report_runless_asset_event(
        dg.AssetCheckEvaluation(
            asset_key=RECEIPTS, check_name=PRIMARY_KEY_UNIQUE, passed=False, blocking=True, partition="2024-01-01",
            target_materialization_data=latest_materialization(instance, RECEIPTS, "2024-01-01"),
        )
    )
    assert failed_gates(instance, [(check, True)], [JAN]), "the corrupted month holds its downstream"
    assert platform.requested() == set(), "automation does not build on it"

    assert restore(RECEIPTS_TABLE, "--version", good_version, "--month", "2024-01") == 0

    [info] = instance.event_log_storage.get_asset_check_partition_info([check], partition_keys=["2024-01-01"])
    assert info.latest_execution_status.value == "SUCCEEDED" and info.is_current, "re-evaluated on the restored rows"
    assert failed_gates(instance, [(check, True)], [JAN]) == []
    requested = platform.requested()
    assert requested and all(a.startswith("gold/") for a, _ in requested)


def test_a_restored_version_that_fails_a_blocking_check_keeps_downstream_held(
    home: Path, lake: LakeStore, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gate follows the restored rows: a failed evaluation stops holding once a newer materialization exists,
    so only the restore's own evaluation keeps a month restored to bad data held."""
    frame = silver("fact_receipts", FACTS["fact_receipts"])
    january = frame.filter(pl.col("month_start") == JAN)
    doubled = lake.overwrite_months(RECEIPTS_TABLE, pl.concat([january, january.head(1)]), [JAN]).version
    lake.overwrite_months(RECEIPTS_TABLE, frame, MONTHS)

    assert restore(RECEIPTS_TABLE, "--version", doubled, "--month", "2024-01") == 1
    captured = capsys.readouterr()
    assert f"restored from version {doubled}" in captured.out, "the restore is committed and says so"
    assert "the restored rows fail a blocking check; downstream stays held" in captured.err
    assert lake.read(RECEIPTS_TABLE, [JAN]).height == january.height + 1
    check = dg.AssetCheckKey(RECEIPTS, PRIMARY_KEY_UNIQUE)
    [gate] = failed_gates(instance, [(check, True)], [JAN])
    assert gate.partition == "2024-01-01"


@pytest.fixture
def receipts(home: Path, lake: LakeStore) -> list[int]:
    """silver/fact_receipts alone, three versions a few milliseconds apart: good, January bad, February bad."""
    frame = silver("fact_receipts", FACTS["fact_receipts"])
    versions = [lake.overwrite_months(RECEIPTS_TABLE, frame, MONTHS).version]
    for month in MONTHS:
        time.sleep(0.05)
        bad = frame.filter(pl.col("month_start") == month).with_columns(pl.col("total_cents") * 10)
        versions.append(lake.overwrite_months(RECEIPTS_TABLE, bad, [month]).version)
    return versions


def commit_time(lake: LakeStore, version: int) -> dt.datetime:
    [entry] = [h for h in lake.history(RECEIPTS_TABLE) if h["version"] == version]
    return dt.datetime.fromtimestamp(entry["timestamp"] / 1000, dt.UTC)


def test_a_whole_table_restored_as_of_a_time_rolls_every_month_back_and_reports_the_months_it_changed(
    receipts: list[int], lake: LakeStore, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    good, january_bad, _ = receipts
    expected = lake.at_version(RECEIPTS_TABLE, good)
    expected_rows = pl.scan_delta(expected).collect().sort("receipt_id")
    # Between the good commit and the first bad one: the good version.
    between = commit_time(lake, good) + (commit_time(lake, january_bad) - commit_time(lake, good)) / 2

    assert restore(RECEIPTS_TABLE, "--as-of", between.isoformat()) == 0
    out = capsys.readouterr().out
    assert f"resolved to version {good}" in out and "months changed: 2024-01, 2024-02" in out
    assert lake.read(RECEIPTS_TABLE).sort("receipt_id").equals(expected_rows)
    assert lake.history(RECEIPTS_TABLE, 1)[0]["operation"] == "RESTORE", "Delta's own restore, history kept"
    restored = {
        r.partition_key
        for r in instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=RECEIPTS), limit=10).records
    }
    assert restored == {"2024-01-01", "2024-02-01"}

    # Re-running converges: nothing is committed again, the same months are reported (a killed restore completes).
    version = lake.version(RECEIPTS_TABLE)
    assert restore(RECEIPTS_TABLE, "--as-of", between.isoformat()) == 0
    assert "nothing committed" in capsys.readouterr().out
    assert lake.version(RECEIPTS_TABLE) == version
    assert len(instance.fetch_materializations(dg.AssetRecordsFilter(asset_key=RECEIPTS), limit=10).records) == 4


def test_a_version_vacuum_removed_is_refused_naming_table_version_and_the_oldest_restorable(
    receipts: list[int], lake: LakeStore, instance: dg.DagsterInstance, capsys: pytest.CaptureFixture[str]
) -> None:
    good, _, february_bad = receipts
    before = lake.version(RECEIPTS_TABLE)
    DeltaTable(lake.uri(RECEIPTS_TABLE)).vacuum(retention_hours=0, enforce_retention_duration=False, dry_run=False)

    assert restore(RECEIPTS_TABLE, "--version", good) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"retail-assets: lake table {RECEIPTS_TABLE}: cannot restore version {good}")
    assert "vacuum already removed" in err and f"the oldest version still restorable is {february_bad}" in err
    assert len(err.strip().splitlines()) == 1
    assert not [h for h in lake.history(RECEIPTS_TABLE) if h["version"] > before and h["operation"] != "VACUUM END"
                and h["operation"] != "VACUUM START"], "nothing was committed"
    assert instance.get_run_records() == [], "refused before any run"


def test_refusals_and_exit_codes(receipts: list[int], lake: LakeStore, capsys: pytest.CaptureFixture[str]) -> None:
    good, *_ = receipts
    assert restore(RECEIPTS_TABLE, "--version", 99) == 2
    assert "version 99 does not exist" in capsys.readouterr().err
    assert restore("silver/no_such_table", "--version", 0) == 2
    assert "'silver/no_such_table' is not a lake table of the platform" in capsys.readouterr().err
    assert restore(RECEIPTS_TABLE, "--version", good, "--month", "2024-03") == 2
    err = capsys.readouterr().err
    assert f"version {good} holds no rows of 2024-03" in err and "--allow-empty" in err
    assert restore(RECEIPTS_TABLE, "--as-of", "2000-01-01") == 2
    assert "nothing to restore as of 2000-01-01" in capsys.readouterr().err
    assert restore(RECEIPTS_TABLE, "--as-of", "yesterday") == 2
    assert "is not an ISO 8601 time" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exited:
        restore(RECEIPTS_TABLE, "--version", good, "--as-of", "2024-01-01")
    assert exited.value.code == 2, "argparse: exactly one of --version and --as-of"


def test_restoring_an_empty_month_needs_allow_empty(
    receipts: list[int], lake: LakeStore, capsys: pytest.CaptureFixture[str]
) -> None:
    lake.overwrite_months(RECEIPTS_TABLE, silver("fact_receipts", []), [dt.date(2024, 3, 1)])
    march_empty = lake.version(RECEIPTS_TABLE)
    lake.overwrite_months(
        RECEIPTS_TABLE,
        silver("fact_receipts", [dict(receipt_id="M1", event_ts=dt.datetime(2024, 3, 2, tzinfo=dt.UTC))]),
        [dt.date(2024, 3, 1)],
    )
    assert restore(RECEIPTS_TABLE, "--version", march_empty, "--month", "2024-03") == 2
    assert "--allow-empty" in capsys.readouterr().err
    assert restore(RECEIPTS_TABLE, "--version", march_empty, "--month", "2024-03", "--allow-empty") == 0
    assert lake.read(RECEIPTS_TABLE, [dt.date(2024, 3, 1)]).height == 0


def test_the_restore_waits_for_the_pool_of_the_tables_writers(
    receipts: list[int], lake: LakeStore, instance: dg.DagsterInstance
) -> None:
    good, *_ = receipts
    storage = instance.event_log_storage
    storage.set_concurrency_slots(HOT_POOL, 1)
    assert storage.claim_concurrency_slot(HOT_POOL, "stream-worker-run", "hot_step").is_claimed
    outcome: list[int] = []
    restoring = threading.Thread(
        target=lambda: outcome.append(restore(RECEIPTS_TABLE, "--version", good, "--month", "2024-01"))
    )
    restoring.start()
    try:
        deadline = time.monotonic() + 60
        while not [s for s in storage.get_concurrency_info(HOT_POOL).pending_steps if s.run_id != "stream-worker-run"]:
            assert time.monotonic() < deadline, "the restore never queued for the pool"
            time.sleep(0.2)
        time.sleep(1.0)
        assert restoring.is_alive() and lake.history(RECEIPTS_TABLE, 1)[0].get("retail_operation") is None
    finally:
        storage.free_concurrency_slot_for_step("stream-worker-run", "hot_step")
    restoring.join(timeout=60)
    assert outcome == [0]
    assert lake.history(RECEIPTS_TABLE, 1)[0]["retail_operation"] == "restore"


def test_every_platform_table_has_its_pool_op_and_its_blocking_checks_re_evaluated() -> None:
    targets = platform_targets()
    expected = {"silver/fact_receipts", "gold/sales_minute_store", "bronze/receipt_created", "silver/dim_stores"}
    assert expected <= set(targets)
    assert targets[RECEIPTS_TABLE].pool == HOT_POOL
    assert {t.pool for t in targets.values()} <= set(RESTORE_OPS)
    assert {c for t in targets.values() for c in t.blocking_checks} <= set(BLOCKING_EVALUATORS)
    # The edge domain's checks have no evaluator here: its tables are refused by name, not restored unchecked.
    assert not any(t.startswith("edge/") for t in targets)
    with pytest.raises(RestoreRefused, match="edge domain cannot be restored"):
        find_target("edge/silver/device_heartbeat", targets)
